"""Row and table rules compiled into one great-expectations suite, run in memory."""

from __future__ import annotations

import difflib
import logging
import warnings

import numpy as np
import pandas as pd

from dataqa.checks.rules.spec import ROLES, RULE_TYPES, Rule


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
