"""What every command shares: column-role options, loading, settings, report files.

Commands are thin: each parses its flags, calls one stage function of the library and
writes what it returns. Messages for people go to stderr through `note` (silenced by
`-q`); machine output (`--json -`) goes to stdout.
"""

from __future__ import annotations

import logging
import sys
import typing

import click

from dataqa.errors import DataQAError

EPILOG_EXIT = "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 dataqa could not run."
"""Footer of the commands that gate on findings (audit, run, finetune)."""
EPILOG_DONE = (
    "Exit codes: 0 done, 2 dataqa could not run (bad input or option; nothing is written)."
)
"""Footer of the commands without --fail-on."""


def role_options(fn):
    """--text-col/--label-col/--id-col/--group-col plus --format/--encoding/--split, shared by all commands."""
    options = [
        click.option(
            "--text-col", help="Column with the text (default: guessed, e.g. 'text', 'sentence')."
        ),
        click.option(
            "--label-col",
            help="Column with the label (default: guessed, e.g. 'label', 'category').",
        ),
        click.option(
            "--id-col", help="Column with unique row ids (default: row position in the file)."
        ),
        click.option(
            "--group-col", help="Column with a group such as brand, source or demographic."
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["csv", "tsv", "jsonl", "json", "parquet"]),
            help="File format (default: from the extension).",
        ),
        click.option(
            "--schema",
            type=click.Choice(["text", "chat", "sharegpt", "alpaca", "completion", "preference"]),
            help="What a row is: a text to classify, or a record to fine-tune an LLM on "
            "(default: from the column names: messages -> chat, chosen/rejected -> preference).",
        ),
        click.option(
            "--encoding", help="Text encoding of CSV/TSV/JSONL input (default: UTF-8, BOM allowed)."
        ),
        click.option(
            "--split", help="Split to read from a datasets folder or hub dataset (default: train)."
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def engine_option(fn):
    """--engine local|dask, --scheduler ADDRESS, --workers N (audit, clean)."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(["local", "dask"]),
            default="local",
            show_default=True,
            help="local: in this process; dask: on a Dask cluster (pip install 'dataqa-finetune[scale]'), "
            "for globs or folders of Parquet/JSONL shards and datasets (save_to_disk) folders; "
            "runs hygiene, duplicates, balance and labels.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="With --engine dask: a running scheduler (tcp://host:8786); default: a local "
            "cluster of one worker process per CPU.",
        ),
        click.option("--workers", type=int, metavar="N", help="Workers of that local cluster."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def engine_from(kw: dict):
    """The validated `EngineOptions` from the CLI flags (popped from `kw`)."""
    from dataqa.engine import EngineOptions
    from dataqa.options import validate

    values = {k: kw.pop(k, None) for k in ("engine", "scheduler", "workers")}
    if values["engine"] != "dask" and (values["scheduler"] or values["workers"]):
        raise DataQAError("--scheduler and --workers need --engine dask", hint="add --engine dask")
    return validate(
        EngineOptions, {k: v for k, v in values.items() if v is not None}, where="engine"
    )


def refuse_on_dask(flags: dict) -> None:
    """Options the Dask engine does not take yet: exit 2 naming the first one."""
    for flag, value in flags.items():
        if value:
            raise DataQAError(
                f"{flag} is not available with --engine dask yet",
                hint="run without it, or with --engine local",
            )


def output_format_option(fn):
    """--output-format: `hf` writes one `datasets.DatasetDict` folder at OUT."""
    return click.option(
        "--output-format",
        "out_format",
        type=click.Choice(["auto", "hf"]),
        default="auto",
        show_default=True,
        help="auto: OUT's extension (a path without one: the input's format); hf: one "
        "datasets DatasetDict folder at OUT (save_to_disk, ready for push_to_hub) whose "
        "splits share one set of features.",
    )(fn)


def load_input(path: str, kw: dict):
    from dataqa.dataset import load

    return load(
        path,
        text_col=kw.get("text_col"),
        label_col=kw.get("label_col"),
        id_col=kw.get("id_col"),
        group_col=kw.get("group_col"),
        fmt=kw.get("fmt"),
        encoding=kw.get("encoding"),
        split=kw.get("split"),
        schema=kw.get("schema"),
    )


def load_against(path: str | None, ds, kw: dict):
    if not path:
        return None
    from dataqa.dataset import load

    if ds.roles.schema != "text":  # conversations: read the other split as the same format
        return load(path, schema=ds.roles.schema, encoding=kw.get("encoding"))
    return load(
        path,
        text_col=ds.roles.text if _has_col(path, ds.roles.text) else None,
        label_col=None,
        fmt=None,
        encoding=kw.get("encoding"),
    )


def _has_col(path: str, col: str) -> bool:
    from dataqa.dataset import read_table

    try:
        return col in read_table(path).columns
    except DataQAError:
        return False


def parse_settings(settings: tuple[str, ...]) -> dict[str, dict]:
    """`-s hygiene.min_words=3` -> {"hygiene": {"min_words": 3}}; values are YAML scalars."""
    import yaml

    out: dict[str, dict] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        check, dot, opt = key.partition(".")
        if not sep or not dot or not check or not opt:
            raise DataQAError(
                f"cannot read the setting {item!r}",
                hint="write it as CHECK.OPTION=VALUE, e.g. -s hygiene.min_words=3",
            )
        out.setdefault(check, {})[opt] = yaml.safe_load(value) if value != "" else None
    return out


def settings_option(fn):
    """-s CHECK.OPTION=VALUE (repeatable): a check's option, validated by its model."""
    return click.option(
        "-s",
        "--set",
        "settings",
        multiple=True,
        metavar="CHECK.OPT=VALUE",
        help="Set a check option, e.g. -s hygiene.min_words=3 (repeatable; see `dataqa checks`).",
    )(fn)


def force_option(fn):
    return click.option(
        "--force",
        is_flag=True,
        help="Allow an output to replace an input file (refused by default: the raw data "
        "would be lost).",
    )(fn)


def fail_on_option(fn):
    return click.option(
        "--fail-on",
        type=click.Choice(["info", "warning", "error", "never"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding of this severity or worse exists.",
    )(fn)


def quiet_option(fn):
    return click.option(
        "-q", "--quiet", is_flag=True, help="Print nothing but errors (no summary, no progress)."
    )(fn)


def setup_logging(quiet: bool) -> None:
    """Library progress (`logging` under "dataqa") on stderr, unless -q."""
    logger = logging.getLogger("dataqa")
    if not any(getattr(h, "_dataqa", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._dataqa = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


def note(message: str, quiet: bool = False) -> None:
    """A line for people on stderr, unless -q."""
    if not quiet:
        click.echo(message, err=True)


def options_from_model(model, fields: dict[str, dict]):
    """Click options generated from a pydantic options model: one source of truth.

    `fields` maps a field name to overrides: `flag` (the option's spelling, default
    `--field-name`; "--yes/--no" for a switch), `help`. Type, choices, default and the
    help text come from the model.
    """

    def decorate(fn):
        for name, over in reversed(list(fields.items())):
            field = model.model_fields[name]
            flag = over.get("flag", "--" + name.replace("_", "-"))
            help_text = over.get("help", field.description)
            ann = field.annotation
            kwargs: dict = {"default": field.default, "show_default": True, "help": help_text}
            if ann is bool:
                if "/" not in flag:
                    kwargs.update(is_flag=True)
            elif typing.get_origin(ann) is typing.Literal:
                kwargs["type"] = click.Choice([str(a) for a in typing.get_args(ann)])
            elif ann in (int, float):
                kwargs["type"] = ann
            fn = click.option(flag, name, **kwargs)(fn)
        return fn

    return decorate


def write_report_files(report, json_out, html_out, ds=None, quiet: bool = False) -> None:
    if json_out == "-":
        click.echo(report.to_json())
    elif json_out:
        report.save(json_out)
        note(f"JSON report: {json_out}", quiet)
    if html_out:
        render = _html_renderer()
        if render is None:
            click.echo(
                "dataqa: the HTML report is not available in this version; use --json.", err=True
            )
        else:
            render(report, html_out)
            note(f"HTML report: {html_out}", quiet)


def _html_renderer():
    try:
        from dataqa.report.html import write_html
    except ImportError:
        return None
    return write_html


def print_summary(report) -> None:
    from dataqa.summary import format_summary

    click.echo(format_summary(report, color=sys.stdout.isatty()))
