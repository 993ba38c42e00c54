"""The command line: fast start, JSON that matches the schema, exit codes, the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataqa.cli import cli

HEAVY = (
    "torch",
    "transformers",
    "spacy",
    "great_expectations",
    "cleanlab",
    "nlpaug",
    "sklearn",
    "datasets",
)
SCHEMA = Path(__file__).resolve().parents[1] / "dataqa" / "schema" / "report.schema.json"


@pytest.mark.parametrize(
    "argv", [["--help"], ["audit", "--help"], ["clean", "--help"], ["demo", "--help"]]
)
def test_help_imports_nothing_heavy(argv):
    code = (
        "import sys; from dataqa.cli import cli\n"
        f"try:\n    cli({argv!r}, prog_name='dataqa')\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1].removeprefix("LOADED=")
    assert loaded == "", f"`dataqa {' '.join(argv)}` imported {loaded}"


def test_help_teaches_with_examples():
    out = CliRunner().invoke(cli, ["audit", "--help"]).output
    assert "Examples:" in out and "dataqa audit train.csv" in out and "Exit codes" in out


def write_demo(tmp_path, demo):
    from dataqa.dataset import write_table

    train, test, _ = demo
    write_table(train, tmp_path / "train.csv", index=False)
    write_table(test, tmp_path / "test.csv", index=False)
    return str(tmp_path / "train.csv"), str(tmp_path / "test.csv")


@pytest.mark.slow
def test_audit_json_matches_schema_and_exit_codes(tmp_path, demo):
    import jsonschema

    train, test = write_demo(tmp_path, demo)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        cli,
        [
            "audit",
            train,
            "--against",
            test,
            "--checks",
            "hygiene,duplicates",
            "--json",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 1  # the demo holds error-level findings
    report = json.loads(out.read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert report["meta"]["input"]["rows"] == len(demo[0])
    assert any(f["check"] == "duplicates.leakage" for f in report["findings"])
    never = CliRunner().invoke(
        cli, ["audit", train, "--checks", "hygiene", "--fail-on", "never", "-q"]
    )
    assert never.exit_code == 0


def test_clean_file_passes_with_fail_on_error(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(
        "text,label\nthe kettle works well,pos\nthe lamp broke quickly,neg\n"
        "customer service was friendly,pos\nthe box arrived damaged,neg\n"
    )
    res = CliRunner().invoke(cli, ["audit", str(path), "--checks", "hygiene,duplicates", "-q"])
    assert res.exit_code == 0, res.output


def test_json_to_stdout_is_pure_json(tmp_path, demo):
    train, _ = write_demo(tmp_path, demo)
    res = CliRunner().invoke(
        cli, ["audit", train, "--checks", "hygiene", "--json", "-", "--fail-on", "never"]
    )
    assert json.loads(res.stdout)["schema_version"].startswith("1.")


@pytest.mark.slow
def test_determinism_same_seed_same_findings(demo):
    from dataqa.stages.audit import audit

    train, _, _ = demo
    a = audit(train, checks=["hygiene", "duplicates"], seed=3).to_dict()
    b = audit(train, checks=["hygiene", "duplicates"], seed=3).to_dict()
    assert len(a["findings"]) >= 10  # comparing two empty lists would prove nothing
    assert a["findings"] == b["findings"] and a["stats"] == b["stats"]


@pytest.mark.slow
def test_demo_command_writes_report_and_finds_planted_problems(tmp_path):
    res = CliRunner().invoke(
        cli,
        ["demo", "--out", str(tmp_path), "--rows", "800", "--no-finetune"]
        if "--no-finetune" in CliRunner().invoke(cli, ["demo", "--help"]).output
        else ["demo", "--out", str(tmp_path), "--rows", "800"],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "audit.json").read_text())
    detection = {row["problem"]: row for row in report["meta"]["demo"]["detection"]}
    for problem in (
        "exact_duplicates",
        "mojibake",
        "pii",
        "markup",
        "control_chars",
        "empty_text",
        "missing_label",
        "foreign_language",
        "leaked_into_test",
    ):
        assert detection[problem]["recall"] == 1.0, problem
    # ... and not by flagging everything: most rows come through the audit unflagged
    flagged = {
        r
        for f in report["findings"]
        if f["row_ids"] and f["check"] != "size.per_class"
        for r in f["row_ids"]
        if not f["check"].startswith(("balance", "bias", "rules"))
    }
    assert len(flagged) < 0.5 * report["meta"]["input"]["rows"]
    assert (tmp_path / "clean.csv").exists() and (tmp_path / "clean.quarantine.csv").exists()
