"""Label errors: local engine vs Dask on the same machine, same run (issue 17).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/bench_dask_labels.py --rows 100000

Rows: SST-2 train sentences resampled with replacement (seed 0), 10% of labels flipped
(planted, seed 0), written as 8 Parquet shards. Both engines run the labels check alone
with `featurizer=hashing` (the Dask executor's featuriser; Datalab off, as on Dask): the
local engine in this process (`dataqa.load` + `dataqa.audit`), then Dask on a LocalCluster
of `--workers` single-threaded worker processes (start not counted). Reported: wall and
CPU seconds (this process; plus the workers' for Dask), rows/s, precision and recall
against the planted flips, and the Jaccard of the two engines' flagged rows.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SST2 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sst2" / "train.tsv"
OPTIONS = {"labels": {"featurizer": "hashing", "outliers": False, "near_duplicates": False}}


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(rows: int, folder: Path, shards: int = 8) -> set[str]:
    """Write the shards; return the ids of the flipped rows."""
    base = pd.read_csv(SST2, sep="\t").rename(columns={"sentence": "text"})
    frame = base.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    flips = np.flatnonzero(np.random.default_rng(0).random(rows) < 0.1)
    frame.loc[flips, "label"] = 1 - frame.loc[flips, "label"]
    frame["label"] = frame["label"].map({0: "negative", 1: "positive"})
    folder.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    for i, part in enumerate(np.array_split(np.arange(rows), shards)):
        name = f"part-{i}.parquet"
        frame.iloc[part].to_parquet(folder / name, index=False, row_group_size=65536)
        ids += [f"{name}:{r}" for r in range(len(part))]
    return {ids[i] for i in flips}


def flagged(report) -> set[str]:
    return {r for f in report.findings if f.check == "labels.issue" for r in f.row_ids}


def pr(found: set, truth: set) -> str:
    hit = len(found & truth)
    return f"flagged {len(found):,}, precision {hit / max(len(found), 1):.3f}, recall {hit / len(truth):.3f}"


def worker_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-local", action="store_true")
    args = ap.parse_args()
    import dataqa
    from dataqa.engine import EngineOptions
    from dataqa.engine.dask_engine import audit_dask, dask_client
    from dataqa.io.shards import find_shards

    tmp = Path(tempfile.mkdtemp(prefix="bench_dask_labels_"))
    try:
        truth = build(args.rows, tmp / "shards")
        n = args.rows
        local = None
        if not args.skip_local:
            t, c = time.perf_counter(), cpu_s()
            ds = dataqa.load(str(tmp / "shards"), text_col="text", label_col="label")
            local = dataqa.audit(ds, checks=["labels"], options=OPTIONS)
            wall, cpu = time.perf_counter() - t, cpu_s() - c
            print(
                f"local: {wall:.1f} s wall, {cpu:.1f} CPU s, {n / wall:,.0f} rows/s; "
                f"{pr(flagged(local), truth)}",
                flush=True,
            )
        with dask_client(EngineOptions(engine="dask", workers=args.workers)) as client:
            w0 = sum(client.run(worker_cpu).values())
            t, c = time.perf_counter(), cpu_s()
            remote = audit_dask(
                find_shards(str(tmp / "shards")),
                client,
                checks=["labels"],
                options=OPTIONS,
                text_col="text",
                label_col="label",
            )
            wall, cpu = time.perf_counter() - t, cpu_s() - c
            wcpu = sum(client.run(worker_cpu).values()) - w0
        print(
            f"dask ({args.workers} workers): {wall:.1f} s wall, {cpu:.1f} client + {wcpu:.1f} "
            f"worker CPU s, {n / wall:,.0f} rows/s; {pr(flagged(remote), truth)}; "
            f"stages {remote.stats['labels']['timings_s']}",
            flush=True,
        )
        if local is not None:
            a, b = flagged(local), flagged(remote)
            print(f"Jaccard of flagged rows: {len(a & b) / max(len(a | b), 1):.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
