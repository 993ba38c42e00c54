"""Can a user tell how reliable the label flags are?

Precision of the flagged rows against two in-sample estimates (the mean posterior error
and the mean label-quality error of the flagged rows) and against the share of the
model's out-of-fold disagreements with the given labels that are flagged.

    OMP_NUM_THREADS=1 python benchmarks/bench_label_precision.py   (about 15 minutes, 2 cores)

Needs ../shared/data (Banking77, SST-2, Debian); results in BENCHMARKS.md (issue 14).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import label_sets  # noqa: E402
from bench_labels import run_dataqa  # noqa: E402

SETTINGS = [
    ("debian3k", "uniform", 0.05),
    ("debian3k", "ambiguity", 0.05),
    ("debian3k", "uniform", 0.2),
    ("banking_small", "uniform", 0.2),
    ("sst2_5k", "uniform", 0.1),
    ("banking3k", "class-conditional", 0.1),
]


def load(name: str):
    if name == "debian3k":
        return label_sets.debian(n=3000, seed=1)
    if name == "banking_small":
        return label_sets.banking77_small()
    if name == "sst2_5k":
        return label_sets.sst2(n=5000, seed=1)
    texts, labels = label_sets.banking77()
    pick = np.random.default_rng(0).choice(len(texts), 3000, replace=False)
    return [texts[j] for j in pick], np.asarray(labels)[pick]


def main() -> None:
    for name, kind, rate in SETTINGS:
        try:
            texts, labels = load(name)
        except FileNotFoundError as err:
            print(f"{name}: skipped ({err})")
            continue
        _, y = np.unique(np.asarray(labels), return_inverse=True)
        P = label_sets.reference_probs(texts, y)
        noisy, flipped = label_sets.inject(y, P, kind, rate, seed=3)
        sel = run_dataqa(texts, noisy, int(y.max()) + 1).selection
        flag = sel.issues
        disagree = int(round((1 - sel.oof_accuracy) * len(noisy)))
        row = {
            "set": name,
            "noise": kind,
            "rate": rate,
            "flagged": int(flag.sum()),
            "true": int(flipped.sum()),
            "precision": round(float((flag & flipped).sum() / max(flag.sum(), 1)), 3),
            "est_posterior": round(float((1 - sel.p_correct[flag]).mean()), 3),
            "est_quality": round(float((1 - sel.quality[flag]).mean()), 3),
            "oof_accuracy": round(float(sel.oof_accuracy), 3),
            "reliability": sel.reliability,
            "flagged_share_of_disagreements": round(int(flag.sum()) / max(disagree, 1), 3),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
