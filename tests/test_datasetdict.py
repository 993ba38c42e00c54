"""`datasets` out: clean and augment write one DatasetDict (train, quarantine, test) whose
splits share one set of features, keep dataqa's row ids and the input's ClassLabel, and
read back with `load_from_disk` row for row."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

datasets = pytest.importorskip("datasets")

from dataqa.cli import cli  # noqa: E402
from dataqa.dataset import ROW_ID, load  # noqa: E402
from dataqa.errors import DataQAError  # noqa: E402
from dataqa.io import Source, to_datasetdict, write_datasetdict  # noqa: E402
from dataqa.stages.clean import REASONS_COL, clean  # noqa: E402

TEXTS = [
    "the film was great",
    "awful plot and worse acting",
    "the film was great",  # exact duplicate of row 0, same label: one is quarantined
    "I loved every minute",
    "",  # empty: quarantined
    "boring and far too slow",
    "superb acting from everyone",
    "superb acting from everyone",  # duplicate of 6 with the other label: both quarantined
    "a waste of two hours",
    "charming, funny and warm",
]
LABELS = ["pos", "neg", "pos", "pos", "pos", "neg", "pos", "neg", "neg", "pos"]
NAMES = ["neg", "pos", "neutral"]  # a class with no rows must survive too


def _saved_input(tmp_path: Path) -> Path:
    feats = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=NAMES)}
    )
    train = datasets.Dataset.from_dict(
        {"text": TEXTS, "label": [NAMES.index(v) for v in LABELS]}, features=feats
    )
    path = tmp_path / "in"
    datasets.DatasetDict({"train": train}).save_to_disk(str(path))
    return path


def test_clean_result_as_datasetdict_round_trips(tmp_path):
    ds = load(str(_saved_input(tmp_path)))
    test = pd.DataFrame({"text": ["a new sentence", "another one"], "label": ["neg", "pos"]})
    result = clean(ds, against=test)
    out = write_datasetdict(result.splits(test), tmp_path / "out", source=result.kept.io)
    back = datasets.load_from_disk(str(out))

    assert list(back) == ["train", "quarantine", "test"]
    feats = back["train"].features
    assert all(back[s].features == feats for s in back)  # what push_to_hub requires
    assert feats["label"] == datasets.ClassLabel(names=NAMES)
    assert feats[ROW_ID].dtype == "int64"

    kept, quarantined = back["train"].to_pandas(), back["quarantine"].to_pandas()
    # nothing lost, by id; the ids point at the input rows
    assert sorted([*kept[ROW_ID], *quarantined[ROW_ID]]) == list(range(len(TEXTS)))
    assert set(quarantined[ROW_ID]) == {2, 4, 6, 7}
    assert kept[REASONS_COL].isna().all() and quarantined[REASONS_COL].notna().all()
    for _, row in pd.concat([kept, quarantined]).iterrows():
        i = row[ROW_ID]
        assert row["text"] == TEXTS[i]
        assert NAMES[row["label"]] == LABELS[i]  # ids mean the input's names
    assert back["test"]["label"] == [0, 1]
    assert back["test"][ROW_ID] == [0, 1]

    # dataqa reads the folder back: train by default, any split by name
    again = load(str(out))
    assert sorted(again.frame.index) == sorted(kept[ROW_ID])
    assert sorted(load(str(out), split="quarantine").frame.index) == [2, 4, 6, 7]


def test_cli_clean_output_format_hf_writes_one_set(tmp_path):
    src = _saved_input(tmp_path)
    test_csv = tmp_path / "test.csv"
    pd.DataFrame({"text": ["the film was great", "fresh text"], "label": ["pos", "neg"]}).to_csv(
        test_csv, index=False
    )
    out = tmp_path / "curated"
    run = CliRunner().invoke(
        cli,
        ["clean", str(src), "-o", str(out), "--output-format", "hf", "--against", str(test_csv)],
    )
    assert run.exit_code == 0, run.output
    back = datasets.load_from_disk(str(out))
    assert set(back) == {"train", "quarantine", "test"}
    assert back["train"].num_rows + back["quarantine"].num_rows == len(TEXTS)
    q = back["quarantine"].to_pandas()
    assert "leakage" in " ".join(q.loc[q[ROW_ID] == 0, REASONS_COL])  # row 0 is in the test set
    assert (tmp_path / "curated.changes.csv").exists()
    # nothing else was written beside it, and no temporaries were left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "curated",
        "curated.changes.csv",
        "in",
        "test.csv",
    ]
    # a second run replaces the DatasetDict folder in place
    run = CliRunner().invoke(cli, ["clean", str(src), "-o", str(out), "--output-format", "hf"])
    assert run.exit_code == 0, run.output
    assert set(datasets.load_from_disk(str(out))) == {"train", "quarantine"}

    run = CliRunner().invoke(
        cli,
        ["clean", str(src), "-o", str(out), "--output-format", "hf", "--quarantine", "q.csv"],
    )
    assert run.exit_code == 2 and "quarantine" in run.output


def test_hf_output_from_a_csv_input_keeps_types_and_mixed_ids(tmp_path):
    kept = pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"], "n": [1, 2]}, index=[0, 1])
    extra = pd.DataFrame(
        {"text": ["c"], "label": ["x"], "n": [3], REASONS_COL: ["why"]}, index=["aug-0"]
    )
    dd = to_datasetdict({"train": kept, "quarantine": extra}, source=Source(format="csv"))
    assert dd["train"].features[ROW_ID].dtype in ("string", "large_string")  # all text
    assert dd["train"][ROW_ID] == ["0", "1"] and dd["quarantine"][ROW_ID] == ["aug-0"]
    assert dd["train"].features["n"].dtype == "int64"
    assert dd["train"][REASONS_COL] == [None, None]


def test_a_label_outside_the_classlabel_is_a_user_error(tmp_path):
    src = Source(format="datasets", features={"label": {"_type": "ClassLabel", "names": ["a"]}})
    frame = pd.DataFrame({"text": ["t"], "label": ["zzz"]})
    with pytest.raises(DataQAError, match="zzz"):
        to_datasetdict({"train": frame}, source=src)
    with pytest.raises(DataQAError):
        to_datasetdict({})


def test_a_failed_write_leaves_the_old_folder(tmp_path, monkeypatch):
    frame = pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]})
    out = write_datasetdict({"train": frame}, tmp_path / "dd")
    before = sorted(os.listdir(out))
    import dataqa.io.writers as writers

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers, "_roll_forward", boom)
    with pytest.raises(DataQAError, match="No space"):
        write_datasetdict({"train": frame.head(1)}, tmp_path / "dd")
    assert sorted(os.listdir(out)) == before
    assert datasets.load_from_disk(str(out))["train"].num_rows == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


@pytest.mark.slow
def test_cli_augment_output_format_hf(tmp_path, demo):
    train, _, _ = demo
    src = tmp_path / "train.csv"
    train.head(200).to_csv(src, index=False)
    out = tmp_path / "aug"
    run = CliRunner().invoke(
        cli,
        ["augment", str(src), "-o", str(out), "--output-format", "hf", "--method", "eda"]
        + ["--per-class", "40", "--no-filter", "-q"],
    )
    assert run.exit_code == 0, run.output
    back = datasets.load_from_disk(str(out))
    assert list(back) == ["train"]
    frame = back["train"].to_pandas()
    new = frame[frame["dataqa_method"].notna()]
    assert len(new) > 0 and len(frame) == 200 + len(new)
    assert all(str(i).startswith("aug-") for i in new[ROW_ID])
    assert (tmp_path / "aug.augment.json").exists()


def test_chat_records_round_trip_through_hf_output(tmp_path):
    """Conversation records (main's chat data) go out as structs: every turn's role and
    content come back as they went in, with the row ids; a key only some turns carry
    (`weight`) reads back as null in the others (Arrow's struct rule, documented)."""
    import json

    records = [
        {
            "messages": [
                {"role": "system", "content": "You help with cards."},
                {"role": "user", "content": f"How do I order card {i}?"},
                {
                    "role": "assistant",
                    "content": f"Open the app and order card {i} under Cards.",
                    "weight": 1,
                },
            ]
        }
        for i in range(12)
    ]
    records[3] = {"messages": [{"role": "user", "content": "a question with no answer"}]}
    src = tmp_path / "chat.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["clean", str(src), "-o", str(out), "--output-format", "hf", "-q"]
    )
    assert res.exit_code == 0, res.output
    back = datasets.load_from_disk(str(out))
    assert list(back) == ["train", "quarantine"]
    seen = []
    for split in back.values():
        for row in split:
            rid = row[ROW_ID]
            seen.append(rid)
            got = [{k: v for k, v in t.items() if v is not None} for t in row["messages"]]
            assert got == records[rid]["messages"]
    assert sorted(seen) == list(range(12))
    assert back["quarantine"][ROW_ID] == [3]  # no assistant turn
