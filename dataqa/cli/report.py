"""`dataqa report`: a saved JSON report as HTML, or two compared."""

from __future__ import annotations

from pathlib import Path

import click

from dataqa.cli.common import EPILOG_DONE, force_option, note, quiet_option, setup_logging
from dataqa.errors import DataQAError


@click.command("report", epilog=EPILOG_DONE)
@click.argument("reports", nargs=-1, required=True, metavar="REPORT.json [AFTER.json]")
@click.option(
    "-o",
    "--output",
    "out",
    metavar="OUT.html",
    help="Where the HTML goes (default: REPORT.html, or AFTER.compare.html for two reports).",
)
@click.option(
    "--no-csv", is_flag=True, help="Do not write the flagged-rows CSV beside a single report."
)
@quiet_option
@force_option
def report_command(reports, out, no_csv, quiet, force):
    """Render a saved JSON report as one self-contained HTML file; give two to compare them.

    \b
    One report: the verdict, dataset facts, counts and a section per check, plus
    OUT.flagged.csv beside it with every flagged row id.
    Two reports (before, after): counts, dataset and stage statistics side by side.
    \b
    Examples:
      dataqa report reports/train.json -o reports/train.html
      dataqa report raw.json curated.json -o reports/compare.html
    """
    from dataqa.findings import Report

    if len(reports) > 2:
        raise DataQAError(
            f"got {len(reports)} reports",
            hint="give one report to render, or two (before, after) to compare",
        )
    from dataqa.io import refuse_overwriting_inputs

    setup_logging(quiet)
    loaded = [Report.load(p) for p in reports]
    if len(loaded) == 1:
        from dataqa.report.html import write_html

        target = Path(out) if out else Path(reports[0]).with_suffix(".html")
        refuse_overwriting_inputs(reports, [target], force=force)
        write_html(loaded[0], target, csv=not no_csv)
    else:
        from dataqa.report.compare import write_comparison

        after = Path(reports[1])
        target = Path(out) if out else after.with_name(f"{after.stem}.compare.html")
        refuse_overwriting_inputs(reports, [target], force=force)
        write_comparison(*loaded, target, names=(Path(reports[0]).name, after.name))
    note(f"HTML report: {target}", quiet)
