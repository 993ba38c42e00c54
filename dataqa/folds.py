"""Stratified cross-validation folds, shared by the out-of-fold model pool
(`dataqa.labelprobs`) and the fine-tuned featuriser (`dataqa.featurizers.finetuned`), so
both score every row with models that never saw its label, on the same folds."""

from __future__ import annotations

import numpy as np

__all__ = ["make_folds", "plan_folds"]


def plan_folds(y: np.ndarray, requested: int) -> tuple[int, str | None]:
    """K for stratified CV: `requested`, or fewer when the smallest class is smaller."""
    smallest = int(np.bincount(y).min())
    k = max(2, min(requested, smallest))
    if k < requested:
        return k, (
            f"labels: {k}-fold cross-validation instead of {requested}: the smallest class has "
            f"{smallest} rows"
        )
    return k, None


def make_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`k` stratified, shuffled (train index, test index) pairs over labels `y` (n,);
    the same `seed` gives the same folds."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
