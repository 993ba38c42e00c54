"""Loading, role inference, stable ids and atomic writing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dataqa.dataset import ROW_ID, from_frame, load, write_table
from dataqa.errors import DataQAError


def frame():
    return pd.DataFrame(
        {
            "sentence": ["good film", "bad film", "fine film"],
            "label": [1, 0, 1],
            "brand": ["a", "b", "a"],
        }
    )


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet"])
def test_round_trip_every_format_keeps_ids_and_roles(tmp_path, ext):
    path = tmp_path / f"d.{ext}"
    write_table(frame(), path, index=False)
    ds = load(path)
    assert ds.roles.text == "sentence" and ds.roles.label == "label" and ds.roles.group == "brand"
    assert list(ds.ids) == [0, 1, 2]
    assert ds.labels.tolist() == ["1", "0", "1"]
    # a file dataqa writes carries the ids, and loading it gives them back
    sub = ds.subset([2, 0])
    out = tmp_path / f"sub.{ext}"
    write_table(sub.frame, out)
    again = load(out)
    assert list(again.ids) == [2, 0]
    assert again.roles.id == ROW_ID
    assert again.text.tolist() == ["fine film", "good film"]


def test_datasets_folder(tmp_path):
    import datasets

    datasets.Dataset.from_pandas(frame()).save_to_disk(str(tmp_path / "ds"))
    ds = load(tmp_path / "ds")
    assert len(ds) == 3 and ds.roles.text == "sentence"


def test_id_column_gives_ids_and_explicit_roles_win():
    df = frame().assign(uid=["x", "y", "z"], other=["q", "r", "s"])
    ds = from_frame(df, id_col="uid", text_col="sentence", group_col="other")
    assert list(ds.ids) == ["x", "y", "z"]
    assert ds.roles.group == "other"


def test_guessed_text_column_by_content():
    df = pd.DataFrame(
        {
            "a": [1, 2],
            "body_of_message": ["a long piece of text", "more text here"],
            "tag": ["x", "y"],
        }
    )
    assert from_frame(df).roles.text == "body_of_message"


def test_misnamed_column_suggests_the_close_name():
    with pytest.raises(DataQAError) as err:
        from_frame(frame(), label_col="lable")
    # in memory (a notebook) the hint names the argument; from a file, the CLI flag
    assert "'label'" in str(err.value) and "label_col=" in str(err.value)
    assert "<memory>" not in str(err.value)


def test_banking77_broken_lines_are_kept_not_hidden(banking77_train):
    from dataqa.dataset import from_frame

    ds = from_frame(banking77_train)
    assert len(ds) == 10006
    assert ds.frame[ds.roles.text].isna().sum() == 2
    assert ds.labels.isna().sum() == 3


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "out.csv"
    write_table(frame(), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dataqa.io.writers._write_delimited", boom)
    with pytest.raises(DataQAError, match="No space left"):
        write_table(frame().head(1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_report_json_round_trip(tmp_path, demo_ds):
    from dataqa.findings import Report
    from dataqa.stages.audit import audit

    report = audit(demo_ds, checks=["hygiene"])
    report.save(tmp_path / "r.json")
    again = Report.load(tmp_path / "r.json")
    assert [f.to_dict() for f in again.findings] == json.loads((tmp_path / "r.json").read_text())[
        "findings"
    ]


def test_malformed_report_json_is_a_clear_error(tmp_path):
    from dataqa.findings import Report

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"findings": [{"check": "x", "severity": "fatal", "message": "m"}]}))
    with pytest.raises(DataQAError, match="finding #0 is malformed"):
        Report.load(path)


def test_stages_take_paths_for_against_and_name_unknown_arguments(tmp_path):
    import dataqa

    frame().to_csv(tmp_path / "train.csv", index=False)
    frame().head(2).to_csv(tmp_path / "test.csv", index=False)
    report = dataqa.audit(
        tmp_path / "train.csv", against=tmp_path / "test.csv", checks=["duplicates"]
    )
    leaked = {r for f in report.findings if f.check == "duplicates.leakage" for r in f.row_ids}
    assert leaked == {0, 1}
    with pytest.raises(DataQAError, match="unknown argument checks="):
        dataqa.clean(frame(), checks=["hygiene"])


def test_results_print_as_one_line():
    import dataqa

    df = pd.DataFrame(
        {"text": ["good film", "bad film", "good film", "ok"] * 5, "label": ["a", "b"] * 10}
    )
    report = dataqa.audit(df, checks=["duplicates"])
    assert repr(report).startswith("<Report <memory>: ") and "\n" not in repr(report)
    assert len(repr(report)) < 200 and "rows flagged" in repr(report)
    result = dataqa.clean(df)
    assert repr(result) == "<CleanResult 20 rows in: 3 kept, 17 quarantined, 0 edited>"
