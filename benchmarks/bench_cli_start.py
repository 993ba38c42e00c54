"""Cold start of `dataqa --help` and `dataqa audit --help` (target < 0.3 s).

Runs each command N times in a fresh interpreter and prints min / median wall time,
beside `python -c pass` as the floor on this machine.

    python benchmarks/bench_cli_start.py [-n 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=15)
    n = ap.parse_args().n
    exe = shutil.which("dataqa") or str(Path(sys.executable).parent / "dataqa")
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("dataqa --help", [exe, "--help"]),
        ("dataqa audit --help", [exe, "audit", "--help"]),
    ]
    print(f"{'command':<22} {'min s':>7} {'median s':>9}   (n={n}, target < 0.3 s)")
    for name, cmd in rows:
        t = timed(cmd, n)
        print(f"{name:<22} {min(t):>7.3f} {statistics.median(t):>9.3f}")


if __name__ == "__main__":
    main()
