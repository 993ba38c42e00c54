"""`dataqa run`: the whole loop from one YAML file."""

from __future__ import annotations

import sys

import click

from dataqa.cli.common import EPILOG_EXIT, quiet_option


@click.command("run", epilog=EPILOG_EXIT)
@click.argument("pipeline", metavar="PIPELINE.yaml")
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    help="Output folder (default: the file's `out:`, else reports/<name>).",
)
@click.option(
    "--fresh", is_flag=True, help="Ignore cached stage outputs and run every stage again."
)
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error", "never"]),
    default="never",
    show_default=True,
    help="Exit 1 when the final report has a finding this bad.",
)
@quiet_option
def run_command(pipeline, out_dir, fresh, fail_on, quiet):
    """Run the whole loop from a YAML file: audit -> clean -> augment -> finetune.

    One report comes out (report.json, report.html) with the raw audit, what clean and
    augment did, the audit of the curated set (before/after), and the raw-vs-curated
    fine-tune. Each stage caches its outputs under OUT/.cache by a hash of its inputs
    and options, so a re-run resumes where it stopped and skips what did not change.
    Paths in the file are relative to the file's folder.

    \b
    Example file (rules/pipeline.example.yaml has every option):
      name: banking
      data: {train: data/train.csv, test: data/test.csv, label_col: category}
      stages:
        audit: {checks: [hygiene, duplicates]}
        clean: {conflicts: quarantine}
        augment: {methods: [synonym], target: balance}
        finetune: {model: default, epochs: 3}
    \b
    Examples:
      dataqa run rules/pipeline.example.yaml
      dataqa run pipeline.yaml --out reports/try2 --fresh
    """
    from dataqa.pipeline import run_pipeline

    result = run_pipeline(pipeline, out_dir=out_dir, fresh=fresh, progress=not quiet)
    if not quiet:
        click.echo(result["summary"])
    sys.exit(result["report"].exit_code(fail_on))
