"""Rules great-expectations cannot see, read from the other checks of the same audit."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataqa.checks.rules.spec import Rule


def group_label_v(
    groups: pd.Series, labels: pd.Series, min_rows: int = 0
) -> tuple[float, pd.DataFrame]:
    """Cramér's V of the group x label table (groups with fewer than min_rows rows left
    out): the bias-corrected V of `dataqa.stats.cramers_v`, the number the bias check
    reports, so a YAML threshold is checked against the figure the report shows."""
    from dataqa.stats import cramers_v

    table = pd.crosstab(groups, labels)
    table = table[table.sum(axis=1) >= max(min_rows, 1)]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 0.0, table
    return cramers_v(table.to_numpy())[2], table


def evaluate_native(rule: Rule, ds, results: dict) -> dict:
    """Evaluate one dataqa-native rule.

    Returns {"status": "passed"|"failed"|"skipped", "observed": ..., "row_ids": [...],
    "message": ..., "evidence": {...}}. `results` maps check names to the CheckResults of
    the checks that already ran in this audit.
    """
    p = rule.params
    kind = rule.type
    if kind == "max_duplicate_rate":
        rate_kind = p.get("kind", "exact")
        rows, source = redundant_duplicates(ds, results, rate_kind)
        if rows is None:
            return skipped(
                f"needs the duplicates check for {rate_kind} duplicates; add it to --checks"
            )
        return rate_outcome(rule, rows, len(ds), f"{rate_kind} duplicate rate", {"source": source})
    if kind == "max_label_noise_rate":
        if "labels" not in results:
            return skipped("the labels check did not run in this audit; add it to --checks")
        labels_result = results["labels"]
        if labels_result.stats.get("skipped"):
            return skipped(f"the labels check was skipped: {labels_result.stats['skipped']}")
        rows = union_rows(
            [f for f in labels_result.findings if f.check == "labels.issue"], "labels"
        )
        # cleanlab's estimate of the noise rate when the check gives one, else the flagged share
        estimate = (labels_result.stats.get("noise_rate") or {}).get("overall")
        return rate_outcome(
            rule, rows, len(ds), "estimated label-noise rate", {"source": "labels"}, estimate
        )
    if kind == "max_off_topic_rate":
        if "relevance" not in results:
            return skipped("the relevance check did not run in this audit; add it to --checks")
        rows = union_rows(results["relevance"].findings, "relevance")
        scored = results["relevance"].stats.get("rows_scored") or len(ds)
        return rate_outcome(rule, rows, scored, "off-topic rate", {"source": "relevance"})
    labels = ds.labels
    if labels is None:
        return skipped("the data has no label column (--label-col)")
    counts = labels.value_counts(dropna=True)
    if kind == "min_rows_per_class":
        thin = counts[counts < p["min"]]
        if thin.empty:
            return passed(int(counts.min()) if len(counts) else 0)
        rows = labels.index[labels.isin(thin.index)].tolist()
        return {
            "status": "failed",
            "observed": int(thin.min()),
            "row_ids": rows,
            "message": f"{len(thin)} classes have fewer than {p['min']} rows: "
            + ", ".join(f"{k} ({v})" for k, v in thin.sort_values().head(10).items()),
            "evidence": {"counts": {str(k): int(v) for k, v in thin.items()}, "min": p["min"]},
        }
    if kind == "max_class_imbalance":
        if len(counts) < 2:
            return passed(1.0)
        ratio = float(counts.max() / counts.min())
        if ratio <= p["max"]:
            return passed(round(ratio, 3))
        return {
            "status": "failed",
            "observed": round(ratio, 3),
            "row_ids": [],
            "message": f"class imbalance {ratio:.1f}:1 ({counts.index[0]} {counts.iloc[0]} rows vs "
            f"{counts.index[-1]} {counts.iloc[-1]}) is above the maximum {p['max']}:1",
            "evidence": {"counts": {str(k): int(v) for k, v in counts.items()}, "max": p["max"]},
        }
    if kind == "max_group_skew":
        groups = ds.groups
        if groups is None:
            return skipped("the data has no group column (--group-col)")
        mask = groups.notna() & labels.notna()
        v, table = group_label_v(groups[mask], labels[mask], int(p.get("min_rows", 0)))
        if v <= p["max"]:
            return passed(round(v, 4))
        share = table.div(table.sum(axis=1), axis=0)
        overall = table.sum(axis=0) / table.to_numpy().sum()
        worst = (share - overall).abs().max(axis=1).sort_values(ascending=False)
        return {
            "status": "failed",
            "observed": round(v, 4),
            "row_ids": [],
            "message": f"labels depend on the group: Cramér's V {v:.3f} is above {p['max']}; "
            f"most skewed groups: {', '.join(map(str, worst.index[:3]))}",
            "evidence": {
                "cramers_v": round(v, 4),
                "max": p["max"],
                "label_share_by_group": {
                    str(g): {str(k): round(float(x), 4) for k, x in share.loc[g].items()}
                    for g in worst.index[:10]
                },
            },
        }
    raise AssertionError(f"no evaluator for native rule type {kind}")  # pragma: no cover


def passed(observed: Any) -> dict:
    return {"status": "passed", "observed": observed, "row_ids": [], "message": "", "evidence": {}}


def skipped(reason: str) -> dict:
    return {"status": "skipped", "observed": None, "row_ids": [], "message": reason, "evidence": {}}


def rate_outcome(
    rule: Rule, rows: list, total: int, what: str, evidence: dict, rate: float | None = None
) -> dict:
    """Pass when `rate` (default: the share of `rows` in `total`) is at most the rule's max."""
    if rate is None:
        rate = len(rows) / total if total else 0.0
    if rate <= rule.params["max"]:
        return passed(round(rate, 5))
    return {
        "status": "failed",
        "observed": round(rate, 5),
        "row_ids": rows,
        "message": f"{what} {rate:.2%} is above the maximum {rule.params['max']:.2%} "
        f"({len(rows)} of {total} rows listed)",
        "evidence": {**evidence, "rate": round(rate, 5), "max": rule.params["max"]},
    }


def union_rows(findings: list, family: str) -> list:
    """Row ids of a check family's row-level findings, in first-seen order, each once."""
    seen: dict = {}
    for f in findings:
        if f.check.startswith(family + ".") or f.check == family:
            for r in f.row_ids:
                seen.setdefault(r, None)
    return list(seen)


def redundant_duplicates(ds, results: dict, kind: str) -> tuple[list | None, str]:
    """Rows that duplicate a kept row: every member of a duplicate group but its keeper.

    Read from the duplicates check's findings when it ran; exact duplicates are otherwise
    computed here (normalised text, the same key the duplicates check uses).
    """
    wanted = {"exact": ("duplicates.exact",), "near": ("duplicates.near",)}.get(
        kind, ("duplicates.exact", "duplicates.near")
    )
    if "duplicates" in results:
        keepers: set = set()
        members: dict = {}
        for f in results["duplicates"].findings:
            if f.check in wanted and f.row_ids:
                keep = getattr(f.fix, "keep", None) or f.row_ids[0]
                keepers.add(keep)
                for r in f.row_ids:
                    members.setdefault(r, None)
        return [r for r in members if r not in keepers], "duplicates check"
    if kind != "exact":
        return None, ""
    from dataqa.checks.duplicates import exact_groups
    from dataqa.text import normalize_for_dedup

    groups = exact_groups(normalize_for_dedup(ds.text))
    redundant = groups.index[groups.duplicated(keep="first")]
    return redundant.tolist(), "exact match of normalised text"
