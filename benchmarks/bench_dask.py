"""Local engine vs Dask on the same machine, same run: rows/s and peak memory per process.

    python benchmarks/bench_dask.py [--rows 1000000 5000000] [--workers 2] [--shard-rows 125000]
        [--skip-local | --skip-dask] [--keep DIR]

Rows are SST-2 train sentences resampled with edits (`bench_audit_1m.build`), written as
Parquet shards of `--shard-rows` rows each (8 shards at 1M, 40 at 5M: more rows are more
shards of the same size, as when a corpus grows, so each Dask task's piece stays the
same size and memory per worker can be compared across sizes); both engines audit the same shards with hygiene, duplicates and balance:
the local engine in a fresh child process (`dataqa.load` + `dataqa.audit`), Dask on a
LocalCluster of `--workers` single-threaded worker processes started for each size. Peak
memory is ru_maxrss of each process (the local child; every Dask worker; the client).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_audit_1m import build

CHECKS = ["hygiene", "duplicates", "balance"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process so far (user + system): on a shared, loaded box the
    contention-robust measure of work."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def write_shards(rows: int, shard_rows: int, folder: Path) -> None:
    df = build(rows, 0.3, 0)
    shards = max(1, -(-rows // shard_rows))
    for i, part in enumerate(np.array_split(np.arange(len(df)), shards)):
        df.iloc[part].to_parquet(
            folder / f"part-{i:03d}.parquet", index=False, row_group_size=1 << 16
        )


def local_child(folder: str, queue) -> None:
    import dataqa

    t0, c0 = time.perf_counter(), cpu_s()
    ds = dataqa.load(folder, text_col="sentence", label_col="label")
    report = dataqa.audit(ds, checks=CHECKS)
    wall = time.perf_counter() - t0
    queue.put(
        {
            "wall": wall,
            "cpu": cpu_s() - c0,
            "peak_mib": peak_mib(),
            "findings": len(report.findings),
        }
    )


def run_local(folder: Path) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=local_child, args=(str(folder), q))
    p.start()
    out = q.get()
    p.join()
    return out


def run_dask(folder: Path, workers: int) -> dict:
    from dataqa.engine import EngineOptions
    from dataqa.engine.dask_engine import audit_dask, dask_client
    from dataqa.io.shards import find_shards

    t0 = time.perf_counter()
    with dask_client(EngineOptions(engine="dask", workers=workers)) as client:
        start = time.perf_counter() - t0
        cpu0 = sum(client.run(cpu_s).values()) + cpu_s()
        t1 = time.perf_counter()
        report = audit_dask(
            find_shards(str(folder)), client, checks=CHECKS, text_col="sentence", label_col="label"
        )
        wall = time.perf_counter() - t1
        cpu = sum(client.run(cpu_s).values()) + cpu_s() - cpu0
        workers_peak = sorted(client.run(peak_mib).values())
    return {
        "wall": wall,
        "cpu": cpu,
        "start": start,
        "worker_peak_mib": workers_peak,
        "client_peak_mib": peak_mib(),
        "findings": len(report.findings),
        "timings": report.meta["timings_s"],
        "dups": {
            k: v
            for k, v in report.stats.get("duplicates", {}).items()
            if k in ("salted_buckets", "largest_bucket_rows", "near_groups", "exact_groups")
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-rows", type=int, default=125_000)
    ap.add_argument(
        "--skip-local", action="store_true", help="Dask only (when the local engine has been run)"
    )
    ap.add_argument("--skip-dask", action="store_true", help="the local engine only")
    ap.add_argument(
        "--keep",
        type=Path,
        help="write the shards to DIR/<rows> and keep them (reused when already there), so "
        "that the two engines can be run as separate commands on the same shards",
    )
    args = ap.parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()}")
    for rows in args.rows:
        folder = (
            args.keep / str(rows) if args.keep else Path(tempfile.mkdtemp(prefix="dataqa-bench-"))
        )
        try:
            if not folder.with_suffix(".done").exists():
                folder.mkdir(parents=True, exist_ok=True)
                write_shards(rows, args.shard_rows, folder)
                folder.with_suffix(".done").touch()
            loc = {"wall": float("nan"), "cpu": float("nan")}
            if not args.skip_local:
                loc = run_local(folder)
                print(
                    f"{rows:>9,} rows local: {loc['wall']:7.1f} s "
                    f"{rows / loc['wall']:9,.0f} rows/s ({loc['cpu']:.0f} CPU s) "
                    f"peak {loc['peak_mib']:,.0f} MiB, {loc['findings']:,} findings; "
                    f"load average {os.getloadavg()}",
                    flush=True,
                )
            if args.skip_dask:
                continue
            dk = run_dask(folder, args.workers)
            print(
                f"{rows:>9,} rows dask : {dk['wall']:7.1f} s {rows / dk['wall']:9,.0f} rows/s "
                f"({dk['cpu']:.0f} CPU s, +{dk['start']:.1f} s cluster start) workers peak "
                f"{', '.join(f'{m:,.0f}' for m in dk['worker_peak_mib'])} MiB, client "
                f"{dk['client_peak_mib']:,.0f} MiB, {dk['findings']:,} findings; "
                f"ratio dask/local rows/s {loc['wall'] / dk['wall']:.2f}, per CPU s "
                f"{loc['cpu'] / dk['cpu']:.2f}; stages {dk['timings']}; {dk['dups']}; "
                f"load average {os.getloadavg()}",
                flush=True,
            )
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
