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
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    help="Override the file's engine: (dask runs the audit and clean stages on sharded input).",
)
@click.option("--scheduler", metavar="ADDRESS", help="With --engine dask: a running scheduler.")
@click.option("--workers", type=int, metavar="N", help="Workers of the local Dask cluster.")
@quiet_option
def run_command(pipeline, out_dir, fresh, fail_on, quiet, **kw):
    """Run the whole loop from a YAML file: audit -> clean -> augment -> finetune.

    One report comes out (report.json, report.html) with the raw audit, what clean and
    augment did, the audit of the curated set (before/after), and the raw-vs-curated
    fine-tune. Each stage caches its outputs under OUT/.cache by a hash of its inputs
    and options, so a re-run resumes where it stopped and skips what did not change.
    Paths in the file are relative to the file's folder. The curated set,
    clean.quarantine and clean.changes are written in the input's format (CSV, TSV,
    JSONL, JSON or Parquet, with its column types), as `dataqa clean -o` writes them.

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
      dataqa run shards.yaml --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from dataqa.cli.common import engine_from, setup_logging
    from dataqa.pipeline import run_pipeline

    setup_logging(quiet)  # the stages' progress lines (each fine-tune run, each check)
    engine = engine_from(kw) if kw.get("engine") else None
    result = run_pipeline(pipeline, out_dir=out_dir, fresh=fresh, progress=not quiet, engine=engine)
    if not quiet and result["summary"] is not None:
        click.echo(result["summary"])
    sys.exit(result["report"].exit_code(fail_on))
