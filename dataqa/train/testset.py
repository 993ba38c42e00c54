"""The yardstick: is the test set fit to judge the training sets, and which of its labels hold?

Before anything trains, `check_inputs` refuses comparisons that cannot be fair: a
training set with no labelled rows, a training set missing a class the test set has
(every model trained on it gets that class wrong, so the comparison measures coverage,
not quality), and training rows whose text is also in the test set (leakage inflates
the test score of the set that holds them). Each is a `DataQAError` (exit 2) that names
the set, the rows or classes, and what to do; leaked rows may instead be left out of
training on request (`drop_leaked`, which `dataqa run` uses after its audit has
reported them).

`audit_test_labels` runs the `labels` check on the test set itself: noisy test labels
distort model comparisons (Northcutt, Athalye & Mueller, NeurIPS 2021), so the stage
reports every score on all test rows and on the rows whose labels the check trusts.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from dataqa.dataset import Dataset
from dataqa.errors import DataQAError
from dataqa.train.split import norm_text

log = logging.getLogger(__name__)

MAX_IDS_SHOWN = 8


def near_leak_threshold() -> float:
    """The duplicates check's default near-duplicate similarity (0.78, measured in
    benchmarks/bench_near_dups.py): a training row that `dataqa clean --against` would
    quarantine as leakage is left out of (or refused for) every arm alike, so raw is not
    scored with test rows that curated lost."""
    from dataqa.checks.duplicates import DuplicateOptions

    return float(DuplicateOptions.model_fields["threshold"].default)


def check_inputs(
    trains: list[Dataset], names: list[str], test: Dataset, *, drop_leaked: bool = False
) -> tuple[list[Dataset], dict[str, list]]:
    """Refuse unfair comparisons before training; return the sets and the leaked row ids.

    Parameters
    ----------
    trains, names
        The training sets (arms) and their names, in order.
    test : Dataset
        The test set every arm is scored on.
    drop_leaked : bool, default False
        Leave rows whose text is in the test set out of training instead of refusing.

    Returns
    -------
    (list of Dataset, dict)
        The training sets (without the leaked rows when `drop_leaked`) and, per arm
        name, the ids of its rows found in the test set.

    Raises
    ------
    DataQAError
        A set without a label column or without labelled rows, a test set without
        labelled rows, a training set missing a test class, or leakage (unless
        `drop_leaked`).
    """
    for ds in [*trains, test]:
        if ds.roles.label is None:
            raise DataQAError(
                "fine-tuning needs a label column", path=ds.source, hint="name it with --label-col"
            )
    if not test.labels.notna().any():
        raise DataQAError(
            "the test set has no labelled rows", path=test.source, hint="check --label-col"
        )
    for name, ds in zip(names, trains, strict=True):
        if not ds.labels.notna().any():
            raise DataQAError(
                f"the {name} training set is empty (no labelled rows): there is nothing to "
                "fine-tune on",
                path=ds.source,
                hint="check that clean did not quarantine every row (see its quarantine file) "
                "and that --label-col names the label column",
            )
    test_classes = set(test.labels.dropna().astype(str))
    for name, ds in zip(names, trains, strict=True):
        missing = sorted(test_classes - set(ds.labels.dropna().astype(str)))
        if missing:
            rows = int(test.labels.astype(str).isin(missing).sum())
            raise DataQAError(
                f"the {name} training set has no rows of {len(missing)} class(es) that the "
                f"test set has ({', '.join(map(repr, missing[:MAX_IDS_SHOWN]))}"
                f"{', ...' if len(missing) > MAX_IDS_SHOWN else ''}; {rows} test rows): a model "
                "trained on it cannot predict them, so the comparison would measure missing "
                "classes, not data quality",
                path=ds.source,
                hint="restore rows of those classes in this set (check the quarantine file), "
                "or drop those classes from the test set",
            )
    return drop_or_refuse_leaks(
        trains, names, test, drop_leaked=drop_leaked, near_threshold=near_leak_threshold()
    )


def drop_or_refuse_leaks(
    trains: list[Dataset],
    names: list[str],
    test: Dataset,
    *,
    drop_leaked: bool = False,
    unit: str = "rows",
    near_threshold: float | None = None,
) -> tuple[list[Dataset], dict[str, list]]:
    """Training rows whose text (normalised; a conversation's rendering) is in the test set.

    Parameters
    ----------
    trains, names, test
        As `check_inputs`.
    drop_leaked : bool, default False
        Leave the leaked rows out instead of refusing.
    unit : str, default "rows"
        What a row is called in the message ("conversations").
    near_threshold : float, optional
        Also count near copies: rows whose MinHash Jaccard similarity to a test row (the
        duplicates check's normalisation and character 3-grams) is at least this; for
        conversations the prompts must be as similar too (`checks.duplicates.near_leaks`).

    Returns
    -------
    (list of Dataset, dict)
        The sets without those rows (`drop_leaked`) and the leaked ids per set name.

    Raises
    ------
    DataQAError
        Naming the set and the first row ids, when rows leak and `drop_leaked` is off.
    """
    test_texts = set(norm_text(test.text.fillna("")))
    near_keys = None
    if near_threshold is not None:
        from dataqa.text.normalize import normalize_for_dedup

        near_keys = normalize_for_dedup(test.text.fillna(""))
        near_keys = near_keys[near_keys != ""]
    leaked: dict[str, list] = {}
    out = []
    for name, ds in zip(names, trains, strict=True):
        text = ds.text.fillna("")
        hit = norm_text(text).isin(test_texts) & (text.str.strip() != "")
        kind = "same text"
        if near_keys is not None and len(near_keys):
            from dataqa.checks.duplicates import near_leaks

            keys = normalize_for_dedup(text)
            keys = keys[(keys != "") & ~hit.to_numpy()]
            near = near_leaks(keys, ds, test, near_keys, threshold=near_threshold)
            if near:
                hit = hit | text.index.isin(list(near))
                kind = f"same or nearly the same text: similarity >= {near_threshold:g}"
        ids = list(ds.ids[hit.to_numpy()])
        leaked[name] = ids
        if ids and not drop_leaked:
            shown = ", ".join(map(str, ids[:MAX_IDS_SHOWN]))
            raise DataQAError(
                f"{len(ids)} {unit if len(ids) > 1 else unit[:-1]} of the training set "
                f"{name!r} also appear{'' if len(ids) > 1 else 's'} in the test set "
                f"({kind}; row ids {shown}{', ...' if len(ids) > MAX_IDS_SHOWN else ''}): "
                "they inflate that set's test score, so the comparison would not be fair",
                path=ds.source,
                hint=f"quarantine them with `dataqa clean {ds.source} --against {test.source}`, "
                "or pass --drop-leaked to leave them out of training",
            )
        out.append(ds.subset(ds.ids[~hit.to_numpy()]) if ids else ds)
    return out, leaked


def audit_test_labels(test: Dataset, mask: np.ndarray, *, seed: int = 0) -> dict:
    """Run the `labels` check on the test set; which labelled test rows does it trust?

    Parameters
    ----------
    test : Dataset
        The test set.
    mask : ndarray of bool, shape (len(test),)
        The labelled rows the models are scored on.

    Returns
    -------
    dict
        `ran` (bool), `why` (when it did not run), `doubted` (test row ids whose label the
        check doubts), `trusted` (bool array over the masked rows), `suggested` (row id ->
        the label the check suggests), `seconds`.
    """
    import time

    from dataqa.checks import REGISTRY, installed

    rows = int(mask.sum())
    none = {"ran": False, "doubted": [], "trusted": np.ones(rows, bool), "suggested": {}}
    if "labels" not in REGISTRY or not installed("labels"):
        return none | {
            "why": "the labels check is not installed (pip install 'dataqa-finetune[labels]')"
        }
    from dataqa.stages.audit import audit

    t0 = time.perf_counter()
    labelled = test.subset(test.ids[mask])
    try:
        report = audit(labelled, checks=["labels"], seed=seed)
    except DataQAError as err:  # e.g. too few rows per class to cross-validate
        return none | {"why": f"the labels check could not judge the test set: {err.problem}"}
    doubted: list = []
    suggested: dict = {}
    for f in report.findings:
        if f.check != "labels.issue":
            continue
        doubted.extend(f.row_ids)
        sugg = (f.evidence or {}).get("suggested_label") if isinstance(f.evidence, dict) else None
        if sugg is not None and len(f.row_ids) == 1:
            suggested[str(f.row_ids[0])] = sugg
    doubted_set = set(map(str, doubted))
    trusted = ~pd.Index(labelled.ids).astype(str).isin(doubted_set)
    skipped = report.meta.get("skipped") or {}
    if "labels" in skipped:
        return none | {"why": f"the labels check skipped the test set: {skipped['labels']}"}
    return {
        "ran": True,
        "doubted": sorted(doubted, key=str),
        "trusted": np.asarray(trusted, bool),
        "suggested": suggested,
        "seconds": round(time.perf_counter() - t0, 1),
    }
