"""User rules, the file format: YAML files the user edits, checked in memory with great-expectations.

A rules file is a mapping with a `rules:` list; each rule has a `type` (see
`RULE_TYPES` and rules/README.md), an optional `name` (findings are `rules.<name>`), a
`severity` and the type's own keys. Column names may be written literally or as a role:
`$text`, `$label`, `$group`, `$id` (the columns dataqa picked or `--text-col` etc. named),
so one file fits many datasets.

Two engines:
- **great-expectations 1.x** for the row- and table-level rules (`not_null`, `in_set`,
  `match_regex`, `length_between`, ... and the `expectation:` escape hatch that runs any
  GX expectation by name). They are compiled into one `ExpectationSuite` and validated
  on the dataframe in an ephemeral context: no project folder, nothing written.
  `result_format=COMPLETE` returns the positions of the failing rows, which map back to
  dataqa row ids.
- **dataqa-native** rules for what GX cannot see: duplicate rate, estimated label-noise
  rate, off-topic rate (read from the other checks of the same audit), rows per class,
  class imbalance, and label skew across groups (Cramér's V).

A bad file (YAML syntax, unknown rule type or key, wrong value, unknown column) raises a
`DataQAError` naming the file, the line and the rule. Only `yaml.safe_load`/`compose`
with the safe loader are used. great-expectations is imported inside `run_expectations`
only (it takes seconds to import).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dataqa.errors import DataQAError

SEVERITIES = ("info", "warning", "error")
ROLES = ("text", "label", "group", "id")
COMMON_KEYS = ("name", "type", "severity", "description")
TOP_LEVEL_KEYS = ("rules", "version", "description")


@dataclass(frozen=True)
class RuleType:
    engine: str  # "gx" or "native"
    required: tuple[str, ...]
    optional: tuple[str, ...]
    summary: str
    gx_class: str | None = None


RULE_TYPES: dict[str, RuleType] = {
    # great-expectations, row level: failing rows become the finding's row ids
    "not_null": RuleType(
        "gx", ("column",), ("mostly",), "no missing values", "ExpectColumnValuesToNotBeNull"
    ),
    "unique": RuleType(
        "gx", ("column",), ("mostly",), "no repeated values", "ExpectColumnValuesToBeUnique"
    ),
    "in_set": RuleType(
        "gx",
        ("column", "values"),
        ("mostly",),
        "every value is one of `values`",
        "ExpectColumnValuesToBeInSet",
    ),
    "not_in_set": RuleType(
        "gx",
        ("column", "values"),
        ("mostly",),
        "no value is one of `values`",
        "ExpectColumnValuesToNotBeInSet",
    ),
    "match_regex": RuleType(
        "gx",
        ("column", "pattern"),
        ("mostly",),
        "every value contains a match of `pattern`",
        "ExpectColumnValuesToMatchRegex",
    ),
    "not_match_regex": RuleType(
        "gx",
        ("column", "pattern"),
        ("mostly",),
        "no value contains a match of `pattern`",
        "ExpectColumnValuesToNotMatchRegex",
    ),
    "length_between": RuleType(
        "gx",
        ("column",),
        ("min", "max", "mostly"),
        "text length (characters) within [min, max]",
        "ExpectColumnValueLengthsToBeBetween",
    ),
    "values_between": RuleType(
        "gx",
        ("column",),
        ("min", "max", "mostly"),
        "numeric values within [min, max]",
        "ExpectColumnValuesToBeBetween",
    ),
    # great-expectations, table level
    "row_count_between": RuleType(
        "gx",
        (),
        ("min", "max"),
        "number of rows within [min, max]",
        "ExpectTableRowCountToBeBetween",
    ),
    "column_exists": RuleType(
        "gx", ("column",), (), "the column is present", "ExpectColumnToExist"
    ),
    "expectation": RuleType(
        "gx", ("expectation",), ("kwargs",), "any great-expectations expectation, by name"
    ),
    # dataqa-native
    "max_duplicate_rate": RuleType(
        "native",
        ("max",),
        ("kind",),
        "share of redundant duplicate rows (exact, near or any) at most `max`",
    ),
    "max_label_noise_rate": RuleType(
        "native", ("max",), (), "share of rows the labels check suspects at most `max`"
    ),
    "max_off_topic_rate": RuleType(
        "native", ("max",), (), "share of rows the relevance check flags at most `max`"
    ),
    "min_rows_per_class": RuleType("native", ("min",), (), "every class has at least `min` rows"),
    "max_class_imbalance": RuleType(
        "native", ("max",), (), "largest class / smallest class at most `max`"
    ),
    "max_group_skew": RuleType(
        "native",
        ("max",),
        ("min_rows",),
        "Cramér's V between group and label at most `max`",
    ),
}

RATE_KEYS = {"max_duplicate_rate", "max_label_noise_rate", "max_off_topic_rate", "max_group_skew"}
DUPLICATE_KINDS = ("exact", "near", "any")


@dataclass(frozen=True)
class Rule:
    name: str
    type: str
    params: dict
    severity: str
    description: str | None
    file: str
    line: int
    key_lines: dict = field(default_factory=dict, compare=False)

    def error(self, problem: str, key: str | None = None, hint: str | None = None) -> DataQAError:
        line = self.key_lines.get(key, self.line) if key else self.line
        return rule_error(self.file, line, self.name, problem, hint)

    @property
    def engine(self) -> str:
        return RULE_TYPES[self.type].engine

    def describe(self) -> str:
        col = self.params.get("column")
        return f"{self.type}" + (f" on {col}" if col else "")


def rule_error(
    path: str, line: int | None, rule: str | None, problem: str, hint: str | None = None
) -> DataQAError:
    where = []
    if line is not None:
        where.append(f"line {line}")
    if rule is not None:
        where.append(f"rule {rule!r}")
    prefix = ", ".join(where) + ": " if where else ""
    return DataQAError(
        prefix + problem, path=path, hint=hint or "fix the rules file (see rules/README.md)"
    )


def rule_files(path: str | Path) -> list[Path]:
    """The YAML files a `--rules` argument names: one file, or every *.yaml in a folder."""
    p = Path(path)
    if p.is_dir():
        files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        if not files:
            raise DataQAError("the folder holds no *.yaml rules files", path=str(p))
        return files
    if not p.is_file():
        raise DataQAError(
            "no such rules file",
            path=str(p),
            hint="give a YAML file such as rules/default.yaml (see rules/README.md)",
        )
    return [p]


def load_rules(path: str | Path) -> list[Rule]:
    """Read and validate the rules of one file or folder (no data needed, no GX import)."""
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for f in rule_files(path):
        for rule in parse_rules(f.read_text(encoding="utf-8"), str(f)):
            if rule.name in seen:
                first = seen[rule.name]
                raise rule.error(
                    f"the name is already used at {first.file} line {first.line}",
                    key="name",
                    hint="give every rule a unique `name:`",
                )
            seen[rule.name] = rule
            rules.append(rule)
    return rules


def parse_rules(text: str, path: str = "<rules>") -> list[Rule]:
    """Parse the text of one rules file, checking every rule; lines come from the YAML nodes."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(x) for x in (err.context, err.problem) if x)
        raise rule_error(path, line, None, f"not valid YAML ({problem})") from None
    except yaml.YAMLError as err:
        raise rule_error(path, None, None, f"not valid YAML ({err})") from None
    if data is None:
        raise rule_error(path, 1, None, "the file is empty", "write a `rules:` list")
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise rule_error(path, 1, None, "the file must be a mapping with a `rules:` list")
    nodes = {k.value: (k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            line = nodes[str(key)][0].start_mark.line + 1 if str(key) in nodes else 1
            raise rule_error(
                path,
                line,
                None,
                f"unknown top-level key {key!r}",
                f"the top level holds only: {', '.join(TOP_LEVEL_KEYS)}",
            )
    if "rules" not in data:
        raise rule_error(path, 1, None, "there is no `rules:` list")
    items, seq = data["rules"], nodes["rules"][1]
    if items is None:
        return []
    if not isinstance(items, list) or not isinstance(seq, yaml.SequenceNode):
        raise rule_error(
            path, seq.start_mark.line + 1, None, "`rules:` must be a list of rules (- type: ...)"
        )
    return [
        parse_rule(item, node, path, i)
        for i, (item, node) in enumerate(zip(items, seq.value, strict=True))
    ]


def parse_rule(item: Any, node: yaml.Node, path: str, index: int) -> Rule:
    line = node.start_mark.line + 1
    if not isinstance(item, dict):
        raise rule_error(path, line, None, f"rule #{index + 1} must be a mapping (type: ...)")
    key_lines = {
        str(k.value): v.start_mark.line + 1
        for k, v in node.value
        if isinstance(node, yaml.MappingNode) and isinstance(k, yaml.ScalarNode)
    }
    name = item.get("name")
    label = str(name) if name is not None else f"#{index + 1}"
    kind = item.get("type")
    if kind is None:
        raise rule_error(path, line, label, "the rule has no `type:`", types_hint())
    if kind not in RULE_TYPES:
        close = difflib.get_close_matches(str(kind), RULE_TYPES, n=1)
        raise rule_error(
            path,
            key_lines.get("type", line),
            label,
            f"unknown rule type {kind!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
            types_hint(),
        )
    spec = RULE_TYPES[kind]
    if name is None:
        name = default_name(kind, item.get("column"), item.get("expectation"))
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise rule_error(
            path,
            key_lines.get("name", line),
            label,
            f"the name {name!r} is not a simple word",
            "use letters, digits, '_', '-' or '.', e.g. name: no_empty_text",
        )
    allowed = set(COMMON_KEYS) | set(spec.required) | set(spec.optional)
    for key in item:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            raise rule_error(
                path,
                key_lines.get(str(key), line),
                name,
                f"a {kind} rule has no key {key!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                f"its keys are: {', '.join(sorted(allowed))}",
            )
    for key in spec.required:
        if key not in item:
            raise rule_error(path, line, name, f"a {kind} rule needs `{key}:`")
    severity = item.get("severity", "error")
    if severity not in SEVERITIES:
        raise rule_error(
            path,
            key_lines.get("severity", line),
            name,
            f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}",
        )
    params = {k: v for k, v in item.items() if k not in COMMON_KEYS}
    rule = Rule(
        name=name,
        type=kind,
        params=params,
        severity=severity,
        description=item.get("description"),
        file=path,
        line=line,
        key_lines=key_lines,
    )
    validate_values(rule)
    return rule


def default_name(kind: str, column: Any, expectation: Any) -> str:
    parts = [str(expectation) if kind == "expectation" and expectation else kind]
    if isinstance(column, str):
        parts.append(column.lstrip("$"))
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "_".join(parts))


def types_hint() -> str:
    return f"rule types: {', '.join(RULE_TYPES)}"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_values(rule: Rule) -> None:
    """Type and range checks on the rule's own keys, before any data is read."""
    p = rule.params
    if "column" in p and not (isinstance(p["column"], str) and p["column"]):
        raise rule.error("`column:` must be a column name or a role like $text", key="column")
    if "values" in p and not (
        isinstance(p["values"], list) and all(isinstance(v, (str, int, float)) for v in p["values"])
    ):
        raise rule.error("`values:` must be a list of plain values", key="values")
    if "pattern" in p:
        if not isinstance(p["pattern"], str):
            raise rule.error("`pattern:` must be a string (quote it)", key="pattern")
        try:
            re.compile(p["pattern"])
        except re.error as err:
            raise rule.error(
                f"`pattern:` is not a valid regular expression ({err})", key="pattern"
            ) from None
    for key in ("min", "max"):
        if key in p and not _number(p[key]):
            raise rule.error(f"`{key}:` must be a number, not {p[key]!r}", key=key)
    if rule.engine == "gx" and rule.type in (
        "length_between",
        "values_between",
        "row_count_between",
    ):
        if "min" not in p and "max" not in p:
            raise rule.error(f"a {rule.type} rule needs `min:`, `max:` or both")
        if "min" in p and "max" in p and p["min"] > p["max"]:
            raise rule.error("`min:` is larger than `max:`", key="min")
    if rule.type in RATE_KEYS and not 0 <= p["max"] <= 1:
        raise rule.error("`max:` is a share between 0 and 1 (e.g. 0.05 for 5%)", key="max")
    if rule.type == "max_class_imbalance" and p["max"] < 1:
        raise rule.error("`max:` is a ratio largest/smallest class, at least 1", key="max")
    if rule.type == "min_rows_per_class" and p["min"] < 0:
        raise rule.error("`min:` must be zero or more", key="min")
    if "mostly" in p and not (_number(p["mostly"]) and 0 < p["mostly"] <= 1):
        raise rule.error("`mostly:` is the share of rows that must pass, in (0, 1]", key="mostly")
    if "kind" in p and p["kind"] not in DUPLICATE_KINDS:
        raise rule.error(f"`kind:` must be one of {', '.join(DUPLICATE_KINDS)}", key="kind")
    if "min_rows" in p and not (_number(p["min_rows"]) and p["min_rows"] >= 0):
        raise rule.error("`min_rows:` must be a number of rows", key="min_rows")
    if rule.type == "expectation":
        if not isinstance(p["expectation"], str):
            raise rule.error("`expectation:` must be a name", key="expectation")
        if not isinstance(p.get("kwargs", {}), dict):
            raise rule.error(
                "`kwargs:` must be a mapping of the expectation's arguments", key="kwargs"
            )


KEY_SCHEMAS: dict[str, dict] = {
    "column": {
        "type": "string",
        "description": "a column name, or a role: $text, $label, $group, $id",
    },
    "values": {"type": "array", "items": {"type": ["string", "number", "integer"]}},
    "pattern": {"type": "string", "description": "a regular expression"},
    "min": {"type": "number"},
    "max": {"type": "number"},
    "mostly": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "kind": {"enum": list(DUPLICATE_KINDS)},
    "min_rows": {"type": "number", "minimum": 0},
    "expectation": {"type": "string", "description": "a great-expectations expectation name"},
    "kwargs": {"type": "object"},
}
"""JSON schema of each rule key; the checks in `validate_values` are the full truth."""


def rules_json_schema() -> dict:
    """The JSON schema of a rules file, built from `RULE_TYPES` (one source of truth).

    Editors (VS Code's YAML extension, JetBrains) validate and complete rules files
    against it; `dataqa/schema/rules.schema.json` is this function's output.
    """
    variants = []
    for name, spec in RULE_TYPES.items():
        keys = {*spec.required, *spec.optional}
        variants.append(
            {
                "type": "object",
                "description": f"{name}: {spec.summary}",
                "required": ["type", *spec.required],
                "additionalProperties": False,
                "properties": {
                    "type": {"const": name},
                    "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                    "severity": {"enum": list(SEVERITIES)},
                    "description": {"type": "string"},
                    **{k: KEY_SCHEMAS.get(k, {}) for k in sorted(keys)},
                },
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dataqa.invalid/schema/rules.json",
        "title": "dataqa rules file",
        "description": "A YAML file of data rules for `dataqa audit --rules` (rules/README.md).",
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {
            "version": {"type": ["integer", "string"]},
            "description": {"type": "string"},
            "rules": {"type": "array", "items": {"oneOf": variants}},
        },
    }
