"""Inputs of the Dask engine beyond Parquet/JSONL shards, and bad input: `datasets`
folders (save_to_disk) read lazily in blocks with the local reader's ids and label names;
a scheduler that does not answer, a glob that matches nothing, mixed schemas: exit 2,
nothing written."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("distributed")  # the [scale] extra
datasets = pytest.importorskip("datasets")  # the [hf] extra

import dataqa  # noqa: E402
from dataqa.demo import make_demo  # noqa: E402
from dataqa.engine import EngineOptions  # noqa: E402
from dataqa.engine.dask_engine import audit_dask, dask_client  # noqa: E402
from dataqa.errors import DataQAError  # noqa: E402
from dataqa.io.shards import find_shards, read_piece  # noqa: E402

CHECKS = ["hygiene", "duplicates", "balance"]


@pytest.fixture(scope="module")
def client():
    with dask_client(EngineOptions(engine="dask", workers=2), processes=False) as c:
        yield c


def save_demo(folder, rows: int = 800, shards: int = 3, dict_: bool = True):
    train, _, _ = make_demo(rows, 7)
    train = train[["text", "label"]].copy()
    names = sorted(train["label"].dropna().unique())
    train["label"] = [names.index(v) if v in names else -1 for v in train["label"]]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    ds = datasets.Dataset.from_pandas(train, features=features, preserve_index=False)
    obj = datasets.DatasetDict({"train": ds, "test": ds.select(range(50))}) if dict_ else ds
    datasets.disable_progress_bars()
    obj.save_to_disk(str(folder), num_shards={"train": shards, "test": 1} if dict_ else shards)
    return train, names


def kinds_and_rows(report) -> set:
    return {(f.check, tuple(sorted(map(str, f.row_ids)))) for f in report.findings}


@pytest.mark.parametrize("dict_", [True, False])
def test_a_datasets_folder_on_dask_gives_the_local_findings(client, tmp_path, dict_):
    folder = tmp_path / "hf"
    train, names = save_demo(folder, dict_=dict_)
    shards = find_shards(str(folder))
    assert shards.fmt == "arrow" and len(shards.paths) == 3
    # read in blocks, ids and label names as the local reader gives them
    local_ds = dataqa.load(str(folder))
    parts = pd.concat([read_piece(p) for p in shards.pieces()])
    assert list(parts.index) == list(local_ds.frame.index)
    assert parts["label"].tolist() == local_ds.frame["label"].tolist()
    assert set(parts["label"].dropna()) <= set(names)  # names, not ids
    local = dataqa.audit(local_ds, checks=CHECKS)
    remote = audit_dask(shards, client, checks=CHECKS)
    assert kinds_and_rows(remote) == kinds_and_rows(local)
    assert {"duplicates.exact", "hygiene.missing_label"} <= {f.check for f in remote.findings}


def test_a_datasets_folder_with_no_train_split_is_refused(tmp_path):
    train, _, _ = make_demo(100, 7)
    ds = datasets.Dataset.from_pandas(train[["text", "label"]], preserve_index=False)
    datasets.disable_progress_bars()
    datasets.DatasetDict({"a": ds, "b": ds}).save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(DataQAError, match="holds the splits"):
        find_shards(str(tmp_path / "hf"))


def test_bad_input_on_dask_exits_2_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from dataqa.cli import cli

    ok = tmp_path / "ok"
    ok.mkdir()
    train, _, _ = make_demo(100, 7)
    train.to_parquet(ok / "p0.parquet")
    jl = tmp_path / "jl"
    jl.mkdir()
    (jl / "a.jsonl").write_text('{"text": "a b", "label": "x"}\n')
    (jl / "b.jsonl").write_text('{"text": "a b", "label": 1}\n')
    runner = CliRunner()
    for args in (
        ["audit", str(ok), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"],
        ["clean", str(ok), "-o", str(tmp_path / "c"), "--scheduler", "tcp://127.0.0.1:9"]
        + ["--engine", "dask"],
        ["audit", str(tmp_path / "nothing" / "*.parquet"), "--engine", "dask"],
        ["clean", str(tmp_path / "none-*.jsonl"), "-o", str(tmp_path / "c"), "--engine", "dask"],
        ["audit", str(jl), "--engine", "dask"],
        ["clean", str(jl), "-o", str(tmp_path / "c"), "--engine", "dask"],
    ):
        res = runner.invoke(
            cli, [*args, "--json", str(tmp_path / "r.json")] if args[0] == "audit" else args
        )
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output and len(res.output.strip().splitlines()) <= 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jl", "ok"]


def test_a_bar_per_stage_on_a_terminal_and_none_otherwise(client, tmp_path, monkeypatch, capsys):
    import dataqa.progress

    train, _, _ = make_demo(300, 7)
    folder = tmp_path / "s"
    folder.mkdir()
    train.iloc[:150].to_parquet(folder / "a.parquet")
    train.iloc[150:].to_parquet(folder / "b.parquet")
    shards = find_shards(str(folder))
    audit_dask(shards, client, checks=["hygiene", "labels"], progress=True)
    assert capsys.readouterr().err == ""  # not a terminal: no bars
    monkeypatch.setattr(dataqa.progress, "interactive", lambda: True)
    audit_dask(shards, client, checks=["hygiene", "labels"], progress=False)
    assert capsys.readouterr().err == ""  # -q
    audit_dask(shards, client, checks=["hygiene", "labels"], progress=True)
    err = capsys.readouterr().err
    for stage in (
        "audit: dataset facts",
        "audit: hygiene and duplicate keys",
        "labels: hashed features",
        "labels: pass 1 fold models",
        "labels: pass 1 scoring",
    ):
        assert stage in err, (stage, err[-500:])
