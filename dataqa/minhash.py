"""Near-duplicate texts by MinHash + LSH, vectorised over whole columns with numpy.

The pipeline, each step one pass of array operations (no Python loop per row):

1. **Shingles.** Each text becomes a set of 32-bit shingle hashes: character n-grams of
   the normalised text (``shingle="char"``) or word n-grams (``shingle="word"``). Words
   are hashed once per distinct word with `pd.util.hash_array` (stable across processes,
   unlike Python's `hash`), characters are their code points; an n-gram hash is a
   polynomial of its n token hashes, mixed to 32 bits. A text shorter than ``ngram``
   tokens becomes one shingle: the hash of the whole text.
2. **Signatures.** ``a*x + b`` permutations with uint32 wrap-around (odd ``a``, fixed
   seed). Rows are sorted by shingle count and padded, in cache-sized blocks, to a
   ``[width, rows]`` matrix whose padding repeats a row's own shingle, so a plain column
   minimum gives each row's MinHash (no `np.minimum.reduceat`).
3. **LSH.** The signature is cut into ``bands x rows`` chosen so that a pair exactly at
   the threshold becomes a candidate with probability >= `LSH_RECALL` at the fewest
   spurious candidates (`lsh_params`); rows sharing a band hash are candidates. Within a
   band bucket, rows (ordered by size) are paired with their next `MAX_BUCKET_WINDOW`
   neighbours, so a giant bucket of look-alike short rows costs linear, not quadratic,
   work. Pairs whose set sizes alone rule out the threshold are dropped.
4. **Verify.** Each candidate pair's *exact* Jaccard similarity of its shingle sets is
   computed (searchsorted over pair-tagged sorted arrays); pairs below the threshold go.
   When only groups are wanted, pairs already linked by verified pairs are skipped.
5. **Group.** Connected components of the verified pairs (scipy) are the groups.

Why character 3-grams at Jaccard 0.78 are the defaults (also `DuplicateCheck`'s): the
near-duplicates that hurt fine-tuning are one typo, or one dropped, added or swapped
word away from another row. In a sentence of 8 words one changed word rewrites 3 of its
6 word 3-grams, so word 3-gram Jaccard falls to ~0.3: at 0.8 word 3-grams found under
30% of such planted pairs on SST-2 (benchmarks/bench_near_dups.py). Character n-grams
lose only a few shingles per edit and keep word order. The limit on the other side is
SST-2's phrase/sub-phrase pairs ("with purpose and finesse" / "directed with purpose
and finesse"), which are not near-duplicates by edit distance; longer n-grams rate a
mid-text edit lower relative to such a truncation, so they need thresholds low enough
to let those pairs in. SST-2 train with 2,000 planted edits (recall = planted pairs
found; precision = verified pairs that are planted or have rapidfuzz ratio >= 85):

    char-3 0.78: 0.982 / 0.992    char-3 0.75: 0.991 / 0.971    char-3 0.80: 0.968 / 0.995
    char-4 0.72: 0.979 / 0.962    char-5 0.70: 0.954 / 0.933    char-5 0.50: 1.000 / 0.512
    word-1 0.80: 0.967 / 0.959    word-3 0.80: 0.388 / 0.995 (0.388 counts the case and
    punctuation edits, which normalise to exact copies)

For long documents (thousands of characters) prefer ``ngram=5``: unrelated
5,000-character texts already share about half their character 3-grams, but only ~15%
of their 5-grams.

Memory stays bounded: texts are shingled and signed in blocks; what is kept per row is
its shingle set (4 bytes a shingle) and one 8-byte hash per band.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SHINGLES = ("char", "word")
SHINGLE, NGRAM, THRESHOLD = "char", 3, 0.78
"""Defaults (also `DuplicateCheck`'s): character 3-grams, Jaccard >= 0.78; see above."""

MAX_BUCKET_WINDOW = 32
"""In an LSH bucket each row is paired only with the next this-many rows (by size)."""

BLOCK_TOKENS = 1 << 22
"""Tokens (characters or words) shingled and signed at a time: bounds peak memory."""

CELLS_PER_CHUNK = 1 << 16
"""Padded matrix cells signed at a time: small enough to stay in the CPU cache."""

PAIRS_CELLS = 1 << 23
"""Shingles gathered at a time when verifying candidate pairs."""

SPANNING_ROUNDS = 8
"""Rounds of verification when only the groups are wanted (see `similar_pairs`)."""

LSH_RECALL = 0.975
"""Chance that a pair exactly at the threshold becomes a candidate (see `lsh_params`)."""

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_PRIME = np.uint64(0x100000001B3)


def near_duplicate_groups(
    keys: pd.Series,
    *,
    threshold: float = THRESHOLD,
    num_perm: int = 128,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
    seed: int = 1,
) -> tuple[pd.Series, dict[int, float]]:
    """Group rows whose shingle sets have Jaccard similarity >= `threshold`.

    `keys` are normalised texts indexed by unique row ids (exact copies already folded).
    Returns a Series (row id -> group number, only rows in a group of two or more;
    groups numbered 0.. in order of their first row in `keys`) and a dict group ->
    the lowest verified Jaccard similarity among the pairs that linked the group.

    Groups are connected components: A ~ B and B ~ C put A and C in one group even when
    A and C are further apart (chains of phrase and sub-phrase in SST-2 do this).
    """
    left, right, sim = _similar_positions(
        keys,
        threshold=threshold,
        num_perm=num_perm,
        shingle=shingle,
        ngram=ngram,
        seed=seed,
        spanning=True,
    )
    return groups_from_pairs(keys.index, left, right, sim)


def groups_from_pairs(
    ids: pd.Index, left: np.ndarray, right: np.ndarray, sim: np.ndarray
) -> tuple[pd.Series, dict[int, float]]:
    """Connected components of verified pairs, numbered by their first row.

    Parameters
    ----------
    ids : pandas.Index
        Row ids, in the order that numbers the groups.
    left, right : numpy.ndarray of int
        Positions in `ids` of each verified pair.
    sim : numpy.ndarray of float
        Each pair's Jaccard similarity.

    Returns
    -------
    groups : pandas.Series
        Row id -> group (0.., in order of each group's first row), rows in a pair only.
    similarity : dict
        Group -> the lowest similarity among the pairs given for it.
    """
    if left.size == 0:
        return pd.Series([], index=ids[:0], dtype=np.int64), {}
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # only rows in a pair are nodes: the graph is as small as the edge list
    rows, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    a, b = inverse[: left.size], inverse[left.size :]
    n = rows.size
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # number the components by their first row (rows ascend)
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    group = rank[comp]
    min_sim = np.full(first.size, np.inf)
    np.minimum.at(min_sim, group[a], sim)
    groups = pd.Series(group.astype(np.int64), index=ids[rows])
    return groups, {int(g): float(s) for g, s in enumerate(min_sim)}


def near_duplicate_pairs(
    keys: pd.Series,
    *,
    threshold: float = THRESHOLD,
    num_perm: int = 128,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
    seed: int = 1,
) -> pd.DataFrame:
    """Every verified pair of rows with Jaccard similarity >= `threshold`.

    Columns `left`, `right` (row ids, `left` before `right` in `keys`) and `similarity`
    (exact Jaccard of the two shingle sets), ordered by the rows' positions.
    """
    left, right, sim = _similar_positions(
        keys, threshold=threshold, num_perm=num_perm, shingle=shingle, ngram=ngram, seed=seed
    )
    return pd.DataFrame({"left": keys.index[left], "right": keys.index[right], "similarity": sim})


def _similar_positions(keys, *, threshold, num_perm, shingle, ngram, seed, spanning=False):
    _check_params(threshold, num_perm, shingle, ngram)
    if len(keys) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    index = _Index.build(
        keys, num_perm=num_perm, threshold=threshold, shingle=shingle, ngram=ngram, seed=seed
    )
    return index.similar_pairs(threshold, spanning=spanning)


def near_matches_across(
    keys: pd.Series,
    other_keys: pd.Series,
    *,
    threshold: float = THRESHOLD,
    num_perm: int = 128,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
    seed: int = 1,
) -> dict:
    """Rows of `keys` whose Jaccard similarity to some rows of `other_keys` is >= `threshold`.

    Returns row id -> (ids of those `other_keys` rows, best first; best similarity).
    """
    _check_params(threshold, num_perm, shingle, ngram)
    if len(keys) == 0 or len(other_keys) == 0:
        return {}
    both = pd.concat(
        [pd.Series(keys.to_numpy(dtype=object)), pd.Series(other_keys.to_numpy(dtype=object))],
        ignore_index=True,
    )
    n = len(keys)
    index = _Index.build(
        both,
        num_perm=num_perm,
        threshold=threshold,
        shingle=shingle,
        ngram=ngram,
        seed=seed,
        split=n,
    )
    left, right, sim = index.similar_pairs(threshold)
    if left.size == 0:
        return {}
    # order: row of `keys`, then best similarity, then position in `other_keys`
    order = np.lexsort((right, -sim, left))
    left, right, sim = left[order], right[order] - n, sim[order]
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    ends = np.r_[starts[1:], left.size]
    rows = keys.index[left[starts]].tolist()
    other_ids = other_keys.index
    return {
        row: (other_ids[right[s:e]].tolist(), float(sim[s]))
        for row, s, e in zip(rows, starts.tolist(), ends.tolist(), strict=True)
    }


def band_keys(
    keys: pd.Series,
    *,
    threshold: float = THRESHOLD,
    num_perm: int = 128,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
    seed: int = 1,
) -> pd.DataFrame:
    """The compact LSH keys of each text: one row per (text, band).

    What a distributed run shuffles instead of text: columns `band` (uint8), `bucket`
    (the band's 64-bit hash, the same `near_duplicate_groups` buckets by), `row` (the
    text's id in `keys`, which must be integers) and `size` (its shingle-set size, for
    the size filter before verification).
    """
    _check_params(threshold, num_perm, shingle, ngram)
    if len(keys) == 0:
        return pd.DataFrame(
            {
                "band": np.zeros(0, np.uint8),
                "bucket": np.zeros(0, np.uint64),
                "row": np.zeros(0, np.int64),
                "size": np.zeros(0, np.int64),
            }
        )
    index = _Index.build(
        keys, num_perm=num_perm, threshold=threshold, shingle=shingle, ngram=ngram, seed=seed
    )
    n, n_bands = index.bands.shape
    ids = np.asarray(keys.index, dtype=np.int64)[index.pos]
    return pd.DataFrame(
        {
            "band": np.tile(np.arange(n_bands, dtype=np.uint8), n),
            "bucket": index.bands.reshape(-1),
            "row": np.repeat(ids, n_bands),
            "size": np.repeat(np.diff(index.indptr), n_bands),
        }
    )


def bucket_pairs(buckets: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Candidate pairs from `band_keys` rows: rows sharing a (band, bucket).

    As in `near_duplicate_groups`, each bucket is ordered by set size and a row is paired
    with its next `MAX_BUCKET_WINDOW` neighbours (a giant bucket of look-alike rows costs
    linear work), and pairs whose sizes alone rule out `threshold` are dropped. Returns
    unique pairs `left < right` (columns `left`, `right`).
    """
    if len(buckets) < 2:
        return pd.DataFrame({"left": np.zeros(0, np.int64), "right": np.zeros(0, np.int64)})
    # a bucket of one row pairs nothing: most rows go before the sort
    shared = pd.Series(buckets["bucket"].to_numpy()).duplicated(keep=False).to_numpy()
    b = buckets[shared].sort_values(["band", "bucket", "size", "row"], kind="stable")
    band = b["band"].to_numpy()
    key = b["bucket"].to_numpy()
    row = b["row"].to_numpy(dtype=np.int64)
    size = b["size"].to_numpy()
    found_l, found_r = [], []
    for d in range(1, MAX_BUCKET_WINDOW + 1):
        same = np.flatnonzero((key[d:] == key[:-d]) & (band[d:] == band[:-d]))
        if same.size == 0:
            break
        i, k = same, same + d
        keep = np.minimum(size[i], size[k]) >= (threshold - 1e-9) * np.maximum(size[i], size[k])
        i, k = row[i[keep]], row[k[keep]]
        found_l.append(np.minimum(i, k))
        found_r.append(np.maximum(i, k))
    if not found_l:
        return pd.DataFrame({"left": np.zeros(0, np.int64), "right": np.zeros(0, np.int64)})
    pairs = pd.DataFrame({"left": np.concatenate(found_l), "right": np.concatenate(found_r)})
    return pairs.drop_duplicates(ignore_index=True)


def pair_jaccard(
    left: pd.Series | np.ndarray,
    right: pd.Series | np.ndarray,
    *,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
) -> np.ndarray:
    """Exact Jaccard similarity of the shingle sets of aligned text pairs.

    The same shingles and set arithmetic as `near_duplicate_groups`' verification step,
    for pairs whose texts were joined to them (a distributed run's second join).
    """
    index, a, b = _pair_index(left, right, shingle, ngram)
    return index._jaccard(a, b) if a.size else np.zeros(0)


def linking_pairs(
    left: pd.Series | np.ndarray,
    right: pd.Series | np.ndarray,
    threshold: float = THRESHOLD,
    *,
    shingle: str = SHINGLE,
    ngram: int = NGRAM,
) -> tuple[np.ndarray, np.ndarray]:
    """Which aligned text pairs link groups: verified at `threshold`, in rounds, skipping
    pairs already joined through pairs verified before (`near_duplicate_groups`' spanning
    verification). The connected components of the pairs returned are those of every
    pair at or above `threshold`, with far fewer Jaccard computations.

    Returns the positions of those pairs in the input and their similarities.
    """
    index, a, b = _pair_index(left, right, shingle, ngram)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    # slots are distinct texts; tag each pair so that its input position comes back
    code = a.astype(np.uint64) * np.uint64(index.pos.size) + b.astype(np.uint64)
    kept_a, kept_b, sim = index._verify_spanning(a, b, threshold)
    got = kept_a.astype(np.uint64) * np.uint64(index.pos.size) + kept_b.astype(np.uint64)
    order = np.argsort(code, kind="stable")
    at = order[np.searchsorted(code[order], got)]
    return at, sim


def _pair_index(left, right, shingle: str, ngram: int):
    """An `_Index` of the distinct texts of aligned pairs (each shingled once), and each
    pair's two slots."""
    texts = pd.Series(
        np.concatenate([np.asarray(left, dtype=object), np.asarray(right, dtype=object)])
    )
    n = len(texts) // 2
    codes, distinct = pd.factorize(texts.where(texts.map(lambda t: isinstance(t, str)), ""))
    m = len(distinct)
    if n == 0:
        return (
            _Index(np.zeros(1, np.int64), np.zeros(0, np.uint32), None, np.arange(0), None),
            codes,
            codes,
        )
    hashes, counts = _shingle_hashes(list(distinct), shingle, ngram)
    owner = np.repeat(np.arange(m, dtype=np.uint64), counts)
    tagged = _sorted_unique((owner << np.uint64(32)) | hashes.astype(np.uint64))
    set_counts = np.bincount((tagged >> np.uint64(32)).astype(np.int64), minlength=m)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(set_counts, out=indptr[1:])
    values = (tagged & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return _Index(indptr, values, None, np.arange(m), None), codes[:n], codes[n:]


def lsh_params(threshold: float, num_perm: int, min_recall: float = LSH_RECALL) -> tuple[int, int]:
    """(bands, rows per band) for LSH over `num_perm` MinHash values.

    A pair of Jaccard similarity s shares at least one band with probability
    1 - (1 - s^rows)^bands. Candidates are verified exactly afterwards, so a missed pair
    costs more than a spurious one: among the splits that make a pair *at* the threshold
    a candidate with probability >= `min_recall`, take the one with the fewest spurious
    candidates (smallest integral of that probability below the threshold); when none
    can, the split most likely to catch it.
    """
    s = np.linspace(0.0, threshold, 1001)
    best, best_fp, fallback, fallback_p = None, np.inf, (num_perm, 1), -1.0
    for rows in range(1, num_perm + 1):
        top = num_perm // rows
        miss = 1.0 - threshold**rows
        p_top = 1.0 - miss**top
        if p_top > fallback_p + 1e-12:
            fallback, fallback_p = (top, rows), p_top
        if p_top < min_recall:
            continue
        bands = 1 if miss <= 0.0 else min(top, math.ceil(math.log1p(-min_recall) / math.log(miss)))
        fp = np.trapezoid(1.0 - (1.0 - s**rows) ** bands, s)
        if fp < best_fp - 1e-12:
            best, best_fp = (bands, rows), fp
    return best if best is not None else fallback


def _check_params(threshold, num_perm, shingle, ngram) -> None:
    if shingle not in SHINGLES:
        raise ValueError(f"shingle must be one of {SHINGLES}, not {shingle!r}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold!r}")
    if num_perm < 2 or ngram < 1:
        raise ValueError("num_perm must be >= 2 and ngram >= 1")


# ---------------------------------------------------------------------------------------
# hashing primitives


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: every input bit flips about half the output bits."""
    x = x ^ (x >> np.uint64(33))
    x *= _M1
    x ^= x >> np.uint64(33)
    x *= _M2
    x ^= x >> np.uint64(33)
    return x


def _to32(x: np.ndarray) -> np.ndarray:
    return (_fmix64(x) >> np.uint64(32)).astype(np.uint32)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges: starts[i], starts[i]+1, ..., starts[i]+counts[i]-1."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, counts)


def _tokens(texts: list[str], shingle: str) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token values of all texts, and each text's token count."""
    if shingle == "char":
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        joined = "".join(texts).encode("utf-32-le", errors="surrogatepass")
        flat = np.frombuffer(joined, dtype=np.uint32)
        return flat.astype(np.uint64), lens
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(texts, type=pa.large_string())
    except UnicodeEncodeError:  # lone surrogates (object columns only): hash them replaced
        arr = pa.array(
            [t.encode("utf-8", "replace").decode("utf-8") for t in texts], type=pa.large_string()
        )
    words = pc.utf8_split_whitespace(arr)
    flat = words.flatten()
    owner = np.repeat(np.arange(len(texts)), np.diff(np.asarray(words.offsets)))
    if len(flat) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(texts), dtype=np.int64)
    keep = np.asarray(pc.greater(pc.utf8_length(flat), 0))
    encoded = pc.dictionary_encode(flat)
    vocab = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    word_hash = pd.util.hash_array(vocab)
    codes = np.asarray(encoded.indices)[keep]
    lens = np.bincount(owner[keep], minlength=len(texts)).astype(np.int64)
    return word_hash[codes], lens


def _shingle_hashes(texts: list[str], shingle: str, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint32 shingle hashes (row after row, duplicates kept) and per-row counts."""
    tok, lens = _tokens(texts, shingle)
    starts = np.cumsum(lens) - lens
    full = lens >= ngram
    counts = np.where(full, lens - ngram + 1, 1)
    # windows: h = ((t0 * P + t1) * P + t2) ... over the n tokens starting at each position
    pos = _ranges(starts[full], counts[full])
    h = np.zeros(pos.size, dtype=np.uint64)
    for k in range(ngram):
        h *= _PRIME
        h += tok[pos + k]
    hashed = np.empty(int(counts.sum()), dtype=np.uint32)
    out_starts = np.cumsum(counts) - counts
    hashed[_ranges(out_starts[full], counts[full])] = _to32(h)
    short = np.flatnonzero(~full)
    if short.size:
        whole = pd.util.hash_array(np.asarray([texts[i] for i in short], dtype=object))
        hashed[out_starts[short]] = _to32(whole ^ np.uint64(0x9E3779B97F4A7C15))
    return hashed, counts


# ---------------------------------------------------------------------------------------
# the index: shingle sets and band hashes of every row


class _Index:
    """Shingle sets (CSR, each row sorted and unique) and LSH band hashes, by slot.

    Rows are stored in *slots*: within each block, sorted by shingle count. `pos[slot]`
    is the row's position in the input.
    """

    def __init__(self, indptr, values, bands, pos, split):
        self.indptr, self.values, self.bands, self.pos, self.split = (
            indptr,
            values,
            bands,
            pos,
            split,
        )

    @classmethod
    def build(
        cls, keys: pd.Series, *, num_perm, threshold, shingle, ngram, seed, split: int | None = None
    ) -> _Index:
        n_bands, rows_per_band = lsh_params(threshold, num_perm)
        used = n_bands * rows_per_band
        rng = np.random.default_rng(seed)
        a = rng.integers(1, 1 << 32, size=used, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
        b = rng.integers(0, 1 << 32, size=used, dtype=np.uint64).astype(np.uint32)
        texts = keys.to_numpy(dtype=object)
        texts = [t if isinstance(t, str) else "" for t in texts]
        sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if shingle == "word":  # words are roughly 5 characters with their space
            sizes = sizes // 5 + 1
        set_parts, count_parts, band_parts, pos_parts = [], [], [], []
        for lo, hi in _blocks(sizes, BLOCK_TOKENS):
            hashes, counts = _shingle_hashes(texts[lo:hi], shingle, ngram)
            sets, set_counts, band, order = _sign_block(
                hashes, counts, a, b, n_bands, rows_per_band
            )
            set_parts.append(sets)
            count_parts.append(set_counts)
            band_parts.append(band)
            pos_parts.append(order + lo)
        set_counts = np.concatenate(count_parts)
        indptr = np.zeros(set_counts.size + 1, dtype=np.int64)
        np.cumsum(set_counts, out=indptr[1:])
        return cls(
            indptr,
            np.concatenate(set_parts),
            np.concatenate(band_parts),
            np.concatenate(pos_parts),
            split,
        )

    def similar_pairs(self, threshold: float, *, spanning: bool = False):
        """Verified pairs as input positions (left < right) with their Jaccard similarity.

        With `spanning`, candidates are verified in rounds and a pair whose rows are
        already linked through verified pairs is skipped: the result links the same
        groups with far fewer verifications (a group of k rows needs k - 1 links, not
        up to k(k-1)/2), but it is not every similar pair.
        """
        left, right = self._candidates(threshold)
        if left.size == 0:
            return left, right, np.zeros(0)
        if spanning:
            left, right, sim = self._verify_spanning(left, right, threshold)
        else:
            sim = self._jaccard(left, right)
            ok = sim >= threshold - 1e-12
            left, right, sim = left[ok], right[ok], sim[ok]
        left, right = self.pos[left], self.pos[right]
        swap = left > right
        left, right = np.where(swap, right, left), np.where(swap, left, right)
        order = np.lexsort((right, left))
        return left[order], right[order], sim[order]

    def _verify_spanning(self, left, right, threshold):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = self.pos.size
        # a fixed pseudo-random order spreads every group's pairs over the rounds
        order = np.argsort(
            _fmix64(left.astype(np.uint64) * np.uint64(n) + right.astype(np.uint64)), kind="stable"
        )
        left, right = left[order], right[order]
        kept_l, kept_r, kept_s = [], [], []
        comp = np.arange(n)
        bounds = np.linspace(0, left.size, SPANNING_ROUNDS + 1).astype(np.int64)
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            one, two = left[lo:hi], right[lo:hi]
            unlinked = comp[one] != comp[two]
            one, two = one[unlinked], two[unlinked]
            if one.size == 0:
                continue
            sim = self._jaccard(one, two)
            ok = sim >= threshold - 1e-12
            kept_l.append(one[ok])
            kept_r.append(two[ok])
            kept_s.append(sim[ok])
            edges_l, edges_r = np.concatenate(kept_l), np.concatenate(kept_r)
            graph = coo_matrix(
                (np.ones(edges_l.size, dtype=np.int8), (edges_l, edges_r)), shape=(n, n)
            )
            comp = connected_components(graph, directed=False)[1]
        if not kept_l:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        return np.concatenate(kept_l), np.concatenate(kept_r), np.concatenate(kept_s)

    def _candidates(self, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Slot pairs sharing a band hash (each bucket paired within a sliding window).

        Pairs whose set sizes alone rule out the threshold (Jaccard <= small/large) are
        dropped before verification.
        """
        n = self.pos.size
        size = np.diff(self.indptr)
        found = []
        for j in range(self.bands.shape[1]):
            # stable: within a bucket rows stay in slot order, i.e. by size within a block
            order = np.argsort(self.bands[:, j], kind="stable")
            key = self.bands[order, j]
            shared = np.zeros(n, dtype=bool)  # rows whose bucket holds another row
            dup = key[1:] == key[:-1]
            shared[1:] |= dup
            shared[:-1] |= dup
            order, key = order[shared], key[shared]
            for d in range(1, MAX_BUCKET_WINDOW + 1):
                same = np.flatnonzero(key[d:] == key[:-d])
                if same.size == 0:
                    break
                i, k = order[same], order[same + d]
                si, sk = size[i], size[k]
                keep = np.minimum(si, sk) >= (threshold - 1e-9) * np.maximum(si, sk)
                if self.split is not None:  # across two inputs: keep mixed pairs only
                    keep &= (self.pos[i] < self.split) != (self.pos[k] < self.split)
                i, k = i[keep], k[keep]
                found.append(
                    np.minimum(i, k).astype(np.uint64) * np.uint64(n)
                    + np.maximum(i, k).astype(np.uint64)
                )
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        code = _sorted_unique(np.concatenate(found))
        return (code // np.uint64(n)).astype(np.int64), (code % np.uint64(n)).astype(np.int64)

    def _jaccard(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of the shingle sets of slot pairs, in bounded chunks."""
        size = np.diff(self.indptr)
        cost = np.cumsum(size[left] + size[right])
        out = np.empty(left.size)
        lo = 0
        while lo < left.size:
            base = cost[lo - 1] if lo else 0
            hi = max(int(np.searchsorted(cost, base + PAIRS_CELLS, side="right")), lo + 1)
            out[lo:hi] = self._jaccard_chunk(left[lo:hi], right[lo:hi], size)
            lo = hi
        return out

    def _jaccard_chunk(self, left, right, size) -> np.ndarray:
        pair = np.arange(left.size, dtype=np.uint64)
        tag = pair << np.uint64(32)
        # each set is sorted, so pair-tagged concatenations are sorted as a whole
        a = np.repeat(tag, size[left]) | self.values[_ranges(self.indptr[left], size[left])]
        b = np.repeat(tag, size[right]) | self.values[_ranges(self.indptr[right], size[right])]
        at = np.searchsorted(b, a)
        hit = b[np.minimum(at, b.size - 1)] == a
        inter = np.bincount((a[hit] >> np.uint64(32)).astype(np.int64), minlength=left.size)
        union = size[left] + size[right] - inter
        return inter / union


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2.x's hash-based unique is ~10x slower on uint64)."""
    x = np.sort(x)
    keep = np.ones(x.size, dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    return x[keep]


def _blocks(sizes: np.ndarray, budget: int):
    """Consecutive [lo, hi) row ranges holding about `budget` tokens each."""
    n = sizes.size
    cum = np.cumsum(sizes + 1)
    lo = 0
    while lo < n:
        base = cum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cum, base + budget, side="right")), lo + 1)
        yield lo, min(hi, n)
        lo = hi


def _sign_block(hashes, counts, a, b, n_bands, rows_per_band):
    """Sorted unique shingle sets, set sizes, band hashes and slot order for one block.

    Rows are sorted by shingle count and cut into chunks of about `CELLS_PER_CHUNK`
    padded cells; each chunk is a [width, rows] matrix whose padding repeats a row's
    last shingle, so the column minimum is the row's MinHash.
    """
    n = counts.size
    order = np.argsort(counts, kind="stable")
    starts = (np.cumsum(counts) - counts)[order]
    counts = counts[order]
    sets, set_counts = [], np.empty(n, dtype=np.int64)
    bands = np.empty((n, n_bands), dtype=np.uint64)
    used = n_bands * rows_per_band
    lo = 0
    while lo < n:
        width = int(counts[min(n - 1, lo + max(CELLS_PER_CHUNK // max(int(counts[lo]), 1), 1) - 1)])
        hi = min(n, lo + max(CELLS_PER_CHUNK // width, 1))
        width = int(counts[hi - 1])
        c = counts[lo:hi]
        col = np.minimum(np.arange(width)[:, None], c[None, :] - 1)
        mat = hashes[starts[lo:hi][None, :] + col]  # [width, rows]
        mat.sort(axis=0)
        distinct = np.ones(mat.shape, dtype=bool)
        distinct[1:] = mat[1:] != mat[:-1]
        set_counts[lo:hi] = distinct.sum(axis=0)
        sets.append(mat.T[distinct.T])  # row by row, each sorted
        sig = np.empty((used, hi - lo), dtype=np.uint32)
        tmp = np.empty_like(mat)
        for p in range(used):
            np.multiply(mat, a[p], out=tmp)
            tmp += b[p]
            tmp.min(axis=0, out=sig[p])
        for j in range(n_bands):
            h = np.zeros(hi - lo, dtype=np.uint64)
            for r in sig[j * rows_per_band : (j + 1) * rows_per_band]:
                h *= _PRIME
                h += r
            bands[lo:hi, j] = _fmix64(h + np.uint64(j))
        lo = hi
    values = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint32)
    return values, set_counts, bands, order
