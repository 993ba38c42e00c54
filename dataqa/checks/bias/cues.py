"""Surface cues: features of the text alone (typos, length, capitals, ...) that predict
the label, scored one-vs-rest by AUC against a permutation baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataqa.checks.base import Context
from dataqa.checks.bias.common import CUE_LABELS, MIN_CLASS_ROWS, URL_RE, class_aucs, strength
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.stats import wilson_lower
from dataqa.text import LANGUAGE_DEFAULTS, UniqueText, identify_languages


def surface_cues(text: pd.Series, typos: pd.DataFrame, other_lang: pd.Series) -> pd.DataFrame:
    """One numeric column per cue, indexed like `text`."""
    chars = text.str.len().clip(lower=1)
    letters = text.str.count(r"[^\W\d_]").clip(lower=1)
    return pd.DataFrame(
        {
            "typo_rate": typos["typo_rate"].reindex(text.index, fill_value=0.0),
            "length": text.str.count(r"\S+").astype(float),
            "capitals": text.str.count(r"[A-Z]") / letters,
            "punctuation": text.str.count(r"[^\w\s]") / chars,
            "exclamation": text.str.count("!").astype(float),
            "url": text.str.contains(URL_RE, regex=True).astype(float),
            "digits": text.str.count(r"\d") / chars,
            "other_language": other_lang.reindex(text.index, fill_value=0.0).astype(float),
        },
        index=text.index,
    )


def other_language(ds: Dataset, typos: pd.DataFrame, ctx: Context) -> pd.Series:
    """1.0 for rows confidently in another language than the dataset's main one: the
    same verdicts as the hygiene check (`dataqa.text.identify_languages`)."""
    text = ds.text
    u = ctx.cached("unique_text", lambda: UniqueText.of(text))
    d = LANGUAGE_DEFAULTS
    langs = ctx.cached(
        ("languages", None, d["min_prob"], d["min_words"], d["min_letters"]),
        lambda: identify_languages(u, typos, (text.str.strip() != "").to_numpy(), seed=ctx.seed),
    )
    return pd.Series(u.rows(langs.other.index).astype(float), index=text.index)


def best_rule(x: np.ndarray, codes: np.ndarray, k: int, min_support: int) -> dict[str, Any] | None:
    """The single-threshold rule `x >= t` or `x <= t` => one class with the highest
    Wilson lower bound on its precision, among rules covering at least `min_support` rows."""
    n_total = len(x)
    prior = np.bincount(codes, minlength=k) / n_total
    thresholds = np.unique(np.quantile(x, np.linspace(0.01, 0.99, 99)))
    best = None
    for t in thresholds:
        for side, mask in (("ge", x >= t), ("le", x <= t)):
            support = int(mask.sum())
            if support < min_support or support == n_total:
                continue
            counts = np.bincount(codes[mask], minlength=k)
            lb = wilson_lower(counts, np.full(k, support))
            c = int(np.argmax(lb - prior))
            if best is None or lb[c] - prior[c] > best["lb"] - best["prior"]:
                best = {
                    "side": side,
                    "threshold": float(t),
                    "class": c,
                    "support": support,
                    "hits": int(counts[c]),
                    "precision": float(counts[c] / support),
                    "lb": float(lb[c]),
                    "prior": float(prior[c]),
                }
    return best


def cue_strengths(
    cues: pd.DataFrame,
    codes: np.ndarray,
    k: int,
    *,
    permutations: int,
    rng: np.random.Generator,
    min_support: int,
) -> pd.DataFrame:
    """Per cue: AUC-equivalent strength, chance level, permutation p-value, best class and rule."""
    from scipy.stats import rankdata

    n_total = len(codes)
    n = np.bincount(codes, minlength=k).astype(float)
    valid = (n >= MIN_CLASS_ROWS) & (n_total - n >= MIN_CLASS_ROWS)
    w = n[valid] / n[valid].sum() if valid.any() else n[valid]
    names = [c for c in cues.columns]
    xs = {name: cues[name].to_numpy(dtype=float) for name in names}
    ranks = {name: rankdata(x) for name, x in xs.items() if np.nanmax(x) > np.nanmin(x)}
    null = {name: np.empty(permutations) for name in ranks}
    # all shuffles of a block at once: one bincount over (shuffle, class) cells per cue
    block = max(1, 2_000_000 // max(n_total, 1))
    denom = n * (n_total - n)
    for start in range(0, permutations, block):
        size = min(block, permutations - start)
        chunk = np.stack([rng.permutation(codes) for _ in range(size)])
        cells = (np.arange(len(chunk))[:, None] * k + chunk).ravel()
        for name, r in ranks.items():
            sums = np.bincount(cells, weights=np.tile(r, len(chunk)), minlength=len(chunk) * k)
            with np.errstate(divide="ignore", invalid="ignore"):
                auc = (sums.reshape(len(chunk), k) - n * (n + 1) / 2) / denom
            null[name][start : start + len(chunk)] = np.abs(auc[:, valid] - 0.5) @ w
    rows = {}
    for name in names:
        if name not in ranks:
            rows[name] = {"strength": 0.5, "chance": 0.5, "p_value": 1.0, "constant": True}
            continue
        auc, _ = class_aucs(ranks[name], codes, k)
        s_obs = strength(auc, n, valid)
        dev = np.where(valid, np.abs(auc - 0.5), -1.0)
        c = int(np.argmax(dev))
        rows[name] = {
            "strength": 0.5 + s_obs,
            "chance": 0.5 + float(null[name].mean()),
            "p_value": (1 + int((null[name] >= s_obs - 1e-12).sum())) / (permutations + 1),
            "best_class": c,
            "best_class_auc": float(auc[c]),
            "rule": best_rule(xs[name], codes, k, min_support),
            "constant": False,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def group_strength(
    groups: pd.Series, codes: np.ndarray, k: int, rng: np.random.Generator, folds: int = 5
) -> float | None:
    """AUC-equivalent strength of the group as a cue, from out-of-fold label rates per group
    (so a group seen once cannot predict its own label)."""
    from scipy.stats import rankdata

    g = groups.fillna("\x00missing").to_numpy()
    gcodes, _ = pd.factorize(g)
    n_groups = gcodes.max() + 1
    if n_groups < 2:
        return None
    fold = rng.integers(0, folds, len(codes))
    enc = np.zeros((len(codes), k))
    prior = np.bincount(codes, minlength=k) / len(codes)
    for f in range(folds):
        tr, te = fold != f, fold == f
        table = np.zeros((n_groups, k))
        np.add.at(table, (gcodes[tr], codes[tr]), 1.0)
        rates = (table + prior) / (table.sum(axis=1, keepdims=True) + 1.0)
        enc[te] = rates[gcodes[te]]
    n = np.bincount(codes, minlength=k).astype(float)
    valid = (n >= MIN_CLASS_ROWS) & (len(codes) - n >= MIN_CLASS_ROWS)
    auc = np.full(k, 0.5)
    for c in np.flatnonzero(valid):
        ranks = rankdata(enc[:, c])
        auc[c] = ((ranks[codes == c]).sum() - n[c] * (n[c] + 1) / 2) / (n[c] * (len(codes) - n[c]))
    return 0.5 + strength(auc, n, valid)


def _rule_rows(x: pd.Series, present: pd.Series, rule: dict, classes: pd.Index) -> pd.Index:
    hit = x >= rule["threshold"] if rule["side"] == "ge" else x <= rule["threshold"]
    return present.index[(hit & (present == classes[rule["class"]])).to_numpy()]


def cue_findings(
    table: pd.DataFrame,
    cues: pd.DataFrame,
    present: pd.Series,
    codes: np.ndarray,
    classes: pd.Index,
    p: dict,
) -> list[Finding]:
    out = []
    for name, row in table.iterrows():
        if name == "group" or row.get("constant", False):
            continue
        strength, padj = float(row["strength"]), float(row["p_adjusted"])
        rule = row.get("rule")
        rule = rule if isinstance(rule, dict) else None
        rule_ok = (
            rule is not None
            and rule["lb"] >= p["rule_min_precision"]
            and rule["lb"] - rule["prior"] >= p["rule_min_lift"]
        )
        significant = padj < p["alpha"]
        if significant and strength >= p["cue_error"]:
            severity = "error"
        elif (significant and strength >= p["cue_warn"]) or rule_ok:
            severity = "warning"
        else:
            continue
        label = CUE_LABELS[name]
        best = classes[int(row["best_class"])]
        msg = (
            f"{label} alone predicts the label: AUC-equivalent strength {strength:.2f} "
            f"(chance {float(row['chance']):.2f}, permutation p={padj:.3g} adjusted); "
            f"strongest for {best!r} (one-vs-rest AUC {float(row['best_class_auc']):.2f})"
        )
        rows: pd.Index = pd.Index([])
        evidence: dict[str, Any] = {
            "cue": name,
            "strength": strength,
            "chance": float(row["chance"]),
            "p_value": float(row["p_value"]),
            "p_adjusted": padj,
            "best_class": best,
            "best_class_auc": float(row["best_class_auc"]),
        }
        if rule is not None:
            rule_label = classes[rule["class"]]
            sign = ">=" if rule["side"] == "ge" else "<="
            evidence["rule"] = {
                **{k: v for k, v in rule.items() if k != "class"},
                "label": rule_label,
                "text": f"{name} {sign} {rule['threshold']:.4g} => {rule_label}",
            }
            msg += (
                f"; rule '{name} {sign} {rule['threshold']:.4g} => {rule_label}' holds for "
                f"{rule['hits']} of {rule['support']} rows (precision {rule['precision']:.0%}, "
                f"base rate {rule['prior']:.0%})"
            )
            rows = _rule_rows(cues[name], present, rule, classes)
        fix = {
            "action": "augment",
            "cue": name,
            "suggestion": (
                "remove the cue from the text (e.g. normalise it in clean), or add rows of the "
                "other labels that carry it, so that it no longer decides the label"
            ),
        }
        if name == "typo_rate":
            fix["alternatives"] = ["correct_typos"]
        out.append(
            Finding(
                check="bias.surface_cue",
                severity=severity,
                message=msg,
                row_ids=list(rows),
                evidence=evidence,
                fix=fix,
            )
        )
    return out


def cue_stats(table: pd.DataFrame, classes: pd.Index) -> dict:
    out = {}
    for name, row in table.iterrows():
        entry = {
            "strength": float(row["strength"]),
            "p_value": None if pd.isna(row.get("p_value")) else float(row["p_value"]),
            "p_adjusted": None if pd.isna(row.get("p_adjusted")) else float(row["p_adjusted"]),
        }
        if name != "group" and not row.get("constant", False):
            entry["chance"] = float(row["chance"])
            entry["best_class"] = str(classes[int(row["best_class"])])
            entry["best_class_auc"] = float(row["best_class_auc"])
            rule = row.get("rule")
            if isinstance(rule, dict):
                entry["rule"] = {
                    **{k: v for k, v in rule.items() if k != "class"},
                    "label": str(classes[rule["class"]]),
                }
        out[name] = entry
    return out


def cue_chart(table: pd.DataFrame) -> dict:
    order = table["strength"].astype(float).sort_values(ascending=False)
    return {
        "id": "bias-surface-cues",
        "type": "bar",
        "title": "How well each surface cue alone predicts the label (0.5 = not at all)",
        "x_label": "cue",
        "y_label": "AUC-equivalent strength",
        "data": {
            "labels": [CUE_LABELS.get(n, n) for n in order.index],
            "values": [round(float(v), 4) for v in order],
        },
    }
