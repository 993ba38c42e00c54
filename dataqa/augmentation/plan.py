"""What to generate: rows to add per class (and group), from the audit's plan or the user.

A plan is a list of cells, each "add N rows of label L (within group G)". It comes from

- the balance plan of an audit report, `report.stats["balance"]["plan"]` =
  `{"target": ..., "per_class": {label: rows_to_add}, "per_group": {...}}` (or a JSON
  file holding just that plan; see `dataqa.checks.balance`). When `per_group` is there
  it is used and `per_class` is taken as its sum; it maps a group either to
  `{label: rows_to_add}` or to a number of rows, which go to that group's thinnest
  labels first. The plan's `group_column` is adopted when the dataset names none;
- `target="balance"`: grow every class to the size of the largest;
- `per_class=N`: grow every class to at least N rows (larger classes get nothing);
- `factor=F`: grow every class to F times its size.

Only training rows are ever sources: rows of a test/validation split (a `split` column)
are skipped, and a dataset that is itself a test split is refused. Each source gives at
most `max_per_source` new rows, so a 3-row class is not asked for 300 paraphrases; the
shortfall is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from dataqa.dataset import Dataset, read_json_file
from dataqa.errors import DataQAError

TEST_SPLITS = frozenset(
    {"test", "testing", "dev", "val", "valid", "validation", "eval", "evaluation", "holdout"}
)
_TEST_NAME = re.compile(r"(?:^|[^a-z])(?:" + "|".join(sorted(TEST_SPLITS)) + r")(?:[^a-z]|$)")
PROVENANCE = ("dataqa_source_id", "dataqa_method", "dataqa_params", "dataqa_seed")


@dataclass
class Cell:
    label: str
    group: str | None
    rows: int


@dataclass
class Plan:
    cells: list[Cell]
    source: str
    target: object = None
    capped: dict[str, int] = field(default_factory=dict)
    plan_shortfall: dict = field(default_factory=dict)
    """Rows the audit's plan already left out (its max_factor cap): collect real data."""

    def per_class(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cells:
            out[c.label] = out.get(c.label, 0) + c.rows
        return out

    def total(self) -> int:
        return sum(c.rows for c in self.cells)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "target": self.target,
            "per_class": self.per_class(),
            "cells": [
                {"label": c.label, "group": c.group, "rows": c.rows} for c in self.cells if c.rows
            ],
            "capped": self.capped,
            "plan_shortfall": self.plan_shortfall,
        }


def refuse_test_split(ds: Dataset, split: str | None = None) -> None:
    """Augmenting a test split would inflate every score measured on it: refuse."""
    name = Path(ds.source).stem.lower() if ds.source != "<memory>" else ""
    named = (split or ds.meta.get("split") or "").lower()
    if named in TEST_SPLITS or (name and _TEST_NAME.search(name)):
        raise DataQAError(
            "this looks like a test or validation split, and augment never adds rows to one "
            "(paraphrases of test rows would leak and inflate scores)",
            path=ds.source,
            hint="augment the training split; if this file really is training data, rename it",
        )


def training_mask(ds: Dataset) -> pd.Series:
    """True for rows outside any test/validation split named in a `split` column."""
    ok = pd.Series(True, index=ds.frame.index)
    for col in ds.frame.columns:
        if str(col).lower() == "split":
            ok &= ~ds.frame[col].astype(str).str.strip().str.lower().isin(TEST_SPLITS)
    return ok


def source_rows(ds: Dataset) -> pd.Index:
    """Ids of rows that may be paraphrased: labelled, non-empty, training split, and not
    themselves augmented rows."""
    if ds.roles.label is None:
        raise DataQAError(
            "augment needs a label column to know which classes to grow",
            path=ds.source,
            hint="name it with --label-col",
        )
    frame = ds.frame
    ok = ds.labels.notna() & (ds.text.str.strip() != "") & training_mask(ds)
    if "dataqa_source_id" in frame.columns:
        ok &= frame["dataqa_source_id"].isna()
    if not ok.any():
        if (ds.text.str.strip() == "").all():
            raise DataQAError(
                "every text is empty, so there is nothing to paraphrase",
                path=ds.source,
                column=ds.roles.text,
                hint="check --text-col",
            )
        raise DataQAError(
            "no row can be a source: none is a labelled, non-empty training row",
            path=ds.source,
            hint="check --label-col and the split column",
        )
    return frame.index[ok.to_numpy()]


def read_plan(path: str | Path) -> dict:
    """The balance plan from an audit report JSON, or a plan JSON file itself."""
    p = Path(path)
    data = read_json_file(p, "plan", "give an audit report (--json output) or a plan JSON")
    if isinstance(data, dict) and "stats" in data:
        plan = (data.get("stats") or {}).get("balance", {}).get("plan")
        if plan is None:
            raise DataQAError(
                "this audit report has no balance plan (stats.balance.plan)",
                path=str(p),
                hint="run the audit with the balance check, or use --target balance / "
                "--per-class N / --factor F",
            )
        data = plan
    if not isinstance(data, dict) or not ({"per_class", "per_group"} & set(data)):
        raise DataQAError(
            "a plan must be a JSON object with per_class and/or per_group",
            path=str(p),
            hint='e.g. {"per_class": {"refund": 40, "card_lost": 25}}',
        )
    return data


def adopt_group_column(ds: Dataset, data: dict) -> Dataset:
    """Use the plan's `group_column` as the group role when the dataset names none."""
    col = data.get("group_column")
    if not data.get("per_group") or ds.roles.group is not None or not col:
        return ds
    if col not in ds.frame.columns:
        raise DataQAError(
            f"the plan adds rows per group of column {col!r}, which this file does not have",
            path=ds.source,
            hint="augment the file the audit ran on, or name the group column with --group-col",
        )
    return replace(ds, roles=replace(ds.roles, group=col))


def _rows(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise DataQAError(f"{where}: rows to add must be a number >= 0, not {value!r}")
    return int(round(value))


def make_plan(
    ds: Dataset,
    sources: pd.Index,
    *,
    plan: dict | str | Path | None = None,
    target: str | None = None,
    per_class: int | None = None,
    factor: float | None = None,
    max_per_source: int = 8,
    plan_name: str | None = None,
) -> Plan:
    """Turn one of the four ways of asking into cells of rows to add."""
    given = [x is not None for x in (plan, target, per_class, factor)]
    if sum(given) != 1:
        raise DataQAError(
            "say how many rows to add in exactly one way",
            hint="use one of --plan REPORT.json, --target balance, --per-class N, --factor F",
        )
    labels = ds.labels.loc[sources]
    counts = ds.labels[training_mask(ds)].value_counts()  # class sizes: every training row
    cells: list[Cell] = []
    plan_shortfall: dict = {}
    if plan is not None:
        data = read_plan(plan) if isinstance(plan, (str, Path)) else plan
        source = plan_name or (str(plan) if isinstance(plan, (str, Path)) else "plan")
        cells = _cells_from_plan(ds, sources, data, source)
        tgt = data.get("target")
        plan_shortfall = data.get("shortfall") or {}
    elif target is not None:
        if target != "balance":
            raise DataQAError(f"unknown --target {target!r}", hint="the only target is: balance")
        top = int(counts.max())
        cells = [Cell(str(c), None, top - int(n)) for c, n in counts.items() if n < top]
        source, tgt = "balance", top
    elif per_class is not None:
        if per_class < 1:
            raise DataQAError(f"--per-class must be at least 1, not {per_class}")
        cells = [Cell(str(c), None, per_class - int(n)) for c, n in counts.items() if n < per_class]
        source, tgt = "per_class", per_class
    else:
        if factor is None or factor <= 1:
            raise DataQAError(
                f"--factor must be above 1, not {factor}", hint="--factor 2 doubles each class"
            )
        cells = [Cell(str(c), None, int(round((factor - 1) * n))) for c, n in counts.items()]
        source, tgt = "factor", factor
    cells.sort(key=lambda c: (c.label, c.group or ""))
    # cap: at most max_per_source new rows per usable source row
    capped: dict[str, int] = {}
    groups = ds.groups.loc[sources] if ds.groups is not None else None
    for c in cells:
        mask = labels == c.label
        if c.group is not None and groups is not None:
            mask &= groups == c.group
        n_src = int(mask.sum())
        if n_src == 0 and c.rows > 0:
            raise DataQAError(
                f"class {c.label!r}{_in_group(c)} has no non-empty training row to paraphrase",
                path=ds.source,
                hint="drop it from the plan, or fix its rows' text",
            )
        cap = n_src * max_per_source
        if c.rows > cap:
            capped[c.label] = capped.get(c.label, 0) + c.rows - cap
            c.rows = cap
    return Plan(
        [c for c in cells if c.rows > 0],
        source=source,
        target=tgt,
        capped=capped,
        plan_shortfall=plan_shortfall,
    )


def _in_group(c: Cell) -> str:
    return f" in group {c.group!r}" if c.group is not None else ""


def _cells_from_plan(ds: Dataset, sources: pd.Index, data: dict, source: str) -> list[Cell]:
    known = set(ds.labels.dropna().unique())
    cells: list[Cell] = []
    per_group = data.get("per_group") or {}
    # per_class is the sum of per_group when both are there (dataqa.checks.balance)
    per_class = {} if per_group else (data.get("per_class") or {})
    for label, n in per_class.items():
        if str(label) not in known:
            raise DataQAError(
                f"the plan asks for rows of class {label!r}, which this dataset does not have",
                path=source,
                hint="make the plan from an audit of this same file",
            )
        cells.append(Cell(str(label), None, _rows(n, f"per_class[{label!r}]")))
    if per_group and ds.groups is None:
        raise DataQAError(
            "the plan has rows per group, but the dataset has no group column",
            path=source,
            hint="name it with --group-col",
        )
    for group, spec in per_group.items():
        in_group = ds.groups.loc[sources] == str(group)
        if not in_group.any():
            raise DataQAError(
                f"the plan asks for rows in group {group!r}, which has no training rows",
                path=source,
            )
        if isinstance(spec, dict):
            for label, n in spec.items():
                cells.append(Cell(str(label), str(group), _rows(n, f"per_group[{group!r}]")))
        else:
            cells += _fill_thinnest(
                ds.labels.loc[sources][in_group], str(group), _rows(spec, f"per_group[{group!r}]")
            )
    return cells


def _fill_thinnest(labels: pd.Series, group: str, n: int) -> list[Cell]:
    """Spread n rows over a group's labels, always adding to the currently thinnest one."""
    counts = labels.value_counts().sort_index()
    add = dict.fromkeys(counts.index, 0)
    for _ in range(n):
        thin = min(counts.index, key=lambda lab: (counts[lab] + add[lab], lab))
        add[thin] += 1
    return [Cell(str(lab), group, k) for lab, k in add.items() if k]
