"""Size and load time of the HTML report for a 1M-row audit.

    python benchmarks/bench_report.py [--rows 1000000] [--checks hygiene,duplicates,balance]
                                      [--synthetic | --json REPORT.json] [--repeats 3] [--keep DIR]

Default: the real audit (`dataqa.stages.audit`) over 1M rows built by benchmarks/bench_audit_1m.py
(SST-2 train sentences resampled with replacement, 30% with one small edit, so exact and
near duplicates and conflicting labels occur at realistic rates). `--synthetic` instead
builds a Report shaped like such an audit (hygiene findings with huge id lists, 60k
duplicate-group findings with examples) without running the checks; `--json` renders a
report saved by an earlier run (`--keep DIR` keeps DIR/report.json).

Prints: audit time, findings, JSON size; HTML render time and size; flagged-rows CSV
time and size; and the time headless Chromium (Debian /usr/bin/chromium through
Playwright) takes to load the page (navigation start to DOMContentLoaded, to the load
event, and to first contentful paint; median of --repeats fresh pages).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def synthetic(rows: int):
    from dataqa.findings import Finding, Report

    findings = [
        Finding("hygiene.length_outlier", "info", "long rows", list(range(0, rows, 40))),
        Finding("hygiene.typos", "info", "typos", list(range(0, rows, 9))),
        Finding("hygiene.empty", "error", "empty", list(range(0, rows, 5000))),
    ]
    text = "a sentence from a film review that goes on for a while, " * 3
    for g in range(rows // 16):  # ~60k duplicate groups of 2 at 1M rows
        ids = [2 * g, 2 * g + 1]
        findings.append(
            Finding(
                "duplicates.exact",
                "warning",
                "2 rows are exact duplicates of each other",
                ids,
                evidence={
                    "group": g,
                    "labels": {str(i): "1" for i in ids},
                    "examples": [{"row_id": i, "text": text, "label": "1"} for i in ids],
                },
                fix={"action": "dedupe", "keep": ids[0]},
            )
        )
    stats = {
        "dataset": {"rows": rows, "classes": 2, "label_counts": {"1": rows // 2, "0": rows // 2}}
    }
    return Report(
        findings=findings, stats=stats, meta={"version": "synthetic", "input": {"rows": rows}}
    )


def real(rows: int, checks: list[str]):
    from bench_audit_1m import build

    import dataqa

    df = build(rows, 0.3, 0)
    t0 = time.perf_counter()
    report = dataqa.audit(df, checks=checks)
    print(f"audit({','.join(checks)}) of {len(df):,} rows: {time.perf_counter() - t0:.1f} s")
    return report


def chromium_load(path: Path, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"dcl": [], "load": [], "fcp": [], "wall": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(repeats):
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            out["wall"].append(time.perf_counter() - t0)
            nav = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " const f = performance.getEntriesByName('first-contentful-paint')[0];"
                " return [n.domContentLoadedEventEnd, n.loadEventEnd, f ? f.startTime : null]; }"
            )
            out["dcl"].append(nav[0] / 1000)
            out["load"].append(nav[1] / 1000)
            if nav[2] is not None:
                out["fcp"].append(nav[2] / 1000)
            assert page.get_attribute("html", "data-dq-ready") == "1"
            page.close()
        browser.close()
    return {k: statistics.median(v) for k, v in out.items() if v}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--checks", default="hygiene,duplicates,balance")
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--json", metavar="REPORT", help="Render this saved report instead.")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", metavar="DIR", help="Keep the JSON/HTML/CSV here.")
    args = ap.parse_args(argv)

    from dataqa.dataset import atomic_write_text
    from dataqa.report.csv_export import csv_path_for, write_flagged_csv
    from dataqa.report.html import render_html

    t0 = time.perf_counter()
    if args.json:
        from dataqa.findings import Report

        report, kind = Report.load(args.json), f"saved report {args.json}"
    elif args.synthetic:
        report, kind = synthetic(args.rows), "synthetic report"
    else:
        report, kind = real(args.rows, args.checks.split(",")), "real audit"
    print(
        f"{kind}: {len(report.findings):,} findings, "
        f"{sum(len(f.row_ids) for f in report.findings):,} row ids "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    out_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_report_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if not args.json:
        report.save(out_dir / "report.json")
    print(
        f"JSON: {Path(args.json or out_dir / 'report.json').stat().st_size / 1e6:.1f} MB "
        + ("(given)" if args.json else f"(save {time.perf_counter() - t0:.1f} s)")
    )
    t0 = time.perf_counter()
    html = render_html(report, csv_name="report.flagged.csv")
    render_s = time.perf_counter() - t0
    html_path = atomic_write_text(out_dir / "report.html", html)
    print(
        f"HTML: {html_path.stat().st_size / 1e6:.2f} MB (render {render_s:.1f} s); "
        f"target < 5 MB: {'met' if html_path.stat().st_size < 5e6 else 'MISSED'}"
    )
    t0 = time.perf_counter()
    csv_path = write_flagged_csv(report, csv_path_for(html_path))
    print(
        f"CSV:  {csv_path.stat().st_size / 1e6:.1f} MB, "
        f"{sum(len(f.row_ids) for f in report.findings):,} lines (write {time.perf_counter() - t0:.1f} s)"
    )
    load = chromium_load(html_path, args.repeats)
    print(
        f"Chromium load (median of {args.repeats}): DOMContentLoaded {load['dcl']:.2f} s, "
        f"load event {load['load']:.2f} s, first paint {load.get('fcp', float('nan')):.2f} s, "
        f"goto wall {load['wall']:.2f} s; target < 2 s: {'met' if load['load'] < 2 else 'MISSED'}"
    )
    print(f"files in {out_dir}")


if __name__ == "__main__":
    main()
