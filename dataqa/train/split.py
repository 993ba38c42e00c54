"""The validation split: carved from the training data, never from the test set.

Raw and curated must be judged by the same yardstick, so the split is drawn once, on
the first training set (the raw one), stratified by its labels with a fixed seed (a set
without labels - conversations - is one stratum: a seeded random share), and
applied to every other set *by row id*: a curated file written by dataqa keeps the raw
row ids, so its validation rows are the raw validation rows that survived curation
(with their curated labels). Rows derived from a validation row (augmented copies that
name their source row) are held out of training, or the model would have seen the
validation rows in disguise. A set that shares no ids with the first gets its own
stratified split under the same seed, and the report says so.

Training rows whose text also appears in the test set are never used for validation,
and they are reported: they inflate test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dataqa.dataset import Dataset

SOURCE_COLUMNS = ("dataqa_source_row", "source_row_id", "dataqa_source_id", "source_id")
"""Columns that name the row an augmented row was made from."""


@dataclass
class Split:
    train: pd.Index
    val: pd.Index
    held_out: pd.Index = field(default_factory=lambda: pd.Index([]))
    notes: list[str] = field(default_factory=list)


def norm_text(text: pd.Series) -> pd.Series:
    return text.str.lower().str.split().str.join(" ")


def stratified_ids(
    labels: pd.Series, frac: float, seed: int, exclude: pd.Index | None = None
) -> pd.Index:
    """A `frac` share of each class (rounded; never a class's last row), seeded.

    Classes are visited in sorted order and rows in index order, so the draw depends
    only on the seed and the rows, not on file order.
    """
    rng = np.random.default_rng(seed)
    labels = labels.dropna()
    if exclude is not None and len(exclude):
        labels = labels[~labels.index.isin(exclude)]
    picked = []
    for _, members in sorted(labels.groupby(labels, sort=True).groups.items()):
        members = pd.Index(members)
        n = len(members)
        k = min(int(round(frac * n)), n - 1)
        if k <= 0:
            continue
        pos = rng.permutation(n)[:k]
        picked.extend(members[np.sort(pos)])
    return pd.Index(picked)


def source_column(ds: Dataset) -> str | None:
    for col in SOURCE_COLUMNS:
        if col in ds.frame.columns:
            return col
    return None


def strata(ds: Dataset) -> pd.Series:
    """What a split stratifies on: the labels, or one stratum for a set without labels."""
    if ds.labels is not None:
        return ds.labels
    return pd.Series("", index=ds.ids, dtype=object)


def make_splits(
    trains: list[Dataset], test: Dataset | None, *, frac: float = 0.1, seed: int = 0
) -> tuple[list[Split], dict]:
    """One Split per training set, plus the leakage map {set index: [row ids in test]}."""
    test_texts = set(norm_text(test.text)) if test is not None else set()
    leaked: dict[int, list] = {}
    for i, ds in enumerate(trains):
        hit = norm_text(ds.text).isin(test_texts) & (ds.text.str.strip() != "")
        leaked[i] = list(ds.ids[hit.to_numpy()])
    ref = trains[0]
    ref_val = stratified_ids(strata(ref), frac, seed, exclude=pd.Index(leaked[0]))
    splits = []
    for i, ds in enumerate(trains):
        labelled = ds.ids[strata(ds).notna().to_numpy()]
        notes = []
        missing = len(ds) - len(labelled)
        if missing:
            notes.append(f"{missing} rows without a label are not used")
        shared = ds.ids.isin(ref.ids).mean() if len(ds) else 0.0
        if i == 0 or shared >= 0.5:
            val = labelled[labelled.isin(ref_val)]
            if i > 0:
                notes.append(
                    f"validation rows: the {len(val)} of the first set's {len(ref_val)} "
                    "validation rows that this set kept (same row ids)"
                )
            val_set = ref_val
        else:
            val = stratified_ids(strata(ds), frac, seed, exclude=pd.Index(leaked[i]))
            notes.append(
                "this set shares few row ids with the first, so it got its own stratified "
                f"validation split (same seed {seed})"
            )
            val_set = val
        held = pd.Index([])
        col = source_column(ds)
        if col is not None:
            src = ds.frame[col].astype(object)
            derived = src.notna() & src.map(lambda v, ids=val_set: _as_id(v, ids)).astype(bool)
            held = ds.ids[derived.to_numpy()].difference(val)
            if len(held):
                notes.append(
                    f"{len(held)} rows derived from validation rows (column {col!r}) are held "
                    "out of training"
                )
        train = labelled[~labelled.isin(val) & ~labelled.isin(held)]
        splits.append(Split(train=train, val=val, held_out=held, notes=notes))
    return splits, leaked


def _as_id(value, ids: pd.Index) -> bool:
    if value in ids:
        return True
    try:
        return int(float(value)) in ids
    except (TypeError, ValueError):
        return str(value) in ids
