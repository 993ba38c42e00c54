"""`dataqa demo`: the embedded demo set with planted problems, audited and cleaned."""

from __future__ import annotations

from pathlib import Path

import click

from dataqa.cli.common import EPILOG_DONE, setup_logging


@click.command("demo", epilog=EPILOG_DONE)
@click.option(
    "--out",
    "out_dir",
    default="reports/demo",
    show_default=True,
    metavar="DIR",
    help="Folder for the demo data and its reports.",
)
@click.option("--rows", default=2000, show_default=True, help="Rows in the generated demo dataset.")
@click.option(
    "--seed", default=7, show_default=True, help="Seed of the demo data and of every stage."
)
@click.option(
    "--no-finetune",
    is_flag=True,
    help="Stop after clean (skip the raw-vs-curated fine-tune of a tiny model, ~1-2 min on CPU).",
)
def demo_command(out_dir, rows, seed, no_finetune):
    """Build the embedded demo dataset (with planted problems) and audit and clean it.

    \b
    The demo writes, under DIR:
      demo_train.csv, demo_test.csv   the generated data (a product-review set)
      ground_truth.json               which rows carry which planted problem
      audit.json (+ audit.html)       the audit report
      clean.csv, clean.quarantine.csv, clean.changes.csv
      pipeline.yaml, loop/            the whole loop (`dataqa run`): audit -> clean ->
                                      augment -> tiny-model fine-tune raw vs curated
    and prints how many planted problems the audit found.

    \b
    Example:
      dataqa demo --out reports/demo
    """
    from dataqa.demo import run_demo

    setup_logging(False)
    run_demo(Path(out_dir), rows=rows, seed=seed, finetune=not no_finetune)
