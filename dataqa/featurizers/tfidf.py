"""Sparse n-gram features: TF-IDF for ordinary sizes, hashed TF-IDF for very large sets."""

from __future__ import annotations

import numpy as np

from dataqa.featurizers import Features
from dataqa.progress import bar

CHAR_WINDOW = (1000, 500)
"""Character n-grams of a long document come from its first 1,000 and last 500 characters
(`dataqa.featurizers.windows.head_tail`): on long text they add little to the word n-grams
of the whole document but most of the cost (gcloud reference pages, median 1.3 kB: the
character block held 5x the word block's non-zeros and the SVM and kNN time with it)."""


def tfidf_features(
    texts: list[str], *, char: bool = True, char_window: tuple[int, int] = CHAR_WINDOW
) -> Features:
    """Word 1-2 gram TF-IDF of the whole text + hashed character 3-5 gram TF-IDF of its
    head and tail (`char_window` characters; sublinear tf, min_df 2), each block
    L2-normalised, then the concatenation, so cosine similarity is one dot product."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from dataqa.featurizers.charhash import char_ngram_counts, tfidf_weight
    from dataqa.featurizers.windows import head_tail

    blocks = [_word_tfidf(texts)]
    windowed = 0
    if char:
        head, tail = char_window
        views = [head_tail(t, head, tail) for t in texts]
        windowed = sum(len(v) < len(t) for v, t in zip(views, texts, strict=True))
        blocks.append(tfidf_weight(char_ngram_counts(views, (3, 5)), min_df=2))
    X = normalize(sp.hstack(blocks, format="csr")) if len(blocks) > 1 else blocks[0]
    return Features(
        "tfidf",
        X.astype(np.float32),
        sparse=True,
        info={
            "dims": int(X.shape[1]),
            "ngrams": "word 1-2" + (" + char 3-5 (hashed)" if char else ""),
            "char_window": list(char_window) if char else None,
            "rows_windowed": windowed,
        },
    )


def _word_tfidf(texts: list[str]):
    """Word 1-2 gram TF-IDF (sublinear tf). sklearn's default tokens need two word
    characters: a set of one-letter tokens ("a b c") has no vocabulary then, so those
    count; a set with no word at all gets a block with no columns."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    for pattern in (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"):
        word = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32, token_pattern=pattern
        )
        try:
            return word.fit_transform(texts)
        except ValueError:  # "empty vocabulary"
            continue
    return sp.csr_matrix((len(texts), 0), dtype=np.float32)


HASHING_FEATURES = 2**20


def hashing_features(
    texts: list[str],
    *,
    n_features: int = HASHING_FEATURES,
    batch: int = 50_000,
    progress: bool = False,
) -> Features:
    """Word 1-2 grams hashed into `n_features` columns, batch by batch (no vocabulary is
    held in memory), then TF-IDF weighted: the featuriser for millions of rows.

    The three steps are public so that the Dask executor builds the same features piece by
    piece: `hashed_counts` per piece, `document_frequency` summed over pieces, then
    `hashed_tfidf` with the global document frequencies."""
    import scipy.sparse as sp

    starts = range(0, len(texts), batch)
    parts = [
        hashed_counts(texts[s : s + batch], n_features=n_features)
        for s in bar(starts, desc="labels: hashing features", total=len(starts), enabled=progress)
    ]
    counts = sp.vstack(parts).tocsr() if parts else hashed_counts([], n_features=n_features)
    X = hashed_tfidf(counts, document_frequency(counts), counts.shape[0])
    return Features(
        "hashing", X, sparse=True, info={"dims": n_features, "ngrams": "word 1-2 (hashed)"}
    )


def hashed_counts(texts: list[str], *, n_features: int = HASHING_FEATURES):
    """Raw word 1-2 gram counts hashed into `n_features` columns (CSR, float32)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(
        ngram_range=(1, 2), n_features=n_features, alternate_sign=False, norm=None, dtype=np.float32
    )
    return vec.transform(texts)


def document_frequency(counts) -> np.ndarray:
    """The rows each column occurs in (int64, one per column) of a CSR count matrix."""
    counts = counts.tocsr()
    counts.sum_duplicates()
    return np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)


def hashed_tfidf(counts, df: np.ndarray, n_docs: int):
    """TF-IDF of `counts` given document frequencies `df` over `n_docs` rows (which may be
    more rows than `counts` holds): sublinear tf, smoothed idf, rows L2-normalised, as
    scikit-learn's `TfidfTransformer(sublinear_tf=True)` fitted on all `n_docs` rows."""
    from sklearn.feature_extraction.text import TfidfTransformer

    tf = TfidfTransformer(sublinear_tf=True)
    dtype = counts.dtype if counts.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    # scikit-learn's own arithmetic, in the counts' dtype (so the local path is unchanged)
    tf.idf_ = np.log(dtype.type(n_docs + 1) / (np.asarray(df).astype(dtype) + 1)) + 1
    tf.n_features_in_ = counts.shape[1]
    return tf.transform(counts.tocsr(), copy=True).astype(np.float32)
