"""`dataqa clean`: repair what can be repaired, quarantine the rest; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dataqa.cli.common import (
    EPILOG_DONE,
    engine_from,
    engine_option,
    force_option,
    load_against,
    load_input,
    note,
    options_from_model,
    output_format_option,
    parse_settings,
    quiet_option,
    role_options,
    settings_option,
    setup_logging,
)
from dataqa.stages.policies import CleanOptions

CLEAN_FLAGS = {
    "dedupe": {},
    "near_duplicates": {},
    "conflicts": {},
    "language": {},
    "leakage": {},
    "label_errors": {"help": "Rows the labels check thinks are mislabelled (runs it if needed)."},
    "label_threshold": {},
    "label_unsure": {},
    "mask_pii": {"flag": "--mask-pii/--no-mask-pii"},
    "correct_typos": {"flag": "--fix-typos/--no-fix-typos"},
    "fix_text": {"flag": "--fix-text/--no-fix-text"},
    "strip_markup": {"flag": "--strip-markup/--keep-markup"},
    "fix_tokenizer_artifacts": {"flag": "--fix-tokenizer-artifacts/--keep-tokenizer-artifacts"},
}
"""CleanOptions fields that are flags of `dataqa clean` (spelling overrides only: type,
choices, default and help come from the model)."""


def parse_policies(items: tuple[str, ...]) -> dict[str, str]:
    """`--policy relevance.off_topic=quarantine` -> {"relevance.off_topic": "quarantine"}."""
    from dataqa.errors import DataQAError

    out = {}
    for item in items:
        kind, sep, value = item.partition("=")
        if not sep or "." not in kind or not value:
            raise DataQAError(
                f"cannot read the policy {item!r}",
                hint="write it as CHECK.KIND=POLICY, e.g. --policy relevance.off_topic=quarantine",
            )
        out[kind.strip()] = value.strip()
    return out


@click.command("clean", epilog=EPILOG_DONE)
@click.argument("path")
@role_options
@click.option("-o", "--output", "out", required=True, metavar="OUT", help="Where the kept rows go.")
@click.option(
    "--quarantine",
    "q_out",
    metavar="OUT",
    help="Where quarantined rows go (default: OUT's name + .quarantine).",
)
@click.option(
    "--changes",
    "changes_out",
    metavar="OUT",
    help="Change log (default: OUT's name + .changes + OUT's extension).",
)
@click.option(
    "--against", metavar="PATH", help="Another split: rows that leak into it are quarantined."
)
@click.option(
    "--report",
    "report_in",
    metavar="JSON",
    help="An audit report of PATH whose model-based findings (labels, relevance) to act on.",
)
@options_from_model(CleanOptions, CLEAN_FLAGS)
@click.option(
    "-p",
    "--policy",
    "policies",
    multiple=True,
    metavar="CHECK.KIND=POLICY",
    help="What to do with one kind of finding, over the flags above, e.g. "
    "-p relevance.off_topic=quarantine (`dataqa checks` lists kinds and policies).",
)
@settings_option
@click.option("--json", "json_out", metavar="OUT", help="Write a JSON summary of the run here.")
@output_format_option
@click.option(
    "--seed", default=0, show_default=True, help="Random seed (same input + seed = same output)."
)
@engine_option
@quiet_option
@force_option
def clean_command(
    path,
    out,
    out_format,
    q_out,
    changes_out,
    against,
    report_in,
    policies,
    settings,
    json_out,
    seed,
    quiet,
    force,
    **kw,
):
    """Fix what can be fixed in PATH and quarantine the rest; nothing is lost.

    Writes the kept rows to OUT, the quarantined rows (unchanged, with a dataqa_reasons
    column) beside it, and every edit (row id, field, before, after, step) to a change
    log; the three are written as one set. Every output carries a dataqa_row_id column
    pointing back at PATH's rows.

    \b
    Examples:
      dataqa clean train.csv -o clean.csv
      dataqa clean train.csv -o clean.csv --against test.csv --mask-pii
      dataqa clean train.csv -o clean.csv --conflicts majority --dedupe longest
      dataqa clean train.csv -o clean.csv --label-errors relabel --label-unsure quarantine \\
          --conflicts labels          # relabel sure suspects, quarantine unsure ones
      dataqa clean train.csv -o clean.csv --report audit.json -p relevance.off_topic=quarantine
      dataqa clean train.csv -o curated --output-format hf --against test.csv
                                      # one DatasetDict: train, test, quarantine
      dataqa clean 'shards/*.parquet' -o curated --engine dask   # curated/, curated.quarantine/,
                                                                # curated.changes/ (Parquet parts)
    """
    from dataqa.errors import DataQAError
    from dataqa.findings import Report
    from dataqa.io import datasetdict_writer, refuse_overwriting_inputs, serialize, write_outputs
    from dataqa.options import validate
    from dataqa.stages.clean import change_log_table, clean, output_paths

    setup_logging(quiet)
    engine = engine_from(kw)
    hf = out_format == "hf"
    if hf and engine.engine == "dask":
        raise DataQAError(
            "the Dask engine writes sharded Parquet, not a DatasetDict",
            hint="drop --output-format hf, or clean with --engine local",
        )
    if hf and q_out:
        raise DataQAError(
            "--quarantine names a file of its own, but with --output-format hf the quarantined "
            "rows are the 'quarantine' split of OUT",
            hint="drop --quarantine, or write another format",
        )
    if engine.engine == "dask":  # folders of Parquet parts: OUT, OUT.quarantine, OUT.changes
        outp = Path(out)
        q_path = Path(q_out) if q_out else outp.with_name(f"{outp.name}.quarantine")
        c_path = Path(changes_out) if changes_out else outp.with_name(f"{outp.name}.changes")
    else:
        outp, q_path, c_path = output_paths(out, q_out, changes_out)
    if hf:
        q_path = outp / "quarantine"  # a split of the DatasetDict, not a file of its own
    refuse_overwriting_inputs(
        [path, against, report_in], [outp, q_path, c_path, json_out], force=force
    )
    flags = {k: kw.pop(k) for k in CLEAN_FLAGS}
    opts = validate(
        CleanOptions,
        {**flags, "policies": parse_policies(policies), "audit_options": parse_settings(settings)},
        where="clean",
    )
    if engine.engine == "dask":
        _clean_on_dask(
            path,
            engine,
            opts,
            (outp, q_path, c_path),
            seed,
            quiet,
            kw,
            against=against,
            report=report_in,
            json=json_out,
        )
        return
    ds = load_input(path, kw)
    other = load_against(against, ds, kw)
    report = Report.load(report_in) if report_in else None
    result = clean(ds, options=opts, against=other, report=report, seed=seed, progress=not quiet)
    summary = {
        **result.summary,
        "outputs": {"kept": str(outp), "quarantine": str(q_path), "changes": str(c_path)},
    }
    if hf:
        summary["outputs"] |= {
            "kept": f"{outp} (split train)",
            "quarantine": f"{outp} (split quarantine)",
        }
    also = []
    if json_out:
        text = json.dumps(summary, indent=1, default=str)
        also.append((Path(json_out), lambda t: t.write_text(text, encoding="utf-8")))
    if hf:
        splits = result.splits(other.frame if other is not None else None)
        log = change_log_table(result.changes)
        write_outputs(  # one set: a reader never sees a new DatasetDict beside an old log
            [
                (outp, datasetdict_writer(splits, source=result.kept.io)),
                (c_path, lambda t: serialize(log, t, c_path, index=False)),
                *also,
            ]
        )
    else:
        result.save(outp, quarantine=q_path, changes=c_path, also=also)
    s = result.summary
    where = summary["outputs"]
    note(
        f"{s['rows_in']:,} rows in -> {s['rows_kept']:,} kept ({where['kept']}), "
        f"{s['rows_quarantined']:,} quarantined ({where['quarantine']}); "
        f"{s['rows_changed']:,} rows edited "
        f"({c_path})",
        quiet,
    )
    reasons = sorted(s["quarantine_reasons"].items(), key=lambda kv: -kv[1])
    if sum(n for _, n in reasons) > s["rows_quarantined"]:
        note("  by reason (a row can have several):", quiet)
    for reason, n in reasons:
        note(f"  quarantined {n:>7,}  {reason}", quiet)
    if s["rows_in"] and not s["rows_kept"]:  # shown even with -q: an empty output is news
        click.echo(
            f"WARNING: every row was quarantined, so {outp} holds no rows; the most common "
            f"reason is {reasons[0][0]!r}. Check the input's format and the clean policies "
            "(dataqa checks lists them) before using the output.",
            err=True,
        )
    label = result.kept.roles.label
    classes = result.kept.frame[label].dropna().unique() if label else []
    if s["rows_kept"] and label and len(classes) == 1:  # shown even with -q, as above
        click.echo(
            f"WARNING: every kept row has the label {classes[0]!r}, so {outp} teaches a "
            "classifier nothing; check --label-col and the input before fine-tuning on it.",
            err=True,
        )
    for step, n in sorted(s["changes_by_step"].items(), key=lambda kv: -kv[1]):
        note(f"  edited      {n:>7,}  {step}", quiet)
    _warn_relabels(s, quiet)


def _clean_on_dask(path, engine, opts, outputs, seed, quiet, kw, **local_only):
    """`dataqa clean --engine dask`: sharded Parquet out, written as one set."""
    from dataqa.cli.common import refuse_on_dask
    from dataqa.engine.dask_engine import clean_dask, dask_client
    from dataqa.io.shards import find_shards

    refuse_on_dask(
        {f"--{k}": v for k, v in local_only.items()}
        | {f"--{k.replace('_', '-')}": kw.get(k) for k in ("id_col", "schema")}
    )
    shards = find_shards(path)
    with dask_client(engine) as client:
        s = clean_dask(
            shards,
            client,
            outputs,
            options=opts,
            seed=seed,
            text_col=kw.get("text_col"),
            label_col=kw.get("label_col"),
            group_col=kw.get("group_col"),
            progress=not quiet,
        )
    outp, q_path, c_path = outputs
    note(
        f"{s['rows_in']:,} rows in -> {s['rows_kept']:,} kept ({outp}/), "
        f"{s['rows_quarantined']:,} quarantined ({q_path}/); {s['rows_changed']:,} rows edited "
        f"({c_path}/)",
        quiet,
    )
    for reason, n in sorted(s["quarantine_reasons"].items(), key=lambda kv: -kv[1]):
        note(f"  quarantined {n:>7,}  {reason}", quiet)
    for step, n in sorted(s["changes_by_step"].items(), key=lambda kv: -kv[1]):
        note(f"  edited      {n:>7,}  {step}", quiet)
    _warn_relabels(s, quiet)


def _warn_relabels(summary: dict, quiet: bool) -> None:
    from dataqa.stages.clean import relabel_caveat

    caveat = relabel_caveat(summary)
    if caveat:
        note(f"NOTE: {caveat}", quiet)
