"""Label-error detection vs cleanlab's documented text recipe, on real data with injected noise.

Data (../shared/data): Banking77 train (rows with both text and label) and a 20,000-row
stratified sample of SST-2 train (seed 0). Noise, 20% of rows, seed --seed:
  (a) uniform: each chosen row gets a random *other* class;
  (b) class-conditional: each chosen row of class i gets the class most confused with i
      by clean cross-validated predictions of the anchor model (off-diagonal argmax of the
      row of the confusion matrix; for a binary set that is the other class).
For every (data set, noise) the same process measures, one after the other:
  anchor: TF-IDF word 1-2 gram -> 5-fold cross_val_predict LogisticRegression ->
          cleanlab find_label_issues(filter_by='prune_by_noise_rate');
  dataqa: `dataqa.checks.labels.detect` with the check's defaults (the audit path, without
          the Datalab outlier/near-duplicate extras, which add no label-error findings);
  and, with --ensemble, dataqa with the MiniLM encoder added (a slower path on CPU).
Precision, recall, F1 of the flagged set vs the flipped rows, AUPR of the ranking, wall
time. Nothing is cached between measured runs (features are rebuilt every time).

Extra modes: --top20 lists the 20 top-ranked suspects in the unmodified SST-2 train
(67,349 rows); --million times the check on a 1,000,000-row resample of SST-2 train.

    python benchmarks/bench_labels.py                 # the 4 comparisons
    python benchmarks/bench_labels.py --ensemble      # + the encoder ensemble
    python benchmarks/bench_labels.py --top20 --million --skip-compare
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load_banking() -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA / "banking77" / "train.csv").dropna(subset=["text", "category"])
    return df["text"].astype(str).tolist(), df["category"].astype(str).to_numpy()


def load_sst2(n: int | None = 20_000, seed: int = 0) -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    if n is not None:
        from sklearn.model_selection import train_test_split

        _, df = train_test_split(df, test_size=n, stratify=df["label"], random_state=seed)
    return df["sentence"].astype(str).tolist(), df["label"].astype(str).to_numpy()


def anchor(texts: list[str], y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cleanlab's text recipe: returns (issues mask, pred_probs, ranking score)."""
    from cleanlab.filter import find_label_issues
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    X = TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts)
    P = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=5, method="predict_proba")
    issues = find_label_issues(y, P, filter_by="prune_by_noise_rate", n_jobs=1)
    return issues, P, 1.0 - P[np.arange(len(y)), y]


def confusable(texts: list[str], y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Most confusable class per class, from clean cross-validated anchor predictions."""
    from sklearn.metrics import confusion_matrix

    _, P, _ = anchor(texts, y)
    cm = confusion_matrix(y, P.argmax(1), labels=np.arange(K))
    off = cm.astype(float)
    np.fill_diagonal(off, -1)
    return off.argmax(1), cm


def inject(y: np.ndarray, K: int, kind: str, target: np.ndarray, seed: int, rate: float = 0.2):
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), size=int(round(rate * len(y))), replace=False)
    noisy = y.copy()
    if kind == "uniform":
        noisy[idx] = (y[idx] + rng.integers(1, K, size=len(idx))) % K
    else:
        noisy[idx] = target[y[idx]]
    flipped = np.zeros(len(y), dtype=bool)
    flipped[idx] = True
    return noisy, flipped


def metrics(flag: np.ndarray, truth: np.ndarray, score: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score

    tp = int((flag & truth).sum())
    p = tp / max(int(flag.sum()), 1)
    r = tp / max(int(truth.sum()), 1)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "P": round(p, 3),
        "R": round(r, 3),
        "F1": round(f1, 3),
        "AUPR": round(float(average_precision_score(truth, score)), 3),
        "flagged": int(flag.sum()),
    }


def timed(fn, *a, **kw):
    """(result, wall seconds, CPU seconds of this process)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*a, **kw)
    return out, time.perf_counter() - w, time.process_time() - c


def run_dataqa(texts, y, K, **params):
    from dataqa.checks.base import Context
    from dataqa.checks.labels import LabelCheck, detect

    p = LabelCheck(**params).params
    det = detect(texts, y, K, p, Context(seed=0))
    return det


def compare(name: str, texts: list[str], labels: np.ndarray, args) -> list[dict]:
    classes, y = np.unique(labels, return_inverse=True)
    K = len(classes)
    target, cm = confusable(texts, y, K)
    pairs = sorted(
        ((cm[i, target[i]], classes[i], classes[target[i]]) for i in range(K)), reverse=True
    )[:5]
    print(f"\n## {name}: {len(y):,} rows, {K} classes")
    print("most confusable pairs (clean 5-fold anchor predictions, count of i predicted as j):")
    for c, a, b in pairs:
        print(f"  {a} -> {b}: {c}")
    rows = []
    for kind in ("uniform", "class-conditional"):
        # a different draw per noise type (for 2 classes the two kinds are otherwise identical)
        noisy, flipped = inject(y, K, kind, target, args.seed + (kind != "uniform"))
        (issues, _, score), t_anchor, c_anchor = timed(anchor, texts, noisy)
        rows.append(
            {
                "data": name,
                "noise": kind,
                "method": "anchor",
                **metrics(issues, flipped, score),
                "seconds": round(t_anchor, 1),
                "cpu_s": round(c_anchor, 1),
            }
        )
        variants = [("dataqa", {})]
        if args.ensemble:
            variants.append(("dataqa ensemble (+MiniLM encoder)", {"featurizer": "ensemble"}))
        for label, params in variants:
            det, t_mine, c_mine = timed(run_dataqa, texts, noisy, K, **params)
            sel = det.selection
            rows.append(
                {
                    "data": name,
                    "noise": kind,
                    "method": label,
                    **metrics(sel.issues, flipped, 1.0 - sel.p_correct),
                    "seconds": round(t_mine, 1),
                    "cpu_s": round(c_mine, 1),
                    "x_anchor_time": round(t_mine / t_anchor, 2),
                    "x_anchor_cpu": round(c_mine / c_anchor, 2),
                    "pool": det.probs.weights,
                }
            )
        for r in rows[-(len(variants) + 1) :]:
            print("  ", r, flush=True)
    return rows


def top20(featurizer: str = "auto") -> None:
    from dataqa.dataset import from_frame
    from dataqa.stages.audit import audit

    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    ds = from_frame(df, text_col="sentence", label_col="label", source="sst2/train.tsv")
    start = time.perf_counter()
    report = audit(
        ds,
        checks=["labels"],
        options={"labels": {"outliers": False, "near_duplicates": False, "featurizer": featurizer}},
    )
    took = time.perf_counter() - start
    issues = sorted(report.by_check("labels.issue"), key=lambda f: f.evidence["rank"])
    st = report.stats["labels"]
    print(
        f"\n## Unmodified SST-2 train ({len(ds):,} rows), featurizer {featurizer}: "
        f"{len(issues):,} suspects flagged, "
        f"estimated noise rate {st['noise_rate']['overall']:.1%}, {took:.0f} s, pool {st['members']}"
    )
    print("| rank | row | text | given | suggested | confidence |")
    print("|---|---|---|---|---|---|")
    for f in issues[:20]:
        ev = f.evidence
        text = str(df.loc[f.row_ids[0], "sentence"]).replace("|", "\\|")
        print(
            f"| {ev['rank']} | {f.row_ids[0]} | {text} | {ev['given_label']} | {ev['suggested_label']} | {ev['confidence']:.2f} |"
        )


def million() -> None:
    from dataqa.checks.base import Context
    from dataqa.checks.labels import LabelCheck
    from dataqa.dataset import from_frame

    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    big = df.sample(n=1_000_000, replace=True, random_state=0).reset_index(drop=True)
    ds = from_frame(big, text_col="sentence", label_col="label", source="sst2-1M")
    start = time.perf_counter()
    ctx = Context(seed=0, progress=True)
    res = LabelCheck().run(ds, ctx)
    took = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n## 1,000,000-row resample of SST-2 train: {took:.0f} s wall, peak RSS {rss:.0f} MB, "
        f"{res.stats['flagged']:,} flagged, featurizer {res.stats['featurizer']}, notes: {ctx.notes}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--ensemble", action="store_true", help="also run the MiniLM encoder ensemble")
    ap.add_argument("--top20", action="store_true")
    ap.add_argument("--top20-featurizer", default="auto", help="labels.featurizer for --top20")
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--only", choices=["banking77", "sst2"])
    args = ap.parse_args()
    if not (DATA / "banking77" / "train.csv").exists():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, seed {args.seed}")
    rows: list[dict] = []
    if not args.skip_compare:
        if args.only in (None, "banking77"):
            rows += compare("Banking77 train", *load_banking(), args)
        if args.only in (None, "sst2"):
            rows += compare("SST-2 train, 20k stratified sample", *load_sst2(), args)
        print(
            "\n| data | noise | method | P | R | F1 | AUPR | flagged | wall s | CPU s "
            "| x anchor wall | x anchor CPU |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['data']} | {r['noise']} | {r['method']} | {r['P']} | {r['R']} | {r['F1']} | "
                f"{r['AUPR']} | {r['flagged']} | {r['seconds']} | {r['cpu_s']} | "
                f"{r.get('x_anchor_time', 1.0)} | {r.get('x_anchor_cpu', 1.0)} |"
            )
        by = {(r["data"], r["noise"], r["method"]): r for r in rows}
        for (d, nz, m), r in by.items():
            if m == "anchor":
                continue
            a = by[(d, nz, "anchor")]
            f1_ok = r["F1"] >= a["F1"] + 0.10 - 1e-9
            t_ok = r["x_anchor_time"] <= 2.0
            print(
                f"{d} / {nz} / {m}: F1 {r['F1']} vs anchor {a['F1']} ({r['F1'] - a['F1']:+.3f}, "
                f"{'met' if f1_ok else 'MISSED'}); wall x{r['x_anchor_time']}, "
                f"CPU x{r['x_anchor_cpu']} ({'met' if t_ok else 'MISSED'})"
            )
    if args.top20:
        top20(args.top20_featurizer)
    if args.million:
        million()
    return 0


if __name__ == "__main__":
    sys.exit(main())
