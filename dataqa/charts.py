"""The chart convention of checks and stages, and its Vega-Lite form (built with Altair).

A check puts its charts in `stats[family]["charts"]` as small JSON-able dicts, data
rather than drawing:

=============  ===============================================================
type           data
=============  ===============================================================
`bar`          `{"labels", "values"}`, or `{"labels", "series": {name: values}}`
               for grouped bars
`histogram`    `{"edges"}` (n+1) and `{"counts"}` (n)
`heatmap`      `{"rows", "cols", "values"}` (a rows x cols matrix)
`line`         `{"x", "series": {name: values}}`
`scatter`      `{"x", "y", "labels"}` (labels optional)
=============  ===============================================================

plus `id`, `title`, `x_label` and `y_label`. `plot(spec)` checks a spec and turns it into
a `Plot`: a Vega-Lite spec built with Altair (thinned to what a page can show: 50 bars,
40 x 40 cells, 400 line points, 1,500 scatter points), a one-sentence description for
screen readers and the data as a table. `with_vega_lite(stats)` adds each chart's
Vega-Lite spec under `vega_lite`, which is how the JSON report carries it: in a notebook,
`altair.Chart.from_dict(chart["vega_lite"])` draws it. Series are told apart by dash
pattern and marker shape as well as by colour (Okabe-Ito, colour-blind safe).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHART_TYPES = ("bar", "histogram", "heatmap", "line", "scatter")
MAX_BARS = 50
MAX_HEATMAP = 40
MAX_LINE_POINTS = 400
MAX_SCATTER_POINTS = 1500
MAX_SERIES = 6
WIDTH = 520
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
"""Okabe-Ito: told apart with any colour vision."""
DASHES = ([1, 0], [6, 3], [2, 3], [8, 3, 2, 3], [1, 2], [10, 4])
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")


class ChartError(ValueError):
    """A chart spec that cannot be drawn (wrong shape or non-numeric data)."""


@dataclass
class Plot:
    """A chart ready to show: its Vega-Lite spec, a description and its data as a table.

    Attributes
    ----------
    vega_lite : dict
        The Vega-Lite spec (JSON-able; `$schema` names its version).
    description : str
        One sentence saying what the chart shows, for screen readers.
    headers, rows : list
        The chart's data as a table (every value, not only the ones drawn).
    note : str
        What was left out of the picture (thinning), or "".
    """

    vega_lite: dict
    description: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def plot(spec: Any, text: Callable[[Any], str] = str) -> Plot:
    """Check a chart spec and build its `Plot`.

    Parameters
    ----------
    spec : dict
        A chart in the convention above (from a report, perhaps edited by hand).
    text : callable, default str
        Applied to every label, series name and title the picture shows (the HTML report
        passes one that clips and makes invisible characters visible).

    Raises
    ------
    ChartError
        The spec is not an object, names an unknown type, or its data has the wrong
        shape or non-numeric values.
    """
    if not isinstance(spec, dict):
        raise ChartError("a chart must be an object")
    kind = spec.get("type")
    build = _BUILD.get(kind) if isinstance(kind, str) else None
    if build is None:
        raise ChartError(f"unknown chart type {str(kind)[:40]!r}")
    data = spec.get("data")
    if not isinstance(data, dict):
        raise ChartError("'data' must be an object")
    x_label, y_label = text(spec.get("x_label") or ""), text(spec.get("y_label") or "")
    chart, desc, headers, rows, note = build(data, x_label, y_label, text)
    title = spec.get("title")
    if title:
        chart = chart.properties(title=text(title))
    vl = chart.properties(description=desc).to_dict(validate=False)
    return Plot(vl, desc, headers, rows, note)


def vega_lite(spec: Any) -> dict:
    """The Vega-Lite spec of one chart (see `plot`)."""
    return plot(spec).vega_lite


def with_vega_lite(stats: Any) -> Any:
    """A copy of a report's stats where every family lists every chart it shows (its
    own, then `derived_charts`), each with its `vega_lite` spec. A chart that cannot be
    drawn is kept as it is, without one."""
    if not isinstance(stats, dict):
        return stats
    out = {}
    for family, node in stats.items():
        if not isinstance(node, dict):
            out[family] = node
            continue
        listed = node.get("charts")
        own: list = listed if isinstance(listed, list) else []
        have = {c.get("id") for c in own if isinstance(c, dict)}
        derived = [c for c in derived_charts(family, node) if c["id"] not in have]
        charts = []
        for c in own + derived:
            if isinstance(c, dict):
                c = {k: v for k, v in c.items() if k != "vega_lite"}
                with contextlib.suppress(ChartError):
                    c["vega_lite"] = vega_lite(c)
            charts.append(c)
        out[family] = {**node, "charts": charts} if charts else node
    return out


# ---------------------------------------------------------------- checking data


def _num(v: Any, what: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ChartError(f"{what} must hold numbers, found {type(v).__name__}")
    f = float(v)
    return f if math.isfinite(f) else None


def _nums(seq: Any, what: str) -> list[float | None]:
    if not isinstance(seq, list):
        raise ChartError(f"{what} must be a list")
    return [_num(v, what) for v in seq]


def _series(series: Any, n: int, what: str) -> dict[str, list[float | None]]:
    if not isinstance(series, dict) or not series:
        raise ChartError(f"{what} needs a 'series' object of name -> values")
    named = {str(k): _nums(v, "series values") for k, v in list(series.items())[:MAX_SERIES]}
    if any(len(v) != n for v in named.values()):
        raise ChartError(f"{what}: every series needs one value per label")
    return named


def _unique(labels: list[str]) -> list[str]:
    """Category names made distinct (a repeated label would merge two bars)."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        k = seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if k == 1 else f"{lab} ({k})")
    return out


def fmt(v: Any) -> str:
    """Short human number: integers with thousands separators, floats to 3 significant digits."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.3g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


# ---------------------------------------------------------------- chart types


def _alt():
    import altair as alt  # heavy: only when a chart is built

    return alt


def _colour(alt, field_name: str, domain: list[str], title: str | None = None):
    return alt.Color(
        f"{field_name}:N",
        scale=alt.Scale(domain=domain, range=list(PALETTE[: len(domain)])),
        sort=domain,
        title=title,
        legend=alt.Legend(orient="top", labelLimit=160) if len(domain) > 1 else None,
    )


def _bar(data: dict, x_label: str, y_label: str, text):
    alt = _alt()
    labels = data.get("labels")
    if not isinstance(labels, list):
        raise ChartError("bar data needs a 'labels' list")
    if "series" in data:
        named = _series(data["series"], len(labels), "a bar chart")
    else:
        named = {y_label or "value": _nums(data.get("values"), "bar values")}
        if len(named[y_label or "value"]) != len(labels):
            raise ChartError("bar labels and values differ in length")
    shown = _unique([text(lab) for lab in labels[:MAX_BARS]])
    names = [text(n) for n in named]
    records = [
        {"label": lab, "series": name, "value": vals[i]}
        for i, lab in enumerate(shown)
        for name, vals in zip(names, named.values(), strict=True)
    ]
    base = alt.Chart(alt.Data(values=records)).encode(
        y=alt.Y("label:N", sort=shown, title=x_label or None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("value:Q", title=y_label or None),
        tooltip=["label:N", "series:N", "value:Q"],
    )
    many = len(names) > 1
    bars = base.mark_bar(stroke="#333", strokeWidth=0.5).encode(
        color=_colour(alt, "series", names),
        **(
            {
                "yOffset": alt.YOffset("series:N", sort=names),
                "strokeDash": alt.StrokeDash(
                    "series:N", scale=alt.Scale(domain=names, range=list(DASHES)), legend=None
                ),
            }
            if many
            else {}
        ),
    )
    values = base.mark_text(align="left", dx=3, fontSize=10).encode(
        text=alt.Text("value:Q", format=",.4~g"),
        **({"yOffset": alt.YOffset("series:N", sort=names)} if many else {}),
    )
    chart = (bars + values).properties(
        width=WIDTH - 200, height=alt.Step(9 * len(names) + 6 if many else 16)
    )
    total = len(labels)
    desc = f"Bar chart of {total} {x_label or 'categories'}" + (
        f", {len(names)} series: {', '.join(names)}" if many else ""
    )
    rows = [[lab] + [vals[i] for vals in named.values()] for i, lab in enumerate(labels)]
    note = f"Showing the first {MAX_BARS} of {total} bars." if total > MAX_BARS else ""
    return chart, desc, [x_label or "label", *names], rows, note


def _histogram(data: dict, x_label: str, y_label: str, text):
    alt = _alt()
    edges = _nums(data.get("edges"), "histogram edges")
    counts = _nums(data.get("counts"), "histogram counts")
    if len(edges) != len(counts) + 1 or not counts or None in edges:
        raise ChartError("a histogram needs n counts and n+1 edges")
    e = [float(v) for v in edges]  # type: ignore[arg-type]
    c = [v or 0.0 for v in counts]
    records = [{"start": e[i], "end": e[i + 1], "count": c[i]} for i in range(len(c))]
    chart = (
        alt.Chart(alt.Data(values=records))
        .mark_bar(color=PALETTE[0], stroke="#fff", strokeWidth=0.5)
        .encode(
            x=alt.X("start:Q", bin="binned", title=x_label or None),
            x2="end:Q",
            y=alt.Y("count:Q", title=y_label or None),
            tooltip=["start:Q", "end:Q", "count:Q"],
        )
        .properties(width=WIDTH - 80, height=170)
    )
    peak = max(range(len(c)), key=lambda i: c[i])
    desc = (
        f"Histogram of {fmt(sum(c))} {y_label or 'values'} over {x_label or 'x'} from "
        f"{fmt(e[0])} to {fmt(e[-1])}; the tallest bin is {fmt(e[peak])} – "
        f"{fmt(e[peak + 1])} with {fmt(c[peak])}"
    )
    rows = [[f"{fmt(e[i])} – {fmt(e[i + 1])}", c[i]] for i in range(len(c))]
    return chart, desc, [x_label or "bin", y_label or "count"], rows, ""


def _heatmap(data: dict, x_label: str, y_label: str, text):
    alt = _alt()
    rows, cols, values = data.get("rows"), data.get("cols"), data.get("values")
    if not (isinstance(rows, list) and isinstance(cols, list) and isinstance(values, list)):
        raise ChartError("a heatmap needs 'rows', 'cols' and 'values' lists")
    if len(values) != len(rows) or any(
        not isinstance(r, list) or len(r) != len(cols) for r in values
    ):
        raise ChartError("heatmap values must be a rows x cols matrix")
    grid = [_nums(r, "heatmap values") for r in values]
    nr, nc = min(len(rows), MAX_HEATMAP), min(len(cols), MAX_HEATMAP)
    rnames = _unique([text(r) for r in rows[:nr]])
    cnames = _unique([text(c) for c in cols[:nc]])
    records = [
        {"row": rnames[i], "col": cnames[j], "value": grid[i][j]}
        for i in range(nr)
        for j in range(nc)
    ]
    flat = [v for r in grid for v in r if v is not None] or [0.0]
    lo, hi = min(flat), max(flat)
    cell = max(10, min(36, (WIDTH - 160) // max(nc, 1)))
    base = alt.Chart(alt.Data(values=records)).encode(
        x=alt.X("col:N", sort=cnames, title=x_label or None, axis=alt.Axis(labelLimit=120)),
        y=alt.Y("row:N", sort=rnames, title=y_label or None, axis=alt.Axis(labelLimit=150)),
    )
    rect = base.mark_rect(stroke="#999", strokeWidth=0.5).encode(
        color=alt.Color("value:Q", scale=alt.Scale(scheme="blues"), title=None),
        tooltip=["row:N", "col:N", "value:Q"],
    )
    chart = rect
    if cell >= 26:  # room for the numbers themselves
        mid = lo + (hi - lo) * 0.55
        chart = rect + base.mark_text(fontSize=10).encode(
            text=alt.Text("value:Q", format=",.3~g"),
            color=alt.condition(f"datum.value > {mid!r}", alt.value("#fff"), alt.value("#000")),
        )
    chart = chart.properties(width=alt.Step(cell), height=alt.Step(cell))
    desc = (
        f"Heatmap of {len(rows)} {y_label or 'rows'} by {len(cols)} {x_label or 'columns'}; "
        f"values from {fmt(lo)} to {fmt(hi)}, darker is higher"
    )
    headers = [y_label or "", *[str(c) for c in cols[:20]]]
    table = [[rows[i], *grid[i][:20]] for i in range(len(rows))]
    note = ""
    if len(rows) > MAX_HEATMAP or len(cols) > MAX_HEATMAP:
        note = f"Showing the first {nr} x {nc} cells of {len(rows)} x {len(cols)}."
    return chart, desc, headers, table, note


def _line(data: dict, x_label: str, y_label: str, text):
    alt = _alt()
    x = _nums(data.get("x"), "line x")
    named = _series(data.get("series"), len(x), "a line chart")
    step = max(1, math.ceil(len(x) / MAX_LINE_POINTS))
    idx = range(0, len(x), step)
    names = [text(n) for n in named]
    records = [
        {"x": x[i], "series": name, "y": vals[i]}
        for name, vals in zip(names, named.values(), strict=True)
        for i in idx
        if x[i] is not None and vals[i] is not None
    ]
    chart = (
        alt.Chart(alt.Data(values=records))
        .mark_line(point=len(idx) <= 40, strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=x_label or None, scale=alt.Scale(zero=False)),
            # a learning curve from 0.90 to 0.94 must not be flattened against 0
            y=alt.Y("y:Q", title=y_label or None, scale=alt.Scale(zero=False)),
            color=_colour(alt, "series", names),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=names, range=list(DASHES)), legend=None
            ),
            shape=alt.Shape(
                "series:N", scale=alt.Scale(domain=names, range=list(SHAPES)), legend=None
            ),
            tooltip=["series:N", "x:Q", "y:Q"],
        )
        .properties(width=WIDTH - 80, height=180)
    )
    desc = f"Line chart of {', '.join(names)} against {x_label or 'x'} ({len(x)} points)"
    rows = [[fmt(x[i]), *[vals[i] for vals in named.values()]] for i in range(len(x))]
    note = f"Drawn from every {step}th point." if step > 1 else ""
    return chart, desc, [x_label or "x", *names], rows, note


def _scatter(data: dict, x_label: str, y_label: str, text):
    alt = _alt()
    x, y = _nums(data.get("x"), "scatter x"), _nums(data.get("y"), "scatter y")
    labels = data.get("labels")
    if len(x) != len(y):
        raise ChartError("scatter x and y differ in length")
    if labels is not None and (not isinstance(labels, list) or len(labels) != len(x)):
        raise ChartError("scatter labels must match the points")
    labels = labels or [""] * len(x)
    step = max(1, math.ceil(len(x) / MAX_SCATTER_POINTS))  # deterministic thinning
    idx = range(0, len(x), step)
    records = [
        {"x": x[i], "y": y[i], "label": text(labels[i])}
        for i in idx
        if x[i] is not None and y[i] is not None
    ]
    cats = list(dict.fromkeys(r["label"] for r in records))
    by_shape = 1 < len(cats) <= len(SHAPES) or (len(cats) == 1 and cats != [""])
    enc: dict[str, Any] = {
        "x": alt.X("x:Q", title=x_label or None, scale=alt.Scale(zero=False)),
        "y": alt.Y("y:Q", title=y_label or None, scale=alt.Scale(zero=False)),
        "tooltip": ["label:N", "x:Q", "y:Q"],
    }
    if by_shape:
        enc["color"] = _colour(alt, "label", cats)
        enc["shape"] = alt.Shape(
            "label:N", scale=alt.Scale(domain=cats, range=list(SHAPES)), legend=None
        )
    chart = (
        alt.Chart(alt.Data(values=records))
        .mark_point(
            filled=True, size=30, opacity=0.8, **({} if by_shape else {"color": PALETTE[0]})
        )
        .encode(**enc)
        .properties(width=WIDTH - 80, height=220)
    )
    desc = f"Scatter plot of {len(x)} points, {y_label or 'y'} against {x_label or 'x'}"
    rows = [[str(labels[i])[:60] or str(i), x[i], y[i]] for i in idx]
    note = f"Showing every {step}th of {len(x):,} points." if step > 1 else ""
    return chart, desc, ["point", x_label or "x", y_label or "y"], rows, note


_BUILD: dict[str, Callable] = {
    "bar": _bar,
    "histogram": _histogram,
    "heatmap": _heatmap,
    "line": _line,
    "scatter": _scatter,
}


# ---------------------------------------------------------------- charts from stats


def derived_charts(family: str, stats: Any) -> list[dict]:
    """Charts built from well-known stats shapes when a check did not supply them.

    Any `{"edges": [...], "counts": [...]}` dict inside `stats` becomes a histogram
    (hygiene's `words_histogram`, `typo_rate.histogram`, ...); for the dataset family,
    `label_counts` becomes a bar chart of rows per class (largest first).
    """
    out: list[dict] = []
    if not isinstance(stats, dict):
        return out
    if family == "dataset" and isinstance(stats.get("label_counts"), dict):
        items = sorted(stats["label_counts"].items(), key=lambda kv: (-_safe_num(kv[1]), kv[0]))
        out.append(
            {
                "id": "dataset-label-counts",
                "type": "bar",
                "title": "Rows per class",
                "x_label": "class",
                "y_label": "rows",
                "data": {"labels": [k for k, _ in items], "values": [v for _, v in items]},
            }
        )
    titles = {
        "words_histogram": ("Words per row", "words", "rows"),
        "typo_rate.histogram": ("Share of out-of-dictionary words per row", "typo rate", "rows"),
    }

    def walk(node: Any, path: list[str]) -> None:
        if not isinstance(node, dict) or len(path) > 3:
            return
        if isinstance(node.get("edges"), list) and isinstance(node.get("counts"), list):
            key = ".".join(path)
            title, xl, yl = titles.get(key, (f"{key.replace('_', ' ')}", key, "count"))
            out.append(
                {
                    "id": f"{family}-{key}",
                    "type": "histogram",
                    "title": title,
                    "x_label": xl,
                    "y_label": yl,
                    "data": {"edges": node["edges"], "counts": node["counts"]},
                }
            )
            return
        for k, v in node.items():
            if k != "charts":
                walk(v, path + [str(k)])

    if family != "dataset":
        walk(stats, [])
    return out


def _safe_num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0
