"""Round trip: every format dataqa reads and writes gives the same rows back.

For CSV, TSV, JSONL, JSON, Parquet and a `datasets` folder, with hard text (carriage
returns, newlines, tabs, quotes, backslashes, leading `=+-@`, combining marks, RTL and
CJK script, emoji sequences, lone surrogates where the format can hold them):

- load gives exactly the values the file holds;
- clean writes every row to the kept or the quarantine file, by id;
- a kept value that differs from the input is in the change log, always; a quarantined
  row is the input row unchanged;
- pandas (or `datasets`) reads dataqa's output as dataqa does;
- with every fix switched off, the kept file holds the input values exactly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataqa.dataset import ROW_ID, load
from dataqa.io import serialize, write_outputs
from dataqa.stages.clean import CleanOptions, clean

HARD = [
    "a",
    "B",
    " ",
    "\r",
    "\n",
    "\r\n",
    "\t",
    '"',
    "'",
    "\\",
    ",",
    "=",
    "+",
    "-",
    "@",
    "e\u0301",  # combining acute
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with ZWNJ
    "\u6c34\u58f6",  # CJK
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family emoji (ZWJ)
    "\U0001f44d",
    "NA",
    "null",
    "0",
    "word",
]
SURROGATE = "\ud83d"
LABELS = ["pos", "neg", "1", "0", "n\u00e9gatif", "\u30e9\u30d9\u30eb", "a,b", 'q"t']
FORMATS = ["csv", "tsv", "jsonl", "json", "parquet", "datasets"]
NO_FIXES = CleanOptions(
    fix_text=False,
    strip_markup=False,
    fix_tokenizer_artifacts=False,
    dedupe="none",
    near_duplicates="keep",
    conflicts="keep",
    language="keep",
    leakage="keep",
)


def texts(surrogates: bool):
    alphabet = HARD + ([SURROGATE] if surrogates else [])
    parts = st.lists(st.sampled_from(alphabet), max_size=8)
    return parts.map("".join).map(lambda t: "w " + t + " z")  # never empty or blank


def frames(fmt: str):
    surrogates = fmt in ("jsonl", "json")
    return st.lists(
        st.tuples(texts(surrogates), st.sampled_from(LABELS)), min_size=2, max_size=12
    ).map(
        lambda rows: pd.DataFrame(
            {
                "text": pd.Series([t for t, _ in rows], dtype=object),
                "label": pd.Series([lab for _, lab in rows], dtype=object),
            }
        )
    )


def write_input(df: pd.DataFrame, folder: Path, fmt: str) -> Path:
    """The input as users' own tools write it (never dataqa's writer)."""
    path = folder / (f"in.{fmt}" if fmt != "datasets" else "in_ds")
    if fmt in ("csv", "tsv"):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            # RFC 4180: CRLF rows, so a bare \r in a field is quoted too
            w = csv.writer(fh, delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n")
            w.writerow(df.columns)
            w.writerows(df.itertuples(index=False))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict("records")))
    elif fmt == "json":
        path.write_text(json.dumps(df.to_dict("records")))
    elif fmt == "parquet":
        df.to_parquet(path)
    else:
        import datasets

        datasets.disable_progress_bars()
        datasets.Dataset.from_pandas(df).save_to_disk(str(path))
    return path


def read_with_others(path: Path, fmt: str) -> pd.DataFrame:
    """How pandas / datasets / json read dataqa's output."""
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if fmt == "tsv":
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if fmt in ("jsonl", "json"):  # json.loads: pandas' str columns cannot hold surrogates
        text = path.read_text()
        rows = (
            [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else json.loads(text)
        )
        return pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=object) for k in rows[0]})
    if fmt == "parquet":
        return pd.read_parquet(path)
    import datasets

    return datasets.load_from_disk(str(path)).to_pandas()


def run_clean(path: Path, fmt: str, options: CleanOptions):
    ds = load(path, text_col="text", label_col="label")
    result = clean(ds, options=options)
    out = path.parent / (f"out.{fmt}" if fmt != "datasets" else "out_ds")
    quarantine = path.parent / (f"out.q.{fmt}" if fmt != "datasets" else "out_q_ds")
    write_outputs(
        [
            (out, lambda t: serialize(result.kept.frame, t, out, source=result.kept.io)),
            (quarantine, lambda t: serialize(result.quarantine, t, quarantine, source=ds.io)),
        ]
    )
    return ds, result, out, quarantine


@pytest.mark.parametrize("fmt", FORMATS)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(data=st.data())
def test_round_trip_every_format(fmt, data, tmp_path_factory):
    df = data.draw(frames(fmt))
    folder = tmp_path_factory.mktemp(fmt)
    path = write_input(df, folder, fmt)

    ds = load(path, text_col="text", label_col="label")  # reading changes nothing
    assert list(ds.ids) == list(range(len(df)))
    original = {(i, c): v for c in ("text", "label") for i, v in enumerate(df[c])}
    seen = {(i, c): ds.io.surrogates.get((i, c), ds.frame.at[i, c]) for (i, c) in original}
    assert seen == original

    ds, result, out, quarantine = run_clean(path, fmt, CleanOptions())
    held = load(quarantine) if len(result.quarantine) else None
    if not len(result.kept):  # e.g. two copies with conflicting labels: both set aside
        assert sorted(held.ids) == list(range(len(df)))
        return
    kept = load(out)
    ids_out = list(kept.ids) + (list(held.ids) if held is not None else [])
    assert sorted(ids_out) == list(range(len(df)))  # rows in = kept + quarantined

    changed = {(r, f) for r, f in zip(result.changes[ROW_ID], result.changes["field"], strict=True)}
    for rid in kept.ids:
        for col in ("text", "label"):
            value = kept.io.surrogates.get((rid, col), kept.frame.at[rid, col])
            if value != original[(rid, col)]:
                assert (rid, col) in changed, (rid, col, value, original[(rid, col)])
    if held is not None:
        for rid in held.ids:
            for col in ("text", "label"):
                value = held.io.surrogates.get((rid, col), held.frame.at[rid, col])
                assert value == original[(rid, col)]

    others = read_with_others(out, fmt)  # pandas / datasets / json agree with dataqa
    assert others[ROW_ID].astype(str).tolist() == [str(i) for i in kept.ids]
    assert others["text"].tolist() == [
        kept.io.surrogates.get((i, "text"), kept.frame.at[i, "text"]) for i in kept.ids
    ]
    assert others["label"].astype(str).tolist() == [str(v) for v in kept.frame["label"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_with_fixes_off_is_identical(fmt, tmp_path):
    rows = [
        ("Great kettle.\rThe lid is fine", "pos"),
        ("C:\\Program Files\\Acme\\new is the path", "neg"),
        ('He said "hi" there', "pos"),
        ("line one\nline two", "neg"),
        ("a field\twith a tab", "pos"),
        ("=SUM(A1:A2) +1 -1 @here", "neg"),
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 family "
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "pos",
        ),
        ('"quoted at start" and then more', "neg"),
    ]
    if fmt in ("jsonl", "json"):
        rows.append(("emoji cut \ud83d in half", "pos"))
    df = pd.DataFrame(
        {
            k: pd.Series(v, dtype=object)
            for k, v in zip(["text", "label"], zip(*rows, strict=False), strict=False)
        }
    )
    path = write_input(df, tmp_path, fmt)
    ds, result, out, _ = run_clean(path, fmt, NO_FIXES)
    assert len(result.quarantine) == 0 and len(result.changes) == 0
    kept = load(out)
    values = [kept.io.surrogates.get((i, "text"), kept.frame.at[i, "text"]) for i in kept.ids]
    assert values == df["text"].tolist()
    assert kept.frame["label"].tolist() == df["label"].tolist()
    assert read_with_others(out, fmt)["text"].tolist() == values
