"""The label-preservation filter: which generated rows are safe to add, and why not the rest.

A candidate is kept only when every test below passes; the first that fails is its
rejection reason (cheap tests first, the classifier last and only on survivors):

- `empty`: nothing left after generation.
- `unchanged`: the same text as its source once case, punctuation and spacing are
  ignored (Apertium returns about 18% of SST-2 sentences like that).
- `duplicate`: the same text as a row already in the dataset, or as an earlier candidate.
- `too_similar` / `too_different`: the word-level similarity to the source (rapidfuzz
  Indel ratio over the words of the normalised texts) is above `max_similarity` (a near
  copy teaches nothing) or below `min_similarity` (a different sentence, no longer a
  paraphrase). On Banking77, 95% of random sentence pairs score below 0.32 and 99% of
  Apertium round trips above 0.40, hence the default 0.35.
- `negation_changed`: the number of negation cues differs from the source's
  ("has none of" -> "has any of" is the Apertium failure this catches).
- `label_changed`: the fast classifier (`dataqa.fastclf`), fitted on the training rows,
  does not keep the source's label: by default the label must stay the classifier's top
  class; with `threshold=P`, its probability must be at least P.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataqa.augmentation.words import negation_counts
from dataqa.errors import DataQAError
from dataqa.text import normalize_for_dedup

REASONS = (
    "empty",
    "unchanged",
    "duplicate",
    "too_similar",
    "too_different",
    "negation_changed",
    "label_changed",
)


@dataclass(frozen=True)
class FilterOptions:
    """Filter settings; `enabled=False` keeps every non-empty, non-duplicate candidate."""

    enabled: bool = True
    threshold: float | None = None
    min_similarity: float = 0.35
    max_similarity: float = 0.98
    negations: bool = True
    max_fit_rows: int = 20_000

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise DataQAError(
                f"--threshold must be between 0 and 1, not {self.threshold}",
                hint="e.g. --threshold 0.5; leave it out to require the source label to be "
                "the classifier's top class",
            )
        if not 0.0 <= self.min_similarity < self.max_similarity <= 1.0:
            raise DataQAError(
                "the similarity bounds must satisfy 0 <= min < max <= 1, not "
                f"{self.min_similarity} and {self.max_similarity}"
            )


def fit_label_model(texts: pd.Series, labels: pd.Series, seed: int = 0, max_rows: int = 20_000):
    """The fast classifier fitted on the training rows, or None with fewer than 2 classes.

    Above `max_rows` it is fitted on a stratified sample of that size: the filter needs
    a sensible label model, not the best one, and fitting on 67k SST-2 rows would take
    longer than the augmentation itself.
    """
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise DataQAError(
            "the label-preservation filter needs scikit-learn, which is not installed",
            hint="pip install 'dataqa-finetune[augment]', or run without the filter (--no-filter)",
        ) from None
    from dataqa.fastclf import fit_fast_classifier

    if labels.nunique() < 2:
        return None
    if len(texts) > max_rows:
        frac = max_rows / len(texts)
        pick = (
            labels.groupby(labels, group_keys=False)
            .apply(lambda g: g.sample(max(1, int(round(len(g) * frac))), random_state=seed))
            .index
        )
        texts, labels = texts.loc[pick], labels.loc[pick]
    return fit_fast_classifier(texts.tolist(), labels.tolist(), seed=seed)


def similarity(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Pairwise normalised Indel similarity (0..1) of the words of a[i] and b[i]."""
    from rapidfuzz.distance import Indel

    return np.array(
        [Indel.normalized_similarity(x.split(), y.split()) for x, y in zip(a, b, strict=True)],
        dtype=float,
    )


def label_probability(
    clf, texts: Sequence[str], labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """P(source label) for each text, and whether the source label is the top class."""
    proba = clf.predict_proba(list(texts))
    classes = [str(c) for c in clf.classes_]
    col = pd.Index(classes).get_indexer([str(lab) for lab in labels])
    rows = np.arange(len(col))
    p = np.where(col >= 0, proba[rows, np.maximum(col, 0)], 0.0)
    top = (col >= 0) & (proba.argmax(axis=1) == col)
    return p, top


def filter_candidates(
    candidates: Sequence[str],
    sources: Sequence[str],
    labels: Sequence[str],
    *,
    seen_keys: set[str],
    clf=None,
    options: FilterOptions | None = None,
) -> pd.DataFrame:
    """Judge candidates against their sources; one row per candidate, in order.

    Columns: `reason` ("" when kept), `similarity`, `label_prob` (NaN when the label test
    did not run). `seen_keys` holds the dedup keys of rows already in the dataset; it is
    not modified (the caller adds the rows it actually keeps).
    """
    opts = options or FilterOptions()
    cand = pd.Series(list(candidates), dtype=object).fillna("").astype(str)
    src = pd.Series(list(sources), dtype=object).fillna("").astype(str)
    n = len(cand)
    reason = np.full(n, "", dtype=object)
    ckey = normalize_for_dedup(cand)
    skey = normalize_for_dedup(src)
    reason[(ckey == "").to_numpy()] = "empty"
    open_ = reason == ""
    reason[open_ & (ckey == skey).to_numpy()] = "unchanged"
    open_ = reason == ""
    dup = ckey.isin(seen_keys).to_numpy() | ckey.duplicated(keep="first").to_numpy()
    # a later candidate equal to an earlier *rejected* one is still a duplicate of nothing
    # kept, but flagging it keeps the rule simple and the output free of repeats
    reason[open_ & dup] = "duplicate"
    sim = np.full(n, np.nan)
    label_prob = np.full(n, np.nan)
    if not opts.enabled:
        return pd.DataFrame({"reason": reason, "similarity": sim, "label_prob": label_prob})
    open_ = reason == ""
    idx = np.flatnonzero(open_)
    if idx.size:
        sim[idx] = similarity(ckey.iloc[idx].tolist(), skey.iloc[idx].tolist())
    reason[open_ & (sim > opts.max_similarity)] = "too_similar"
    reason[open_ & (sim < opts.min_similarity)] = "too_different"
    if opts.negations:
        open_ = reason == ""
        changed = (negation_counts(cand) != negation_counts(src)).to_numpy()
        reason[open_ & changed] = "negation_changed"
    open_ = reason == ""
    idx = np.flatnonzero(open_)
    if clf is not None and idx.size:
        lab = [labels[i] for i in idx]
        p, top = label_probability(clf, cand.iloc[idx].tolist(), lab)
        label_prob[idx] = p
        ok = top if opts.threshold is None else p >= opts.threshold
        bad = idx[~ok]
        reason[bad] = "label_changed"
    return pd.DataFrame({"reason": reason, "similarity": sim, "label_prob": label_prob})
