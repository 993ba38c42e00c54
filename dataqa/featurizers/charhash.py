"""Character n-gram counts, hashed and vectorised with numpy (no per-n-gram Python work).

scikit-learn's char analyzers build every n-gram as a Python string: ~3 s for 20k short
texts, more than the whole cleanlab text recipe costs. Here each batch of texts becomes
one byte array; n-gram hashes grow by one byte per step (`h_n = h_{n-1} * M + b`),
are folded into `n_features` columns by multiplicative hashing, and counted by one sparse
matrix build. N-grams run over the whitespace-normalised, lower-cased text with one
space of padding on each side, so word starts and ends are marked as in `char_wb`.
"""

from __future__ import annotations

import numpy as np

MULT = np.uint64(1_000_003)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def char_ngram_counts(
    texts: list[str], ngram_range: tuple[int, int] = (2, 5), bits: int = 20, batch: int = 50_000
):
    """CSR matrix (len(texts), 2**bits) of hashed character n-gram counts (UTF-8 bytes)."""
    import scipy.sparse as sp

    lo, hi = ngram_range
    parts = []
    for s in range(0, len(texts), batch):
        parts.append(_batch_counts(texts[s : s + batch], lo, hi, bits))
    if not parts:
        return sp.csr_matrix((0, 2**bits), dtype=np.float32)
    return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")


def tfidf_weight(counts, *, min_df: int = 2):
    """Sublinear tf x smooth idf, columns seen in fewer than `min_df` rows dropped,
    rows L2-normalised (what TfidfVectorizer(sublinear_tf=True, min_df=...) gives)."""
    from sklearn.preprocessing import normalize

    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    X = counts[:, keep].tocsr()
    X.data = (1.0 + np.log(X.data)).astype(np.float32)
    idf = (np.log((1.0 + n) / (1.0 + df[keep])) + 1.0).astype(np.float32)
    X = X.multiply(idf).tocsr()
    return normalize(X).astype(np.float32)


def _batch_counts(texts: list[str], lo: int, hi: int, bits: int):
    import scipy.sparse as sp

    padded = [(" " + " ".join(t.lower().split()) + " ").encode("utf-8") for t in texts]
    lens = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    b = np.frombuffer(b"".join(padded), dtype=np.uint8).astype(np.uint64)
    doc = np.repeat(np.arange(len(padded), dtype=np.int64), lens)
    rows, cols = [], []
    h = b.copy()
    shift = np.uint64(64 - bits)
    with np.errstate(over="ignore"):
        for n in range(2, hi + 1):
            h = h[:-1] * MULT + b[n - 1 :]
            if n < lo:
                continue
            ok = doc[: len(h)] == doc[n - 1 :]
            hn = (h[ok] + np.uint64(n)) * GOLDEN
            rows.append(doc[: len(h)][ok])
            cols.append((hn >> shift).astype(np.int64))
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    m = sp.csr_matrix(
        (np.ones(len(r), np.float32), (r, c)), shape=(len(padded), 2**bits), dtype=np.float32
    )
    return m
