"""The package as others install it: a distribution name of its own, install hints that
name it and its real extras, type information shipped (`py.typed`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_distribution_is_not_the_taken_name_and_keeps_the_command():
    # `dataqa` on the package index is an unrelated client library (it ships no command)
    assert PROJECT["name"] == "dataqa-finetune"
    assert PROJECT["scripts"] == {"dataqa": "dataqa.cli:main"}
    assert f"pip install {PROJECT['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_install_hint_names_this_distribution_and_a_real_extra():
    extras = set(PROJECT["optional-dependencies"])
    hints = []
    for path in [*(ROOT / "dataqa").rglob("*.py"), ROOT / "rules" / "README.md"]:
        text = path.read_text(encoding="utf-8")
        hints += [(path, m) for m in re.findall(r"pip install '([\w.-]+)\[([^\]]+)\]'", text)]
    assert hints
    for path, (dist, extra) in hints:
        assert dist == PROJECT["name"], path
        assert extra == "{extra}" or set(extra.split(",")) <= extras, (path, extra)
    for extra in PROJECT["optional-dependencies"]["all"][0].split("[")[1].rstrip("]").split(","):
        assert extra in extras


def test_type_information_ships_with_the_package():
    assert (ROOT / "dataqa" / "py.typed").exists()
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert "py.typed" in tool["setuptools"]["package-data"]["dataqa"]
    assert "dataqa/stages" in tool["mypy"]["files"]


def test_core_dependencies_cover_what_the_core_commands_import():
    # found by installing the package alone: the options models and the duplicate check
    deps = " ".join(PROJECT["dependencies"])
    for module in ("pydantic", "scipy", "altair", "vl-convert-python", "pyarrow"):
        assert module in deps, module


def test_without_datasets_hf_output_says_which_extra_to_install(tmp_path, monkeypatch):
    import sys

    import pandas as pd
    from click.testing import CliRunner

    from dataqa.cli import cli

    src = tmp_path / "train.csv"
    pd.DataFrame({"text": ["a good film", "a bad film"] * 5, "label": ["pos", "neg"] * 5}).to_csv(
        src, index=False
    )
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    res = CliRunner().invoke(
        cli, ["clean", str(src), "-o", str(tmp_path / "out"), "--output-format", "hf", "-q"]
    )
    assert res.exit_code == 2, res.output
    assert "pip install 'dataqa-finetune[hf]'" in res.output
    assert "internal error" not in res.output and not (tmp_path / "out").exists()
