"""Relevance check: off-topic Banking77 queries mixed into SST-2 (../shared/data).

Each scenario builds a dataset of SST-2 training rows with a share of Banking77 training
queries mixed in (the planted off-topic rows, known by position), runs the relevance check
exactly as `dataqa audit` does, and prints precision and recall of the flagged set.

- "reference": `--reference` is a disjoint SST-2 sample (rows not in the dataset).
- "normalised": the Banking77 queries are lowercased and tokenised like SST-2
  ("how do i top up ?"), so only the topic can give them away, not the casing.
- "clean": no Banking77 rows at all; every flagged row is a false alarm.
- "no reference": the reference-free path (TF-IDF forest; MiniLM centroid with --minilm).

Usage:
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_relevance.py [--full] [--minilm]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dataqa.checks.base import Context
from dataqa.checks.relevance import RelevanceCheck
from dataqa.dataset import from_frame

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load() -> tuple[list[str], list[str]]:
    sst = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    bank = pd.read_csv(DATA / "banking77" / "train.csv")
    return sst["sentence"].astype(str).tolist(), bank["text"].dropna().astype(str).tolist()


def sst_style(text: str) -> str:
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


def scenario(
    sst: list[str],
    bank: list[str],
    *,
    n: int,
    share: float,
    n_ref: int,
    seed: int,
    normalise: bool = False,
) -> tuple[list[str], np.ndarray, list[str]]:
    """(dataset texts, is-off-topic mask, reference texts); the reference is disjoint."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sst))
    n_off = round(n * share)
    inside = [sst[i] for i in order[: n - n_off]]
    reference = [sst[i] for i in order[n - n_off : n - n_off + n_ref]]
    off = [bank[i] for i in rng.permutation(len(bank))[:n_off]]
    if normalise:
        off = [sst_style(t) for t in off]
    texts = inside + off
    truth = np.r_[np.zeros(len(inside), dtype=bool), np.ones(n_off, dtype=bool)]
    mix = rng.permutation(len(texts))
    return [texts[i] for i in mix], truth[mix], reference


def run(texts, truth, reference, *, features="tfidf", seed=0) -> dict:
    ds = from_frame(pd.DataFrame({"text": texts}), text_col="text")
    ref = None if reference is None else from_frame(pd.DataFrame({"text": reference}))
    start = time.perf_counter()
    result = RelevanceCheck(features=features).run(ds, Context(reference=ref, seed=seed))
    elapsed = time.perf_counter() - start
    flagged = np.zeros(len(texts), dtype=bool)
    for f in result.findings:
        flagged[np.asarray(f.row_ids, dtype=int)] = True
    tp = int((flagged & truth).sum())
    return {
        "flagged": int(flagged.sum()),
        "precision": tp / flagged.sum() if flagged.any() else float("nan"),
        "recall": tp / truth.sum() if truth.any() else float("nan"),
        "false_alarm_rate": float((flagged & ~truth).sum() / (~truth).sum()),
        "seconds": elapsed,
        "stage1": result.stats.get("stage1_flagged"),
    }


def tfidf_scenarios(sst, bank, n, nr, add) -> None:
    t, y, ref = scenario(sst, bank, n=n, share=0.05, n_ref=nr, seed=0, normalise=True)
    add("reference, 5% Banking77 normalised", t, y, ref)
    for share in (0.01, 0.02, 0.10):
        t, y, ref = scenario(sst, bank, n=n, share=share, n_ref=nr, seed=0)
        add(f"reference, {share:.0%} Banking77", t, y, ref)
    t, y, ref = scenario(sst, bank, n=n, share=0.05, n_ref=1_000, seed=0)
    add("reference of 1,000 rows, 5% Banking77", t, y, ref)
    t, y, ref = scenario(sst, bank, n=n, share=0.0, n_ref=nr, seed=0)
    add("reference, clean SST-2", t, y, ref)
    t, y, _ = scenario(sst, bank, n=n, share=0.05, n_ref=0, seed=0)
    add("no reference (TF-IDF forest), 5% Banking77", t, y, None)
    t, y, _ = scenario(sst, bank, n=n, share=0.0, n_ref=0, seed=0)
    add("no reference (TF-IDF forest), clean SST-2", t, y, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="dataset rows per scenario")
    ap.add_argument("--ref", type=int, default=5_000, help="reference rows")
    ap.add_argument("--seeds", type=int, default=2, help="seeds for the main scenario")
    ap.add_argument("--full", action="store_true", help="also run on all of SST-2 train")
    ap.add_argument("--minilm", action="store_true", help="also run the MiniLM paths (slow)")
    ap.add_argument("--minilm-n", type=int, default=4_000)
    ap.add_argument("--only-minilm", action="store_true", help="skip the TF-IDF scenarios")
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: the shared datasets live beside the repository")
    sst, bank = load()
    rows = []

    def add(name, texts, truth, reference, **kw):
        r = run(texts, truth, reference, **kw)
        rows.append((name, len(texts), int(truth.sum()), r))
        p, rc = r["precision"], r["recall"]
        print(
            f"| {name} | {len(texts):,} | {int(truth.sum()):,} | {r['flagged']:,} | "
            f"{p:.3f} | {rc:.3f} | {r['false_alarm_rate']:.4%} | {r['stage1']} | "
            f"{r['seconds']:.1f} |",
            flush=True,
        )

    print(
        "| scenario | rows | off-topic | flagged | precision | recall | false-alarm rate "
        "| stage-1 flags | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    n, nr = args.n, args.ref
    for seed in range(0 if args.only_minilm else args.seeds):
        t, y, ref = scenario(sst, bank, n=n, share=0.05, n_ref=nr, seed=seed)
        add(f"reference, 5% Banking77, seed {seed}", t, y, ref, seed=seed)
    if not args.only_minilm:
        tfidf_scenarios(sst, bank, n, nr, add)
    if args.full and not args.only_minilm:
        full = len(sst) - nr
        t, y, ref = scenario(sst, bank, n=full, share=0.05, n_ref=nr, seed=0)
        add("full SST-2 train, reference, 5% Banking77", t, y, ref)
        t, y, ref = scenario(sst, bank, n=full, share=0.0, n_ref=nr, seed=0)
        add("full SST-2 train, reference, clean", t, y, ref)
    if args.minilm:
        m = args.minilm_n
        t, y, ref = scenario(sst, bank, n=m, share=0.05, n_ref=m // 4, seed=0)
        add("MiniLM, reference, 5% Banking77", t, y, ref, features="minilm")
        add("MiniLM, no reference, 5% Banking77", t, y, None, features="minilm")
        t, y, _ = scenario(sst, bank, n=m, share=0.0, n_ref=0, seed=0)
        add("MiniLM, no reference, clean SST-2", t, y, None, features="minilm")


if __name__ == "__main__":
    main()
