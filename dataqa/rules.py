"""User rules: YAML files the user edits, checked in memory with great-expectations.

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
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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


# ----------------------------------------------------------------------- loading


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


# ---------------------------------------------------------------------- columns


def resolve_column(
    rule: Rule, value: str, frame: pd.DataFrame, roles: dict, key: str
) -> str | None:
    """A literal column name, or `$role`; None when the role is not set for this dataset."""
    if value.startswith("$"):
        role = value[1:]
        if role not in ROLES:
            raise rule.error(
                f"unknown role {value!r}",
                key=key,
                hint=f"roles: {', '.join('$' + r for r in ROLES)}",
            )
        return roles.get(role)
    if value not in frame.columns:
        cols = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(value, cols, n=1)
        raise rule.error(
            f"the data has no column {value!r} (columns: {', '.join(map(repr, cols))})"
            + (f" (did you mean {close[0]!r}?)" if close else ""),
            key=key,
            hint="name an existing column, or a role such as $text or $label",
        )
    return value


COLUMN_KWARGS = ("column", "column_A", "column_B")


def expectation_class_name(name: str) -> str:
    """`expect_column_values_to_be_null` or `ExpectColumnValuesToBeNull` -> the class name."""
    if "_" in name or name.islower():
        return "".join(part.capitalize() for part in name.split("_"))
    return name


def compile_rule(rule: Rule, frame: pd.DataFrame, roles: dict) -> tuple[str, dict] | None:
    """(GX class name, kwargs) for a GX rule; None when it names a role this data lacks."""
    p = rule.params
    spec = RULE_TYPES[rule.type]
    if rule.type == "expectation":
        kwargs = dict(p.get("kwargs") or {})
        for key in COLUMN_KWARGS:
            if isinstance(kwargs.get(key), str):
                col = resolve_column(rule, kwargs[key], frame, roles, "kwargs")
                if col is None:
                    return None
                kwargs[key] = col
        if isinstance(kwargs.get("column_list"), list):
            cols = [resolve_column(rule, c, frame, roles, "kwargs") for c in kwargs["column_list"]]
            if any(c is None for c in cols):
                return None
            kwargs["column_list"] = cols
        return expectation_class_name(p["expectation"]), kwargs
    kwargs: dict = {}
    if "column" in p:
        if rule.type == "column_exists":
            col = roles.get(p["column"][1:]) if p["column"].startswith("$") else p["column"]
        else:
            col = resolve_column(rule, p["column"], frame, roles, "column")
        if col is None:
            return None
        kwargs["column"] = col
    if "values" in p:
        kwargs["value_set"] = list(p["values"])
    if "pattern" in p:
        kwargs["regex"] = p["pattern"]
    if "min" in p:
        kwargs["min_value"] = p["min"]
    if "max" in p:
        kwargs["max_value"] = p["max"]
    if "mostly" in p:
        kwargs["mostly"] = p["mostly"]
    return spec.gx_class, kwargs


# ------------------------------------------------------------ great-expectations


def run_expectations(
    frame: pd.DataFrame, compiled: list[tuple[Rule, str, dict]]
) -> dict[str, dict]:
    """Validate the compiled rules on `frame` in an ephemeral GX context.

    `frame` must have a 0..n-1 RangeIndex: failing rows come back as positions. Returns
    per rule name: success, unexpected positions, counts, observed value.
    """
    if not compiled:
        return {}
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    expectations = []
    for rule, cls_name, kwargs in compiled:
        cls = getattr(gx.expectations, cls_name, None)
        if cls is None or not isinstance(cls, type):
            close = difflib.get_close_matches(
                cls_name, [n for n in dir(gx.expectations) if n.startswith("Expect")], n=1
            )
            raise rule.error(
                f"great-expectations has no expectation {rule.params.get('expectation', cls_name)!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                key="expectation",
                hint="see the expectation gallery at greatexpectations.io/expectations",
            )
        try:
            expectations.append(cls(**kwargs, meta={"dataqa_rule": rule.name}))
        except Exception as err:  # pydantic validation of the arguments
            msg = " ".join(str(err).split())[:300]
            raise rule.error(
                f"great-expectations rejects the arguments ({msg})",
                key="kwargs" if rule.type == "expectation" else None,
            ) from None
    gx_logger = logging.getLogger("great_expectations")
    level = gx_logger.level
    gx_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            suite = gx.ExpectationSuite(name="dataqa_rules")
            for expectation in expectations:
                suite.add_expectation(expectation)
            source = context.data_sources.add_pandas("dataqa")
            asset = source.add_dataframe_asset("frame")
            batch_def = asset.add_batch_definition_whole_dataframe("whole")
            batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    finally:
        gx_logger.setLevel(level)
    by_name = {rule.name: rule for rule, _, _ in compiled}
    out: dict[str, dict] = {}
    for r in result.results:
        name = (r.expectation_config.meta or {}).get("dataqa_rule")
        if name not in by_name:
            continue
        info = r.exception_info or {}
        raised = info.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()
        )
        if raised:
            msg = info.get("exception_message") or next(
                (v.get("exception_message") for v in info.values() if isinstance(v, dict)), ""
            )
            raise by_name[name].error(f"great-expectations could not evaluate it ({msg})")
        res = r.result or {}
        positions = [
            i for i in res.get("unexpected_index_list") or [] if isinstance(i, (int, np.integer))
        ]
        out[name] = {
            "success": bool(r.success),
            "positions": positions,
            "unexpected_count": res.get("unexpected_count"),
            "element_count": res.get("element_count"),
            "unexpected_percent": res.get("unexpected_percent"),
            "observed_value": res.get("observed_value"),
        }
    return out


# -------------------------------------------------------------------- native rules


def group_label_v(
    groups: pd.Series, labels: pd.Series, min_rows: int = 0
) -> tuple[float, pd.DataFrame]:
    """Cramér's V of the group x label table (groups with fewer than min_rows rows left
    out): the bias-corrected V of `dataqa.stats.cramers_v`, the number the bias check
    reports, so a YAML threshold is checked against the figure the report shows."""
    from dataqa.stats import cramers_v

    table = pd.crosstab(groups, labels)
    table = table[table.sum(axis=1) >= max(min_rows, 1)]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 0.0, table
    return cramers_v(table.to_numpy())[2], table


def evaluate_native(rule: Rule, ds, results: dict) -> dict:
    """Evaluate one dataqa-native rule.

    Returns {"status": "passed"|"failed"|"skipped", "observed": ..., "row_ids": [...],
    "message": ..., "evidence": {...}}. `results` maps check names to the CheckResults of
    the checks that already ran in this audit.
    """
    p = rule.params
    kind = rule.type
    if kind == "max_duplicate_rate":
        rate_kind = p.get("kind", "exact")
        rows, source = redundant_duplicates(ds, results, rate_kind)
        if rows is None:
            return skipped(
                f"needs the duplicates check for {rate_kind} duplicates; add it to --checks"
            )
        return rate_outcome(rule, rows, len(ds), f"{rate_kind} duplicate rate", {"source": source})
    if kind == "max_label_noise_rate":
        if "labels" not in results:
            return skipped("the labels check did not run in this audit; add it to --checks")
        labels_result = results["labels"]
        if labels_result.stats.get("skipped"):
            return skipped(f"the labels check was skipped: {labels_result.stats['skipped']}")
        rows = union_rows(
            [f for f in labels_result.findings if f.check == "labels.issue"], "labels"
        )
        # cleanlab's estimate of the noise rate when the check gives one, else the flagged share
        estimate = (labels_result.stats.get("noise_rate") or {}).get("overall")
        return rate_outcome(
            rule, rows, len(ds), "estimated label-noise rate", {"source": "labels"}, estimate
        )
    if kind == "max_off_topic_rate":
        if "relevance" not in results:
            return skipped("the relevance check did not run in this audit; add it to --checks")
        rows = union_rows(results["relevance"].findings, "relevance")
        scored = results["relevance"].stats.get("rows_scored") or len(ds)
        return rate_outcome(rule, rows, scored, "off-topic rate", {"source": "relevance"})
    labels = ds.labels
    if labels is None:
        return skipped("the data has no label column (--label-col)")
    counts = labels.value_counts(dropna=True)
    if kind == "min_rows_per_class":
        thin = counts[counts < p["min"]]
        if thin.empty:
            return passed(int(counts.min()) if len(counts) else 0)
        rows = labels.index[labels.isin(thin.index)].tolist()
        return {
            "status": "failed",
            "observed": int(thin.min()),
            "row_ids": rows,
            "message": f"{len(thin)} classes have fewer than {p['min']} rows: "
            + ", ".join(f"{k} ({v})" for k, v in thin.sort_values().head(10).items()),
            "evidence": {"counts": {str(k): int(v) for k, v in thin.items()}, "min": p["min"]},
        }
    if kind == "max_class_imbalance":
        if len(counts) < 2:
            return passed(1.0)
        ratio = float(counts.max() / counts.min())
        if ratio <= p["max"]:
            return passed(round(ratio, 3))
        return {
            "status": "failed",
            "observed": round(ratio, 3),
            "row_ids": [],
            "message": f"class imbalance {ratio:.1f}:1 ({counts.index[0]} {counts.iloc[0]} rows vs "
            f"{counts.index[-1]} {counts.iloc[-1]}) is above the maximum {p['max']}:1",
            "evidence": {"counts": {str(k): int(v) for k, v in counts.items()}, "max": p["max"]},
        }
    if kind == "max_group_skew":
        groups = ds.groups
        if groups is None:
            return skipped("the data has no group column (--group-col)")
        mask = groups.notna() & labels.notna()
        v, table = group_label_v(groups[mask], labels[mask], int(p.get("min_rows", 0)))
        if v <= p["max"]:
            return passed(round(v, 4))
        share = table.div(table.sum(axis=1), axis=0)
        overall = table.sum(axis=0) / table.to_numpy().sum()
        worst = (share - overall).abs().max(axis=1).sort_values(ascending=False)
        return {
            "status": "failed",
            "observed": round(v, 4),
            "row_ids": [],
            "message": f"labels depend on the group: Cramér's V {v:.3f} is above {p['max']}; "
            f"most skewed groups: {', '.join(map(str, worst.index[:3]))}",
            "evidence": {
                "cramers_v": round(v, 4),
                "max": p["max"],
                "label_share_by_group": {
                    str(g): {str(k): round(float(x), 4) for k, x in share.loc[g].items()}
                    for g in worst.index[:10]
                },
            },
        }
    raise AssertionError(f"no evaluator for native rule type {kind}")  # pragma: no cover


def passed(observed: Any) -> dict:
    return {"status": "passed", "observed": observed, "row_ids": [], "message": "", "evidence": {}}


def skipped(reason: str) -> dict:
    return {"status": "skipped", "observed": None, "row_ids": [], "message": reason, "evidence": {}}


def rate_outcome(
    rule: Rule, rows: list, total: int, what: str, evidence: dict, rate: float | None = None
) -> dict:
    """Pass when `rate` (default: the share of `rows` in `total`) is at most the rule's max."""
    if rate is None:
        rate = len(rows) / total if total else 0.0
    if rate <= rule.params["max"]:
        return passed(round(rate, 5))
    return {
        "status": "failed",
        "observed": round(rate, 5),
        "row_ids": rows,
        "message": f"{what} {rate:.2%} is above the maximum {rule.params['max']:.2%} "
        f"({len(rows)} of {total} rows listed)",
        "evidence": {**evidence, "rate": round(rate, 5), "max": rule.params["max"]},
    }


def union_rows(findings: list, family: str) -> list:
    """Row ids of a check family's row-level findings, in first-seen order, each once."""
    seen: dict = {}
    for f in findings:
        if f.check.startswith(family + ".") or f.check == family:
            for r in f.row_ids:
                seen.setdefault(r, None)
    return list(seen)


def redundant_duplicates(ds, results: dict, kind: str) -> tuple[list | None, str]:
    """Rows that duplicate a kept row: every member of a duplicate group but its keeper.

    Read from the duplicates check's findings when it ran; exact duplicates are otherwise
    computed here (normalised text, the same key the duplicates check uses).
    """
    wanted = {"exact": ("duplicates.exact",), "near": ("duplicates.near",)}.get(
        kind, ("duplicates.exact", "duplicates.near")
    )
    if "duplicates" in results:
        keepers: set = set()
        members: dict = {}
        for f in results["duplicates"].findings:
            if f.check in wanted and f.row_ids:
                keep = getattr(f.fix, "keep", None) or f.row_ids[0]
                keepers.add(keep)
                for r in f.row_ids:
                    members.setdefault(r, None)
        return [r for r in members if r not in keepers], "duplicates check"
    if kind != "exact":
        return None, ""
    from dataqa.checks.duplicates import exact_groups
    from dataqa.text import normalize_for_dedup

    groups = exact_groups(normalize_for_dedup(ds.text))
    redundant = groups.index[groups.duplicated(keep="first")]
    return redundant.tolist(), "exact match of normalised text"
