"""Raw vs curated on the same test rows: the difference, its uncertainty, and the errors.

Both models are judged on identical test rows, so the tests are *paired*:

- paired bootstrap of the accuracy difference: resample test rows with replacement and
  recompute `acc(b) - acc(a)`. Per row the difference is -1, 0 or +1, so resampling
  rows is exactly a multinomial draw of how many +1 and -1 rows the resample holds;
  drawing those counts directly gives the same distribution without materialising
  (n_boot x n) index arrays.
- McNemar's test on the discordant rows (one model right, the other wrong): exact
  binomial when there are fewer than 25 of them, else chi-square with continuity
  correction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def paired_bootstrap(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Accuracy difference b - a with a percentile bootstrap CI over paired test rows."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("both models must be scored on the same test rows")
    n = len(a)
    if n == 0:
        return {"diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "level": level, "n": 0, "n_boot": 0}
    plus = int((b & ~a).sum())
    minus = int((a & ~b).sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, [plus / n, minus / n, 1 - (plus + minus) / n], size=n_boot)
    diffs = (draws[:, 0] - draws[:, 1]) / n
    lo, hi = np.quantile(diffs, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {
        "diff": (plus - minus) / n,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "level": level,
        "n": n,
        "n_boot": n_boot,
    }


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """McNemar's test: are the two models' error rates on the same rows different?"""
    from scipy.stats import binom, chi2

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a = int((a & ~b).sum())  # a right, b wrong
    only_b = int((b & ~a).sum())  # b right, a wrong
    m = only_a + only_b
    if m == 0:
        return {"only_a": 0, "only_b": 0, "statistic": 0.0, "p_value": 1.0, "method": "none"}
    if m < 25:
        p = min(1.0, 2.0 * float(binom.cdf(min(only_a, only_b), m, 0.5)))
        return {
            "only_a": only_a,
            "only_b": only_b,
            "statistic": float(min(only_a, only_b)),
            "p_value": p,
            "method": "exact binomial",
        }
    stat = (abs(only_a - only_b) - 1) ** 2 / m
    return {
        "only_a": only_a,
        "only_b": only_b,
        "statistic": float(stat),
        "p_value": float(chi2.sf(stat, 1)),
        "method": "chi-square, continuity-corrected",
    }


def compare(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    *,
    name_a: str = "raw",
    name_b: str = "curated",
    seed: int = 0,
    n_boot: int = 10_000,
) -> dict:
    """Difference b - a in test accuracy with CI and McNemar, plus a one-line verdict."""
    y = np.asarray(y_true, dtype=object)
    ca = np.asarray(pred_a, dtype=object) == y
    cb = np.asarray(pred_b, dtype=object) == y
    boot = paired_bootstrap(ca, cb, n_boot=n_boot, seed=seed)
    test = mcnemar(ca, cb)
    acc_a, acc_b = float(ca.mean()), float(cb.mean())
    if boot["ci_low"] > 0:
        word = "better"
    elif boot["ci_high"] < 0:
        word = "worse"
    else:
        word = "not distinguishable"
    verdict = (
        f"{name_b} vs {name_a}: accuracy {acc_b:.4f} vs {acc_a:.4f}, difference "
        f"{boot['diff'] * 100:+.2f} points (95% CI {boot['ci_low'] * 100:+.2f} to "
        f"{boot['ci_high'] * 100:+.2f}); McNemar p = {test['p_value']:.3g} -> {name_b} is {word}"
    )
    return {
        "a": name_a,
        "b": name_b,
        "accuracy_a": acc_a,
        "accuracy_b": acc_b,
        "bootstrap": boot,
        "mcnemar": test,
        "outcome": word,
        "verdict": verdict,
    }


def confused_pairs(y_true, y_pred, top: int = 10) -> list[dict]:
    pairs = Counter((t, p) for t, p in zip(y_true, y_pred, strict=True) if t != p)
    return [{"true": t, "predicted": p, "count": c} for (t, p), c in pairs.most_common(top)]


def error_analysis(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    *,
    ids: Sequence,
    texts: Sequence[str],
    metrics_a: dict,
    metrics_b: dict,
    top: int = 10,
    samples: int = 20,
    seed: int = 0,
    max_chars: int = 300,
) -> dict:
    """Most confused class pairs per model, classes whose F1 fell, and sample rows.

    Samples (with test row ids): rows b gets wrong, rows that b newly gets wrong (a was
    right) and rows b newly gets right. Drawn at random under `seed`, not cherry-picked.
    """
    y = np.asarray(y_true, dtype=object)
    pa = np.asarray(pred_a, dtype=object)
    pb = np.asarray(pred_b, dtype=object)
    ids = list(ids)
    texts = list(texts)
    rng = np.random.default_rng(seed)

    def rows(mask) -> list[dict]:
        pos = np.flatnonzero(mask)
        if len(pos) > samples:
            pos = np.sort(rng.choice(pos, samples, replace=False))
        return [
            {
                "row_id": ids[i],
                "text": str(texts[i])[:max_chars],
                "label": y[i],
                "pred_a": pa[i],
                "pred_b": pb[i],
            }
            for i in pos
        ]

    f1_a = {c["label"]: c for c in metrics_a["per_class"]}
    deltas = []
    for c in metrics_b["per_class"]:
        prev = f1_a.get(c["label"])
        if prev is None or c["support"] == 0:
            continue
        deltas.append(
            {
                "label": c["label"],
                "f1_a": round(prev["f1"], 4),
                "f1_b": round(c["f1"], 4),
                "delta": round(c["f1"] - prev["f1"], 4),
                "support": c["support"],
            }
        )
    deltas.sort(key=lambda d: d["delta"])
    return {
        "confused_pairs_a": confused_pairs(y, pa, top),
        "confused_pairs_b": confused_pairs(y, pb, top),
        "per_class_delta": deltas,
        "classes_worse": [d for d in deltas if d["delta"] < 0][:top],
        "classes_better": [d for d in reversed(deltas) if d["delta"] > 0][:top],
        "wrong_b": rows(pb != y),
        "newly_wrong": rows((pa == y) & (pb != y)),
        "newly_right": rows((pa != y) & (pb == y)),
        "counts": {
            "wrong_a": int((pa != y).sum()),
            "wrong_b": int((pb != y).sum()),
            "newly_wrong": int(((pa == y) & (pb != y)).sum()),
            "newly_right": int(((pa != y) & (pb == y)).sum()),
        },
    }
