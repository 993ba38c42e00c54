"""End-to-end audit of 1,000,000 rows: `dataqa.audit(df, checks=["hygiene", "duplicates"])`.

    python benchmarks/bench_audit_1m.py [--rows 1000000] [--edit-share 0.3] [--seed 0]

Rows are SST-2 train sentences resampled with replacement (seeded); a share of them get
one small edit (typo, word dropped/inserted/swapped, case/punctuation), so the set holds
exact duplicates, near-duplicates and conflicting labels at realistic rates. Prints the
wall time of the whole `audit` call, rows/s, each check's time (report.meta["timings_s"])
and the peak resident memory of the process (ru_maxrss: data building included).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd
from bench_near_dups import DATA, EDITS, edit

import dataqa


def build(rows: int, edit_share: float, seed: int) -> pd.DataFrame:
    if not DATA.exists():
        sys.exit(f"no data at {DATA} (see ../shared/data/README.md)")
    src = pd.read_csv(DATA, sep="\t", quoting=3)
    src["sentence"] = src["sentence"].fillna("").astype(str)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(src), size=rows)
    text = src["sentence"].to_numpy(dtype=object)[pick]
    vocab = [
        w
        for w in src["sentence"].str.split(" ").explode().value_counts().index[:2000]
        if w.isalpha()
    ]
    edited = np.flatnonzero(rng.random(rows) < edit_share)
    kinds = rng.integers(0, len(EDITS), size=edited.size)
    for i, k in zip(edited.tolist(), kinds.tolist(), strict=True):
        text[i] = edit(text[i], EDITS[k], rng, vocab)
    return pd.DataFrame({"sentence": text, "label": src["label"].to_numpy()[pick]})


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--edit-share", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    df = build(args.rows, args.edit_share, args.seed)
    print(
        f"built {len(df):,} rows ({args.edit_share:.0%} edited, seed {args.seed}) in "
        f"{time.perf_counter() - t0:.1f} s; peak RSS so far {rss_mib():,.0f} MiB"
    )
    t0 = time.perf_counter()
    report = dataqa.audit(df, checks=["hygiene", "duplicates"])
    wall = time.perf_counter() - t0
    print(f"audit(hygiene, duplicates): {wall:.1f} s  {len(df) / wall:,.0f} rows/s")
    print(f"peak RSS (process, ru_maxrss): {rss_mib():,.0f} MiB")
    timings = report.meta["timings_s"]
    rest = wall - sum(timings.values())
    print(
        f"per-check seconds: {timings}; outside the checks (examples, stats, hashing): {rest:.1f}"
    )
    dup = report.stats.get("duplicates", {})
    print(f"duplicates stats: {dup}")
    print(
        f"findings: {len(report.findings):,}  by check: "
        f"{ {k: v['findings'] for k, v in report.counts()['by_check'].items()} }"
    )


if __name__ == "__main__":
    main()
