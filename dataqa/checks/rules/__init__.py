"""The rules check: the user's YAML rules, run on the dataset.

The file format is `spec`, row and table rules run through great-expectations in `gx`,
the rules only dataqa can evaluate in `native`.

Each failed rule becomes one Finding `rules.<rule name>` with the rule's severity and the
ids of the rows that break it (when the rule is about rows), so
`dataqa audit --rules FILE --fail-on error` gives CI an exit code. The check runs after
every other check of the audit (dataqa.stages.audit orders it last) because the dataqa-native
rules read their results: duplicate, label-noise and off-topic rates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import Field

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.checks.rules.gx import compile_rule, run_expectations
from dataqa.checks.rules.native import evaluate_native, skipped
from dataqa.checks.rules.spec import RULE_TYPES, Rule, load_rules, parse_rules
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Kind, Review
from dataqa.options import Options

DEFAULT_RULES = Path(__file__).resolve().parents[3] / "rules" / "default.yaml"
"""rules/default.yaml of the source tree, used when no `path` is given."""


class RulesOptions(Options):
    """Options of the rules check."""

    path: str | None = Field(
        None, description="A rules YAML file or folder of them (default: rules/default.yaml)."
    )


KINDS = (Kind("rules.*", "warning", Review, "a rule of yours that failed"),)


class RulesCheck(Check):
    name = "rules"
    needs = ("text",)

    Options = RulesOptions
    kinds = KINDS

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        path = self.params["path"]
        if path is None:
            if not DEFAULT_RULES.is_file():
                note = "rules: no rules file given and rules/default.yaml not found; use --rules"
                ctx.notes.append(note)
                return CheckResult([], {"skipped": note})
            path = DEFAULT_RULES
        rules = load_rules(path)
        results = dict(getattr(ctx, "results", {}) or {})
        outcomes = evaluate_rules(rules, ds, results)
        findings = [
            finding(rule, outcomes[rule.name])
            for rule in rules
            if outcomes[rule.name]["status"] == "failed"
        ]
        return CheckResult(findings, rule_stats(str(path), rules, outcomes))


def evaluate_rules(rules: list[Rule], ds: Dataset, results: dict) -> dict[str, dict]:
    """Outcome per rule name: status passed|failed|skipped, observed value, failing row ids."""
    frame = ds.frame.reset_index(drop=True)  # GX reports failing rows by position
    roles = ds.roles.as_dict()
    outcomes: dict[str, dict] = {}
    compiled = []
    for rule in rules:
        if rule.engine != "gx":
            continue
        spec = compile_rule(rule, frame, roles)
        if spec is None:
            outcomes[rule.name] = skipped(f"the data has no column for {rule.describe()}")
            continue
        cls_name, kwargs = spec
        if isinstance(kwargs.get("value_set"), list) and "column" in kwargs:
            kwargs["value_set"] = match_value_types(kwargs["value_set"], frame[kwargs["column"]])
        compiled.append((rule, cls_name, kwargs))
    gx_results = run_expectations(frame, compiled)
    ids = ds.ids
    for rule in rules:
        if rule.engine == "gx" and rule.name in gx_results:
            outcomes[rule.name] = gx_outcome(rule, gx_results[rule.name], ids)
        elif rule.engine != "gx":
            outcomes[rule.name] = evaluate_native(rule, ds, results)
    return outcomes


def match_value_types(values: list, column: pd.Series) -> list:
    """YAML `values: [0, 1]` against a text column holding "0"/"1": compare as text, the way
    dataqa reads labels (1 and "1" are one class)."""
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        return [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values]
    return values


def gx_outcome(rule: Rule, res: dict, ids: pd.Index) -> dict:
    evidence = {
        k: res[k]
        for k in ("unexpected_count", "element_count", "unexpected_percent", "observed_value")
        if res.get(k) is not None
    }
    observed = res.get("observed_value")
    if observed is None:
        observed = res.get("unexpected_count")
    if res["success"]:
        return {
            "status": "passed",
            "observed": observed,
            "row_ids": [],
            "message": "",
            "evidence": evidence,
        }
    rows = [ids[i] for i in res["positions"] if 0 <= i < len(ids)]
    if res.get("unexpected_count") is not None:
        n, total = res["unexpected_count"], res.get("element_count")
        what = f"{n} of {total} rows break it" if total else f"{n} rows break it"
    else:
        what = f"observed {res.get('observed_value')!r}"
    return {
        "status": "failed",
        "observed": observed,
        "row_ids": rows,
        "message": what,
        "evidence": evidence,
    }


def finding(rule: Rule, outcome: dict) -> Finding:
    text = f"rule {rule.name!r} ({rule.describe()}) failed: {outcome['message']}"
    if rule.description:
        text += f" — {rule.description}"
    return Finding(
        check=f"rules.{rule.name}",
        severity=rule.severity,
        message=text,
        row_ids=list(outcome["row_ids"]),
        evidence={
            "rule": {"type": rule.type, **rule.params},
            "file": rule.file,
            "line": rule.line,
            **outcome["evidence"],
        },
        fix={"action": "review"},
    )


def rule_stats(path: str, rules: list[Rule], outcomes: dict[str, dict]) -> dict:
    table = [
        {
            "name": r.name,
            "type": r.type,
            "severity": r.severity,
            "line": r.line,
            "status": outcomes[r.name]["status"],
            "observed": outcomes[r.name]["observed"],
            "failing_rows": len(outcomes[r.name]["row_ids"]),
            **(
                {"reason": outcomes[r.name]["message"]}
                if outcomes[r.name]["status"] == "skipped"
                else {}
            ),
        }
        for r in rules
    ]
    status = [row["status"] for row in table]
    failed = [row for row in table if row["status"] == "failed"]
    return {
        "file": path,
        "rules": table,
        "passed": status.count("passed"),
        "failed": status.count("failed"),
        "skipped": status.count("skipped"),
        "charts": [
            {
                "id": "rules_failing_rows",
                "type": "bar",
                "title": "Rows breaking each failed rule",
                "x_label": "rule",
                "y_label": "rows",
                "data": {
                    "labels": [row["name"] for row in failed],
                    "values": [row["failing_rows"] for row in failed],
                },
            }
        ]
        if failed
        else [],
    }


__all__ = ["DEFAULT_RULES", "RULE_TYPES", "RulesCheck", "RulesOptions", "load_rules", "parse_rules"]
