"""`dataqa finetune` and `dataqa run` end to end, with the tiny model on small slices."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import shared_data  # noqa: E402

from dataqa.cli import cli  # noqa: E402
from dataqa.dataset import write_table  # noqa: E402
from dataqa.findings import Report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["card_arrival", "exchange_rate", "lost_or_stolen_phone"]


@pytest.fixture(scope="module")
def banking_slice(tmp_path_factory):
    """raw (30% of labels flipped, planted), curated (the true labels) and test CSVs."""
    train = pd.read_csv(shared_data("banking77", "train.csv")).dropna()
    test = pd.read_csv(shared_data("banking77", "test.csv"))
    train = (
        train[train["category"].isin(CLASSES)].groupby("category").head(50).reset_index(drop=True)
    )
    test = test[test["category"].isin(CLASSES)].groupby("category").head(20).reset_index(drop=True)
    # Banking77's train and test share near copies; leave them out as clean --against does
    from dataqa.dataset import from_frame
    from dataqa.train.testset import drop_or_refuse_leaks, near_leak_threshold

    _, leaked = drop_or_refuse_leaks(
        [from_frame(train, text_col="text", label_col="category")],
        ["train"],
        from_frame(test, text_col="text", label_col="category"),
        drop_leaked=True,
        near_threshold=near_leak_threshold(),
    )
    train = train.drop(index=leaked["train"]).reset_index(drop=True)
    rng = np.random.default_rng(0)
    raw = train.copy()
    flip = rng.choice(len(raw), int(0.3 * len(raw)), replace=False)
    raw.loc[flip, "category"] = [
        CLASSES[(CLASSES.index(c) + 1) % 3] for c in raw.loc[flip, "category"]
    ]
    folder = tmp_path_factory.mktemp("slice")
    write_table(raw, folder / "raw.csv")  # row ids ride along in dataqa_row_id
    write_table(train, folder / "curated.csv")
    write_table(test, folder / "test.csv", index=False)
    return folder


@pytest.mark.slow
def test_finetune_cli_end_to_end(banking_slice, tmp_path):
    out = tmp_path / "ft.json"
    args = [
        "finetune",
        "--train",
        str(banking_slice / "raw.csv"),
        "--train",
        str(banking_slice / "curated.csv"),
        "--test",
        str(banking_slice / "test.csv"),
        "--model",
        "tiny",
        "--epochs",
        "2",
        "--lr",
        "2e-3",
        "--batch-size",
        "16",
        "--max-length",
        "32",
        "--threads",
        "1",
        "--seeds",
        "2",
        "--label-col",
        "category",
        "--out-dir",
        str(tmp_path / "work"),
        "--json",
        str(out),
        "--html",
        str(tmp_path / "ft.html"),
        "-q",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    report = Report.load(out)
    s = report.stats["finetune"]
    assert list(s["runs"]) == ["raw", "curated"]
    raw, cur = s["runs"]["raw"], s["runs"]["curated"]
    n_train = len(pd.read_csv(banking_slice / "curated.csv"))  # 150 less near leaks
    assert raw["rows"] == cur["rows"] == n_train >= 140
    assert raw["val_rows"] == cur["val_rows"]  # same ids
    assert 14 <= raw["val_rows"] <= 17
    assert raw["test"]["n"] == 60 and set(raw["test"]) >= {
        "accuracy",
        "macro",
        "weighted",
        "per_class",
        "confusion",
    }
    assert "TF-IDF" in raw["baseline"]["model"] and 0 <= raw["baseline"]["test"]["accuracy"] <= 1
    assert raw["train"]["device"] == "cpu" and raw["train"]["samples_per_s"] > 0
    # two seeds per set, equal steps for both sets (same rows here, so same steps anyway)
    assert [r["seed"] for r in raw["seeds"]] == [0, 1] == [r["seed"] for r in cur["seeds"]]
    assert raw["seeds"][0]["train"]["max_steps"] == cur["seeds"][0]["train"]["max_steps"]
    assert s["budget"]["mode"] == "steps" and s["seeds"] == [0, 1]
    comp = s["comparisons"][0]
    acc = comp["all"]["metrics"]["accuracy"]
    assert acc["ci_low"] <= acc["diff"] <= acc["ci_high"] and len(acc["runs_a"]) == 2
    assert acc["runs_b"] == [pytest.approx(r["test"]["accuracy"], abs=1e-4) for r in cur["seeds"]]
    assert "baseline" in comp and "confused_pairs_a" in comp["errors"]
    v = s["verdict"]
    assert v["outcome"] in ("better", "worse", "no measurable difference", "mixed")
    assert v["question"] == "Is the curated set better than the raw set for fine-tuning?"
    assert any("2 training runs per set" in line for line in v["lines"])
    assert s["test"]["label_audit"]["ran"] in (True, False)
    kinds = {c["type"] for c in s["charts"]}
    assert {"line", "bar", "heatmap"} <= kinds
    assert any(f.check == "finetune.comparison" for f in report.findings)
    assert "tiny BERT" in s["model"]["origin"]
    # the raw set's planted noise shows up in the baseline: 30% wrong labels hurt it
    assert cur["baseline"]["test"]["accuracy"] >= raw["baseline"]["test"]["accuracy"]
    preds = pd.read_csv(tmp_path / "work" / "predictions.csv")
    assert len(preds) == 60 and {"raw", "raw (run 2)", "curated", "raw (baseline)"} <= set(preds)
    assert list((tmp_path / "work" / "tensorboard" / "raw" / "seed0").glob("events.out.tfevents.*"))
    page = (tmp_path / "ft.html").read_text()
    assert page.index('id="finetune-verdict"') < page.index('id="dataset"')
    assert 'id="verdict"' not in page  # no "ready to fine-tune?" question on this page
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "dataqa" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(json.loads(out.read_text()), schema)
    # a second run with unchanged inputs reuses both runs from the cache
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    again = Report.load(out).stats["finetune"]["runs"]
    assert again["raw"]["cached"] and again["curated"]["cached"]
    assert again["raw"]["test"]["accuracy"] == raw["test"]["accuracy"]


def test_finetune_cli_bad_input_is_a_clear_error(banking_slice, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "finetune",
            "--train",
            str(banking_slice / "raw.csv"),
            "--test",
            str(tmp_path / "nope.csv"),
            "--model",
            "tiny",
            "--label-col",
            "category",
        ],
    )
    assert res.exit_code == 2 and "no such file" in res.output
    res = CliRunner().invoke(
        cli,
        [
            "finetune",
            "--train",
            str(banking_slice / "raw.csv"),
            "--test",
            str(banking_slice / "test.csv"),
            "--model",
            "tiny",
            "--label-col",
            "category",
            "--lr",
            "-1",
        ],
    )
    assert res.exit_code == 2 and "finetune.lr=-1.0 is not allowed" in res.output


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_class", "curated training set has no rows of 1 class(es)"),
        ("leak", "of the training set 'curated' also appear"),
    ],
)
def test_unfair_comparisons_are_refused_before_training(banking_slice, tmp_path, case, expected):
    cur = pd.read_csv(banking_slice / "curated.csv")
    if case == "missing_class":
        cur = cur[cur["category"] != "exchange_rate"]
    else:
        test = pd.read_csv(banking_slice / "test.csv")
        cur.loc[cur.index[:3], "text"] = test["text"].iloc[:3].to_numpy()
    cur.to_csv(tmp_path / "cur.csv", index=False)
    work = tmp_path / "work"
    res = CliRunner().invoke(
        cli,
        [
            "finetune",
            "--train",
            str(banking_slice / "raw.csv"),
            "--train",
            str(tmp_path / "cur.csv"),
            "--test",
            str(banking_slice / "test.csv"),
            "--model",
            "tiny",
            "--label-col",
            "category",
            "--out-dir",
            str(work),
        ],
    )
    assert res.exit_code == 2, res.output
    assert expected in res.output and str(tmp_path / "cur.csv") in res.output
    assert not work.exists()  # refused before any model was built or trained


def _demo_files(folder: Path) -> int:
    from dataqa.demo import make_demo

    train, test, _ = make_demo(rows=300, seed=3)
    write_table(train, folder / "train.csv", index=False)
    write_table(test, folder / "test.csv", index=False)
    return len(train)


PIPELINE = """\
name: small
out: out
seed: 1
data:
  train: train.csv
  test: test.csv
  label_col: label
  group_col: brand
stages:
  audit: {checks: [hygiene, duplicates]}
  clean: {conflicts: quarantine}
  augment: false
  finetune: {model: tiny, epochs: 1, seeds: 2, max_length: 32, threads: 1}
"""


@pytest.mark.slow
def test_run_pipeline_end_to_end_and_resumes_from_cache(tmp_path):
    n = _demo_files(tmp_path)
    (tmp_path / "p.yaml").write_text(PIPELINE)
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "p.yaml"), "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    report = Report.load(out / "report.json")
    p = report.stats["pipeline"]
    status = {s["stage"]: s["status"] for s in p["stages"]}
    assert status == {
        "audit": "ran",
        "clean": "ran",
        "augment": "skipped",
        "audit (after)": "ran",
        "finetune": "ran",
    }
    assert p["before"]["rows"] == n and p["after"]["rows"] < n  # clean quarantined rows
    assert set(report.stats) >= {"hygiene", "duplicates", "clean", "finetune", "pipeline"}
    assert any(f.check.startswith("hygiene") for f in report.findings)
    assert any(f.check == "finetune.comparison" for f in report.findings)
    ft = report.stats["finetune"]
    assert ft["verdict"]["b"] == "curated" and ft["seeds"] == [1, 2]
    # the demo plants rows that leak into the test set: run leaves them out of both sets
    assert any(f.check == "finetune.leakage" for f in report.findings)
    assert any(f.check == "duplicates.leakage" and f.severity == "error" for f in report.findings)
    page = (out / "report.html").read_text()
    assert page.index('id="finetune-verdict"') < page.index('id="verdict"')
    assert "Ready to fine-tune the curated set?" in page
    assert p["after"]["findings"] and "counts" in p["after"]
    curated = pd.read_csv(out / "curated.csv")
    quarantined = pd.read_csv(out / "clean.quarantine.csv")
    assert len(curated) + len(quarantined) == n  # nothing lost
    for name in ("before.json", "after.json", "finetune.json"):
        assert (out / name).is_file()
    # a re-run takes every stage from the cache
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "p.yaml"), "-q"])
    assert res.exit_code == 0, res.output
    log = json.loads((out / "pipeline.log.json").read_text())["stages"]
    assert {s["stage"]: s["status"] for s in log} == {
        "audit": "cached",
        "clean": "cached",
        "augment": "skipped",
        "audit (after)": "cached",
        "finetune": "cached",
    }


@pytest.mark.slow
def test_run_skips_augment_with_a_note_when_it_is_not_installed(tmp_path, monkeypatch):
    _demo_files(tmp_path)
    text = PIPELINE.replace("augment: false", "augment: {methods: [eda]}").replace(
        "  finetune: {model: tiny, epochs: 1, seeds: 2, max_length: 32, threads: 1}\n", ""
    )
    (tmp_path / "p.yaml").write_text(text)
    monkeypatch.setitem(sys.modules, "dataqa.augmentation", None)  # import fails as if absent
    from dataqa.pipeline import run_pipeline

    result = run_pipeline(tmp_path / "p.yaml")
    aug = next(s for s in result["stages"] if s["stage"] == "augment")
    assert aug["status"] == "skipped" and "not available" in aug["note"]
    assert "finetune" not in result["report"].stats


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "data: {train: t.csv}\nstages:\n  clean:\n    conflits: keep\n",
            ["line 4", "stages.clean.conflits", "did you mean 'conflicts'"],
        ),
        ("data: {train: t.csv}\nstages: {finetune: {model: tiny}}\n", ["needs a test set"]),
        ("data: {train: t.csv\nstages: x\n", ["line 2", "not valid YAML"]),
        ("data: {train: t.csv}\nstagse: {}\n", ["line 2", "'stagse'", "did you mean 'stages'"]),
        (
            "data: {train: t.csv, test: t.csv}\nstages:\n  finetune:\n    seeds: 0\n",
            ["line 4", "stages.finetune.seeds", "stages.finetune.seeds=0 is not allowed"],
        ),
        (
            "data: {train: t.csv, test: t.csv}\nstages:\n  finetune:\n    budget: flops\n",
            ["stages.finetune.budget", "'steps', 'epochs' or 'both'"],
        ),
    ],
)
def test_pipeline_file_errors_name_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["run", str(path)])
    assert res.exit_code == 2
    for piece in [str(path), *expected]:
        assert piece in res.output


def test_example_pipeline_file_is_valid():
    from dataqa.pipeline import load_spec

    spec = load_spec(ROOT / "rules" / "pipeline.example.yaml")
    assert set(spec.data["stages"]) == {"audit", "clean", "augment", "finetune"}


def test_commands_load_nothing_heavy_and_teach_in_help():
    code = (
        "import sys; from click.testing import CliRunner; from dataqa.cli import cli; "
        "r = CliRunner().invoke(cli, ['finetune', '--help']); "
        "r2 = CliRunner().invoke(cli, ['run', '--help']); "
        "print(r.output + r2.output); "
        "print('HEAVY', [m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "dataqa finetune --train raw.csv --train clean.csv --test test.csv" in out
    assert "--search" in out and "--text-col" in out and "dataqa run" in out


@pytest.mark.slow
def test_demo_writes_a_valid_pipeline_and_runs_it(tmp_path, monkeypatch):
    import dataqa.pipeline as pipeline
    from dataqa.demo import run_demo

    calls = []
    monkeypatch.setattr(
        pipeline, "run_pipeline", lambda path, **kw: calls.append(path) or {"summary": "ok"}
    )
    out = run_demo(tmp_path, rows=200, seed=7, finetune=True)
    assert calls == [tmp_path / "pipeline.yaml"] and out["loop"]["summary"] == "ok"
    spec = pipeline.load_spec(tmp_path / "pipeline.yaml")
    assert spec.data["stages"]["finetune"]["model"] == "tiny"
    assert spec.resolve(spec.data["data"]["train"]) == tmp_path / "demo_train.csv"


def _slice(folder: Path, name: str):
    from dataqa.dataset import load

    return load(folder / name, label_col="category")


def test_equal_steps_for_a_bigger_set_and_the_equal_epochs_line(banking_slice, tmp_path):
    from dataqa.train.options import TrainOptions
    from dataqa.train.stage import finetune

    raw = _slice(banking_slice, "curated.csv")
    frame = raw.frame
    copies = frame.copy()
    copies.index = copies.index + 10_000  # new ids: an "augmented" set twice the size
    copies[raw.roles.text] = copies[raw.roles.text] + " please"
    bigger = raw.with_frame(pd.concat([frame, copies]))
    bigger.source = "augmented.csv"
    opts = TrainOptions(epochs=2, seeds=1, budget="both", max_length=32, threads=1)
    report = finetune(
        [raw, bigger],
        _slice(banking_slice, "test.csv"),
        names=["raw", "augmented"],
        model="tiny",
        options=opts,
        baseline=False,
        audit_test=False,
        work_dir=tmp_path,
    )
    s = report.stats["finetune"]
    steps = s["budgets"]["steps"]["steps"]
    epochs = s["budgets"]["epochs"]["steps"]
    assert steps["raw"] == steps["augmented"] == epochs["raw"]  # equal compute by default
    run_aug = s["runs"]["augmented"]
    assert run_aug["train_rows"] > 2 * s["runs"]["raw"]["train_rows"] - 20
    assert epochs["augmented"] == 2 * -(-run_aug["train_rows"] // 32)  # each its own 2 epochs
    assert run_aug["seeds"][0]["train"]["max_steps"] == steps["augmented"]
    assert run_aug["equal_epochs"]["seeds"][0]["train"]["max_steps"] == epochs["augmented"]
    assert run_aug["seeds"][0]["train"]["steps"] <= steps["augmented"]
    assert [c["budget"] for c in s["comparisons"]] == ["steps", "epochs"]
    v = s["verdict"]
    assert v["budget"] == "steps" and v["single_seed"]
    assert any(line.startswith("Equal compute") for line in v["lines"])
    assert any(line.startswith("With equal epochs instead") for line in v["lines"])
    assert "Sizes differ" in next(x for x in v["lines"] if x.startswith("Equal compute"))
    shown = report._repr_html_()  # a notebook shows the verdict and each arm's scores
    assert html.escape(v["question"], quote=False) in shown
    assert f"accuracy {s['runs']['raw']['test']['accuracy']:.3f}" in shown
    assert f"macro-F1 {s['runs']['augmented']['test']['macro']['f1']:.3f}" in shown


def test_search_selects_on_validation_and_trains_every_seed_with_the_choice(
    banking_slice, tmp_path
):
    from dataqa.train.options import TrainOptions
    from dataqa.train.stage import finetune

    raw = _slice(banking_slice, "curated.csv")
    report = finetune(
        [raw],
        _slice(banking_slice, "test.csv"),
        model="tiny",
        options=TrainOptions(epochs=2, seeds=2, max_length=32, threads=1),
        search="grid",
        space={"lr": [1e-5, 3e-3]},
        trials=2,
        baseline=False,
        audit_test=False,
        work_dir=tmp_path,
    )
    run = report.stats["finetune"]["runs"]["train"]
    table = run["search"]
    done = [t for t in table["trials"] if t["status"] == "done"]
    assert len(done) == 2 and table["metric"] == "val_accuracy"
    best = max(done, key=lambda t: (t["val_accuracy"], -t["val_loss"]))
    assert table["best_settings"] == best["settings"]
    assert run["config"]["lr"] == best["settings"]["lr"]
    assert [r["seed"] for r in run["seeds"]] == [0, 1]
    assert report.stats["finetune"]["verdict"] is None  # one set: nothing to compare


def test_pipeline_json_schema_is_current_and_accepts_the_example():
    import json
    from pathlib import Path

    import jsonschema
    import yaml

    from dataqa.pipeline import pipeline_json_schema

    root = Path(__file__).resolve().parents[1]
    schema = pipeline_json_schema()
    shipped = json.loads((root / "dataqa" / "schema" / "pipeline.schema.json").read_text())
    assert shipped == json.loads(json.dumps(schema, default=str)), "regenerate the schema"
    jsonschema.validate(
        yaml.safe_load((root / "rules" / "pipeline.example.yaml").read_text()), schema
    )
    with pytest.raises(jsonschema.ValidationError):  # a typo'd clean option
        jsonschema.validate(
            {"data": {"train": "t.csv"}, "stages": {"clean": {"conflits": "keep"}}}, schema
        )
