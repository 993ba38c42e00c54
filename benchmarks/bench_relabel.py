"""Relabel: how many label changes fix a planted flip and how many break a correct label?

For each setting, planted flips with ground truth -> the labels check (defaults) -> the
rows `dataqa clean --label-errors relabel` would relabel under each candidate rule ->
fixed (a flipped row given back its true label), broken (a correct label changed),
moved (a flipped row given a third, still wrong label) and the kept-set noise before and
after. The rule was chosen on the DESIGN settings; VALIDATE were measured after it was
fixed, HELD_OUT (declared before any run) last.

    OMP_NUM_THREADS=1 python benchmarks/bench_relabel.py            (detect + table)
    OMP_NUM_THREADS=1 python benchmarks/bench_relabel.py --only design

Needs ../shared/data (Banking77, SST-2, Debian); probabilities are cached in
$DATAQA_BENCH_CACHE (default /tmp/dataqa_relabel_cache). Results: BENCHMARKS.md,
"Relabel: fixed vs broken (2026-11-30)".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import label_sets  # noqa: E402
from bench_labels import run_dataqa  # noqa: E402

# (group, set, noise model, rate)
SETTINGS = [
    ("design", "sst2_10k", "uniform", 0.05),
    ("design", "debian5k", "uniform", 0.05),
    ("design", "banking3k", "uniform", 0.1),
    ("validate", "sst2_10k", "uniform", 0.2),
    ("validate", "debian5k", "uniform", 0.2),
    ("validate", "banking3k", "class-conditional", 0.1),
    ("held-out", "debian5k", "ambiguity", 0.1),
]
CACHE = Path(os.environ.get("DATAQA_BENCH_CACHE", "/tmp/dataqa_relabel_cache"))


def load(name: str):
    if name == "sst2_10k":
        return label_sets.sst2(n=10_000, seed=1)
    if name == "debian5k":
        return label_sets.debian(n=5000, seed=1)
    texts, labels = label_sets.banking77()
    pick = np.random.default_rng(0).choice(len(texts), 3000, replace=False)
    return [texts[j] for j in pick], np.asarray(labels)[pick]


def detect(name: str, kind: str, rate: float) -> dict:
    """Cached: true labels, noisy labels, out-of-fold P and the selection's arrays."""
    path = CACHE / f"{name}-{kind}-{rate}.npz"
    if path.exists():
        return dict(np.load(path))
    texts, labels = load(name)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    ref = label_sets.reference_probs(texts, y)
    noisy, _ = label_sets.inject(y, ref, kind, rate, seed=3)
    start, cpu = time.perf_counter(), time.process_time()
    det = run_dataqa(texts, noisy, int(y.max()) + 1)
    sel = det.selection
    out = {
        "y": y,
        "noisy": noisy,
        "P": det.probs.probs,
        "issues": sel.issues,
        "quality": sel.quality,
        "p_correct": sel.p_correct,
        "suggested": sel.suggested,
        "suggested_post": sel.suggested_prob,
        "seconds": np.array([time.perf_counter() - start, time.process_time() - cpu]),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    return out


def effect(d: dict, relabel: np.ndarray) -> dict:
    """Fixed / broken / moved among the rows relabelled to `suggested`, and noise after."""
    y, noisy, sug = d["y"], d["noisy"], d["suggested"]
    flipped = noisy != y
    after = noisy.copy()
    after[relabel] = sug[relabel]
    fixed = int((relabel & flipped & (sug == y)).sum())
    broken = int((relabel & ~flipped).sum())
    moved = int((relabel & flipped & (sug != y)).sum())
    return {
        "relabelled": int(relabel.sum()),
        "fixed": fixed,
        "broken": broken,
        "moved": moved,
        "net": fixed - broken,
        "noise_before": float(flipped.mean()),
        "noise_after": float((after != y).mean()),
    }


OLD = "old: P(sug) >= 0.5"
NEW = "new: P(sug) >= 0.9 and post(sug) > post(given)"
BOLDER = "error_confidence=0.5: P(sug) >= 0.5 and post(sug) > post(given)"
# the new default, chosen on the DESIGN settings only (committed before VALIDATE and
# HELD_OUT were looked at): the pooled model's out-of-fold probability of the suggested
# label is at least `labels.error_confidence` (0.9) and the noise-adjusted posterior
# prefers it to the given label (`dataqa.checks.labels.relabel_is_sure`; on the design
# settings the same rows as requiring a posterior of at least 0.5)


def rules(d: dict) -> dict[str, np.ndarray]:
    rows = np.arange(len(d["y"]))
    flagged = d["issues"].astype(bool)
    oof_sug = d["P"][rows, d["suggested"]]
    return {
        OLD: flagged & (oof_sug >= 0.5),
        NEW: flagged & (oof_sug >= 0.9) & (d["suggested_post"] > d["p_correct"]),
        # what -s labels.error_confidence=0.5 gives (for reference, not a default)
        BOLDER: flagged & (oof_sug >= 0.5) & (d["suggested_post"] > d["p_correct"]),
    }


def kept_noise(d: dict, relabel: np.ndarray) -> float:
    """Noise of the kept rows when the flagged rows not relabelled are quarantined."""
    keep = ~d["issues"].astype(bool) | relabel
    after = d["noisy"].copy()
    after[relabel] = d["suggested"][relabel]
    return float((after[keep] != d["y"][keep]).mean())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("design", "validate", "held-out"))
    args = ap.parse_args()
    for group, name, kind, rate in SETTINGS:
        if args.only and group != args.only:
            continue
        try:
            d = detect(name, kind, rate)
        except FileNotFoundError as err:
            print(f"{name}: skipped ({err})")
            continue
        wall, cpu = d["seconds"]
        for rule, mask in rules(d).items():
            e = effect(d, mask)
            right = d["suggested_post"][mask].sum()
            print(
                f"| {group} | {name} {kind} {rate:.0%} | {rule} | {e['relabelled']} | "
                f"{e['fixed']} | {e['broken']} | {e['moved']} | {e['net']:+d} | "
                f"{e['noise_before']:.2%} -> {e['noise_after']:.2%} | "
                f"{kept_noise(d, mask):.2%} | {right:.0f} | {wall:.0f} / {cpu:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
