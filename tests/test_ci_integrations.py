"""The pre-commit hook (.pre-commit-hooks.yaml) and the GitHub Action (action.yml), run
locally: the hook through pre-commit on a temporary git repository, the action's steps
as the runner would run them (bash, the same environment variables and outputs).

Both run offline against the dataqa under test (a `dataqa` shim on PATH): pre-commit's
own install of the hook (`language: python`, a fresh virtualenv from the package index)
is exercised by `test_try_repo_installs_the_hook`, which needs the network and runs only
with DATAQA_TRY_REPO=1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GOOD = [
    "the delivery came on time and the box was intact",
    "customer service answered my question within an hour",
    "the refund reached my account two days later",
    "setup took five minutes and everything worked",
    "the screen is bright and easy to read outdoors",
    "battery life is shorter than the listing promised",
    "the strap broke after a week of normal use",
    "support never replied to my three emails",
    "the colour looks nothing like the product photos",
    "it stopped charging after the latest update",
]
LABELS = ["pos"] * 5 + ["neg"] * 5


def _write_csv(path: Path, texts: list[str], labels: list[str]) -> Path:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


@pytest.fixture()
def shim(tmp_path) -> dict:
    """Environment whose `dataqa` runs the package under test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "dataqa"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dataqa "$@"\n', encoding="utf-8")
    exe.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PRE_COMMIT"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# ------------------------------------------------------------------ the pre-commit hook


def _hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "dataqa-audit"]
    return hook


def test_hook_definition_is_valid_for_pre_commit():
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit not installed")
    hooks = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    hook = {h["id"]: h for h in hooks}["dataqa-audit"]
    assert hook["language"] == "python" and hook["entry"] == "dataqa audit"
    files = re.compile(hook["files"])
    assert files.search("data/train.csv") and files.search("x/y.jsonl.gz")
    assert not files.search("README.md") and not files.search("setup.py")


def test_hook_passes_clean_data_and_fails_on_errors(tmp_path, shim):
    if shutil.which("pre-commit", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("pre-commit is not installed")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    good = _write_csv(repo / "data" / "good.csv", GOOD, LABELS)
    _write_csv(repo / "data" / "bad.csv", [*GOOD[:9], ""], LABELS)  # an empty row: an error
    (repo / "notes.txt").write_text("not a dataset\n", encoding="utf-8")
    hook = {**_hook(), "language": "system"}  # the dataqa under test, not a fresh install
    hook["args"] = [*hook["args"], "--checks", "hygiene,duplicates"]
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**shim, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    pre_commit = [sys.executable, "-m", "pre_commit"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*pre_commit, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )

    for cmd in (["init", "-q"], ["config", "user.email", "t@example.invalid"],
                ["config", "user.name", "t"], ["add", "-A"]):  # fmt: skip
        subprocess.run(["git", *cmd], cwd=repo, check=True, capture_output=True)
    ok = run("run", "dataqa-audit", "--files", str(good.relative_to(repo)), "notes.txt")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout
    bad = run("run", "dataqa-audit", "--all-files")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "data/bad.csv" in bad.stdout
    assert "data/good.csv: findings" not in bad.stdout  # only the bad file is named


@pytest.mark.slow
def test_try_repo_installs_the_hook(tmp_path, shim):
    """pre-commit try-repo: a virtualenv with the package from this checkout (network)."""
    if os.environ.get("DATAQA_TRY_REPO") != "1":
        pytest.skip("set DATAQA_TRY_REPO=1 (installs dataqa and its dependencies from the index)")
    repo = tmp_path / "repo"
    repo.mkdir()
    _write_csv(repo / "data" / "bad.csv", [*GOOD[:9], ""], LABELS)
    # the hook as shipped runs every installed check: a good set needs 50 rows a class
    items = ["kettle", "toaster", "blender", "lamp", "heater", "fan", "radio", "clock",
             "camera", "speaker", "router", "printer"]  # fmt: skip
    pos = ["the {} arrived on time and works perfectly", "great {} for the price",
           "I am very happy with this {} and it does the job", "the {} is easy to use",
           "excellent {} and setup took two minutes"]  # fmt: skip
    neg = ["the {} broke after a week of normal use", "the {} was damaged when it arrived",
           "support never answered about my faulty {}", "this {} is noisy and feels cheap",
           "the {} stopped working after the update"]  # fmt: skip
    _write_csv(
        repo / "data" / "good.csv",
        [t.format(i) for t in pos + neg for i in items],
        ["pos"] * 60 + ["neg"] * 60,
    )
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = {k: v for k, v in shim.items() if k != "PYTHONPATH"}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pc-home")
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "dataqa-audit", "--all-files"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "Traceback" not in out  # the installed package runs: every dependency declared
    assert "data/bad.csv: findings at or above error" in out
    assert "data/good.csv: findings" not in out


# ------------------------------------------------------------------ the GitHub Action


EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def run_action(inputs: dict, workdir: Path, env: dict) -> dict:
    """The composite action's steps, run as the runner would: `${{ }}` expressions
    substituted, each `run:` under `bash -eo pipefail` with its `env:` and
    GITHUB_OUTPUT, `uses:` steps recorded (they need GitHub), the install step skipped
    (it needs the network; the package under test is installed)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    given = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | inputs
    missing = [k for k, v in action["inputs"].items() if v.get("required") and k not in inputs]
    assert not missing, missing
    temp = workdir / "runner-temp"
    temp.mkdir()
    outputs: dict[str, dict] = {}
    record: dict = {"uses": [], "outputs": outputs, "code": 0}

    def expand(text: str) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return given[expr.split(".", 1)[1]]
            if expr == "runner.temp":
                return str(temp)
            step, _, name = expr.removeprefix("steps.").partition(".outputs.")
            return outputs.get(step, {}).get(name, "")

        return EXPR.sub(one, text)

    for step in action["runs"]["steps"]:
        if "uses" in step:
            record["uses"].append(
                {
                    "uses": step["uses"],
                    "if": step.get("if"),
                    "with": {k: expand(str(v)) for k, v in (step.get("with") or {}).items()},
                }
            )
            continue
        if step.get("id") == "install":
            assert step["run"] == 'python -m pip install --quiet "$DQ_PACKAGE"'
            continue
        out_file = temp / f"output-{len(outputs)}"
        out_file.touch()
        step_env = {**env, "GITHUB_OUTPUT": str(out_file)}
        step_env |= {k: expand(str(v)) for k, v in (step.get("env") or {}).items()}
        assert "${{" not in step["run"], "expressions belong in env:, not in the script"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workdir, env=step_env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        pairs = [line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line]
        outputs[step.get("id", f"step{len(outputs)}")] = dict(pairs)
        record["code"] = done.returncode
        record.setdefault("logs", []).append(done.stdout + done.stderr)
        if done.returncode != 0:
            break
    return record


@pytest.mark.parametrize(
    "rows, fail_on, code",
    [
        (([*GOOD[:9], ""], LABELS), "error", 1),  # an empty row is an error
        (([*GOOD, GOOD[0]], [*LABELS, "pos"]), "error", 0),  # a duplicate is no error
        (([*GOOD, GOOD[0]], [*LABELS, "pos"]), "info", 1),  # but counts when asked to
    ],
)
def test_action_gates_on_the_threshold_and_uploads_the_report(tmp_path, shim, rows, fail_on, code):
    data = _write_csv(tmp_path / "data" / "train.csv", *rows)
    record = run_action(
        {"path": str(data.relative_to(tmp_path)), "fail-on": fail_on,
         "args": "--checks hygiene,duplicates"},
        tmp_path, shim,
    )  # fmt: skip
    assert record["outputs"]["audit"]["exit-code"] == str(code), record.get("logs")
    assert record["code"] == code  # the last step fails the job exactly then
    (upload,) = [u for u in record["uses"] if "upload-artifact" in u["uses"]]
    assert upload["if"] == "always()"  # the report is uploaded when the gate fails, too
    folder = Path(upload["with"]["path"])
    assert folder == Path(record["outputs"]["audit"]["report-dir"])
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["report.flagged.csv", "report.html", "report.json"]
    assert "Ready to fine-tune?" in (folder / "report.html").read_text(encoding="utf-8")


def test_action_reports_a_bad_input_as_2(tmp_path, shim):
    record = run_action({"path": "missing.csv"}, tmp_path, shim)
    assert record["outputs"]["audit"]["exit-code"] == "2"
    assert record["code"] == 2


def test_audit_takes_several_files_and_exits_with_the_worst(tmp_path):
    from click.testing import CliRunner

    from dataqa.cli import cli

    good = _write_csv(tmp_path / "good.csv", GOOD, LABELS)
    bad = _write_csv(tmp_path / "bad.csv", [*GOOD[:9], ""], LABELS)
    args = ["audit", "--checks", "hygiene", "--fail-on", "error", "-q"]
    assert CliRunner().invoke(cli, [*args, str(good)]).exit_code == 0
    run = CliRunner().invoke(cli, [*args, str(good), str(bad)])
    assert run.exit_code == 1 and f"{bad}: findings at or above error" in run.output
    assert str(good) + ":" not in run.output
    run = CliRunner().invoke(cli, [*args, str(good), str(bad), "--json", str(tmp_path / "r.json")])
    assert run.exit_code == 2 and "one report" in run.output
