"""MinHash + LSH near-duplicates: planted edits found, unrelated text left alone."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from dataqa.minhash import (
    LSH_RECALL,
    MAX_BUCKET_WINDOW,
    _Index,
    _shingle_hashes,
    lsh_params,
    near_duplicate_groups,
    near_duplicate_pairs,
    near_matches_across,
)
from dataqa.stages.audit import audit
from dataqa.text import normalize_for_dedup


def small_edit(sentence: str, kind: int, rng: np.random.Generator) -> str:
    """One typo, dropped word, inserted word or swapped pair of neighbours."""
    words = sentence.split(" ")
    i = int(rng.integers(len(words) - 1))
    if kind == 0:  # typo: replace one character of the longest word
        j = max(range(len(words)), key=lambda k: len(words[k]))
        w = words[j]
        c = int(rng.integers(len(w)))
        words[j] = w[:c] + ("x" if w[c] != "x" else "y") + w[c + 1 :]
    elif kind == 1:
        del words[i]
    elif kind == 2:
        words.insert(i, "really")
    else:
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


@pytest.fixture(scope="module")
def planted(sst2_dev):
    """200 distinct dev sentences (>= 8 words) plus edited copies of 40 of them."""
    keys = normalize_for_dedup(sst2_dev["content"].astype(str))
    keys = keys[(keys.str.split(" ").str.len() >= 8) & ~keys.duplicated()].head(200)
    rng = np.random.default_rng(3)
    sources = keys.index[::5][:40]
    copies = pd.Series(
        [small_edit(keys[s], k % 4, rng) for k, s in enumerate(sources)],
        index=[f"copy-{s}" for s in sources],
    )
    copies = copies[~copies.isin(keys)]
    pairs = [(int(c.split("-")[1]), c) for c in copies.index]
    return pd.concat([keys, copies]), pairs


def test_planted_near_duplicates_are_found(planted):
    keys, pairs = planted
    groups, sims = near_duplicate_groups(keys)
    found = sum(
        a in groups.index and b in groups.index and groups[a] == groups[b] for a, b in pairs
    )
    assert found >= 0.95 * len(pairs)
    assert set(sims) == set(range(groups.nunique()))
    assert all(0.78 - 1e-9 <= s <= 1.0 for s in sims.values())


def test_unrelated_sentences_are_not_grouped(planted):
    keys, pairs = planted
    groups, _ = near_duplicate_groups(keys)
    # every group is one source sentence and its edited copy, never two sources
    originals = groups[[not str(i).startswith("copy-") for i in groups.index]]
    assert originals.is_unique
    assert groups.value_counts().max() == 2
    assert len(groups) <= 2 * len(pairs)


def test_groups_are_numbered_by_first_row_and_deterministic(planted):
    keys, _ = planted
    first = near_duplicate_groups(keys, seed=1)
    again = near_duplicate_groups(keys, seed=1)
    pd.testing.assert_series_equal(first[0], again[0])
    assert first[1] == again[1]
    position = pd.Series(np.arange(len(keys)), index=keys.index)
    first_rows = position[first[0].index].groupby(first[0].to_numpy()).min()
    assert first_rows.is_monotonic_increasing
    # a different seed changes the hashes, not the verified groups of these clear pairs
    other, _ = near_duplicate_groups(keys, seed=7)

    def as_sets(groups):
        return {frozenset(rows) for rows in groups.groupby(groups).groups.values()}

    assert as_sets(first[0]) == as_sets(other)


def test_similarity_is_exact_jaccard_of_char_ngrams():
    keys = pd.Series(
        [
            "the cat sat on the mat today",
            "the cat sat on a mat today",
            "the cat sat on the mat",
            "dogs bark loudly at night",
        ]
    )
    pairs = near_duplicate_pairs(keys, threshold=0.3)

    def grams(t):
        return {t[i : i + 3] for i in range(len(t) - 2)}

    for row in pairs.itertuples():
        a, b = grams(keys[row.left]), grams(keys[row.right])
        assert row.similarity == pytest.approx(len(a & b) / len(a | b))
    assert {(r.left, r.right) for r in pairs.itertuples()} == {(0, 1), (0, 2), (1, 2)}


def test_short_rows_fall_back_to_one_whole_text_shingle():
    hashes, counts = _shingle_hashes(["ab", "ab", "ba", "abcd", ""], "char", 3)
    assert counts.tolist() == [1, 1, 1, 2, 1]
    assert hashes[0] == hashes[1] != hashes[2]
    _, words = _shingle_hashes(["good film", "a good film here"], "word", 3)
    assert words.tolist() == [1, 2]
    # identical short rows (given twice under different ids) are one group; others are not
    keys = pd.Series(["ok", "ok", "no", "yes", "a", "it"], index=list("uvwxyz"))
    groups, sims = near_duplicate_groups(keys)
    assert groups.to_dict() == {"u": 0, "v": 0}
    assert sims == {0: 1.0}


def test_giant_bucket_stays_linear_and_linked():
    # 3,000 distinct orderings of the same 7 words: one word set, so one bucket in every
    # band; all pairs would be 4.5 million candidates
    words = ["red", "green", "blue", "cyan", "magenta", "yellow", "black"]
    keys = pd.Series([" ".join(p) for p in itertools.islice(itertools.permutations(words), 3000)])
    index = _Index.build(keys, num_perm=128, threshold=0.78, shingle="word", ngram=1, seed=1)
    left, _ = index._candidates(0.78)
    assert left.size <= 3000 * MAX_BUCKET_WINDOW
    groups, sims = near_duplicate_groups(keys, shingle="word", ngram=1)
    assert len(groups) == 3000 and groups.nunique() == 1
    assert sims == {0: 1.0}


def test_word_shingles(planted):
    keys, pairs = planted
    groups, _ = near_duplicate_groups(keys, shingle="word", ngram=1, threshold=0.7)
    found = sum(
        a in groups.index and b in groups.index and groups[a] == groups[b] for a, b in pairs
    )
    assert found >= 0.9 * len(pairs)


def test_near_matches_across_splits(planted):
    keys, pairs = planted
    train = keys[[isinstance(i, str) for i in keys.index]]  # the edited copies
    test = keys[[not isinstance(i, str) for i in keys.index]]  # the 200 sources
    matches = near_matches_across(train, test)
    expected = dict(pairs)
    hits = {row: ids for row, (ids, _) in matches.items()}
    assert sum(hits.get(copy) == [src] for src, copy in expected.items()) >= 0.95 * len(pairs)
    assert all(0.78 - 1e-9 <= sim <= 1.0 for _, sim in matches.values())
    assert near_matches_across(train, pd.Series(["nothing like the others at all"])) == {}


def test_lsh_params_catch_pairs_at_the_threshold():
    for threshold in (0.5, 0.7, 0.78, 0.9):
        bands, rows = lsh_params(threshold, 128)
        assert bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= LSH_RECALL


def test_bad_parameters():
    keys = pd.Series(["a b c", "a b d"])
    with pytest.raises(ValueError, match="shingle"):
        near_duplicate_groups(keys, shingle="token")
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_groups(keys, threshold=0)
    groups, sims = near_duplicate_groups(keys.iloc[:1])
    assert groups.empty and sims == {}


def test_audit_reports_near_duplicates_with_conflicting_labels():
    df = pd.DataFrame(
        {
            "text": [
                "The battery lasts all day and charges quickly.",
                "Shipping took three weeks and the box was crushed.",
                "The battery lasts all day and charges very quickly.",
                "I would not buy this blender again.",
                "Customer service never answered my emails.",
            ],
            "label": ["pos", "neg", "neg", "neg", "neg"],
        },
        index=[10, 11, 12, 13, 14],
    )
    report = audit(df, checks=["duplicates"])
    near = [f for f in report.findings if f.check == "duplicates.near"]
    conflict = [f for f in report.findings if f.check == "duplicates.conflict"]
    assert [f.row_ids for f in near] == [[0, 2]]
    assert near[0].evidence["similarity"] >= 0.78
    assert [f.row_ids for f in conflict] == [[0, 2]]
    assert conflict[0].evidence["kind"] == "near"
    assert report.stats["duplicates"]["near_redundant_rows"] == 1


def test_audit_near_leakage_against_another_split():
    train = pd.DataFrame(
        {
            "text": [
                "The battery lasts all day and charges quickly.",
                "Shipping took three weeks and the box was crushed.",
            ],
            "label": ["pos", "neg"],
        }
    )
    test = pd.DataFrame(
        {
            "text": [
                "the battery lasts all day and charges so quickly",
                "Totally unrelated remark about the weather.",
            ],
            "label": ["pos", "neg"],
        }
    )
    report = audit(train, checks=["duplicates"], against=test)
    leak = [f for f in report.findings if f.check == "duplicates.leakage"]
    assert [(f.row_ids, f.evidence["kind"], f.evidence["against_ids"]) for f in leak] == [
        ([0], "near", [0])
    ]
