"""The `dataqa` command line: a thin shell over the library's stage functions.

One module per command (`dataqa/cli/<command>.py`); each parses its flags, calls one
stage function and writes its outputs, importing the stage inside the command so that
`dataqa --help` loads nothing heavy. Exit codes: 0 nothing at or above --fail-on,
1 findings at or above it, 2 dataqa could not run (bad input, bad option).
"""

from __future__ import annotations

import os
import sys

import click

from dataqa import __version__
from dataqa.cli.audit import audit_command
from dataqa.cli.augment import augment_command
from dataqa.cli.checks import checks_command
from dataqa.cli.clean import clean_command
from dataqa.cli.common import EPILOG_EXIT, role_options
from dataqa.cli.common import write_report_files as write_outputs  # noqa: F401 (train)
from dataqa.cli.demo import demo_command
from dataqa.cli.report import report_command
from dataqa.errors import EXIT_USAGE, DataQAError


class DataQAGroup(click.Group):
    """Turns DataQAError (and unexpected crashes) into one paragraph and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DataQAError as err:
            click.echo(f"dataqa: error: {err.paragraph()}", err=True)
            sys.exit(EXIT_USAGE)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except OSError as err:  # a path the user gave: missing, unreadable, a full disk
            where = f" {err.filename}" if err.filename else ""
            click.echo(
                f"dataqa: error: could not use{where}: {err.strerror or err}. Check the path, "
                "its permissions and the free disk space.",
                err=True,
            )
            sys.exit(EXIT_USAGE)
        except MemoryError:
            click.echo(
                "dataqa: error: ran out of memory. Try a smaller input, or fewer checks "
                "(--checks).",
                err=True,
            )
            sys.exit(EXIT_USAGE)
        except Exception as err:  # a dataqa bug: say so plainly, traceback only on request
            if os.environ.get("DATAQA_DEBUG"):
                raise
            click.echo(
                f"dataqa: internal error: {type(err).__name__}: {err}. This is a bug in "
                "dataqa; rerun with DATAQA_DEBUG=1 for the traceback and report it.",
                err=True,
            )
            sys.exit(EXIT_USAGE)


@click.group(
    cls=DataQAGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG_EXIT,
)
@click.version_option(__version__, prog_name="dataqa")
def cli() -> None:
    """Audit, clean, augment and prove a text dataset before you fine-tune on it.

    \b
    Try it on the embedded demo dataset:
      dataqa demo
    Audit your own file (CSV, TSV, JSONL, Parquet, a datasets folder):
      dataqa audit train.csv --label-col label --json reports/train.json
      dataqa audit train.csv --against test.csv --fail-on warning
    Then fix and quarantine (nothing is lost), and grow thin classes:
      dataqa clean train.csv -o clean.csv
      dataqa augment clean.csv -o aug.csv --method synonym,eda --target balance
    Prove it: the same model fine-tuned on raw and curated, judged on one test set:
      dataqa finetune --train train.csv --train clean.csv --test test.csv --json ft.json
    Or the whole loop from one YAML file (see rules/pipeline.example.yaml):
      dataqa run pipeline.yaml
    """


for command in (
    audit_command,
    clean_command,
    augment_command,
    report_command,
    demo_command,
    checks_command,
):
    cli.add_command(command)

from dataqa.train.commands import finetune_command, run_command  # noqa: E402  (click only)

cli.add_command(role_options(finetune_command))
cli.add_command(run_command)


def main() -> None:
    cli(prog_name="dataqa")


if __name__ == "__main__":  # pragma: no cover
    main()
