"""Class balance: counts, imbalance, entropy, thin classes, and a rebalancing plan.

The plan is what the augmentation stage consumes. It lives in the audit JSON at
`stats.balance.plan` (read it with `extract_plan(report)`) and has this shape:

```
{
  "version": 1,
  "label_column": "label",          # the label column of the audited file
  "group_column": "brand" | null,   # the group column, when one was given
  "strategy": "max",                # how the target was chosen: max | median | mean | <int>
  "target": 858,                    # rows per class the plan aims at
  "max_factor": 5.0,                # a class/cell grows at most to max_factor x its rows
  "counts": {label: rows},          # rows per class now
  "per_class": {label: rows_to_add},# rows to generate per class (sum of per_group when grouped)
  "shortfall": {label: rows},       # rows the max_factor cap leaves missing: collect real data
  "per_group": {group: {label: rows_to_add}},   # only cells that need rows; {} without groups
  "group_shortfall": {group: {label: rows}},
  "total_to_add": 1234
}
```

Without a group column each class is brought up to `target`. With one, every
(group, label) cell is brought up to `max(share of the group x target, the group's
largest class)`: classes end at least at `target` overall *and* every group ends with
balanced labels, so the group no longer predicts the label (the bias check's fix).
A class or cell is never grown past `max_factor` times its real rows, because
paraphrases of a handful of rows do not teach a model a class; what the cap leaves
missing is reported as `shortfall`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Augment, Kind, NoFix
from dataqa.options import Options

PLAN_VERSION = 1
MAX_CHART_CLASSES = 100


class BalanceOptions(Options):
    """Options of the balance check."""

    min_per_class: int = Field(50, ge=1, description="Fewer rows than this: a thin class.")
    min_share_of_median: float = Field(
        0.25, ge=0, le=1, description="Or fewer than this share of the median class's rows."
    )
    critical_per_class: int = Field(10, ge=1, description="Fewer rows: too few to learn (error).")
    imbalance_info: float = Field(3.0, ge=1, description="Largest/smallest ratio worth an info.")
    imbalance_warn: float = Field(10.0, ge=1, description="... worth a warning.")
    target: str | int = Field(
        "max", description="Rows per class the plan aims at: max, median, mean or a number."
    )
    max_factor: float = Field(
        5.0, ge=1, description="Never grow a class or cell past this multiple of its rows."
    )
    plan_max_groups: int = Field(200, ge=1, description="More groups: no per-group plan.")

    @field_validator("target")
    @classmethod
    def _target(cls, value):
        if isinstance(value, int) and value >= 1 or value in ("max", "median", "mean"):
            return value
        raise ValueError("target is max, median, mean or a positive number of rows")


KINDS = (
    Kind("balance.single_class", "error", NoFix, "one class only: nothing to learn", rows=False),
    Kind("balance.thin_class", "warning", Augment, "a class with too few rows"),
    Kind("balance.imbalance", "info", Augment, "largest / smallest class ratio", rows=False),
)


class BalanceCheck(Check):
    Options = BalanceOptions
    kinds = KINDS

    name = "balance"
    needs = ("text", "label")

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        labels = ds.labels
        present = labels.dropna()
        counts = present.value_counts()
        counts = counts.sort_values(ascending=False, kind="stable")
        stats: dict[str, Any] = {
            "rows_labelled": len(present),
            "missing_labels": int(labels.isna().sum()),
            **balance_stats(counts),
        }
        findings: list[Finding] = []
        if len(counts) == 0:
            return CheckResult(findings, stats)
        if len(counts) < 2:
            only = counts.index[0]
            findings.append(
                Finding(
                    check="balance.single_class",
                    severity="error",
                    message=f"every labelled row has the label {only!r}: a classifier has nothing to learn",
                    row_ids=[],
                    evidence={"label": only, "rows": int(counts.iloc[0])},
                    fix={"action": "none"},
                )
            )
            return CheckResult(findings, stats)

        groups = None
        if ds.roles.group is not None:
            groups = ds.groups.loc[present.index]
        plan = rebalancing_plan(
            present,
            groups,
            target=p["target"],
            max_factor=p["max_factor"],
            max_groups=p["plan_max_groups"],
        )
        plan["label_column"] = ds.roles.label
        plan["group_column"] = ds.roles.group
        stats["plan"] = plan

        median = float(counts.median())
        limit = max(p["min_per_class"], p["min_share_of_median"] * median)
        thin = counts[counts < limit]
        stats["thin_classes"] = [str(c) for c in thin.index]
        stats["thin_limit"] = limit
        if len(thin) == len(counts) and len(counts) > 1:
            # every class is thin: the set is too small, not unbalanced (say it once)
            findings.append(
                Finding(
                    check="balance.thin_class",
                    severity="error" if counts.max() < p["critical_per_class"] else "warning",
                    message=(
                        f"every one of the {len(counts)} classes has fewer than {limit:.0f} rows "
                        f"(largest: {counts.index[0]!r} with {counts.iloc[0]}): the set is too "
                        "small rather than unbalanced"
                    ),
                    row_ids=list(present.index),
                    evidence={
                        "label": None,
                        "rows": {str(k): int(v) for k, v in counts.items()},
                        "limit": limit,
                    },
                    fix={"action": "augment", "plan": "stats.balance.plan"},
                )
            )
            thin = thin.iloc[:0]
        for label, n in thin.items():
            severity = "error" if n < p["critical_per_class"] else "warning"
            rows = present.index[(present == label).to_numpy()]
            findings.append(
                Finding(
                    check="balance.thin_class",
                    severity=severity,
                    message=(
                        f"class {label!r} has only {n} rows ({n / len(present):.1%} of the labelled "
                        f"rows; the median class has {median:.0f}); the plan adds "
                        f"{plan['per_class'].get(label, 0)}"
                    ),
                    row_ids=list(rows),
                    evidence={
                        "label": label,
                        "rows": int(n),
                        "median_class_rows": median,
                        "limit": limit,
                        "rows_to_add": plan["per_class"].get(label, 0),
                        "shortfall": plan["shortfall"].get(label, 0),
                    },
                    fix={
                        "action": "augment",
                        "label": label,
                        "rows_to_add": plan["per_class"].get(label, 0),
                        "target": plan["target"],
                    },
                )
            )

        ratio = stats["imbalance_ratio"]
        if ratio >= p["imbalance_info"]:
            severity = "warning" if ratio >= p["imbalance_warn"] else "info"
            smallest = counts.tail(3)
            findings.append(
                Finding(
                    check="balance.imbalance",
                    severity=severity,
                    message=(
                        f"the largest class has {ratio:.1f}x the rows of the smallest "
                        f"({counts.index[0]!r} {counts.iloc[0]} vs {counts.index[-1]!r} "
                        f"{counts.iloc[-1]}); normalised label entropy "
                        f"{stats['normalised_entropy']:.2f}; the plan in stats.balance.plan adds "
                        f"{plan['total_to_add']} rows"
                    ),
                    row_ids=[],
                    evidence={
                        "imbalance_ratio": ratio,
                        "normalised_entropy": stats["normalised_entropy"],
                        "largest": {str(counts.index[0]): int(counts.iloc[0])},
                        "smallest": {str(k): int(v) for k, v in smallest.items()},
                        "total_to_add": plan["total_to_add"],
                    },
                    fix={"action": "augment", "plan": "stats.balance.plan"},
                )
            )

        stats["charts"] = _charts(counts, plan)
        return CheckResult(findings, stats)


def balance_stats(counts: pd.Series) -> dict[str, Any]:
    """Imbalance ratio, majority/minority share and (normalised) Shannon entropy."""
    k = len(counts)
    total = int(counts.sum())
    out: dict[str, Any] = {
        "classes": k,
        "counts": {str(c): int(n) for c, n in counts.items()},
    }
    if k == 0 or total == 0:
        return out
    share = counts.to_numpy(dtype=float) / total
    entropy = float(-(share * np.log(share)).sum())
    out.update(
        {
            "imbalance_ratio": round(float(counts.max() / counts.min()), 4),
            "majority_share": round(float(share.max()), 4),
            "minority_share": round(float(share.min()), 4),
            "entropy": round(entropy, 4),
            # 1.0 = perfectly balanced, 0 = one class
            "normalised_entropy": round(entropy / math.log(k), 4) if k > 1 else 0.0,
        }
    )
    return out


def resolve_target(counts: pd.Series, target: str | int) -> int:
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if target < 1:
            raise _bad_target(target)
        return int(target)
    if target == "max":
        return int(counts.max())
    if target == "median":
        return int(math.ceil(counts.median()))
    if target == "mean":
        return int(math.ceil(counts.mean()))
    raise _bad_target(target)


def _bad_target(target) -> Exception:
    from dataqa.errors import DataQAError

    return DataQAError(
        f"balance.target must be max, median, mean or a positive integer, not {target!r}",
        hint="e.g. -s balance.target=median or -s balance.target=500",
    )


def _capped(need: int, have: int, max_factor: float) -> tuple[int, int]:
    """(rows to add, shortfall) when a class of `have` rows may grow to max_factor x."""
    room = int(math.floor(max(max_factor - 1.0, 0.0) * have))
    add = min(max(need, 0), room)
    return add, max(need, 0) - add


def rebalancing_plan(
    labels: pd.Series,
    groups: pd.Series | None = None,
    *,
    target: str | int = "max",
    max_factor: float = 5.0,
    max_groups: int = 200,
) -> dict[str, Any]:
    """Rows each class (and each group x class cell) needs; see the module docstring.

    `labels` holds the present labels only; `groups` (same index) may hold None.
    """
    counts = labels.value_counts().sort_values(ascending=False, kind="stable")
    tgt = resolve_target(counts, target)
    plan: dict[str, Any] = {
        "version": PLAN_VERSION,
        "label_column": None,
        "group_column": None,
        "strategy": target if isinstance(target, str) else int(target),
        "target": tgt,
        "max_factor": float(max_factor),
        "counts": {str(c): int(n) for c, n in counts.items()},
        "per_class": {},
        "shortfall": {},
        "per_group": {},
        "group_shortfall": {},
        "total_to_add": 0,
    }
    use_groups = groups is not None and 0 < groups.nunique(dropna=True) <= max_groups
    if groups is not None and not use_groups:
        plan["note"] = (
            f"{groups.nunique(dropna=True)} groups: more than plan_max_groups={max_groups}, "
            "so the plan is per class only"
        )
    if not use_groups:
        for label, n in counts.items():
            add, short = _capped(tgt - int(n), int(n), max_factor)
            plan["per_class"][str(label)] = add
            if short:
                plan["shortfall"][str(label)] = short
    else:
        known = groups.notna()
        table = pd.crosstab(groups[known], labels[known])
        table = table.reindex(columns=counts.index, fill_value=0)
        share = table.sum(axis=1) / table.to_numpy().sum()
        per_class = dict.fromkeys(map(str, counts.index), 0)
        shortfall: dict[str, int] = {}
        for g, row in table.iterrows():
            cell_target = max(int(math.ceil(share[g] * tgt)), int(row.max()))
            adds, shorts = {}, {}
            for label, n in row.items():
                add, short = _capped(cell_target - int(n), int(n), max_factor)
                if add:
                    adds[str(label)] = add
                    per_class[str(label)] += add
                if short:
                    shorts[str(label)] = short
                    shortfall[str(label)] = shortfall.get(str(label), 0) + short
            if adds:
                plan["per_group"][str(g)] = adds
            if shorts:
                plan["group_shortfall"][str(g)] = shorts
        plan["per_class"] = per_class
        plan["shortfall"] = shortfall
        if (~known).any():
            plan["note"] = f"{int((~known).sum())} labelled rows have no group and are not planned"
    plan["total_to_add"] = int(sum(plan["per_class"].values()))
    return plan


def extract_plan(report: Any) -> dict[str, Any]:
    """The rebalancing plan from an audit: a Report, its dict, or the path of its JSON."""
    from dataqa.errors import DataQAError
    from dataqa.findings import Report

    where = None
    if isinstance(report, (str, Path)):
        where = str(report)
        try:
            data = json.loads(Path(report).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataQAError("no such report file", path=where) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataQAError(f"not a JSON report ({err})", path=where) from None
        stats = data.get("stats", {}) if isinstance(data, dict) else {}
    elif isinstance(report, Report):
        stats = report.stats
    elif isinstance(report, dict):
        stats = report.get("stats", report)
    else:
        raise TypeError(f"expected a Report, a dict or a path, not {type(report).__name__}")
    plan = (stats.get("balance") or {}).get("plan") if isinstance(stats, dict) else None
    if not plan:
        raise DataQAError(
            "the report holds no rebalancing plan (stats.balance.plan)",
            path=where,
            hint="run `dataqa audit FILE --label-col LABEL` with the balance check "
            "(it is a default check) and use that JSON report",
        )
    return plan


def _charts(counts: pd.Series, plan: dict) -> list[dict]:
    shown = counts.head(MAX_CHART_CLASSES)
    title = "Rows per class" + (
        f" (largest {MAX_CHART_CLASSES} of {len(counts)})" if len(counts) > len(shown) else ""
    )
    charts = [
        {
            "id": "balance-classes",
            "type": "bar",
            "title": title,
            "x_label": "class",
            "y_label": "rows",
            "data": {"labels": [str(c) for c in shown.index], "values": [int(v) for v in shown]},
        }
    ]
    if plan["total_to_add"]:
        adds = sorted(plan["per_class"].items(), key=lambda kv: -kv[1])[:MAX_CHART_CLASSES]
        adds = [(k, v) for k, v in adds if v > 0]
        charts.append(
            {
                "id": "balance-plan",
                "type": "bar",
                "title": f"Rows to add per class (target {plan['target']} rows per class)",
                "x_label": "class",
                "y_label": "rows to add",
                "data": {"labels": [k for k, _ in adds], "values": [int(v) for _, v in adds]},
            }
        )
    return charts
