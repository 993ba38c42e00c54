"""The docs site's generated pages: every check's options and finding kinds come from
the code (docs/hooks.py), every page is in the navigation. `make docs` builds the site
with --strict."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hooks():
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_check_pages_list_every_option_and_kind(hooks, monkeypatch):
    from dataqa.checks import REGISTRY, check_class, installed

    example = {"check": "x.y", "severity": "info", "message": "m", "row_ids": list(range(50))}
    monkeypatch.setattr(hooks, "_examples", lambda: {n: dict(example) for n in REGISTRY})
    pages = hooks.check_pages()
    assert set(pages) == set(REGISTRY)
    for name in REGISTRY:
        if not installed(name):
            assert "pip install" in pages[name]
            continue
        cls = check_class(name)
        for field, info in cls.Options.model_fields.items():
            assert f"`{field}`" in pages[name], (name, field)
            if info.description:
                assert info.description.split("\n")[0][:40].replace("|", "\\|") in pages[name]
        for kind in cls.kinds:
            assert f"`{kind.name}`" in pages[name] and kind.summary in pages[name]
        assert '"row_ids": [\n  0,' in pages[name] and "\n  10" not in pages[name]  # shortened


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!!", ""))

    def walk(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for n in node:
                yield from walk(n)
        elif isinstance(node, dict):
            for v in node.values():
                yield from walk(v)

    nav = set(walk(config["nav"]))
    written = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert written <= nav
    generated = {"checks/index.md", "reference/cli.md", "reference/pipeline.md",
                 "reference/report-schema.md", "reference/rules-schema.md",
                 "reference/pipeline-schema.md"}  # fmt: skip
    assert generated <= nav
    assert config["theme"]["font"] is False  # no web fonts: offline


def test_every_check_page_is_in_the_navigation(hooks):
    from dataqa.checks import REGISTRY

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!!", ""))
    nav = hooks.on_config(config)["nav"]
    (checks,) = [e["Checks"] for e in nav if isinstance(e, dict) and "Checks" in e]
    assert checks == ["checks/index.md", *(f"checks/{n}.md" for n in REGISTRY)]
    assert "checks/conversations.md" in checks


def test_make_docs_lets_strict_see_warnings():
    # `mkdocs build -q` raises the log level past WARNING, so --strict would count nothing
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    (line,) = [x for x in make.splitlines() if "mkdocs build" in x]
    assert "--strict" in line and " -q" not in line.split("#")[0]
