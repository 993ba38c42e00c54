"""Render one audit report as a self-contained HTML page (and the flagged-rows CSV)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from dataqa.dataset import atomic_write_text
from dataqa.findings import SCHEMA_VERSION, Report, to_jsonable
from dataqa.report.csv_export import csv_path_for, write_flagged_csv
from dataqa.report.page import json_script, render
from dataqa.report.view import build_view, page_data


def report_dict(report: Report | dict) -> dict:
    """The report in its JSON shape, without copying row id lists.

    `Report.to_dict()` deep-copies every row id (dataclasses.asdict), which takes tens of
    seconds on a 1M-row audit; the page only needs references. Meta and stats are made
    JSON-plain (they feed the JSON block); evidence stays as it is and the view reads
    only the few examples it shows, defensively (numpy scalars, NaN labels).
    """
    if isinstance(report, dict):
        report = Report.from_dict(report)
    if not isinstance(report, Report):
        raise TypeError(f"expected a Report or a report dict, not {type(report).__name__}")
    return {
        "schema_version": SCHEMA_VERSION,
        "meta": to_jsonable(report.meta),
        "counts": report.counts(),
        "stats": to_jsonable(report.stats),
        "findings": [
            {
                "check": f.check,
                "severity": f.severity,
                "message": f.message,
                "row_ids": f.row_ids,
                "evidence": f.evidence if isinstance(f.evidence, dict) else {},
                "fix": f.fix.to_dict() if f.fix is not None else None,
            }
            for f in report.findings
        ],
    }


def render_html(report: Report | dict, *, csv_name: str | None = None) -> str:
    """The report page as a string. `csv_name` names the flagged-rows CSV to link to."""
    d = report_dict(report)
    view = build_view(d)
    meta = d.get("meta") or {}
    meta_input = meta.get("input") if isinstance(meta.get("input"), dict) else {}
    path = meta_input.get("path")
    title = "dataqa report" + (f" — {Path(str(path)).name}" if path and path != "<memory>" else "")
    return render(
        "report.html.j2",
        page_title=title,
        v=view,
        input_path=path if path and path != "<memory>" else None,
        created=meta.get("created"),
        version=meta.get("version"),
        limits=page_data(d, view)["limits"],
        csv_name=csv_name,
        csv_href=quote(csv_name) if csv_name else None,
        page_json=json_script(page_data(d, view)),
    )


def write_html(report: Report | dict, path: str | Path, *, csv: bool = True) -> Path:
    """Write the HTML report to `path` (atomically) and, unless `csv=False`, the CSV of
    every flagged row id beside it (`NAME.flagged.csv`). Returns the HTML path."""
    path = Path(path)
    csv_name = None
    if csv:
        target = csv_path_for(path)
        write_flagged_csv(report, target)
        csv_name = target.name
    atomic_write_text(path, render_html(report, csv_name=csv_name))
    return path
