"""User rules (YAML -> great-expectations in memory + dataqa-native rules): planted
violations are found with the right row ids, clean data passes, bad rule files name the
file, line and rule, and the CLI exit code follows --fail-on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dataqa.checks.base import CheckResult, Context
from dataqa.checks.rules import RULE_TYPES, load_rules, parse_rules
from dataqa.errors import DataQAError
from dataqa.findings import Finding

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(text: str, tmp_path: Path, frame: pd.DataFrame | None = None) -> str:
    """The one-paragraph message a bad rules file gives (parsing, or compiling on `frame`)."""
    path = write(tmp_path, text)
    with pytest.raises(DataQAError) as info:
        rules = load_rules(path)
        if frame is not None:
            run_rules(frame, path)
        else:
            assert rules is None  # parsing should have failed
    return str(info.value)


def run_rules(frame: pd.DataFrame, path: Path, results: dict | None = None, **roles):
    from dataqa.checks.rules import RulesCheck
    from dataqa.dataset import from_frame

    ds = from_frame(frame, **roles)
    return RulesCheck(path=str(path)).run(ds, Context(results=results or {}))


def by_name(result) -> dict[str, Finding]:
    return {f.check.removeprefix("rules."): f for f in result.findings}


# --------------------------------------------------------------- bad rule files


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    msg = error_of(
        """
        rules:
          - name: a
            type: not_null
            column: $text
          - name: b
            type: in_set
            values: [x, y
        """,
        tmp_path,
    )
    assert "rules.yaml" in msg and "not valid YAML" in msg
    assert re.search(r"line (7|8)\b", msg), msg


def test_unknown_rule_type_names_line_and_rule_and_suggests(tmp_path):
    msg = error_of(
        """
        rules:
          - name: first
            type: not_null
            column: $text
          - name: label_ok
            type: in_sett
            column: $label
            values: [a]
        """,
        tmp_path,
    )
    assert "line 6, rule 'label_ok'" in msg and "'in_sett'" in msg and "'in_set'" in msg


def test_unknown_key_and_missing_key_and_bad_values(tmp_path):
    msg = error_of(
        """
        rules:
          - name: short
            type: length_between
            column: $text
            minimum: 3
        """,
        tmp_path,
    )
    assert "line 5, rule 'short'" in msg and "'minimum'" in msg and "'min'" in msg
    msg = error_of("rules:\n  - name: s\n    type: in_set\n    column: $label\n", tmp_path)
    assert "line 2, rule 's'" in msg and "`values:`" in msg
    msg = error_of(
        "rules:\n  - name: r\n    type: match_regex\n    column: $text\n    pattern: '(unclosed'\n",
        tmp_path,
    )
    assert "line 5, rule 'r'" in msg and "regular expression" in msg
    msg = error_of("rules:\n  - type: max_duplicate_rate\n    max: 5\n", tmp_path)
    assert "line 3" in msg and "between 0 and 1" in msg
    msg = error_of("rules:\n  - type: not_null\n    column: a\n    severity: fatal\n", tmp_path)
    assert "line 4" in msg and "severity" in msg
    msg = error_of("- type: not_null\n", tmp_path)
    assert "line 1" in msg and "`rules:`" in msg
    msg = error_of("rules:\n  - type: not_null\n    column: a\nextra: 1\n", tmp_path)
    assert "line 4" in msg and "'extra'" in msg


def test_duplicate_rule_names_point_at_both(tmp_path):
    msg = error_of(
        """
        rules:
          - name: same
            type: not_null
            column: $text
          - name: same
            type: unique
            column: $text
        """,
        tmp_path,
    )
    assert "line 5, rule 'same'" in msg and "line 2" in msg


def test_wrong_column_names_line_rule_and_close_match(tmp_path):
    pytest.importorskip("great_expectations")
    frame = pd.DataFrame({"text": ["a b", "c d"], "label": ["x", "y"]})
    msg = error_of(
        """
        rules:
          - name: text_present
            type: not_null
            column: $text
          - name: labels_known
            type: in_set
            column: lable
            values: [x, y]
        """,
        tmp_path,
        frame,
    )
    assert "rules.yaml" in msg and "line 7, rule 'labels_known'" in msg
    assert "'lable'" in msg and "did you mean 'label'" in msg


def test_unknown_expectation_and_rejected_arguments(tmp_path):
    pytest.importorskip("great_expectations")
    frame = pd.DataFrame({"text": ["a b", "c d"]})
    msg = error_of(
        """
        rules:
          - name: nope
            type: expectation
            expectation: expect_column_values_to_be_purple
            kwargs: {column: $text}
        """,
        tmp_path,
        frame,
    )
    assert "line 4, rule 'nope'" in msg and "no expectation" in msg
    msg = error_of(
        """
        rules:
          - name: bad_args
            type: expectation
            expectation: ExpectColumnValuesToBeInSet
            kwargs: {column: $text, value_set: 5}
        """,
        tmp_path,
        frame,
    )
    assert "line 5, rule 'bad_args'" in msg and "rejects the arguments" in msg


def test_shipped_rule_files_are_valid_and_documented():
    names = {}
    for f in ("default.yaml", "strict.yaml"):
        rules = load_rules(ROOT / "rules" / f)
        assert rules, f
        names[f] = {r.name for r in rules}
    readme = (ROOT / "rules" / "README.md").read_text(encoding="utf-8")
    for rule_type in RULE_TYPES:
        assert f"`{rule_type}`" in readme, f"rules/README.md does not document {rule_type}"
    assert all(r.severity == "warning" for r in load_rules(ROOT / "rules" / "default.yaml"))


def test_rule_lines_come_from_the_yaml_nodes():
    rules = parse_rules(
        "# c\nrules:\n\n  - type: not_null\n    column: $text\n  - {type: unique, column: t}\n"
    )
    assert [(r.name, r.line) for r in rules] == [("not_null_text", 4), ("unique_t", 6)]


# ------------------------------------------------------------ planted violations


@pytest.fixture()
def planted() -> tuple[pd.DataFrame, dict[str, set]]:
    """200 rows with ids unrelated to positions and known bad rows per rule."""
    rows = [
        {"id": f"row-{1000 - i}", "text": f"review {i}: the kettle works well", "label": "pos"}
        for i in range(200)
    ]
    for i in range(100, 200):
        rows[i]["label"] = "neg"
        rows[i]["text"] = f"review {i}: the kettle broke quickly"
    truth: dict[str, set] = {}

    def plant(rule: str, positions, **values):
        for p in positions:
            rows[p].update(values)
        truth.setdefault(rule, set()).update(rows[p]["id"] for p in positions)

    plant("text_present", [3, 77], text=None)
    plant("known_labels", [10, 150, 151], label="maybe")
    plant("no_emails", [20], text="mail me at someone@example.com please")
    plant("length", [30], text="ok")
    plant("length", [31], text="no")
    plant("no_placeholder", [40], text="  N/A ")
    rows[50]["text"] = rows[51]["text"] = "exactly the same text here"  # unique: both rows
    truth["unique_text"] = {rows[50]["id"], rows[51]["id"]}
    return pd.DataFrame(rows), truth


RULES = """
rules:
  - name: text_present
    type: not_null
    column: $text
  - name: known_labels
    type: in_set
    column: $label
    values: [pos, neg]
  - name: no_emails
    type: not_match_regex
    column: $text
    pattern: '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\\.[A-Za-z]{2,}'
  - name: length
    type: length_between
    column: $text
    min: 5
    max: 200
    severity: warning
  - name: no_placeholder
    type: not_match_regex
    column: $text
    pattern: '^\\s*(?i:n/?a|null|none)\\s*$'
    severity: info
  - name: unique_text
    type: unique
    column: $text
    severity: warning
  - name: enough_rows
    type: row_count_between
    min: 100
  - name: group_skew
    type: max_group_skew
    max: 0.3
"""


def test_planted_violations_found_with_exact_row_ids(tmp_path, planted):
    pytest.importorskip("great_expectations")
    frame, truth = planted
    result = run_rules(frame, write(tmp_path, RULES), id_col="id")
    found = by_name(result)
    assert set(found) == set(truth), sorted(found)
    for name, ids in truth.items():
        assert set(found[name].row_ids) == ids, name
    assert found["length"].severity == "warning" and found["text_present"].severity == "error"
    assert found["no_placeholder"].severity == "info"
    assert found["known_labels"].evidence["unexpected_count"] == 3
    assert found["known_labels"].evidence["line"] == 5
    stats = result.stats
    assert stats["failed"] == len(truth) and stats["passed"] == 1 and stats["skipped"] == 1
    skipped = next(r for r in stats["rules"] if r["status"] == "skipped")
    assert skipped["name"] == "group_skew" and "no group column" in skipped["reason"]
    chart = stats["charts"][0]
    assert chart["type"] == "bar" and sorted(chart["data"]["labels"]) == sorted(truth)
    json.dumps(stats, allow_nan=False)


def test_clean_data_passes_every_rule(tmp_path, planted):
    pytest.importorskip("great_expectations")
    frame, _ = planted
    clean = pd.DataFrame(
        {
            "id": frame["id"],
            "text": [f"review {i}: the kettle works" for i in range(200)],
            "label": ["pos"] * 100 + ["neg"] * 100,
            "brand": ["a", "b"] * 100,
        }
    )
    result = run_rules(clean, write(tmp_path, RULES), id_col="id", group_col="brand")
    assert result.findings == []
    assert result.stats["passed"] == 8 and result.stats["failed"] == 0


def test_numeric_values_match_text_labels_and_escape_hatch(tmp_path):
    pytest.importorskip("great_expectations")
    frame = pd.DataFrame(
        {"sentence": ["good", "bad", "fine", "odd"], "label": ["1", "0", "1", "2"]}
    )
    path = write(
        tmp_path,
        """
        rules:
          - name: binary
            type: in_set
            column: label
            values: [0, 1]
          - name: short_words
            type: expectation
            expectation: expect_column_value_lengths_to_be_between
            kwargs: {column: $text, max_value: 3}
            severity: warning
        """,
    )
    found = by_name(run_rules(frame, path))
    assert found["binary"].row_ids == [3]
    assert set(found["short_words"].row_ids) == {0, 2}


# -------------------------------------------------------------------- native rules


def test_native_rules_on_planted_data(tmp_path):
    pytest.importorskip("great_expectations")
    texts = [f"sentence number {i}" for i in range(100)]
    texts[10:15] = ["the same sentence"] * 5  # 4 redundant rows
    labels = ["a"] * 70 + ["b"] * 27 + ["c"] * 3
    brand = ["x" if lab == "a" else "y" for lab in labels]  # the brand decides the label
    frame = pd.DataFrame({"text": texts, "label": labels, "brand": brand})
    path = write(
        tmp_path,
        """
        rules:
          - {name: dups, type: max_duplicate_rate, max: 0.02}
          - {name: thin, type: min_rows_per_class, min: 5}
          - {name: imbalance, type: max_class_imbalance, max: 10}
          - {name: skew, type: max_group_skew, max: 0.5}
          - {name: noise, type: max_label_noise_rate, max: 0.05}
          - {name: off_topic, type: max_off_topic_rate, max: 0.05}
        """,
    )
    result = run_rules(frame, path, group_col="brand")
    found = by_name(result)
    assert set(found["dups"].row_ids) == {11, 12, 13, 14}
    assert found["dups"].evidence["rate"] == 0.04
    assert set(found["thin"].row_ids) == {97, 98, 99}
    assert found["imbalance"].evidence["counts"] == {"a": 70, "b": 27, "c": 3}
    assert found["skew"].evidence["cramers_v"] > 0.9
    status = {r["name"]: r["status"] for r in result.stats["rules"]}
    assert status["noise"] == "skipped" and status["off_topic"] == "skipped"

    # with the other checks' results of the same audit, the rates are read from them
    results = {
        "labels": CheckResult(
            [
                Finding("labels.issue", "warning", "x", row_ids=list(range(8))),
                Finding("labels.outlier", "info", "not a label error", row_ids=[50, 51]),
            ],
            {"noise_rate": {"overall": 0.09}},
        ),
        "relevance": CheckResult(
            [Finding("relevance.off_topic", "warning", "x", row_ids=[1, 2])], {"rows_scored": 100}
        ),
        "duplicates": CheckResult(
            [Finding("duplicates.exact", "warning", "x", row_ids=[10, 11], fix={"keep": 10})]
        ),
    }
    found = by_name(run_rules(frame, path, results=results, group_col="brand"))
    assert found["noise"].row_ids == list(range(8))  # labels.issue rows only
    assert found["noise"].evidence["rate"] == 0.09  # cleanlab's estimate, not 8 / 100
    assert "off_topic" not in found  # 2% <= 5%
    assert "dups" not in found  # the duplicates check saw one redundant row: 1% <= 2%


def test_audit_runs_rules_last_and_reads_duplicates(tmp_path):
    pytest.importorskip("great_expectations")
    from dataqa.stages.audit import audit

    frame = pd.DataFrame({"text": [f"text {i} here" for i in range(40)] + ["dup row"] * 10})
    path = write(tmp_path, "rules:\n  - {name: dups, type: max_duplicate_rate, max: 0.05}\n")
    report = audit(frame, checks=["rules", "duplicates"], options={"rules": {"path": str(path)}})
    assert list(report.meta["timings_s"]) == ["duplicates", "rules"]
    (f,) = report.by_check("rules")
    assert f.evidence["source"] == "duplicates check" and len(f.row_ids) == 9


# --------------------------------------------------------------------------- CLI


def test_cli_exit_codes_follow_fail_on(tmp_path, planted):
    pytest.importorskip("great_expectations")
    from dataqa.cli import cli

    frame, truth = planted
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    rules = write(tmp_path, RULES)
    base = ["audit", str(data), "--id-col", "id", "--checks", "hygiene", "-q"]
    out = tmp_path / "r.json"
    res = CliRunner().invoke(cli, [*base, "--rules", str(rules), "--json", str(out)])
    assert res.exit_code == 1, res.output
    report = json.loads(out.read_text())
    assert report["meta"]["checks"] == ["hygiene", "rules"]
    got = {
        f["check"]: set(f["row_ids"]) for f in report["findings"] if f["check"].startswith("rules.")
    }
    assert got == {f"rules.{k}": v for k, v in truth.items()}

    clean = tmp_path / "clean.csv"
    pd.DataFrame({"text": ["one text", "another text", "one text"], "label": ["a"] * 3}).to_csv(
        clean, index=False
    )
    warn_only = write(
        tmp_path, "rules:\n  - {type: unique, column: $text, severity: warning}\n", "w.yaml"
    )
    gate = ["audit", str(clean), "--checks", "rules", "-q", "--rules", str(warn_only)]
    res = CliRunner().invoke(cli, gate)
    assert res.exit_code == 0, res.output  # a warning does not reach --fail-on error
    assert CliRunner().invoke(cli, [*gate, "--fail-on", "warning"]).exit_code == 1

    bad = write(tmp_path, "rules:\n  - type: not_null\n    column: txet\n", "bad.yaml")
    res = CliRunner().invoke(cli, [*base, "--rules", str(bad)])
    assert res.exit_code == 2
    assert "bad.yaml" in res.output and "line 3" in res.output and "'txet'" in res.output
    res = CliRunner().invoke(cli, [*base, "--rules", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "no such rules file" in res.output


@pytest.mark.slow
def test_audit_help_does_not_import_great_expectations():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dataqa.cli import cli\n"
        "r = CliRunner().invoke(cli, ['audit', '--help'])\n"
        "assert r.exit_code == 0 and '--rules' in r.output and '--reference' in r.output\n"
        "import dataqa.checks.rules, dataqa.checks.relevance\n"
        "heavy = [m for m in ('great_expectations', 'sklearn', 'torch') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_rules_json_schema_is_current_and_accepts_the_shipped_files():
    import json

    import jsonschema
    import yaml

    from dataqa.checks.rules.spec import rules_json_schema

    schema = rules_json_schema()
    shipped = Path(__file__).resolve().parents[1] / "dataqa" / "schema" / "rules.schema.json"
    assert json.loads(shipped.read_text()) == schema, "regenerate dataqa/schema/rules.schema.json"
    for path in (Path(__file__).resolve().parents[1] / "rules").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if "rules" in doc:
            jsonschema.validate(doc, schema)
    bad = {"rules": [{"type": "in_set", "column": "$label"}]}  # `values:` missing
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
