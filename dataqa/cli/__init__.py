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
from dataqa.cli.common import EPILOG_EXIT
from dataqa.errors import EXIT_USAGE, DataQAError

COMMANDS = {
    "audit": ("dataqa.cli.audit:audit_command", "Find data problems in PATH and report them."),
    "clean": (
        "dataqa.cli.clean:clean_command",
        "Fix what can be fixed in PATH and quarantine the rest; nothing is lost.",
    ),
    "augment": (
        "dataqa.cli.augment:augment_command",
        "Add filtered paraphrases of training rows to the classes that need them.",
    ),
    "finetune": (
        "dataqa.cli.finetune:finetune_command",
        "Fine-tune one model on each training set and compare them on one test set.",
    ),
    "run": ("dataqa.cli.run:run_command", "Run audit -> clean -> augment -> finetune."),
    "report": (
        "dataqa.cli.report:report_command",
        "Render a saved JSON report as HTML; give two to compare them.",
    ),
    "checks": (
        "dataqa.cli.checks:checks_command",
        "List the checks, their options, finding kinds and clean policies.",
    ),
    "demo": (
        "dataqa.cli.demo:demo_command",
        "Build the embedded demo set (planted problems), audit and clean it.",
    ),
}
"""Command -> (where it lives, its one-line help). Modules load only when their command
runs, so `dataqa --help` imports no stage, no pydantic model and no heavy library."""


_LOADED: dict = {}


class DataQAGroup(click.Group):
    """Loads each command's module on first use, and turns DataQAError (and unexpected
    crashes) into one paragraph and exit code 2."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        import importlib

        if name not in _LOADED:
            module, attr = COMMANDS[name][0].split(":")
            command = getattr(importlib.import_module(module), attr)
            if name == "finetune":
                from dataqa.cli.common import role_options

                command = role_options(command)
            _LOADED[name] = command
        return _LOADED[name]

    def format_commands(self, ctx, formatter):
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
    Chat, instruction or preference data for an LLM (JSONL, Parquet, ...):
      dataqa audit chat.jsonl --tokenizer ./my-model --max-seq-len 4096
    Then fix and quarantine (nothing is lost), and grow thin classes:
      dataqa clean train.csv -o clean.csv
      dataqa augment clean.csv -o aug.csv --method synonym,eda --target balance
    Prove it: the same model fine-tuned on raw and curated, judged on one test set:
      dataqa finetune --train train.csv --train clean.csv --test test.csv --json ft.json
      dataqa finetune --train chat.jsonl --train curated.jsonl --test heldout.jsonl --model tiny
    Or the whole loop from one YAML file (see rules/pipeline.example.yaml):
      dataqa run pipeline.yaml
    """


def main() -> None:
    cli(prog_name="dataqa")


if __name__ == "__main__":  # pragma: no cover
    main()
