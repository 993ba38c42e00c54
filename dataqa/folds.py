"""Cross-validation folds, shared by the out-of-fold model pool (`dataqa.labelprobs`), the
fine-tuned featuriser (`dataqa.featurizers.finetuned`) and the Dask executor of the labels
check (`dataqa.engine.dask_labels`), so every row is scored by models that never saw its
label.

In memory the folds are stratified and shuffled (`make_folds`). Over a cluster they are
assigned by a hash of a key of each row (`hash_folds`): the fold of a row then depends on
its content alone, never on how the rows are cut into partitions or shards."""

from __future__ import annotations

import numpy as np

__all__ = ["hash_folds", "hash_unit", "make_folds", "plan_folds", "plan_folds_counts"]


def plan_folds(y: np.ndarray, requested: int) -> tuple[int, str | None]:
    """K for stratified CV: `requested`, or fewer when the smallest class is smaller."""
    return plan_folds_counts(np.bincount(y), requested)


def plan_folds_counts(counts: np.ndarray, requested: int) -> tuple[int, str | None]:
    """`plan_folds` from the class sizes (`counts`, one per class) rather than the labels."""
    smallest = int(np.min(counts))
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


_GOLDEN = 0x9E3779B97F4A7C15


def hash_unit(keys: np.ndarray, seed: int, salt: int = 0) -> np.ndarray:
    """A uniform number in [0, 1) per 64-bit key, the same for the same (key, seed, salt)
    wherever and in whatever order it is computed."""
    import pandas as pd

    mix = np.uint64(((seed * 1_000_003 + salt * 7_919 + 1) * _GOLDEN) % (1 << 64))
    h = pd.util.hash_array(np.asarray(keys).astype(np.uint64) ^ mix)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hash_folds(keys: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of each row from a 64-bit key of it (e.g. the hash of its
    normalised text, so exact copies share a fold): about n/k rows a fold, not stratified,
    independent of the partitioning."""
    return np.minimum((hash_unit(keys, seed, salt=1) * k).astype(np.int64), k - 1)
