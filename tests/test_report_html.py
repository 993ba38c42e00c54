"""The HTML report without a browser: content, safety, size bounds, charts, CSV, CLI.

Hostile rows (scripts, event handlers, javascript: links, </textarea>, </script>
inside the JSON block, bidi overrides, a 1 MB row) go through the real audit and then
through the renderer; tests/test_report_browser.py loads the same pages in Chromium.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dataqa.cli import cli
from dataqa.findings import Finding, Report
from dataqa.report.charts import render_chart
from dataqa.report.compare import render_comparison
from dataqa.report.csv_export import csv_path_for, neutralise, write_flagged_csv
from dataqa.report.html import render_html, write_html
from dataqa.report.page import environment, json_script, show_text
from dataqa.report.view import MAX_FINDINGS_PER_FAMILY
from dataqa.text.visible import is_hidden_char

CANARY = "window.__pwned=1;document.title='PWNED'"
HOSTILE_TEXTS = [
    f"<script>{CANARY}</script> great blender",
    f'<img src=x onerror="{CANARY}"> broke after a week',
    f'<a href="javascript:{CANARY}">click for a refund</a> javascript:alert(1)',
    f"</textarea><script>{CANARY}</script> fine product",
    f"</script><script>{CANARY}</script><!-- kettle",
    f'<svg onload="{CANARY}"></svg> works great',
    '"><iframe srcdoc="<script>parent.__pwned=1</script>"></iframe> nice',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=1"> ok',
    "<style>body{display:none}</style> hidden page?",
    "The \u202eknil siht kcilc\u202c kettle is fine, \u2066isolate\u2069 and \u200bzero width",
    "line\u2028separator and\u2029paragraph separators in a review",
    "{{ 7*7 }} {% if true %}jinja{% endif %} ${7*7} template text",
]
HOSTILE_LABEL = f"</script><script>{CANARY}</script>"
ONE_MB = "spam " * 200_000


class Doc(HTMLParser):
    """A tiny DOM summary: every start tag with its attributes, plus script contents."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "script":
            self._in_script = a
            self.scripts.append((a, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            a, text = self.scripts[-1]
            self.scripts[-1] = (a, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def find(self, tag: str | None = None, **attrs: str) -> list[dict]:
        return [
            a
            for t, a in self.tags
            if (tag is None or t == tag)
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def page_json(html: str) -> dict:
    doc = Doc(html)
    blocks = [text for a, text in doc.scripts if a.get("type") == "application/json"]
    assert len(blocks) == 1
    return json.loads(blocks[0])


# ------------------------------------------------------------------ fixtures


def _demo_report(demo) -> Report:
    from dataqa.dataset import from_frame
    from dataqa.stages.audit import audit

    train, test, truth = demo
    ds = from_frame(train, text_col="text", label_col="label", group_col="brand")
    other = from_frame(test, text_col="text", label_col="label")
    report = audit(ds, against=other, seed=7)
    from dataqa.demo import detection_table

    report.meta["demo"] = {"ground_truth": truth, "detection": detection_table(report, truth)}
    return report


@pytest.fixture(scope="module")
def demo_report(demo) -> Report:
    return _demo_report(demo)


def hostile_report() -> Report:
    """A real audit over rows of hostile text, plus hand-made parts a tampered JSON could hold."""
    from dataqa.dataset import from_frame
    from dataqa.stages.audit import audit

    base = [
        f"I bought this kettle in spring number {i} and it works as described every single day."
        for i in range(60)
    ]
    texts = base + HOSTILE_TEXTS + [ONE_MB]
    labels = ["positive" if i % 2 else "negative" for i in range(len(texts))]
    labels[3] = labels[5] = HOSTILE_LABEL
    groups = [
        f'<b onmouseover="{CANARY}">brand</b>' if i % 7 == 0 else "acme" for i in range(len(texts))
    ]
    df = pd.DataFrame({"text": texts, "label": labels, "brand": groups})
    ds = from_frame(df, text_col="text", label_col="label", group_col="brand")
    report = audit(ds, checks=["hygiene", "duplicates"], seed=0)
    report.meta["input"]["path"] = f"</script><script>{CANARY}</script>\u202e.csv"
    report.meta["notes"] = [f'<img src=x onerror="{CANARY}">']
    report.findings.append(
        Finding(
            check="evil.<b>bold</b>",
            severity="error",
            message=f"</script><script>{CANARY}</script> \u2028 <!-- --> {HOSTILE_TEXTS[-1]}",
            row_ids=[0, 1, "=cmd|' /C calc'!A0"],
            evidence={
                f'<img src=x onerror="{CANARY}">': "v",
                "examples": [
                    {"row_id": 0, "text": ONE_MB + "<script>x</script>", "label": HOSTILE_LABEL},
                    {"row_id": "<i>1</i>", "text": "javascript:alert(1)", "label": None},
                ],
            },
            fix={"action": "review"},
        )
    )
    report.stats["evil"] = {
        "note": f"<script>{CANARY}</script>",
        "charts": [
            {
                "id": '"><script>x</script>',
                "type": "bar",
                "title": f"<script>{CANARY}</script>",
                "x_label": "<i>x</i>",
                "y_label": "</svg><script>x</script>",
                "data": {"labels": [HOSTILE_LABEL, "\u202eb"], "values": [1, 2]},
            },
            {"id": "broken", "type": "<script>", "title": "t", "data": {}},
        ],
    }
    return report


@pytest.fixture(scope="module")
def hostile() -> Report:
    return hostile_report()


def synthetic_report(n_findings: int, ids_per_family: int) -> Report:
    """Findings shaped like a large audit's: a few hygiene findings with huge id lists and
    many small duplicate-group findings."""
    findings = [
        Finding("hygiene.length_outlier", "info", "long rows", list(range(ids_per_family))),
        Finding("hygiene.empty", "error", "empty rows", list(range(0, ids_per_family, 97))),
    ]
    for g in range(n_findings):
        findings.append(
            Finding(
                "duplicates.exact",
                "warning",
                "2 rows are exact duplicates of each other",
                [2 * g, 2 * g + 1],
                evidence={
                    "group": g,
                    "examples": [
                        {"row_id": 2 * g, "text": "dup text " * 60, "label": "a"},
                        {"row_id": 2 * g + 1, "text": "dup text " * 60, "label": "a"},
                    ],
                },
                fix={"action": "dedupe", "keep": 2 * g},
            )
        )
    stats = {
        "dataset": {"rows": 1_000_000, "classes": 2, "label_counts": {"a": 600_000, "b": 400_000}}
    }
    return Report(
        findings=findings, stats=stats, meta={"version": "test", "input": {"rows": 1_000_000}}
    )


# ------------------------------------------------------------------ content


@pytest.mark.slow
def test_demo_report_has_every_section_and_matching_counts(demo_report):
    html = render_html(demo_report)
    doc = Doc(html)
    counts = demo_report.counts()
    families = {a["data-family"] for a in doc.find("section") if "data-family" in a}
    assert {"hygiene", "duplicates"} <= families
    for sev, n in counts["by_severity"].items():
        assert doc.find("div", data_severity=sev)[0]["data-count"] == str(n)
    assert doc.find("div")[0] is not None
    rows = {a["data-check"] for a in doc.find("tr") if "data-check" in a and a.get("data-severity")}
    assert set(counts["by_check"]) <= rows
    for family in ("hygiene", "duplicates"):
        n = sum(1 for f in demo_report.findings if f.check.startswith(family + "."))
        assert doc.find("section", data_family=family)[0]["data-findings"] == str(n)
    data = page_json(html)
    assert data["counts"] == json.loads(json.dumps(counts))
    assert data["verdict"] == "blocked"  # the demo plants errors (leakage, empty rows)
    assert "Demo: planted problems found" in html
    assert 'id="dataset-label-counts"' not in html  # chart ids are made unique per page
    assert html.count('class="chart"') >= 4  # label counts + hygiene + duplicates charts


def test_page_is_self_contained(demo_report, tmp_path):
    html = write_html(demo_report, tmp_path / "r.html").read_text(encoding="utf-8")
    refs = [
        (t, k, v) for t, a in Doc(html).tags for k, v in a.items() if k in ("href", "src", "action")
    ]
    assert refs and all(v.startswith("#") or v == "r.flagged.csv" for _, _, v in refs), refs
    assert "@import" not in html and "url(" not in html.split("</style>")[0]


def test_verdict_lists_errors_before_warnings():
    r = Report(
        findings=[
            Finding("hygiene.pii", "warning", "pii", list(range(500))),
            Finding("duplicates.leakage", "error", "leak", [1]),
            Finding("hygiene.typos", "info", "typos", [2, 3]),
        ]
    )
    doc = Doc(render_html(r))
    items = [a for t, a in doc.tags if t == "li" and "data-severity" in a]
    assert [a["data-severity"] for a in items] == ["error", "warning"]
    assert doc.find("section", id="verdict")[0]["data-status"] == "blocked"
    ok = Report(findings=[Finding("hygiene.typos", "warning", "t", [1])])
    assert Doc(render_html(ok)).find("section", id="verdict")[0]["data-status"] == "review"
    clean = Report(findings=[Finding("hygiene.typos", "info", "t", [1])])
    html = render_html(clean)
    assert Doc(html).find("section", id="verdict")[0]["data-status"] == "ready"
    assert 'Ready to fine-tune? <span class="answer">Yes</span>' in html


def test_skipped_checks_are_named_in_the_verdict():
    r = Report(meta={"skipped": {"labels": "not installed: pip install 'dataqa-finetune[labels]'"}})
    html = render_html(r)
    assert "Not checked:" in html and "labels" in html


def test_unknown_families_and_stages_render_generically():
    line = {
        "id": "ft-curve",
        "type": "line",
        "title": "Learning curve",
        "x_label": "epoch",
        "y_label": "accuracy",
        "data": {"x": [1, 2, 3], "series": {"raw": [0.5, 0.6, 0.7], "curated": [0.55, 0.7, 0.8]}},
    }
    r = Report(
        findings=[Finding("novelty.offtopic", "warning", "off topic", [4, 5])],
        stats={
            "novelty": {"score": 0.25, "charts": [dict(line, id="nov")]},
            "finetune": {"delta_accuracy": 0.1, "charts": [line]},
            "hygiene": {"words_histogram": {"edges": [0, 1, 2], "counts": [3, 4]}},
        },
    )
    html = render_html(r)
    doc = Doc(html)
    order = [a["data-family"] for a in doc.find("section") if "data-family" in a]
    assert order == ["hygiene", "novelty", "finetune"]  # known, unknown, then stages
    assert "Learning curve" in html and "delta_accuracy" in html and "score" in html
    assert "Words per row" in html  # derived from hygiene's words_histogram


def test_a_chart_the_check_supplied_is_not_drawn_twice():
    hist = {"edges": [0, 1, 2], "counts": [3, 4]}
    r = Report(
        stats={
            "hygiene": {
                "words_histogram": hist,
                "charts": [{"id": "hw", "type": "histogram", "title": "Words", "data": hist}],
            }
        }
    )
    html = render_html(r)
    assert html.count('<figure class="chart"') == 1


def test_render_is_deterministic(demo_report):
    assert render_html(demo_report) == render_html(Report.from_dict(demo_report.to_dict()))


# ------------------------------------------------------------------ safety


def test_autoescape_is_on():
    env = environment()
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


@pytest.mark.slow
def test_hostile_text_is_escaped_everywhere(hostile):
    html = render_html(hostile)
    doc = Doc(html)
    # the only scripts: the JSON block and the report's own script
    assert len(doc.scripts) == 2
    assert [a.get("type") for a, _ in doc.scripts] == ["application/json", None]
    for tag in ("img", "iframe", "svg", "a", "meta", "style", "b", "i", "textarea"):
        for a in doc.find(tag):
            assert not any(k.startswith("on") for k in a), (tag, a)
            assert not a.get("href", "").lower().startswith("javascript:")
            assert "srcdoc" not in a and a.get("http-equiv") != "refresh"
    assert not doc.find("img") and not doc.find("iframe") and not doc.find("textarea")
    assert not [a for a in doc.find("svg") if "onload" in a]
    assert "<script>window" not in html and "<script>" + CANARY not in html
    assert "&lt;script&gt;window.__pwned=1" in html  # shown as text
    hidden = {f"U+{ord(c):04X}" for c in html if is_hidden_char(c)}
    assert not hidden  # bidi overrides, zero-width and line separators never reach the page
    assert "⟨U+202E⟩" in html  # the bidi override is shown, not obeyed
    assert "{{ 7*7 }}" in html  # data is never rendered as a template
    assert len(doc.find("style")) == 1  # only the report's stylesheet


def test_json_block_cannot_close_its_script_tag(hostile):
    html = render_html(hostile)
    raw = html.split('<script type="application/json" id="dataqa-data">', 1)[1].split(
        "</script>", 1
    )[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw and "\u2028" not in raw
    data = json.loads(raw)
    assert data["input"].startswith("</script><script>")  # round-trips intact
    assert HOSTILE_LABEL in json.dumps(data["counts"]) or data["counts"]["by_check"]


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=8
    )
)
@pytest.mark.slow
def test_json_script_round_trips_anything(obj):
    out = str(json_script(obj))
    assert not set(out) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(out) == obj


def test_content_security_policy_pins_the_one_script(hostile):
    html = render_html(hostile)
    doc = Doc(html)
    csp = doc.find("meta", http_equiv="Content-Security-Policy")[0]["content"]
    script = [text for a, text in doc.scripts if not a.get("type")][0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "http" not in csp  # nothing from the network


def test_invisible_characters_are_shown_as_markers():
    out = str(show_text("a\u202eb\u200bc<d>\n"))
    assert out == (
        'a<span class="ctl" title="invisible character U+202E">⟨U+202E⟩</span>b'
        '<span class="ctl" title="invisible character U+200B">⟨U+200B⟩</span>c&lt;d&gt;\n'
    )


def test_one_megabyte_rows_are_clipped(hostile):
    html = render_html(hostile)
    assert len(html.encode()) < 600_000
    assert "characters)" in html  # "… (+N characters)" marks the cut


# ------------------------------------------------------------------ size bounds and CSV


@pytest.mark.slow
def test_large_report_stays_small_and_csv_keeps_every_id(tmp_path):
    # 30k duplicate groups + hygiene findings over 300k rows; benchmarks/bench_report.py
    # measures the full 1M-row case.
    r = synthetic_report(n_findings=30_000, ids_per_family=300_000)
    out = write_html(r, tmp_path / "big.html")
    size = out.stat().st_size
    assert size < 5_000_000, size
    html = out.read_text(encoding="utf-8")
    doc = Doc(html)
    assert doc.find("section", data_family="duplicates")[0]["data-findings"] == "30000"
    shown = [a for a in doc.find("tr") if a.get("id", "").startswith("duplicates-f")]
    assert len(shown) == MAX_FINDINGS_PER_FAMILY
    assert f"Showing the {MAX_FINDINGS_PER_FAMILY} most serious of 30,000 findings" in html
    flagged = pd.read_csv(csv_path_for(out), dtype=str, keep_default_na=False)
    assert list(flagged.columns) == ["row_id", "check", "severity", "fix", "finding"]
    assert len(flagged) == sum(len(f.row_ids) for f in r.findings)
    dup = flagged[flagged["check"] == "duplicates.exact"]
    assert set(dup["row_id"].astype(int)) == set(range(60_000))
    assert (dup["fix"] == "dedupe").all()


def test_csv_neutralises_spreadsheet_formulas(tmp_path):
    evil = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "safe", "a=b"]
    r = Report(findings=[Finding('=HYPERLINK("http://x")', "error", "m", evil + [7, -3])])
    path = write_flagged_csv(r, tmp_path / "f.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    cells = [row[0] for row in rows]
    assert cells[:6] == ["'" + e for e in evil[:6]]
    assert cells[6:] == ["safe", "a=b", "7", "-3"]  # numbers stay numbers
    assert all(row[1] == '\'=HYPERLINK("http://x")' for row in rows)
    assert neutralise(5) == 5 and neutralise("ok") == "ok"


# ------------------------------------------------------------------ charts


SCHEMA_TEXT = (Path(__file__).resolve().parents[1] / "dataqa/schema/report.schema.json").read_text()


def _svg_root(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML or this raises


NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    "spec, marks",
    [
        ({"type": "bar", "data": {"labels": ["a", "b", "c"], "values": [3, 1, 2]}}, 3),
        ({"type": "bar", "data": {"labels": ["a", "b"], "series": {"x": [1, 2], "y": [2, 0]}}}, 4),
        ({"type": "histogram", "data": {"edges": [0, 1, 2, 3], "counts": [5, 0, 2]}}, 3),
        (
            {
                "type": "heatmap",
                "data": {
                    "rows": ["r1", "r2"],
                    "cols": ["c1", "c2", "c3"],
                    "values": [[1, 2, 3], [4, 5, 6]],
                },
            },
            6,
        ),
        (
            {
                "type": "scatter",
                "data": {"x": [0, 1, 2], "y": [1, 0, 2], "labels": ["p", "n", "p"]},
            },
            3,
        ),
    ],
)
def test_each_chart_type_draws_one_mark_per_value(spec, marks):
    root = _svg_root(render_chart({"title": "T", "x_label": "x", "y_label": "y", **spec}, "u1"))
    svg = root.find(f"{NS}svg")
    assert svg is not None and svg.get("role") == "img"
    assert svg.find(f"{NS}title").text == "T" and svg.find(f"{NS}desc").text
    # Vega marks every datum it draws as a graphics symbol with the datum in its label
    kinds = ("bar", "rect mark", "point")
    drawn = [el for el in svg.iter() if el.get("aria-roledescription") in kinds]
    assert len(drawn) == marks
    assert root.find("details/table") is not None  # the data as a table too
    assert len(root.findall("details/table/tbody/tr")) == len(
        spec["data"].get("labels")
        or spec["data"].get("rows")
        or spec["data"].get("counts")
        or spec["data"]["x"]
    )


def test_line_chart_draws_a_line_per_series_told_apart_without_colour():
    spec = {
        "type": "line",
        "title": "c",
        "data": {"x": [1, 2, 3], "series": {"a": [1, 2, 3], "b": [3, 2, 1]}},
    }
    root = _svg_root(render_chart(spec, "u2"))
    lines = [el for el in root.iter() if el.get("aria-roledescription") == "line mark"]
    assert len(lines) == 2
    dashes = {p.get("stroke-dasharray") for el in lines for p in el.iter(f"{NS}path")}
    assert len(dashes) == 2  # solid and dashed, not only two colours


def test_charts_on_one_page_keep_their_ids_apart():
    spec = {
        "type": "heatmap",
        "title": "h",
        "data": {"rows": ["a"], "cols": ["b", "c"], "values": [[1, 2]]},
    }
    one, two = str(render_chart(spec, "p1")), str(render_chart(spec, "p2"))
    ids = re.findall(r' id="([^"]+)"', one + two)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r"url\(#([^)]+)\)", one):
        assert ref.startswith("p1-") and f'id="{ref}"' in one


def test_the_svg_holds_only_drawing(monkeypatch):
    import dataqa.report.charts as charts

    class Evil:
        @staticmethod
        def vegalite_to_svg(spec, **kw):
            return '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

    monkeypatch.setattr(charts, "_converter", lambda: Evil)
    out = str(
        render_chart({"type": "bar", "title": "t", "data": {"labels": ["a"], "values": [1]}}, "e")
    )
    assert "could not be drawn" in out and "<script" not in out


def test_without_vl_convert_the_table_still_carries_the_numbers(monkeypatch):
    import dataqa.report.charts as charts

    monkeypatch.setattr(charts, "_converter", lambda: None)
    out = str(
        render_chart({"type": "bar", "title": "t", "data": {"labels": ["a"], "values": [7]}}, "n")
    )
    assert "<svg" not in out and "vl-convert-python" in out and ">7<" in out


def test_the_json_carries_a_vega_lite_spec_per_chart(demo_report):
    import altair as alt
    import jsonschema

    d = json.loads(demo_report.to_json())
    charts = [
        c for fam in d["stats"].values() if isinstance(fam, dict) for c in fam.get("charts", [])
    ]
    assert {c["id"] for c in charts} >= {"dataset-label-counts", "hygiene-words_histogram"}
    for c in charts:
        spec = c["vega_lite"]
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        kind = alt.LayerChart if "layer" in spec else alt.Chart
        kind.from_dict(spec, validate=True)  # valid Vega-Lite, drawable in a notebook
        jsonschema.validate(c, json.loads(SCHEMA_TEXT)["$defs"]["chart"])
    # a saved report renders the same page as the live one; the stored spec is not drawn
    again = Report.from_dict(d)
    assert render_html(again) == render_html(demo_report)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "pie", "data": {}},
        {"type": "bar", "data": {"labels": ["a"], "values": [1, 2]}},
        {"type": "histogram", "data": {"edges": [0, 1], "counts": ["x"]}},
        {"type": "heatmap", "data": {"rows": ["a"], "cols": ["b"], "values": [[1, 2]]}},
        {"type": "line", "data": {"x": [1], "series": []}},
        "not a chart",
    ],
)
def test_malformed_charts_give_a_note_not_an_exception(spec):
    out = str(render_chart(spec, "u3"))
    assert "could not be drawn" in out
    _svg_root(out)


def test_chart_text_is_escaped():
    spec = {
        "type": "bar",
        "title": "<script>x</script>",
        "x_label": "</svg><script>y</script>",
        "data": {"labels": ["<b>a</b>", "\u202eevil"], "values": [1, 2]},
    }
    out = str(render_chart(spec, "u4"))
    assert "<script>" not in out and "<b>" not in out and "\u202e" not in out
    root = _svg_root(out)
    assert root.find("figcaption").text == "<script>x</script>"
    texts = " ".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert "<b>a</b>" in texts and "⟨U+202E⟩evil" in texts  # shown as text, not markup


def test_huge_charts_are_thinned():
    n = 100_000
    spec = {
        "type": "scatter",
        "data": {"x": list(range(n)), "y": list(range(n)), "labels": ["a"] * n},
    }
    out = str(render_chart(spec, "u5"))
    assert len(out) < 900_000 and "Showing every" in out
    points = [el for el in _svg_root(out).iter() if el.get("aria-roledescription") == "point"]
    assert 1000 <= len(points) <= 1500
    bars = {
        "type": "bar",
        "data": {"labels": [str(i) for i in range(500)], "values": list(range(500))},
    }
    out = str(render_chart(bars, "u6"))
    assert "first 50 of 500 bars" in out
    assert (
        len([el for el in _svg_root(out).iter() if el.get("aria-roledescription") == "bar"]) == 50
    )


# ------------------------------------------------------------------ comparison


def test_comparison_puts_counts_labels_and_stages_side_by_side():
    curve = {
        "id": "curve",
        "type": "line",
        "title": "Learning curve",
        "data": {"x": [1, 2], "series": {"acc": [0.5, 0.7]}},
    }
    before = Report(
        findings=[
            Finding("duplicates.exact", "warning", "d", [1, 2, 3]),
            Finding("hygiene.empty", "error", "e", [4]),
        ],
        stats={
            "dataset": {"rows": 100, "label_counts": {"a": 60, "b": 40}},
            "finetune": {"acc": 0.7, "charts": [curve]},
        },
    )
    after = Report(
        findings=[Finding("duplicates.exact", "warning", "d", [1])],
        stats={
            "dataset": {"rows": 96, "label_counts": {"a": 57, "b": 39}},
            "finetune": {"acc": 0.75, "charts": [curve]},
            "clean": {
                "rows_quarantined": 4,
                "charts": [
                    {
                        "id": "q",
                        "type": "bar",
                        "title": "Quarantined",
                        "data": {"labels": ["empty"], "values": [4]},
                    }
                ],
            },
        },
    )
    html = render_comparison(before, after, names=("raw.json", "curated.json"))
    doc = Doc(html)
    assert [a["data-family"] for a in doc.find("section") if "data-family" in a] == [
        "clean",
        "finetune",
    ]
    assert doc.find("section", data_family="clean")[0]["data-presence"] == "after only"
    row = re.search(r'<tr data-check="duplicates.exact".*?</tr>', html).group(0)
    assert re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row) == ["1", "1", "3", "1", "−2"]
    label_row = re.search(r'<tr data-label="a">.*?</tr>', html).group(0)
    assert "60" in label_row and "57" in label_row and "−3" in label_row
    assert "Learning curve (raw.json)" in html and "Learning curve (curated.json)" in html
    assert "<figcaption>Quarantined</figcaption>" in html  # one side only: no side suffix
    blocked, review = (a["data-status"] for a in doc.find("div") if "data-side" in a)
    assert (blocked, review) == ("blocked", "review")
    assert page_json(html)["kind"] == "comparison"


def test_comparison_escapes_hostile_reports(hostile):
    html = render_comparison(hostile, hostile)
    assert "<script>window" not in html
    assert not [c for c in html if is_hidden_char(c)]
    assert len(Doc(html).scripts) == 2


# ------------------------------------------------------------------ CLI


def test_cli_report_renders_and_compares(tmp_path, demo_report):
    src = tmp_path / "audit.json"
    demo_report.save(src)
    run = CliRunner().invoke(cli, ["report", str(src), "-o", str(tmp_path / "out" / "a.html")])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "out" / "a.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "out" / "a.flagged.csv").exists()
    run = CliRunner().invoke(cli, ["report", str(src), str(src)])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "audit.compare.html").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["a.json", "b.json", "c.json"], "got 3 reports"),
        (["missing.json"], "no such report file"),
        (["notjson.json"], "not a JSON report"),
    ],
)
def test_cli_report_bad_input_exits_2(tmp_path, args, says, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notjson.json").write_text("<html>", encoding="utf-8")
    run = CliRunner().invoke(cli, ["report", *args])
    assert run.exit_code == 2 and says in run.output


@pytest.mark.slow
def test_cli_audit_html_writes_the_report(tmp_path, demo):
    from dataqa.dataset import write_table

    train, _, _ = demo
    write_table(train.head(300), tmp_path / "train.csv", index=False)
    run = CliRunner().invoke(
        cli,
        [
            "audit",
            str(tmp_path / "train.csv"),
            "--html",
            str(tmp_path / "r.html"),
            "-q",
            "--fail-on",
            "never",
        ],
    )
    assert run.exit_code == 0, run.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Ready to fine-tune?" in html and 'data-family="hygiene"' in html
    assert (tmp_path / "r.flagged.csv").exists()


def test_terminal_table_gives_each_severity_of_a_check_its_line():
    """labels.issue with 2 errors and 3 warnings read as "error 5" (trial 4)."""
    from dataqa.findings import Finding, Report
    from dataqa.summary import format_summary

    findings = [Finding("labels.issue", "error", "sure", [i]) for i in range(2)] + [
        Finding("labels.issue", "warning", "maybe", [i]) for i in range(10, 13)
    ]
    findings.append(Finding("hygiene.empty", "error", "empty", [20, 21]))
    text = format_summary(Report(findings=findings))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "labels.issue error 2 2" in lines and "labels.issue warning 3 3" in lines
    assert "hygiene.empty error 1 2" in lines
