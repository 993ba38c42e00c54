"""Report charts: Altair + vl-convert (now) against the hand-drawn SVG (before), same run.

    python benchmarks/bench_charts.py [--json REPORT.json] [--rows 1200] [--repeats 3]

Default: the demo's planted faults (`dataqa.demo.make_demo`, --rows rows) audited with every
installed check; `--json` takes a saved report instead (e.g. the 1M-row audit that
benchmarks/bench_report.py --keep DIR writes). The baseline is the hand-drawn renderer as
it was before the change (`dataqa/report/charts.py` at commit BASELINE, read from git).

Prints, for every chart the page draws: render time of all charts (the first vl-convert
call, which starts its JavaScript engine, apart), bytes of chart markup, and the whole
page's render time and size with each renderer (median of --repeats).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASELINE = "9443677"
"""The last commit with the hand-drawn charts."""


def baseline_module() -> types.ModuleType:
    src = subprocess.run(
        ["git", "show", f"{BASELINE}:dataqa/report/charts.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    src = src.replace("dataqa.report.visible", "dataqa.text.visible")  # where it lives now
    mod = types.ModuleType("hand_drawn_charts")
    exec(compile(src, "hand_drawn_charts.py", "exec"), mod.__dict__)
    return mod


def page_charts(report) -> list[dict]:
    from dataqa.charts import derived_charts

    out = []
    for family, node in report.stats.items():
        own = node.get("charts") if isinstance(node, dict) else None
        own = [c for c in (own or []) if isinstance(c, dict)]
        have = {c.get("id") for c in own}
        out += own + [c for c in derived_charts(family, node) if c["id"] not in have]
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="REPORT")
    ap.add_argument("--rows", type=int, default=1200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from dataqa.findings import Report

    if args.json:
        report = Report.load(args.json)
        print(f"report: {args.json}")
    else:
        import dataqa
        from dataqa.demo import make_demo

        train, test, _ = make_demo(rows=args.rows, seed=7)
        report = dataqa.audit(train, against=test, group_col="brand")
        print(f"report: demo audit of {len(train):,} rows, every installed check")
    charts = page_charts(report)
    kinds = sorted({c.get("type") for c in charts})
    print(f"{len(charts)} charts ({', '.join(map(str, kinds))})")

    from dataqa.report import charts as now
    from dataqa.report import page
    from dataqa.report.html import render_html

    old = baseline_module()
    t0 = time.perf_counter()
    now.render_chart(charts[0], "warm")
    print(f"vl-convert first call (starts its engine): {time.perf_counter() - t0:.2f} s")

    def all_with(render):
        return [str(render(c, f"c{i}")) for i, c in enumerate(charts)]

    t_old, out_old = timed(lambda: all_with(old.render_chart), args.repeats)
    t_new, out_new = timed(lambda: all_with(now.render_chart), args.repeats)
    b_old, b_new = sum(map(len, out_old)), sum(map(len, out_new))
    print(
        f"charts  hand-drawn {t_old:.3f} s, {b_old / 1e3:.0f} kB | Altair+vl-convert {t_new:.3f} s "
        f"({t_new / len(charts) * 1e3:.0f} ms a chart), {b_new / 1e3:.0f} kB | "
        f"time ratio {t_new / max(t_old, 1e-9):.0f}x, size ratio {b_new / b_old:.2f}x"
    )
    env = page.environment()
    sizes = {}
    for name, render in (("hand-drawn", old.render_chart), ("Altair+vl-convert", now.render_chart)):
        env.globals["chart"] = render
        env.cache.clear()  # compiled templates keep the globals they were loaded with
        t, html = timed(lambda: render_html(report), args.repeats)
        sizes[name] = (t, len(html.encode("utf-8")))
    env.globals["chart"] = now.render_chart
    env.cache.clear()
    (to, so), (tn, sn) = sizes.values()
    print(
        f"page    hand-drawn {to:.2f} s, {so / 1e6:.2f} MB | Altair+vl-convert {tn:.2f} s, "
        f"{sn / 1e6:.2f} MB (median of {args.repeats})"
    )


if __name__ == "__main__":
    main()
