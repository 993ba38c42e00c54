"""Test-set metrics for one model: accuracy, macro/weighted P/R/F1, per class, confusion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Metrics over string labels; `labels` fixes the order of classes (all that occur
    in the test set or the training set). Classes a model never predicts get P = 0."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    labels = list(labels)
    out: dict = {
        "n": len(y_true),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
    }
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0
        )
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    out["per_class"] = [
        {
            "label": lab,
            "precision": float(pi),
            "recall": float(ri),
            "f1": float(fi),
            "support": int(si),
        }
        for lab, pi, ri, fi, si in zip(labels, p, r, f, s, strict=True)
    ]
    out["confusion"] = {
        "labels": labels,
        "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    return out


def headline(m: dict) -> dict:
    """The few numbers a table shows."""
    return {
        "accuracy": round(m["accuracy"], 4),
        "macro_f1": round(m["macro"]["f1"], 4),
        "weighted_f1": round(m["weighted"]["f1"], 4),
        "n": m["n"],
    }


def per_class_table(m: dict) -> str:
    """A plain-text per-class report (like sklearn's), for logs and the terminal."""
    width = max([len(str(c["label"])) for c in m["per_class"]] + [9])
    lines = [f"{'class':<{width}}  precision  recall  f1     support"]
    for c in m["per_class"]:
        lines.append(
            f"{str(c['label']):<{width}}  {c['precision']:>9.3f}  {c['recall']:>6.3f}  "
            f"{c['f1']:.3f}  {c['support']:>7}"
        )
    lines.append(f"{'accuracy':<{width}}  {'':>9}  {'':>6}  {m['accuracy']:.3f}  {m['n']:>7}")
    return "\n".join(lines)
