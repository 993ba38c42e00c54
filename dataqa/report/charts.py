"""Charts for the HTML report: Vega-Lite specs (`dataqa.charts`, built with Altair) drawn
to SVG offline by vl-convert and inlined, so the page needs no script and no network.

Every chart is a `<figure>`: the SVG (`role="img"`, with a `<title>` and a `<desc>` for
screen readers) and the chart's data as a table in a `<details>` element, so it reads
without colour, without the picture and on paper. The SVG that vl-convert returns is
parsed and checked before it is inlined: only drawing elements, no event handlers, no
links, and its ids prefixed so that several charts share a page. Labels reach it through
`_text` (clipped, invisible characters made visible); the XML writer escapes them. Specs
come from a report that may have been edited by hand, so a malformed spec yields a short
note instead of an exception; the spec stored in the JSON (`vega_lite`) is never drawn,
only the chart's data.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from dataqa.charts import ChartError, Plot, fmt, plot
from dataqa.text.visible import make_visible

__all__ = ["ChartError", "fmt", "render_chart", "safe_id"]

log = logging.getLogger("dataqa")

MAX_TABLE_ROWS = 60
MAX_LABEL_CHARS = 38
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
DRAWING = frozenset(
    [
        "svg",
        "g",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "title",
        "desc",
        "defs",
        "clipPath",
        "linearGradient",
        "radialGradient",
        "stop",
    ]
)
"""SVG elements a chart may hold; anything else (script, foreignObject, a, image, use,
style) means the SVG is not inlined."""


def render_chart(spec: Any, uid: str) -> Markup:
    """One chart spec -> `<figure>` with an SVG and a data table.

    `spec` follows the chart convention of `dataqa.charts`; `uid` makes the element ids
    unique within the page.
    """
    title = _text(spec.get("title") if isinstance(spec, dict) else None) or "Chart"
    try:
        shown = plot(spec, text=_short)
        svg = _svg(shown, uid, title)
    except ChartError as err:
        return Markup(
            '<figure class="chart chart-error" id="{uid}"><figcaption>{title}</figcaption>'
            '<p class="note">This chart could not be drawn: {why}.</p></figure>'
        ).format(uid=uid, title=title, why=str(err))
    note = shown.note
    if svg is None:
        svg = Markup("")
        note = (note + " " if note else "") + (
            "The picture needs vl-convert-python (pip install vl-convert-python); "
            "the numbers are in the table."
        )
    table = _table(shown.headers, shown.rows)
    return Markup(
        '<figure class="chart" id="{uid}"><figcaption>{title}</figcaption>{svg}{note}'
        "<details><summary>Data table: {title}</summary>{table}</details></figure>"
    ).format(
        uid=uid,
        title=title,
        svg=svg,
        note=Markup('<p class="note">{}</p>').format(note) if note else "",
        table=table,
    )


def safe_id(text: Any, fallback: str = "chart") -> str:
    """A string usable as an HTML id: lowercase ascii letters, digits and dashes."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:60]
    return s or fallback


# ---------------------------------------------------------------- SVG


@lru_cache(maxsize=1)
def _converter():
    try:
        import vl_convert
    except ImportError:
        log.warning("vl-convert-python is not installed: report charts show their tables only")
        return None
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return vl_convert


def _svg(shown: Plot, uid: str, title: str) -> Markup | None:
    """The chart as inline SVG markup, or None when vl-convert is not installed."""
    vlc = _converter()
    if vlc is None:
        return None
    spec = {k: v for k, v in shown.vega_lite.items() if k != "title"}  # the figcaption says it
    try:
        raw = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    except Exception as err:  # vl-convert raises plain Exceptions for specs it rejects
        raise ChartError(f"Vega-Lite could not draw it ({str(err)[:200]})") from None
    root = ET.fromstring(raw)
    ids = {}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag not in DRAWING:
            raise ChartError(f"the drawing holds a <{tag}> element")
        for name in list(el.attrib):
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or local in ("href", "style") and "url(" in el.attrib[name]:
                raise ChartError(f"the drawing holds a {local} attribute")
            if local == "href" and not el.attrib[name].startswith("#"):
                raise ChartError("the drawing links outside itself")
        if "id" in el.attrib:  # renumbered: Vega counts gradients and clips per process
            ids[el.attrib["id"]] = f"{uid}-g{len(ids)}"
            el.attrib["id"] = ids[el.attrib["id"]]
    for el in root.iter():  # references to the renamed ids
        for name, value in el.attrib.items():
            if "url(#" in value or value.startswith("#"):
                el.attrib[name] = re.sub(
                    r"(url\(#|^#)([^)\s]+)",
                    lambda m: m.group(1) + ids.get(m.group(2), m.group(2)),
                    value,
                )
    root.attrib.update({"class": "chart-svg", "role": "img", "aria-labelledby": f"{uid}-t {uid}-d"})
    root.attrib.pop("aria-label", None)
    root.attrib.pop("aria-roledescription", None)
    head_t = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{uid}-t"})
    head_t.text = title
    head_d = ET.Element(f"{{{SVG_NS}}}desc", {"id": f"{uid}-d"})
    head_d.text = _text(shown.description, 400)
    root.insert(0, head_d)
    root.insert(0, head_t)
    return Markup(ET.tostring(root, encoding="unicode"))


# ---------------------------------------------------------------- text and tables


def _text(v: Any, limit: int = 200) -> str:
    """Every piece of text a chart shows: clipped, invisible characters made visible
    (escaping happens when it is written out)."""
    if v is None:
        return ""
    s = str(v)
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return make_visible(s)


def _short(v: Any) -> str:
    return _text(v, MAX_LABEL_CHARS)


def _table(headers: list[str], rows: list[list[Any]]) -> Markup:
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
    if len(rows) > MAX_TABLE_ROWS:
        more = Markup('<p class="note">First {} of {} rows.</p>').format(
            MAX_TABLE_ROWS, fmt(len(rows))
        )
    return Markup(
        '<table class="data"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}'
    ).format(head, body, more)
