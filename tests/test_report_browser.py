"""The HTML report in a real browser (headless Debian Chromium through Playwright).

Proves what string checks cannot: the page's own script runs under its CSP (so the hash
is right), the tables search/sort/filter, the DOM counts match the JSON, and no script
from hostile data runs, with the CSP on and with it bypassed (escaping alone holds).
Screenshots land in reports/screenshots/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_report_html import CANARY, HOSTILE_TEXTS, _demo_report, hostile_report

from dataqa.report.html import write_html

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = os.environ.get("DATAQA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# Runs before any page script: records CSP violations and keeps the first title.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("install Debian chromium (apt-get install chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as err:  # a broken install: say so and skip, never hang CI
            pytest.skip(f"install Debian chromium: cannot launch {CHROMIUM} ({err})")
        yield b
        b.close()


def open_page(browser, path: Path, **context):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(WATCH)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return ctx, page, errors


@pytest.fixture(scope="module")
def demo_page_file(tmp_path_factory, demo):
    report = _demo_report(demo)
    out = tmp_path_factory.mktemp("demo") / "audit.html"
    report.save(out.with_suffix(".json"))
    write_html(report, out)
    return out, json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))


def visible_rows(page, table_id: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr",
        "rows => rows.filter(r => !r.hidden).map(r => ({check: r.dataset.check, "
        "severity: r.dataset.severity, text: r.textContent}))",
    )


@pytest.mark.slow
def test_demo_report_in_chromium(browser, demo_page_file):
    path, data = demo_page_file
    ctx, page, errors = open_page(browser, path)
    try:
        assert page.get_attribute("html", "data-dq-ready") == "1"  # our script ran under the CSP
        assert page.evaluate("window.__violations") == []
        assert errors == []
        families = page.eval_on_selector_all(
            "section[data-family]", "s => s.map(x => x.dataset.family)"
        )
        seen = {f["check"].split(".")[0] for f in data["findings"]} | (
            set(data["stats"]) - {"dataset"}
        )
        assert set(families) == seen
        for sev, n in data["counts"]["by_severity"].items():
            assert page.get_attribute(f"div.card[data-severity={sev}]", "data-count") == str(n)
        checks = page.eval_on_selector_all(
            "#counts-t tbody tr", "rs => rs.map(r => r.dataset.check)"
        )
        assert sorted(checks) == sorted(data["counts"]["by_check"])
        for fam in families:
            n = sum(1 for f in data["findings"] if f["check"].split(".")[0] == fam)
            assert page.get_attribute(f"section[data-family={fam}]", "data-findings") == str(n)
        assert page.inner_text("#verdict-h").startswith("Ready to fine-tune?")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "demo.png"), full_page=True)
        page.screenshot(path=str(SHOTS / "demo-top.png"))
    finally:
        ctx.close()


@pytest.mark.slow
def test_tables_search_sort_and_filter(browser, demo_page_file):
    path, data = demo_page_file
    ctx, page, _ = open_page(browser, path)
    try:
        total = len(data["counts"]["by_check"])
        assert page.inner_text("#counts-w .status") == f"Showing {total} of {total} rows"
        page.fill("#counts-q", "leakage")
        rows = visible_rows(page, "counts-t")
        assert rows and all("leakage" in r["text"] for r in rows)
        assert page.inner_text("#counts-w .status") == f"Showing {len(rows)} of {total} rows"
        page.fill("#counts-q", "")
        page.select_option("#counts-sev", "error")
        rows = visible_rows(page, "counts-t")
        want = sum(1 for c in data["counts"]["by_check"].values() if c["error"])
        assert len(rows) == want and all(r["severity"] == "error" for r in rows)
        page.select_option("#counts-sev", "")
        header = "#counts-t thead th:nth-child(4) button"  # rows
        page.click(header)
        col = "rs => rs.map(r => parseInt(r.cells[3].dataset.sort))"
        asc = page.eval_on_selector_all("#counts-t tbody tr", col)
        assert asc == sorted(asc)
        assert page.get_attribute("#counts-t thead th:nth-child(4)", "aria-sort") == "ascending"
        page.click(header)
        desc = page.eval_on_selector_all("#counts-t tbody tr", col)
        assert desc == sorted(asc, reverse=True)
        # the example-row tables: filter by check within a family
        fam = "duplicates"
        checks = page.eval_on_selector_all(
            f"#family-{fam}-ex-chk option", "os => os.map(o => o.value).filter(Boolean)"
        )
        if checks:
            page.select_option(f"#family-{fam}-ex-chk", checks[0])
            rows = visible_rows(page, f"family-{fam}-ex-t")
            assert rows and all(r["check"] == checks[0] for r in rows)
    finally:
        ctx.close()


@pytest.mark.slow
def test_report_reads_without_javascript_and_in_print(browser, demo_page_file):
    path, _ = demo_page_file
    ctx, page, _ = open_page(browser, path, java_script_enabled=False)
    try:
        assert page.get_attribute("html", "data-dq-ready") is None
        assert page.is_hidden("#counts-w .tools")  # no dead controls without the script
        assert page.eval_on_selector_all("#counts-t tbody tr", "rs => rs.length") > 0
    finally:
        ctx.close()
    ctx, page, _ = open_page(browser, path)
    try:
        page.emulate_media(media="print")
        assert page.is_hidden("nav.toc") and page.is_hidden("#counts-w .tools")
        overflow = page.eval_on_selector(".scroll", "e => getComputedStyle(e).overflow")
        assert overflow == "visible"  # long tables print in full
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(SHOTS / "demo-print.pdf"))
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def hostile_page_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "hostile.html"
    write_html(hostile_report(), out)
    return out


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "csp-bypassed"])
def test_no_script_from_the_data_runs(browser, hostile_page_file, bypass_csp):
    ctx, page, errors = open_page(browser, hostile_page_file, bypass_csp=bypass_csp)
    try:
        page.wait_for_timeout(300)  # give any injected timer or handler its chance
        page.mouse.move(200, 300)
        assert page.title() != "PWNED" and page.title().startswith("dataqa report")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        # nothing even tried to run and got blocked: escaping alone stops it
        assert page.evaluate("window.__violations") == []
        assert page.get_attribute("html", "data-dq-ready") == "1"
        assert errors == []
        injected = page.evaluate(
            """() => ({
              scripts: document.scripts.length,
              handlers: [...document.querySelectorAll('*')].filter(el =>
                  [...el.attributes].some(a => a.name.startsWith('on'))).length,
              jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
              active: document.querySelectorAll('img, iframe, object, embed, textarea, '
                  + 'meta[http-equiv="refresh"], body style, main svg[onload]').length,
            })"""
        )
        assert injected == {"scripts": 2, "handlers": 0, "jsLinks": 0, "active": 0}
        # the page still renders and shows the hostile text as text
        assert page.is_visible("h1") and page.is_visible("#verdict")
        body = page.inner_text("main")
        assert "<script>window.__pwned=1" in body
        assert any(t.split(" ")[0] in body for t in HOSTILE_TEXTS)
        assert "⟨U+202E⟩" in body
        assert page.evaluate("document.body.getBoundingClientRect().height") > 500
        if not bypass_csp:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "hostile.png"), full_page=False)
    finally:
        ctx.close()


def test_canary_would_fire_if_the_data_were_not_escaped(browser, tmp_path):
    """Control: the same canary in raw HTML does run, so the tests above can fail."""
    raw = tmp_path / "raw.html"
    raw.write_text(
        f"<html><head><title>x</title></head><body><script>{CANARY}</script></body></html>"
    )
    ctx, page, _ = open_page(browser, raw)
    try:
        assert page.title() == "PWNED"
    finally:
        ctx.close()
