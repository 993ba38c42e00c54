"""Groups: label skew per group, under-represented groups, and the confound of a group
whose rows carry both a surface cue and a label."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataqa.checks.bias.common import (
    CUE_LABELS,
    MAX_CHART_ROWS,
    MAX_CONFOUND_GROUPS,
    MIN_CLASS_ROWS,
)
from dataqa.findings import Finding
from dataqa.stats import adjust, cramers_v


def group_skew(
    groups: pd.Series, labels: pd.Series, p: dict
) -> tuple[dict, list[Finding], list[dict]]:
    """Label distribution per group, the overall test, and one test per group against the rest."""
    from scipy.stats import chi2_contingency

    known = groups.notna()
    g, y = groups[known], labels[known]
    table = pd.crosstab(g, y)
    sizes = table.sum(axis=1).sort_values(ascending=False)
    table = table.loc[sizes.index]
    tested = sizes[sizes >= p["min_group_rows"]].index
    chi2, pval, v, dof = cramers_v(table.loc[tested].to_numpy())
    stats: dict[str, Any] = {
        "groups": int(len(sizes)),
        "rows_without_group": int((~known).sum()),
        "sizes": {str(k): int(n) for k, n in sizes.head(200).items()},
        "chi2": chi2,
        "dof": dof,
        "p_value": pval,
        "cramers_v": v,
        "tested_groups": int(len(tested)),
        "label_rates": {
            str(k): {str(c): round(float(r), 4) for c, r in row.items()}
            for k, row in table.head(MAX_CHART_ROWS)
            .div(table.head(MAX_CHART_ROWS).sum(axis=1), axis=0)
            .iterrows()
        },
    }
    findings: list[Finding] = []
    per_group = []
    # the effect is measured against the median group, so that one very skewed group
    # does not make every other group look skewed the other way
    rates_all = table.loc[tested].div(table.loc[tested].sum(axis=1), axis=0)
    reference = rates_all.median(axis=0) if len(tested) >= 3 else None
    stats["reference"] = "the median group" if reference is not None else "the other groups"
    for grp in tested:
        inside = table.loc[grp].to_numpy(dtype=float)
        rest = table.drop(index=grp).sum(axis=0).to_numpy(dtype=float)
        two = np.vstack([inside, rest])
        two = two[:, two.sum(axis=0) > 0]
        if two.shape[1] < 2 or rest.sum() == 0:
            continue
        _, pg, _, _ = chi2_contingency(two, correction=False)
        rate_in = inside / inside.sum()
        rate_rest = rest / rest.sum()
        ref = rate_rest if reference is None else reference.to_numpy(dtype=float)
        ref = ref / ref.sum() if ref.sum() > 0 else rate_rest
        diff = rate_in - ref
        # labels the group over-represents: more than the reference, and a cell of the
        # group-vs-rest table with an adjusted standardised residual of 3 or more
        z = _adjusted_residuals(np.vstack([inside, rest]))[0]
        over = [int(i) for i in np.argsort(-diff, kind="stable") if diff[i] > 0 and z[i] >= 3]
        over = over or [int(np.argmax(diff))]
        c = over[0]
        per_group.append(
            {
                "group": grp,
                "rows": int(inside.sum()),
                "p_value": float(pg),
                "cramers_v": cramers_v(np.vstack([inside, rest]))[2],
                # total variation distance between the group's label mix and the reference
                "skew": float(0.5 * np.abs(diff).sum()),
                "label": table.columns[c],
                "labels": [table.columns[i] for i in over],
                "rate": float(rate_in[over].sum()),
                "rate_reference": float(ref[over].sum()),
                "rate_rest": float(rate_rest[over].sum()),
                "rates": dict(zip(map(str, table.columns), rate_in.round(4).tolist(), strict=True)),
                "rates_reference": dict(
                    zip(map(str, table.columns), ref.round(4).tolist(), strict=True)
                ),
            }
        )
    padj = adjust(np.array([r["p_value"] for r in per_group]), p["correction"])
    skewed = []
    for r, pa in zip(per_group, padj, strict=True):
        r["p_adjusted"] = float(pa)
        if pa < p["alpha"] and r["skew"] >= p["min_skew"]:
            skewed.append(r)
    stats["per_group"] = [
        {k: v for k, v in r.items() if k not in ("rates", "rates_reference")}
        for r in per_group[:200]
    ]
    stats["skewed_groups"] = [str(r["group"]) for r in skewed]
    for r in skewed:
        grp, over = r["group"], r["labels"]
        rows = g.index[((g == grp) & y.isin(over)).to_numpy()]
        to_add = _rows_to_match(
            table.loc[grp], pd.Series(r["rates_reference"], index=table.columns)
        )
        findings.append(
            Finding(
                check="bias.group_skew",
                severity="warning",
                message=(
                    f"group {grp!r} over-represents {_names(over)}: {r['rate']:.0%} of its rows "
                    f"against {r['rate_reference']:.0%} in {stats['reference']} "
                    f"({r['rate_rest']:.0%} in the other groups pooled); label mix differs by "
                    f"{r['skew']:.2f} (total variation distance), chi-square p="
                    f"{r['p_adjusted']:.3g} {'BH' if p['correction'] == 'bh' else 'Holm'}-adjusted, "
                    f"Cramér's V {r['cramers_v']:.2f}: a model can learn "
                    f"'{grp} => {over[0]}'"
                ),
                row_ids=list(rows),
                evidence={
                    **{k: v for k, v in r.items()},
                    "overall_cramers_v": v,
                    "overall_p_value": pval,
                    "rows_to_add": to_add,
                },
                fix={
                    "action": "augment",
                    "group": grp,
                    "labels": to_add,
                    "alternatives": ["resample"],
                },
            )
        )
    mean_size = sizes.mean()
    small = sizes[sizes < p["min_group_share"] * mean_size]
    stats["underrepresented"] = {str(k): int(n) for k, n in small.head(200).items()}
    if len(small) and len(sizes) > 1:
        rows = g.index[g.isin(small.index).to_numpy()]
        findings.append(
            Finding(
                check="bias.group_underrepresented",
                severity="info",
                message=(
                    f"{len(small)} of {len(sizes)} groups have fewer than "
                    f"{p['min_group_share']:.0%} of the mean group size ({mean_size:.0f} rows): "
                    + ", ".join(f"{k!r} ({n})" for k, n in small.head(5).items())
                    + (" ..." if len(small) > 5 else "")
                ),
                row_ids=list(rows),
                evidence={
                    "groups": {str(k): int(n) for k, n in small.head(100).items()},
                    "mean_group_rows": float(mean_size),
                },
                fix={"action": "augment", "groups": [str(k) for k in small.index[:100]]},
            )
        )
    return stats, findings, skewed


def _adjusted_residuals(table: np.ndarray) -> np.ndarray:
    """Haberman's adjusted standardised residuals of a contingency table (~N(0, 1) under
    independence), so one cell can be read as "more than chance"."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    expected = rows * cols / n
    var = expected * (1 - rows / n) * (1 - cols / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (table - expected) / np.sqrt(var)
    return np.nan_to_num(z)


def _names(labels: list, shown: int = 3) -> str:
    out = ", ".join(repr(str(x)) for x in labels[:shown])
    return out + (f" (+{len(labels) - shown} more)" if len(labels) > shown else "")


def _rows_to_match(inside: pd.Series, rest: pd.Series) -> dict[str, int]:
    """Rows per label to add to a group so its label mix matches the other groups'."""
    share = rest / rest.sum()
    ok = share > 0
    scale = float((inside[ok] / share[ok]).max())
    want = np.ceil(scale * share - 1e-9)
    add = (want - inside).clip(lower=0).astype(int)
    return {str(k): int(v) for k, v in add.items() if v > 0}


def confounding(
    groups: pd.Series,
    labels: pd.Series,
    cues: pd.DataFrame,
    skewed: list[dict],
    gstats: dict,
    p: dict,
) -> tuple[dict, list[Finding]]:
    """Skewed groups whose rows also differ on a surface cue that then predicts the label."""
    from scipy.stats import mannwhitneyu

    known = groups.notna()
    g, y, X = groups[known], labels[known], cues.loc[known[known].index]
    tests = []
    # the most skewed groups first; beyond MAX_CONFOUND_GROUPS the group skew findings stand alone
    for r in sorted(skewed, key=lambda r: -r["skew"])[:MAX_CONFOUND_GROUPS]:
        inside = (g == r["group"]).to_numpy()
        target = y.isin(r["labels"]).to_numpy()
        for cue in X.columns:
            x = X[cue].to_numpy(dtype=float)
            if x.min() == x.max():
                continue
            u_g, p_g = mannwhitneyu(x[inside], x[~inside], alternative="two-sided")
            auc_g = u_g / (inside.sum() * (~inside).sum())
            sign = 1.0 if auc_g >= 0.5 else -1.0
            u_y, p_y = mannwhitneyu(x[target], x[~target], alternative="two-sided")
            auc_y = u_y / (target.sum() * (~target).sum())
            tests.append(
                {
                    "group": r["group"],
                    "label": r["label"],
                    "labels": r["labels"],
                    "cue": cue,
                    "auc_group": float(auc_g),
                    "p_group": float(p_g),
                    "auc_label": float(auc_y if sign > 0 else 1 - auc_y),
                    "p_label": float(p_y),
                    "auc_within_groups": _within_group_auc(x, target, g.to_numpy(), sign),
                    "sign": sign,
                    "skew": r,
                }
            )
    if not tests:
        return {"tested": 0, "confounds": []}, []
    pg = adjust(np.array([t["p_group"] for t in tests]), p["correction"])
    py = adjust(np.array([t["p_label"] for t in tests]), p["correction"])
    findings = []
    confounds = []
    means = X.groupby(g.to_numpy()).mean()
    for t, a, b in zip(tests, pg, py, strict=True):
        effect = abs(t["auc_group"] - 0.5)
        if not (a < p["alpha"] and effect >= p["cue_group_effect"]):
            continue
        if not (b < p["alpha"] and t["auc_label"] > 0.5):
            continue
        grp, label, cue, skew = t["group"], t["label"], t["cue"], t["skew"]
        names = _names(t["labels"])
        x = X[cue]
        inside = g == grp
        rest = x[~inside]
        if t["sign"] > 0:
            cut = float(rest.quantile(0.9))
            carriers = x.index[(inside & (x > cut)).to_numpy()]
        else:
            cut = float(rest.quantile(0.1))
            carriers = x.index[(inside & (x < cut)).to_numpy()]
        strong = effect >= 0.3 and skew["skew"] >= 0.2
        cue_means = {str(k): round(float(v), 4) for k, v in means[cue].head(MAX_CHART_ROWS).items()}
        to_add = _rows_to_match(
            pd.Series(skew["rates"]) * skew["rows"], pd.Series(skew["rates_reference"])
        )
        within = t["auc_within_groups"]
        link = (
            "the link runs through the group"
            if within is not None and within - 0.5 < 0.5 * (t["auc_label"] - 0.5)
            else "the cue is linked to the label within groups too"
        )
        fix_alts = ["resample", f"add {CUE_LABELS[cue]} to rows of the other labels"]
        if cue == "typo_rate":
            fix_alts.insert(0, "correct_typos")
        confounds.append({k: v for k, v in t.items() if k != "skew"} | {"rows": len(carriers)})
        adds = ", ".join(f"{n} {lab!r}" for lab, n in to_add.items())
        findings.append(
            Finding(
                check="bias.confound",
                severity="error" if strong else "warning",
                message=(
                    f"confound: {grp!r} rows have a {'higher' if t['sign'] > 0 else 'lower'} "
                    f"{CUE_LABELS[cue]} (mean "
                    f"{float(x[inside].mean()):.3g} vs {float(rest.mean()):.3g}, group-vs-rest AUC "
                    f"{t['auc_group']:.2f}) and more {names} labels ({skew['rate']:.0%} vs "
                    f"{skew['rate_reference']:.0%}), so a model can learn '{grp}/{cue} => {label}'. "
                    f"Over the whole set {CUE_LABELS[cue]} predicts {names} with AUC "
                    f"{t['auc_label']:.2f}; within groups "
                    + (f"{within:.2f}" if within is not None else "n/a")
                    + f" ({link}). Fix: add {adds or 'rows of the other labels'} to {grp!r} "
                    "(augment the other side), re-sample"
                    + (
                        ", or correct the typos (dataqa clean --fix-typos)"
                        if cue == "typo_rate"
                        else ""
                    )
                ),
                row_ids=list(carriers),
                evidence={
                    "group": grp,
                    "label": label,
                    "labels": t["labels"],
                    "cue": cue,
                    "group_cue_auc": t["auc_group"],
                    "group_cue_p_adjusted": float(a),
                    "cue_label_auc": t["auc_label"],
                    "cue_label_p_adjusted": float(b),
                    "cue_label_auc_within_groups": within,
                    "cue_mean_in_group": float(x[inside].mean()),
                    "cue_mean_elsewhere": float(rest.mean()),
                    "cue_means_per_group": cue_means,
                    "label_rates_per_group": gstats["label_rates"],
                    "label_rate_in_group": skew["rate"],
                    "label_rate_reference": skew["rate_reference"],
                    "carrier_cut": cut,
                    "rows_to_add": to_add,
                },
                fix={
                    "action": "augment",
                    "group": grp,
                    "labels": to_add,
                    "alternatives": fix_alts,
                },
            )
        )
    order = sorted(
        range(len(findings)),
        key=lambda i: (str(confounds[i]["group"]), -abs(confounds[i]["auc_group"] - 0.5)),
    )
    findings = [findings[i] for i in order]
    confounds = [confounds[i] for i in order]
    return {"tested": len(tests), "confounds": confounds}, findings


def _within_group_auc(
    x: np.ndarray, target: np.ndarray, g: np.ndarray, sign: float
) -> float | None:
    """Row-weighted mean over groups of the cue's AUC for the label inside each group
    (groups with fewer than 5 rows on either side are left out)."""
    frame = pd.DataFrame({"g": g, "x": x, "t": target.astype(float)})
    frame["r"] = frame.groupby("g", sort=False)["x"].rank()  # ties averaged, as in Mann-Whitney
    frame["rt"] = frame["r"] * frame["t"]
    agg = frame.groupby("g", sort=False).agg(pos=("t", "sum"), n=("t", "size"), rs=("rt", "sum"))
    agg["neg"] = agg["n"] - agg["pos"]
    agg = agg[(agg["pos"] >= MIN_CLASS_ROWS) & (agg["neg"] >= MIN_CLASS_ROWS)]
    if agg.empty:
        return None
    auc = (agg["rs"] - agg["pos"] * (agg["pos"] + 1) / 2) / (agg["pos"] * agg["neg"])
    auc = auc if sign > 0 else 1 - auc
    return float((auc * agg["n"]).sum() / agg["n"].sum())


def group_heatmap(groups: pd.Series, labels: pd.Series) -> dict | None:
    known = groups.notna()
    table = pd.crosstab(groups[known], labels[known])
    if table.empty:
        return None
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index[:MAX_CHART_ROWS]]
    table = table[table.sum(axis=0).sort_values(ascending=False).index[:MAX_CHART_ROWS]]
    shares = table.div(table.sum(axis=1).clip(lower=1), axis=0)
    return {
        "id": "bias-group-label",
        "type": "heatmap",
        "title": "Share of each label within each group",
        "x_label": "label",
        "y_label": "group",
        "data": {
            "rows": [str(r) for r in shares.index],
            "cols": [str(c) for c in shares.columns],
            "values": shares.round(4).to_numpy().tolist(),
        },
    }
