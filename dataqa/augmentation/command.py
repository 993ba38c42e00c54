"""The body of `dataqa augment`: options -> stage -> files -> a short summary on the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from dataqa.augmentation.eda import EdaRates
from dataqa.augmentation.filter import FilterOptions
from dataqa.augmentation.stage import AugmentOptions, augment
from dataqa.dataset import guess_format
from dataqa.errors import DataQAError
from dataqa.io import datasetdict_writer, serialize, write_outputs


def parse_eda_rates(text: str | None, rate: float) -> EdaRates:
    if not text:
        return EdaRates(rate, rate, rate, rate)
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise DataQAError(
            f"cannot read --eda-rates {text!r}",
            hint="give four numbers: synonym,insert,swap,delete, e.g. --eda-rates 0.1,0.1,0.1,0",
        )
    return EdaRates(*values)


def summary_path(out: str, json_out: str | None) -> Path:
    if json_out:
        return Path(json_out)
    p = Path(out)
    return p.with_name(f"{p.stem}.augment.json")


def writable(frame: pd.DataFrame, out: str) -> pd.DataFrame:
    """Parquet columns hold one type: ids mixing numbers and "aug-<n>" go out as text.

    CSV/TSV/JSONL keep them as they are (CSV reads every id back as text anyway).
    """
    if guess_format(out) != "parquet":
        return frame
    kinds = {type(i) for i in frame.index}
    if len(kinds) > 1:
        frame = frame.copy()
        frame.index = frame.index.map(str)
        frame["dataqa_source_id"] = frame["dataqa_source_id"].map(str, na_action="ignore")
    return frame


def run_augment(path: str, out: str, opts: dict, load_input: Callable) -> None:
    """Run the augment command with the CLI's options dict."""
    ds = load_input(path, opts)
    options = AugmentOptions(
        rate=opts["rate"],
        eda=parse_eda_rates(opts.get("eda_rates"), opts["rate"]),
        synonym_backend=opts["synonym_backend"],
        engine=opts["engine"],
        model=opts.get("model"),
        back_model=opts.get("back_model"),
        filter=FilterOptions(enabled=not opts["no_filter"], threshold=opts.get("threshold")),
        max_per_source=opts["max_per_source"],
    )
    quiet = opts["quiet"]
    result, stats = augment(
        ds,
        opts["methods"],
        plan=opts.get("plan_path"),
        target=opts.get("target"),
        per_class=opts.get("per_class"),
        factor=opts.get("factor"),
        options=options,
        seed=opts["seed"],
        split=opts.get("split"),
        progress=not quiet,
    )
    frame = result.frame
    if opts["only_new"]:
        frame = frame[frame["dataqa_method"].notna()]
    summary = summary_path(out, opts.get("json_out"))
    text = json.dumps({**stats, "input": ds.source, "output": str(out)}, indent=1, default=str)
    out_path = Path(out)
    if opts.get("out_format") == "hf":
        rows = datasetdict_writer({"train": frame}, source=result.io)
    else:
        frame = writable(frame, out)

        def rows(tmp: Path) -> None:
            serialize(frame, tmp, out_path)

    write_outputs(  # one set: the rows and the summary that describes them
        [
            (out_path, rows),
            (summary, lambda t: t.write_text(text, encoding="utf-8")),
        ]
    )
    if not quiet:
        echo_summary(stats, out, summary)


def echo_summary(stats: dict, out: str, summary: Path) -> None:
    added = stats["rows_added"]
    planned = stats["plan"]["per_class"]
    click.echo(
        f"{stats['rows_in']:,} rows in -> {stats['rows_out']:,} rows ({out}): {added:,} added "
        f"of {sum(planned.values()):,} planned; summary: {summary}"
    )
    for m, c in stats["by_method"].items():
        why = ", ".join(
            f"{r} {n:,}" for r, n in sorted(c["rejected"].items(), key=lambda kv: -kv[1])
        )
        click.echo(
            f"  {m:<14} generated {c['generated']:>7,}  kept {c['kept']:>7,}  "
            f"rejected {c['rejected_total']:>7,}" + (f"  ({why})" if why else "")
        )
    short = {k: v["short"] for k, v in stats["by_class"].items() if v["short"] > 0}
    if short:
        worst = sorted(short.items(), key=lambda kv: -kv[1])[:5]
        click.echo(
            f"  {len(short)} classes got fewer rows than planned, e.g. "
            + ", ".join(f"{k!r} -{v}" for k, v in worst),
            err=True,
        )
    sys.stdout.flush()
