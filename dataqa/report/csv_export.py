"""Every flagged row id in a CSV beside the HTML report, safe to open in a spreadsheet.

One line per (finding, row id), so a 1M-row report with every id stays greppable and
joinable back to the data; `finding` is the finding's index in the JSON report's
`findings` list, where its message and evidence are. Text cells that a spreadsheet would evaluate as a formula
(starting with `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataqa.findings import Report

COLUMNS = ("row_id", "check", "severity", "fix", "finding")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_path_for(html_path: str | Path) -> Path:
    p = Path(html_path)
    return p.with_name(f"{p.stem}.flagged.csv")


def neutralise(value: Any) -> Any:
    """Prefix a text cell with `'` when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def flagged_rows(report: Report | dict) -> Iterator[tuple]:
    """(row_id, check, severity, fix, finding index) for every flagged row, neutralised."""
    for i, f in enumerate(_findings(report)):
        for rid in f.row_ids:
            yield (_cell(rid), *_constant_cells(f, i))


def write_flagged_csv(report: Report | dict, path: str | Path) -> Path:
    """Write the flagged-rows CSV atomically (`dataqa.io.write_outputs`).

    Integer row ids (the usual case) take a fast path: the finding's constant cells are
    CSV-encoded once and joined to each id, ~10x faster than a csv.writer row per id.
    """
    from dataqa.io import write_outputs

    path = Path(path)

    def writer(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(COLUMNS)
            for i, f in enumerate(_findings(report)):
                rest = _constant_cells(f, i)
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\r\n").writerow(("", *rest))
                suffix = buf.getvalue()  # ",check,severity,fix,i\r\n"
                ids = f.row_ids
                if all(type(r) is int for r in ids):
                    for start in range(0, len(ids), 65536):
                        fh.write("".join(f"{r}{suffix}" for r in ids[start : start + 65536]))
                else:
                    w.writerows((_cell(r), *rest) for r in ids)

    write_outputs([(path, writer)])
    return path


def _findings(report: Report | dict) -> list:
    return report.findings if isinstance(report, Report) else Report.from_dict(report).findings


def _cell(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def _constant_cells(f, index: int) -> tuple:
    fix = f.fix.action if f.fix is not None else ""
    return (neutralise(f.check), neutralise(f.severity), neutralise(str(fix)), index)
