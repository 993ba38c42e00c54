"""`dataqa audit`: find data problems and report them."""

from __future__ import annotations

import sys

import click

from dataqa.cli.common import (
    EPILOG_EXIT,
    engine_from,
    engine_option,
    fail_on_option,
    force_option,
    load_against,
    load_input,
    parse_settings,
    print_summary,
    quiet_option,
    refuse_on_dask,
    role_options,
    settings_option,
    setup_logging,
    write_report_files,
)
from dataqa.errors import DataQAError


@click.command("audit", epilog=EPILOG_EXIT)
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
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
    "--tokenizer",
    metavar="PATH",
    help="Conversation data: count tokens with this tokenizer (local folder or hub name) and "
    "its chat template (default: an estimate of 4 characters a token).",
)
@click.option(
    "--max-seq-len", type=int, metavar="N", help="Conversation data: the trainer's max length."
)
@click.option(
    "--benchmark",
    metavar="PATH",
    help="Conversation data: flag records sharing a 13-word run with this benchmark file.",
)
@click.option(
    "--encoder",
    metavar="PATH",
    help="Local transformers checkpoint whose embeddings join the labels check (GPU when present).",
)
@settings_option
@click.option(
    "--json", "json_out", metavar="OUT", help="Write the JSON report here ('-' for stdout)."
)
@click.option("--html", "html_out", metavar="OUT", help="Write the HTML report here.")
@fail_on_option
@click.option(
    "--seed", default=0, show_default=True, help="Random seed (same input + seed = same output)."
)
@engine_option
@quiet_option
@force_option
def audit_command(paths, json_out, html_out, fail_on, quiet, **opts):
    """Find data problems in PATH and report them.

    Several PATHs are audited one after the other (as a pre-commit hook passes the files
    it matched); the exit code is the worst of them, and --json/--html then need one PATH.

    \b
    Examples:
      dataqa audit train.csv
      dataqa audit train.tsv --text-col sentence --label-col label --json out.json
      dataqa audit train.csv --against test.csv --checks hygiene,duplicates
      dataqa audit train.csv -s hygiene.min_words=3 -s duplicates.threshold=0.9
      dataqa audit train.csv --reference in_domain.csv --checks relevance
      dataqa audit train.csv --rules rules/strict.yaml --fail-on error
      dataqa audit chat.jsonl --tokenizer ./my-model --max-seq-len 4096 --benchmark mmlu.jsonl
      dataqa audit data/*.csv --fail-on warning -q     # several files: the worst exit code
      dataqa audit 'shards/*.parquet' --engine dask --json out.json   # local cluster
      dataqa audit s3dump/ --engine dask --scheduler tcp://10.0.0.5:8786
    """
    setup_logging(quiet)
    if len(paths) > 1 and (json_out or html_out):
        raise DataQAError(
            f"--json and --html write one report, but {len(paths)} files were given",
            hint="audit one file at a time to write its report, or drop --json/--html",
        )
    codes = []
    for path in paths:
        if len(paths) > 1 and not quiet:
            click.echo(f"== {path}")
        codes.append(_audit_one(path, json_out, html_out, fail_on, quiet, **opts))
        if len(paths) > 1 and quiet and codes[-1]:
            click.echo(f"{path}: findings at or above {fail_on}", err=True)
    sys.exit(max(codes))


def _audit_one(
    path,
    json_out,
    html_out,
    fail_on,
    quiet,
    *,
    against,
    reference,
    rules_file,
    checks,
    settings,
    seed,
    force,
    **kw,
) -> int:
    """Audit one file, write its reports, print its summary; its exit code."""
    from dataqa.io import refuse_overwriting_inputs
    from dataqa.stages.audit import audit as run_audit

    engine = engine_from(kw)
    refuse_overwriting_inputs(
        [path, against, reference, rules_file],
        [None if json_out == "-" else json_out, html_out],
        force=force,
    )
    if engine.engine == "dask":
        return _audit_on_dask(
            path,
            engine,
            checks,
            settings,
            json_out,
            html_out,
            fail_on,
            seed,
            quiet,
            kw,
            against=against,
            reference=reference,
            rules_file=rules_file,
        )
    ds = load_input(path, kw)
    other = load_against(against, ds, kw)
    ref = load_against(reference, ds, kw)
    names = [c.strip() for c in checks.split(",") if c.strip()] if checks is not None else None
    if names is not None and not names:
        raise DataQAError("--checks names no check", hint="e.g. --checks hygiene,duplicates")
    options = parse_settings(settings)
    for flag, option in (
        ("tokenizer", "tokenizer"),
        ("max_seq_len", "max_seq_len"),
        ("benchmark", "benchmark"),
    ):
        value = kw.pop(flag, None)
        if value is not None:  # conversation data: --tokenizer, --max-seq-len, --benchmark
            options.setdefault("conversations", {})[option] = value
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
    write_report_files(report, json_out, html_out, ds=ds, quiet=quiet)
    if not quiet and json_out != "-":
        print_summary(report)
    return report.exit_code(fail_on)


def _audit_on_dask(
    path, engine, checks, settings, json_out, html_out, fail_on, seed, quiet, kw, **local_only
) -> int:
    """`dataqa audit --engine dask`: the same report, computed on a Dask cluster."""
    from dataqa.engine.dask_engine import audit_dask, dask_client
    from dataqa.io.shards import find_shards

    refuse_on_dask(
        {f"--{k.replace('_file', '').replace('_', '-')}": v for k, v in local_only.items()}
        | {
            f"--{k.replace('_', '-')}": kw.get(k)
            for k in ("tokenizer", "max_seq_len", "benchmark", "encoder", "id_col", "schema")
        }
    )
    shards = find_shards(path)  # a bad glob or mixed schemas: exit 2 before any cluster starts
    names = [c.strip() for c in checks.split(",") if c.strip()] if checks is not None else None
    with dask_client(engine) as client:
        report = audit_dask(
            shards,
            client,
            checks=names,
            options=parse_settings(settings),
            seed=seed,
            text_col=kw.get("text_col"),
            label_col=kw.get("label_col"),
            group_col=kw.get("group_col"),
            progress=not quiet,
        )
    write_report_files(report, json_out, html_out, quiet=quiet)
    if not quiet and json_out != "-":
        print_summary(report)
    return report.exit_code(fail_on)
