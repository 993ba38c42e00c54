"""Inline SVG charts for the HTML report, drawn by small hand-written functions.

A chart spec follows the project's charts convention (see `render_chart`). Every chart is
an SVG with a `<title>`/`<desc>` for screen readers plus a data table in a `<details>`
element, so it reads without colour, without the picture and on paper. Series are told
apart by marker shape, dash pattern or hatching as well as by colour.

All text that reaches the SVG goes through `_text` (clipped, invisible characters made
visible) and is escaped by `Markup.format`; numbers are formatted by this module. Specs come from a report that may have been edited by hand, so a malformed
spec yields a short note instead of an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from dataqa.text.visible import make_visible

CHART_TYPES = ("bar", "histogram", "heatmap", "line", "scatter")
MAX_BARS = 50
MAX_HEATMAP = 40
MAX_LINE_POINTS = 400
MAX_SCATTER_POINTS = 1500
MAX_TABLE_ROWS = 60
MAX_LABEL_CHARS = 38

WIDTH = 640
# Colour-blind-safe palette (Okabe-Ito); shapes and dashes carry the same information.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "plus")


class ChartError(ValueError):
    """A chart spec this module cannot draw (wrong shape or non-numeric data)."""


def render_chart(spec: Any, uid: str) -> Markup:
    """One chart spec -> `<figure>` with an SVG and a data table.

    `spec` is `{"id", "type", "title", "x_label", "y_label", "data"}` where `data` is
    bar `{"labels", "values"}` (or `{"labels", "series": {name: values}}` for grouped
    bars), histogram `{"edges" (n+1), "counts" (n)}`, heatmap `{"rows", "cols",
    "values" [[...]]}`, line `{"x", "series": {name: [...]}}`, scatter `{"x", "y",
    "labels"}`. `uid` makes the element ids unique within the page.
    """
    title = _text(spec.get("title") if isinstance(spec, dict) else None) or "Chart"
    try:
        if not isinstance(spec, dict):
            raise ChartError("a chart must be an object")
        kind = spec.get("type")
        draw = _DRAW.get(kind)  # type: ignore[arg-type]
        if draw is None:
            raise ChartError(f"unknown chart type {str(kind)[:40]!r}")
        data = spec.get("data")
        if not isinstance(data, dict):
            raise ChartError("'data' must be an object")
        svg, desc, table, note = draw(
            data, _text(spec.get("x_label")), _text(spec.get("y_label")), uid
        )
    except ChartError as err:
        return Markup(
            '<figure class="chart chart-error" id="{uid}"><figcaption>{title}</figcaption>'
            '<p class="note">This chart could not be drawn: {why}.</p></figure>'
        ).format(uid=uid, title=title, why=str(err))
    head = Markup(
        '<svg class="chart-svg" role="img" aria-labelledby="{uid}-t {uid}-d" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{uid}-t">{title}</title><desc id="{uid}-d">{desc}</desc>'
    ).format(uid=uid, w=WIDTH, h=svg[0], title=title, desc=desc)
    body = Markup(head + svg[1] + Markup("</svg>"))
    return Markup(
        '<figure class="chart" id="{uid}"><figcaption>{title}</figcaption>{body}{note}'
        "<details><summary>Data table: {title}</summary>{table}</details></figure>"
    ).format(
        uid=uid,
        title=title,
        body=body,
        note=Markup('<p class="note">{}</p>').format(note) if note else "",
        table=table,
    )


def safe_id(text: Any, fallback: str = "chart") -> str:
    """A string usable as an HTML id: lowercase ascii letters, digits and dashes."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:60]
    return s or fallback


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


# ---------------------------------------------------------------- helpers


def _text(v: Any, limit: int = 200) -> str:
    """Every piece of text a chart shows: clipped, invisible characters made visible
    (escaping happens when it is formatted into Markup)."""
    if v is None:
        return ""
    s = str(v)
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return make_visible(s)


def _short(v: Any) -> str:
    return _text(v, MAX_LABEL_CHARS)


def _num(v: Any, what: str) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ChartError(f"{what} must hold numbers, found {type(v).__name__}")
    f = float(v)
    return f if math.isfinite(f) else 0.0


def _nums(seq: Any, what: str) -> list[float]:
    if not isinstance(seq, list):
        raise ChartError(f"{what} must be a list")
    return [_num(v, what) for v in seq]


def _table(headers: list[str], rows: list[list[Any]], total: int | None = None) -> Markup:
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(_text(h)) for h in headers)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(
                Markup('<th scope="row">{}</th>').format(_text(c))
                if i == 0
                else Markup('<td class="num">{}</td>').format(fmt(c))
                for i, c in enumerate(r)
            )
        )
        for r in rows[:MAX_TABLE_ROWS]
    )
    more = ""
    n = len(rows) if total is None else total
    if n > MAX_TABLE_ROWS:
        more = Markup('<p class="note">First {} of {} rows.</p>').format(MAX_TABLE_ROWS, fmt(n))
    return Markup(
        '<table class="data"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}'
    ).format(head, body, more)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _marker(shape: str, x: float, y: float, color: str, r: float = 4) -> Markup:
    if shape == "square":
        return Markup(
            '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>'
        ).format(x - r, y - r, 2 * r, 2 * r, color)
    if shape == "triangle":
        return Markup(
            '<polygon points="{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}" fill="{}"/>'
        ).format(x, y - r - 1, x - r - 1, y + r, x + r + 1, y + r, color)
    if shape == "diamond":
        return Markup(
            '<polygon points="{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}" fill="{}"/>'
        ).format(x, y - r - 1, x + r + 1, y, x, y + r + 1, x - r - 1, y, color)
    if shape in ("cross", "plus"):
        d = r if shape == "plus" else r * 0.8
        if shape == "plus":
            path = f"M{x - d:.1f} {y:.1f}H{x + d:.1f}M{x:.1f} {y - d:.1f}V{y + d:.1f}"
        else:
            path = f"M{x - d:.1f} {y - d:.1f}L{x + d:.1f} {y + d:.1f}M{x - d:.1f} {y + d:.1f}L{x + d:.1f} {y - d:.1f}"
        return Markup('<path d="{}" stroke="{}" stroke-width="2" fill="none"/>').format(path, color)
    return Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}"/>').format(x, y, r, color)


def _legend(names: list[str], x: float, y: float, kind: str, uid: str) -> Markup:
    """Legend entries: a marker/dash sample (lines, scatter) or a fill sample (bars)."""
    out = []
    for i, name in enumerate(names):
        yy = y + i * 16
        color = PALETTE[i % len(PALETTE)]
        if kind == "bar":
            sample = Markup(
                '<rect x="{:.1f}" y="{:.1f}" width="12" height="10" fill="{}"/>'
            ).format(x, yy - 9, _fill(i, uid))
        elif kind == "line":
            sample = Markup(
                '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" '
                'stroke-width="2" stroke-dasharray="{}"/>'
            ).format(x - 4, yy - 4, x + 16, yy - 4, color, DASHES[i % len(DASHES)]) + _marker(
                MARKERS[i % len(MARKERS)], x + 6, yy - 4, color, 3
            )
        else:
            sample = _marker(MARKERS[i % len(MARKERS)], x + 6, yy - 4, color, 4)
        out.append(
            sample
            + Markup('<text x="{:.1f}" y="{:.1f}" class="lg">{}</text>').format(
                x + 22, yy, _text(name, 19)
            )
        )
    return Markup("").join(out)


def _fill(i: int, uid: str) -> str:
    """Solid fill for the first series, hatch patterns after it (readable in greyscale)."""
    return PALETTE[0] if i == 0 else f"url(#{uid}-p{i})"


def _patterns(n: int, uid: str) -> Markup:
    pats = []
    for i in range(1, n):
        color = PALETTE[i % len(PALETTE)]
        angle = (45, -45, 0, 90)[(i - 1) % 4]
        pats.append(
            Markup(
                '<pattern id="{uid}-p{i}" patternUnits="userSpaceOnUse" width="6" height="6" '
                'patternTransform="rotate({a})"><rect width="6" height="6" fill="#fff"/>'
                '<rect width="3" height="6" fill="{c}"/></pattern>'
            ).format(uid=uid, i=i, a=angle, c=color)
        )
    return Markup("<defs>{}</defs>").format(Markup("").join(pats)) if pats else Markup("")


# ---------------------------------------------------------------- chart types


def _bar(data: dict, x_label: str, y_label: str, uid: str):
    labels = data.get("labels")
    if not isinstance(labels, list):
        raise ChartError("bar data needs a 'labels' list")
    if "series" in data:
        series = data["series"]
        if not isinstance(series, dict) or not series:
            raise ChartError("'series' must be an object of name -> values")
        named = {str(k): _nums(v, "series values") for k, v in list(series.items())[:6]}
    else:
        named = {y_label or "value": _nums(data.get("values"), "bar values")}
    for vals in named.values():
        if len(vals) != len(labels):
            raise ChartError("bar labels and values differ in length")
    total = len(labels)
    labels = labels[:MAX_BARS]
    names = list(named)
    k = len(names)
    bar_h = 14 if k == 1 else 9
    group_h = bar_h * k + 8
    longest = max((len(_short(lab)) for lab in labels), default=4)
    left, right, top = min(250, 24 + 6 * longest), 70, 12 + (16 * k if k > 1 else 0)
    height = top + group_h * len(labels) + 34
    vmax = _nice_max(max([max(v[: len(labels)], default=0) for v in named.values()] + [0]))
    vmin = min([min(v[: len(labels)], default=0) for v in named.values()] + [0])
    span = vmax - vmin if vmax > vmin else 1.0
    plot_w = WIDTH - left - right
    parts = [_patterns(k, uid)]
    if k > 1:
        parts.append(_legend(names, left, 14, "bar", uid))
    x0 = left + (-vmin / span) * plot_w
    for gi, lab in enumerate(labels):
        gy = top + gi * group_h
        parts.append(
            Markup('<text x="{:.1f}" y="{:.1f}" class="yl" text-anchor="end">{}</text>').format(
                left - 6, gy + group_h / 2 + 1, _short(lab)
            )
        )
        for si, name in enumerate(names):
            v = named[name][gi]
            w = abs(v) / span * plot_w
            x = x0 if v >= 0 else x0 - w
            y = gy + 4 + si * bar_h
            parts.append(
                Markup(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" '
                    'stroke="#333" stroke-width="0.5"><title>{}{}: {}</title></rect>'
                    '<text x="{:.1f}" y="{:.1f}" class="vl">{}</text>'
                ).format(
                    x,
                    y,
                    max(w, 0.5),
                    bar_h - 1,
                    _fill(si, uid),
                    _short(lab),
                    f" ({_short(name)})" if k > 1 else "",
                    fmt(v),
                    max(x0, x + w) + 4,
                    y + bar_h - 3,
                    fmt(v),
                )
            )
    axis_y = top + group_h * len(labels) + 2
    parts.append(
        Markup(
            '<line x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{:.1f}" stroke="#333"/>'
            '<text x="{:.1f}" y="{:.1f}" class="ax" text-anchor="middle">{}</text>'
        ).format(x0, top - 2, x0, axis_y, left + plot_w / 2, axis_y + 22, y_label or "")
    )
    parts.append(
        Markup('<text x="{:.1f}" y="{:.1f}" class="ax" text-anchor="end">{}</text>').format(
            left - 6, axis_y + 22, x_label or ""
        )
    )
    desc = f"Bar chart of {total} {x_label or 'categories'}" + (
        f", {k} series: {_text(', '.join(names))}" if k > 1 else ""
    )
    rows = [[lab] + [named[n][i] for n in names] for i, lab in enumerate(data["labels"])]
    table = _table([x_label or "label"] + names, rows)
    note = f"Showing the first {MAX_BARS} of {total} bars." if total > MAX_BARS else ""
    return (height, Markup("").join(parts)), desc, table, note


def _histogram(data: dict, x_label: str, y_label: str, uid: str):
    edges = _nums(data.get("edges"), "histogram edges")
    counts = _nums(data.get("counts"), "histogram counts")
    if len(edges) != len(counts) + 1 or not counts:
        raise ChartError("a histogram needs n counts and n+1 edges")
    left, right, top, bottom = 60, 20, 14, 46
    height = 240
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    cmax = _nice_max(max(counts))
    n = len(counts)
    bw = plot_w / n
    parts = []
    for i, c in enumerate(counts):
        h = c / cmax * plot_h
        parts.append(
            Markup(
                '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" '
                'stroke="#fff" stroke-width="0.5"><title>{} – {}: {}</title></rect>'
            ).format(
                left + i * bw,
                top + plot_h - h,
                max(bw - 1, 0.5),
                h,
                PALETTE[0],
                fmt(edges[i]),
                fmt(edges[i + 1]),
                fmt(c),
            )
        )
    base = top + plot_h
    parts.append(
        Markup(
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/>'
            '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/>'
            '<text x="{lx}" y="{ty}" class="ax" text-anchor="end">{cmax}</text>'
            '<text x="{lx}" y="{b}" class="ax" text-anchor="end">0</text>'
        ).format(l=left, r=left + plot_w, b=base, t=top, lx=left - 4, ty=top + 8, cmax=fmt(cmax))
    )
    step = max(1, math.ceil(n / 8))
    for i in range(0, n + 1, step):
        x = left + i * bw
        parts.append(
            Markup(
                '<line x1="{x:.1f}" y1="{b}" x2="{x:.1f}" y2="{b4}" stroke="#333"/>'
                '<text x="{x:.1f}" y="{ty}" class="ax" text-anchor="middle">{v}</text>'
            ).format(x=x, b=base, b4=base + 4, ty=base + 16, v=fmt(edges[i]))
        )
    parts.append(
        Markup(
            '<text x="{cx:.1f}" y="{y}" class="ax" text-anchor="middle">{xl}</text>'
            '<text x="14" y="{my:.1f}" class="ax" text-anchor="middle" '
            'transform="rotate(-90 14 {my:.1f})">{yl}</text>'
        ).format(cx=left + plot_w / 2, y=height - 6, xl=x_label, my=top + plot_h / 2, yl=y_label)
    )
    total = sum(counts)
    peak = max(range(n), key=lambda i: counts[i])
    desc = (
        f"Histogram of {fmt(total)} {y_label or 'values'} over {x_label or 'x'} from "
        f"{fmt(edges[0])} to {fmt(edges[-1])}; the tallest bin is {fmt(edges[peak])} – "
        f"{fmt(edges[peak + 1])} with {fmt(counts[peak])}"
    )
    rows = [[f"{fmt(edges[i])} – {fmt(edges[i + 1])}", c] for i, c in enumerate(counts)]
    table = _table([x_label or "bin", y_label or "count"], rows)
    return (height, Markup("").join(parts)), desc, table, ""


def _heatmap(data: dict, x_label: str, y_label: str, uid: str):
    rows, cols, values = data.get("rows"), data.get("cols"), data.get("values")
    if not (isinstance(rows, list) and isinstance(cols, list) and isinstance(values, list)):
        raise ChartError("a heatmap needs 'rows', 'cols' and 'values' lists")
    if len(values) != len(rows) or any(
        not isinstance(r, list) or len(r) != len(cols) for r in values
    ):
        raise ChartError("heatmap values must be a rows x cols matrix")
    grid = [_nums(r, "heatmap values") for r in values]
    nr, nc = min(len(rows), MAX_HEATMAP), min(len(cols), MAX_HEATMAP)
    left, top = 170, 110
    cell = max(12.0, min(44.0, (WIDTH - left - 10) / max(nc, 1)))
    height = int(top + cell * nr + 30)
    flat = [v for r in grid[:nr] for v in r[:nc]] or [0.0]
    lo, hi = min(flat), max(flat)
    span = hi - lo if hi > lo else 1.0
    show_values = cell >= 26
    parts = []
    for j in range(nc):
        x = left + j * cell + cell / 2
        parts.append(
            Markup(
                '<text x="{x:.1f}" y="{y}" class="yl" transform="rotate(-50 {x:.1f} {y})">{t}</text>'
            ).format(x=x, y=top - 6, t=_short(cols[j]))
        )
    for i in range(nr):
        y = top + i * cell
        parts.append(
            Markup('<text x="{:.1f}" y="{:.1f}" class="yl" text-anchor="end">{}</text>').format(
                left - 6, y + cell / 2 + 4, _short(rows[i])
            )
        )
        for j in range(nc):
            v = grid[i][j]
            t = (v - lo) / span
            parts.append(
                Markup(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" '
                    'fill-opacity="{:.2f}" stroke="#999" stroke-width="0.5">'
                    "<title>{} / {}: {}</title></rect>"
                ).format(
                    left + j * cell,
                    y,
                    cell,
                    cell,
                    PALETTE[0],
                    0.06 + 0.94 * t,
                    _short(rows[i]),
                    _short(cols[j]),
                    fmt(v),
                )
            )
            if show_values:
                parts.append(
                    Markup(
                        '<text x="{:.1f}" y="{:.1f}" class="hv" text-anchor="middle" fill="{}">{}</text>'
                    ).format(
                        left + j * cell + cell / 2,
                        y + cell / 2 + 4,
                        "#fff" if t > 0.55 else "#000",
                        fmt(v),
                    )
                )
    parts.append(
        Markup(
            '<text x="{:.1f}" y="{}" class="ax" text-anchor="middle">{}</text>'
            '<text x="{:.1f}" y="14" class="ax" text-anchor="end">{}</text>'
        ).format(left + cell * nc / 2, height - 8, x_label, left - 6, y_label)
    )
    desc = (
        f"Heatmap of {len(rows)} {y_label or 'rows'} by {len(cols)} {x_label or 'columns'}; "
        f"values from {fmt(lo)} to {fmt(hi)}, darker is higher"
    )
    trows = [[rows[i]] + grid[i] for i in range(len(rows))]
    table = _table([y_label or ""] + [_short(c) for c in cols[:20]], [r[:21] for r in trows])
    note = ""
    if len(rows) > MAX_HEATMAP or len(cols) > MAX_HEATMAP:
        note = f"Showing the first {nr} x {nc} cells of {len(rows)} x {len(cols)}."
    return (height, Markup("").join(parts)), desc, table, note


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _axes(
    xs: list[float],
    ys: list[float],
    x_label: str,
    y_label: str,
    height: int,
    top: int = 14,
    zero: bool = False,
) -> tuple[Callable[[float], float], Callable[[float], float], Markup]:
    """Scales and axes with round ticks; y starts at 0 only when `zero` (a learning
    curve from 0.90 to 0.94 must not be flattened against a 0 baseline)."""
    left, right, bottom = 64, 150, 46
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y0, y1 = (min(ys + [0.0] if zero else ys), max(ys)) if ys else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = (y1 - y0) * 0.06
    y0, y1 = (y0 if zero and y0 == 0 else y0 - pad), y1 + pad

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - (v - y0) / (y1 - y0) * plot_h

    base = top + plot_h
    parts = [
        Markup(
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/>'
            '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/>'
            '<text x="{cx:.1f}" y="{xly}" class="ax" text-anchor="middle">{xl}</text>'
            '<text x="14" y="{my:.1f}" class="ax" text-anchor="middle" '
            'transform="rotate(-90 14 {my:.1f})">{yl}</text>'
        ).format(
            l=left,
            r=left + plot_w,
            b=base,
            t=top,
            cx=left + plot_w / 2,
            xly=height - 6,
            xl=x_label,
            my=top + plot_h / 2,
            yl=y_label,
        )
    ]
    for v in _ticks(x0, x1):
        parts.append(
            Markup(
                '<line x1="{x:.1f}" y1="{b}" x2="{x:.1f}" y2="{b4}" stroke="#333"/>'
                '<text x="{x:.1f}" y="{ty}" class="ax" text-anchor="middle">{v}</text>'
            ).format(x=sx(v), b=base, b4=base + 4, ty=base + 16, v=fmt(v))
        )
    for v in _ticks(y0, y1):
        parts.append(
            Markup(
                '<line x1="{l4}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                '<text x="{lx}" y="{ty:.1f}" class="ax" text-anchor="end">{v}</text>'
            ).format(l4=left - 4, r=left + plot_w, y=sy(v), lx=left - 6, ty=sy(v) + 4, v=fmt(v))
        )
    return sx, sy, Markup("").join(parts)


def _line(data: dict, x_label: str, y_label: str, uid: str):
    x = _nums(data.get("x"), "line x")
    series = data.get("series")
    if not isinstance(series, dict) or not series:
        raise ChartError("a line chart needs a 'series' object")
    named = {str(k): _nums(v, "line values") for k, v in list(series.items())[:6]}
    for vals in named.values():
        if len(vals) != len(x):
            raise ChartError("line x and series values differ in length")
    step = max(1, math.ceil(len(x) / MAX_LINE_POINTS))
    idx = list(range(0, len(x), step))
    height = 260
    sx, sy, axis = _axes(
        [x[i] for i in idx], [v[i] for v in named.values() for i in idx], x_label, y_label, height
    )
    parts = [axis]
    for si, (_name, vals) in enumerate(named.items()):
        color = PALETTE[si % len(PALETTE)]
        pts = " ".join(f"{sx(x[i]):.1f},{sy(vals[i]):.1f}" for i in idx)
        parts.append(
            Markup(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" '
                'stroke-dasharray="{}"/>'
            ).format(pts, color, DASHES[si % len(DASHES)])
        )
        if len(idx) <= 40:
            parts.extend(
                _marker(MARKERS[si % len(MARKERS)], sx(x[i]), sy(vals[i]), color, 3) for i in idx
            )
    parts.append(_legend(list(named), WIDTH - 140, 24, "line", uid))
    desc = f"Line chart of {_text(', '.join(named))} against {x_label or 'x'} ({len(x)} points)"
    rows = [[fmt(x[i])] + [named[n][i] for n in named] for i in range(len(x))]
    table = _table([x_label or "x"] + list(named), rows)
    note = f"Drawn from every {step}th point." if step > 1 else ""
    return (height, Markup("").join(parts)), desc, table, note


def _scatter(data: dict, x_label: str, y_label: str, uid: str):
    x, y = _nums(data.get("x"), "scatter x"), _nums(data.get("y"), "scatter y")
    labels = data.get("labels")
    if len(x) != len(y):
        raise ChartError("scatter x and y differ in length")
    if labels is not None and (not isinstance(labels, list) or len(labels) != len(x)):
        raise ChartError("scatter labels must match the points")
    labels = labels or [""] * len(x)
    # Deterministic thinning: every k-th point, so a huge scatter stays small.
    step = max(1, math.ceil(len(x) / MAX_SCATTER_POINTS))
    idx = list(range(0, len(x), step))
    cats = list(dict.fromkeys(str(labels[i]) for i in idx))
    by_shape = len(cats) <= len(MARKERS) and cats != [""]
    height = 300
    sx, sy, axis = _axes([x[i] for i in idx], [y[i] for i in idx], x_label, y_label, height)
    parts = [axis]
    for i in idx:
        ci = cats.index(str(labels[i])) if by_shape else 0
        m = _marker(MARKERS[ci], sx(x[i]), sy(y[i]), PALETTE[ci % len(PALETTE)], 3.5)
        if labels[i] != "":
            m = Markup("<g><title>{}: ({}, {})</title>{}</g>").format(
                _text(labels[i], 80), fmt(x[i]), fmt(y[i]), m
            )
        parts.append(m)
    if by_shape:
        parts.append(_legend(cats, WIDTH - 140, 24, "scatter", uid))
    desc = f"Scatter plot of {len(x)} points, {y_label or 'y'} against {x_label or 'x'}"
    rows = [[_text(labels[i], 60) or str(i), x[i], y[i]] for i in idx]
    table = _table(["point", x_label or "x", y_label or "y"], rows, total=len(x))
    note = f"Showing every {step}th of {len(x):,} points." if step > 1 else ""
    return (height, Markup("").join(parts)), desc, table, note


_DRAW: dict[str, Callable] = {
    "bar": _bar,
    "histogram": _histogram,
    "heatmap": _heatmap,
    "line": _line,
    "scatter": _scatter,
}


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
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0
