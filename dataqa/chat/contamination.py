"""Benchmark contamination: training text that contains a long word n-gram of a test set.

The 13-gram overlap test is the one GPT-3 used (Brown et al., 2020, appendix C) and
datatrove's decontamination filter applies: lower-case words, punctuation dropped, any
shared run of 13 words flags the training record. Hashing is vectorised: one Arrow
split for all texts, word ids by factorisation, a rolling polynomial hash per window
with numpy, and one `isin` against the benchmark's hashes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NGRAM = 13
_MUL = np.uint64(0x9E3779B97F4A7C15)


def _words(texts: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    arr = pa.array(texts.to_numpy(dtype=object), type=pa.large_string())
    low = pc.replace_substring_regex(pc.utf8_lower(arr), r"[^\pL\pN\s]+", " ")
    parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(low), r"\s+")
    flat = pc.list_flatten(parts)
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    words = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object)
    keep = words != ""
    return words[keep], parent[keep], None


def ngram_hashes(texts: pd.Series, n: int = NGRAM, vocab: pd.Index | None = None):
    """(hashes, parent row positions, window start positions) of every word n-gram.

    Word ids come from `vocab` (words not in it get ids beyond it, so they never match
    the benchmark's); texts shorter than `n` words have no n-gram.
    """
    words, parent, _ = _words(texts)
    if words.size < n:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), vocab
    if vocab is None:
        codes, vocab = pd.factorize(words)
    else:
        codes = vocab.get_indexer(words)
        codes = np.where(codes < 0, len(vocab) + pd.factorize(words)[0], codes)
    ids = codes.astype(np.uint64) + np.uint64(1)
    m = words.size - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MUL + ids[k : k + m]
    same = parent[:m] == parent[n - 1 : n - 1 + m]  # the window stays inside one text
    starts = np.arange(m)
    first = np.zeros(len(parent), dtype=np.int64)
    if len(parent):
        change = np.r_[0, np.flatnonzero(np.diff(parent)) + 1]
        first[change] = change
        first = np.maximum.accumulate(first)
    return h[same], parent[:m][same], (starts - first[:m])[same], vocab


def contaminated(train: pd.Series, benchmark: pd.Series, n: int = NGRAM) -> pd.DataFrame:
    """Training rows sharing an n-gram with the benchmark, with the first shared span.

    Returns
    -------
    pandas.DataFrame
        Indexed by the training rows' ids: `span` (the matched words), `ngrams` (how
        many of the row's n-grams are in the benchmark).
    """
    bh, _, _, vocab = ngram_hashes(benchmark, n)
    if bh.size == 0:
        return pd.DataFrame(columns=["span", "ngrams"])
    th, parent, start, _ = ngram_hashes(train, n, vocab=pd.Index(vocab))
    hit = np.isin(th, bh)
    if not hit.any():
        return pd.DataFrame(columns=["span", "ngrams"])
    rows = pd.Series(parent[hit])
    counts = rows.value_counts()
    first = pd.Series(start[hit], index=parent[hit]).groupby(level=0).min()
    words, wparent, _ = _words(train)
    offsets = np.r_[0, np.cumsum(np.bincount(wparent, minlength=len(train)))]
    spans = [" ".join(words[offsets[p] + s : offsets[p] + s + n]) for p, s in first.items()]
    ids = train.index[first.index.to_numpy()]
    return pd.DataFrame(
        {"span": spans, "ngrams": counts.reindex(first.index).to_numpy()}, index=ids
    )
