"""The `dataqa` command line: a thin shell over the library's stage functions.

Every command imports its stage inside the function, so `dataqa --help` loads nothing
heavy. Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 dataqa could not run (bad input, bad option).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dataqa import __version__
from dataqa.errors import EXIT_USAGE, DataQAError

EPILOG_EXIT = "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 dataqa could not run."


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
            "--encoding", help="Text encoding of CSV/TSV/JSONL input (default: UTF-8, BOM allowed)."
        ),
        click.option(
            "--split", help="Split to read from a datasets folder or hub dataset (default: train)."
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


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
    )


def load_against(path: str | None, ds, kw: dict):
    if not path:
        return None
    from dataqa.dataset import load

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


def force_option(fn):
    return click.option(
        "--force",
        is_flag=True,
        help="Allow an output to replace an input file (refused by default: the raw data "
        "would be lost).",
    )(fn)


def clean_paths(out: str, q_out: str | None, changes_out: str | None) -> tuple[Path, Path, Path]:
    """Kept, quarantine and change-log paths: `clean.csv` -> `clean.quarantine.csv`,
    `clean.changes.csv` (a `datasets` folder `clean` -> `clean.quarantine`)."""
    outp = Path(out)
    name, suffix = outp.name, ""
    for ext in (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq", ".ndjson", ".txt"):
        for comp in ("", ".gz", ".bz2", ".xz"):
            if name.lower().endswith(ext + comp) and len(name) > len(ext + comp):
                name, suffix = name[: -len(ext + comp)], name[-len(ext + comp) :]
                break
        if suffix:
            break
    q_path = Path(q_out) if q_out else outp.with_name(f"{name}.quarantine{suffix}")
    c_path = Path(changes_out) if changes_out else outp.with_name(f"{name}.changes.csv")
    return outp, q_path, c_path


def fail_on_option(fn):
    return click.option(
        "--fail-on",
        type=click.Choice(["info", "warning", "error", "never"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding of this severity or worse exists.",
    )(fn)


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


@cli.command(epilog=EPILOG_EXIT)
@click.argument("path")
@role_options
@click.option(
    "--against", metavar="PATH", help="Another split (e.g. test.csv) to check for leakage."
)
@click.option(
    "--reference",
    metavar="PATH",
    help="A sample of the target domain; rows unlike it are reported as off-topic.",
)
@click.option(
    "--rules",
    "rules_file",
    metavar="FILE",
    help="Rules YAML to check the data against (default: rules/default.yaml; see rules/README.md).",
)
@click.option(
    "--checks", metavar="A,B", help="Checks to run (default: all installed). See `dataqa checks`."
)
@click.option(
    "--encoder",
    metavar="PATH",
    help="Local transformers checkpoint whose embeddings join the labels check (GPU when present).",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="CHECK.OPT=VALUE",
    help="Set a check option, e.g. -s hygiene.min_words=3 (repeatable).",
)
@click.option(
    "--json", "json_out", metavar="OUT", help="Write the JSON report here ('-' for stdout)."
)
@click.option("--html", "html_out", metavar="OUT", help="Write the HTML report here.")
@fail_on_option
@click.option(
    "--seed", default=0, show_default=True, help="Random seed (same input + seed = same output)."
)
@click.option("-q", "--quiet", is_flag=True, help="No summary and no progress on the terminal.")
@force_option
def audit(
    path,
    against,
    reference,
    rules_file,
    checks,
    settings,
    json_out,
    html_out,
    fail_on,
    seed,
    quiet,
    force,
    **kw,
):
    """Find data problems in PATH and report them.

    \b
    Examples:
      dataqa audit train.csv
      dataqa audit train.tsv --text-col sentence --label-col label --json out.json
      dataqa audit train.csv --against test.csv --checks hygiene,duplicates
      dataqa audit train.csv -s hygiene.min_words=3 -s duplicates.threshold=0.9
      dataqa audit train.csv --reference in_domain.csv --checks relevance
      dataqa audit train.csv --rules rules/strict.yaml --fail-on error
    """
    from dataqa.audit import audit as run_audit
    from dataqa.io import refuse_overwriting_inputs

    refuse_overwriting_inputs(
        [path, against, reference, rules_file],
        [None if json_out == "-" else json_out, html_out],
        force=force,
    )
    ds = load_input(path, kw)
    other = load_against(against, ds, kw)
    ref = load_against(reference, ds, kw)
    names = [c.strip() for c in checks.split(",") if c.strip()] if checks else None
    options = parse_settings(settings)
    encoder = kw.pop("encoder", None)
    if encoder:  # --encoder PATH: its embeddings join the TF-IDF ensemble unless told otherwise
        options.setdefault("labels", {}).setdefault("encoder", encoder)
        options["labels"].setdefault("featurizer", "ensemble")
    if rules_file:
        from dataqa.checks import check_class

        check_class("rules")  # names the extra to install when great-expectations is missing
        options.setdefault("rules", {})["path"] = rules_file
        if names is not None and "rules" not in names:
            names.append("rules")
    report = run_audit(
        ds,
        checks=names,
        options=options,
        against=other,
        reference=ref,
        seed=seed,
        progress=not quiet,
    )
    write_report_files(report, json_out, html_out, ds=ds)
    if not quiet and json_out != "-":
        print_summary(report)
    sys.exit(report.exit_code(fail_on))


def write_report_files(report, json_out, html_out, ds=None) -> None:
    if json_out == "-":
        click.echo(report.to_json())
    elif json_out:
        report.save(json_out)
        click.echo(f"JSON report: {json_out}", err=True)
    if html_out:
        render = _html_renderer()
        if render is None:
            click.echo(
                "dataqa: the HTML report is not available in this version; use --json.", err=True
            )
        else:
            render(report, html_out)
            click.echo(f"HTML report: {html_out}", err=True)


write_outputs = write_report_files  # the name train/commands.py imports


def _html_renderer():
    try:
        from dataqa.report.html import write_html
    except ImportError:
        return None
    return write_html


def print_summary(report) -> None:
    from dataqa.summary import format_summary

    click.echo(format_summary(report, color=sys.stdout.isatty()))


@cli.command(epilog=EPILOG_EXIT)
@click.argument("path")
@role_options
@click.option("-o", "--output", "out", required=True, metavar="OUT", help="Where the kept rows go.")
@click.option(
    "--quarantine",
    "q_out",
    metavar="Q",
    help="Where quarantined rows go (default: OUT.quarantine.EXT).",
)
@click.option(
    "--changes", "changes_out", metavar="C", help="Change log CSV (default: OUT.changes.csv)."
)
@click.option(
    "--against", metavar="PATH", help="Another split: rows that leak into it are quarantined."
)
@click.option(
    "--report", "report_in", metavar="JSON", help="An audit report whose label findings to act on."
)
@click.option(
    "--dedupe",
    type=click.Choice(["first", "longest", "none"]),
    default="first",
    show_default=True,
    help="Which row of a duplicate group stays.",
)
@click.option(
    "--near-duplicates", type=click.Choice(["dedupe", "keep"]), default="dedupe", show_default=True
)
@click.option(
    "--conflicts",
    type=click.Choice(["quarantine", "majority", "labels", "keep"]),
    default="quarantine",
    show_default=True,
    help="Duplicate groups with different labels: quarantine all members, keep the majority "
    "label, or let the labels check decide (members it doubts follow --label-errors).",
)
@click.option(
    "--language",
    type=click.Choice(["quarantine", "keep"]),
    default="quarantine",
    show_default=True,
    help="Rows not in the dataset's language.",
)
@click.option(
    "--label-errors",
    type=click.Choice(["quarantine", "relabel", "keep"]),
    default="keep",
    show_default=True,
    help="Suspected label errors (needs the labels check).",
)
@click.option(
    "--label-threshold",
    type=float,
    default=0.5,
    show_default=True,
    help="Act only on label suspects at least this confident.",
)
@click.option(
    "--label-unsure",
    type=click.Choice(["keep", "quarantine"]),
    default="keep",
    show_default=True,
    help="Label suspects below --label-threshold: leave them, or quarantine them.",
)
@click.option(
    "--mask-pii",
    is_flag=True,
    help="Replace emails, phones, IPs, cards, URLs by [EMAIL]-style tokens.",
)
@click.option(
    "--fix-typos",
    is_flag=True,
    help="Correct out-of-dictionary words at edit distance 1 (SymSpell).",
)
@click.option(
    "--no-fix-text", is_flag=True, help="Do not repair encoding, control characters or whitespace."
)
@click.option("--keep-markup", is_flag=True, help="Do not strip HTML tags and entities.")
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="CHECK.OPT=VALUE",
    help="Set an option of the checks clean runs, e.g. -s duplicates.threshold=0.9.",
)
@click.option("--json", "json_out", metavar="OUT", help="Write a JSON summary of the run here.")
@click.option("--seed", default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
@force_option
def clean(
    path,
    out,
    q_out,
    changes_out,
    against,
    report_in,
    dedupe,
    near_duplicates,
    conflicts,
    language,
    label_errors,
    label_threshold,
    label_unsure,
    mask_pii,
    fix_typos,
    no_fix_text,
    keep_markup,
    settings,
    json_out,
    seed,
    quiet,
    force,
    **kw,
):
    """Fix what can be fixed in PATH and quarantine the rest; nothing is lost.

    Writes the kept rows to OUT, the quarantined rows (with a dataqa_reasons column) to
    the quarantine file, and every edit (row id, field, before, after, step) to a change
    log. Every output carries a dataqa_row_id column pointing back at PATH's rows.

    \b
    Examples:
      dataqa clean train.csv -o clean.csv
      dataqa clean train.csv -o clean.csv --against test.csv --mask-pii
      dataqa clean train.csv -o clean.csv --conflicts majority --dedupe longest
      dataqa clean train.csv -o clean.csv --label-errors relabel --label-unsure quarantine \\
          --conflicts labels          # relabel sure suspects, quarantine unsure ones
    """
    import json

    from dataqa.clean import CleanOptions
    from dataqa.clean import clean as run_clean
    from dataqa.findings import Report
    from dataqa.io import refuse_overwriting_inputs, serialize, write_outputs

    outp, q_path, c_path = clean_paths(out, q_out, changes_out)
    refuse_overwriting_inputs(
        [path, against, report_in], [outp, q_path, c_path, json_out], force=force
    )
    ds = load_input(path, kw)
    other = load_against(against, ds, kw)
    opts = CleanOptions(
        fix_text=not no_fix_text,
        strip_markup=not keep_markup,
        mask_pii=mask_pii,
        correct_typos=fix_typos,
        dedupe=dedupe,
        near_duplicates=near_duplicates,
        conflicts=conflicts,
        language=language,
        label_errors=label_errors,
        label_threshold=label_threshold,
        label_unsure=label_unsure,
        audit_options=parse_settings(settings),
    )
    report = Report.load(report_in) if report_in else None
    result = run_clean(
        ds, options=opts, against=other, report=report, seed=seed, progress=not quiet
    )
    outp, q_path, c_path = clean_paths(out, q_out, changes_out)
    summary = {
        **result.summary,
        "outputs": {"kept": str(outp), "quarantine": str(q_path), "changes": str(c_path)},
    }
    jobs = [
        (outp, lambda t: serialize(result.kept.frame, t, outp, source=result.kept.io)),
        (q_path, lambda t: serialize(result.quarantine, t, q_path, source=ds.io)),
        (c_path, lambda t: serialize(result.changes, t, c_path, index=False)),
    ]
    if json_out:
        text = json.dumps(summary, indent=1, default=str)
        jobs.append((Path(json_out), lambda t: t.write_text(text, encoding="utf-8")))
    write_outputs(jobs)  # one set: a reader never sees new kept rows beside an old quarantine
    s = result.summary
    if not quiet:
        click.echo(
            f"{s['rows_in']:,} rows in -> {s['rows_kept']:,} kept ({outp}), "
            f"{s['rows_quarantined']:,} quarantined ({q_path}); {s['rows_changed']:,} rows edited "
            f"({c_path})"
        )
        for reason, n in sorted(s["quarantine_reasons"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  quarantined {n:>7,}  {reason}")
        for step, n in sorted(s["changes_by_step"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  edited      {n:>7,}  {step}")


@cli.command(epilog="Exit codes: 0 ok, 2 dataqa could not run (bad input, missing WordNet).")
@click.argument("path")
@role_options
@click.option(
    "-o", "--output", "out", required=True, metavar="OUT", help="Where the augmented set goes."
)
@click.option(
    "--method",
    "methods",
    default="synonym",
    show_default=True,
    metavar="M[,M]",
    help="synonym, eda, backtranslate; several split the rows between them.",
)
@click.option(
    "--plan", "plan_path", metavar="JSON", help="Audit report with a balance plan, or a plan JSON."
)
@click.option(
    "--target", type=click.Choice(["balance"]), help="Grow every class to the largest class's size."
)
@click.option("--per-class", type=int, metavar="N", help="Grow every class to at least N rows.")
@click.option("--factor", type=float, metavar="F", help="Grow every class to F times its size.")
@click.option(
    "--engine",
    type=click.Choice(["apertium", "marian"]),
    default="apertium",
    show_default=True,
    help="Back-translation engine (Apertium: offline CPU, Debian apertium-eng-spa).",
)
@click.option("--model", metavar="PATH", help="Marian en->pivot checkpoint (folder or hub name).")
@click.option("--back-model", metavar="PATH", help="Marian pivot->en checkpoint.")
@click.option(
    "--synonym-backend",
    type=click.Choice(["native", "nlpaug"]),
    default="native",
    show_default=True,
)
@click.option(
    "--rate", type=float, default=0.1, show_default=True, help="Share of words an edit touches."
)
@click.option(
    "--eda-rates", metavar="SR,RI,RS,RD", help="Per-operation EDA rates (default: --rate each)."
)
@click.option(
    "--threshold",
    type=float,
    metavar="P",
    help="Keep a row when the classifier gives its label >= P (default: label stays top class).",
)
@click.option("--no-filter", is_flag=True, help="Skip the label, negation and similarity tests.")
@click.option(
    "--max-per-source", default=8, show_default=True, help="New rows per source row, at most."
)
@click.option("--only-new", is_flag=True, help="Write only the new rows to OUT.")
@click.option("--json", "json_out", metavar="OUT", help="Summary JSON (default: OUT.augment.json).")
@click.option("--seed", default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True)
def augment(path, out, **opts):
    """Add filtered paraphrases of training rows to the classes that need them.

    Writes OUT (the input rows plus the new ones; dataqa_source_id, dataqa_method,
    dataqa_params and dataqa_seed say where each new row came from) and a JSON summary of
    what was generated, kept and rejected (by reason) per method and class. New rows
    must keep their source's label under a quick classifier, keep its negations, and be
    neither a copy nor a different sentence. Test splits are never augmented.

    \b
    Examples:
      dataqa augment train.csv -o aug.csv --per-class 50
      dataqa augment train.csv -o aug.csv --method synonym,eda,backtranslate --target balance
      dataqa augment train.csv -o aug.csv --plan reports/train.json --threshold 0.5
      dataqa augment train.csv -o aug.csv --method backtranslate --factor 2 \\
        --engine marian --model opus-mt-en-de --back-model opus-mt-de-en
    """
    from dataqa.augment.command import run_augment

    run_augment(path, out, opts, load_input)


@cli.command("report")
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
def report_cmd(reports, out, no_csv):
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
    loaded = [Report.load(p) for p in reports]
    if len(loaded) == 1:
        from dataqa.report.html import write_html

        target = Path(out) if out else Path(reports[0]).with_suffix(".html")
        write_html(loaded[0], target, csv=not no_csv)
    else:
        from dataqa.report.compare import write_comparison

        after = Path(reports[1])
        target = Path(out) if out else after.with_name(f"{after.stem}.compare.html")
        write_comparison(*loaded, target, names=(Path(reports[0]).name, after.name))
    click.echo(f"HTML report: {target}", err=True)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    default="reports/demo",
    show_default=True,
    metavar="DIR",
    help="Folder for the demo data and its reports.",
)
@click.option("--rows", default=2000, show_default=True, help="Rows in the generated demo dataset.")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--no-finetune",
    is_flag=True,
    help="Stop after clean (skip the raw-vs-curated fine-tune of a tiny model, ~1-2 min on CPU).",
)
def demo(out_dir, rows, seed, no_finetune):
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

    run_demo(Path(out_dir), rows=rows, seed=seed, finetune=not no_finetune)


@cli.command("checks")
def list_checks():
    """List the checks, whether they are installed, and their options."""
    from dataqa.checks import REGISTRY, check_class, installed

    for name, (_, needs, extra) in REGISTRY.items():
        if installed(name):
            opts = ", ".join(f"{k}={v!r}" for k, v in check_class(name).defaults().items())
            click.echo(f"{name:<12} installed   options: {opts or '-'}")
        else:
            click.echo(
                f"{name:<12} missing     pip install 'dataqa[{extra}]'  (needs {', '.join(needs)})"
            )


from dataqa.train.commands import finetune_command, run_command  # noqa: E402  (click only)

cli.add_command(role_options(finetune_command))
cli.add_command(run_command)


def main() -> None:
    cli(prog_name="dataqa")


if __name__ == "__main__":  # pragma: no cover
    main()
