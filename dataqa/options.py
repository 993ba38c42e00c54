"""One source of options: a typed pydantic model per check and per stage.

Each model declares its fields once (type, default, range or choices, a description
with the source behind the default). Everything else derives from it: `Check.__init__`
validates against it before any check runs, `-s CHECK.OPTION=VALUE` and the pipeline
YAML are parsed into it, `dataqa checks` lists it, and the JSON schemas of the pipeline
and rules files are generated from it. A bad value is a `DataQAError` that names the
option, the value and what is allowed (exit 2 in the CLI).
"""

from __future__ import annotations

import typing
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from dataqa.errors import DataQAError


class Options(BaseModel):
    """Base of every options model: unknown keys are refused, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    def __init__(self, **values: Any) -> None:
        """Construct and validate; a bad value raises DataQAError (one exception type for
        every mistake a user can make, in a notebook too), not pydantic's ValidationError.
        """
        try:
            super().__init__(**values)
        except ValidationError as err:
            where = _WHERE.get() or type(self).__name__
            raise _user_error(type(self), values, err, where) from None


_WHERE: ContextVar[str | None] = ContextVar("dataqa_options_where", default=None)
"""How the user names the options being validated (`validate`'s `where`)."""


def _user_error(
    model: type[Options], values: dict[str, Any], err: ValidationError, where: str
) -> DataQAError:
    first = err.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    if first["type"] == "extra_forbidden":
        known = ", ".join(model.model_fields) or "none"
        return DataQAError(f"{where} has no option {name!r}", hint=f"its options are: {known}")
    value = values.get(name, first.get("input"))
    return DataQAError(
        f"{where}.{name}={value!r} is not allowed ({first['msg']})",
        hint=f"{where}.{name} takes {allowed(model, name)}",
    )


OptionsT = TypeVar("OptionsT", bound=Options)


def validate(model: type[OptionsT], values: dict[str, Any] | None, *, where: str) -> OptionsT:
    """`model(**values)`, or a DataQAError naming option, value and what is allowed.

    Parameters
    ----------
    model : type of Options
    values : dict
        Option name -> value (as the user gave it: a YAML scalar from `-s`).
    where : str
        How the user names this group of options, e.g. "hygiene" (for `-s hygiene.X`).

    Raises
    ------
    DataQAError
        An unknown option, or a value of the wrong type or out of range.
    """
    token = _WHERE.set(where)
    try:
        return model(**dict(values or {}))
    finally:
        _WHERE.reset(token)


def allowed(model: type[Options], name: str) -> str:
    """What a field accepts, in words: its type and choices or range, and its default."""
    field = model.model_fields[name]
    kind = describe_type(field.annotation)
    bounds = []
    for meta in field.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(meta, attr, None)
            if v is not None:
                bounds.append(f"{word} {v}")
    text = kind + (f" {' and '.join(bounds)}" if bounds else "")
    return f"{text} (default {field.default!r})"


def describe_type(annotation) -> str:
    """A type annotation in words: `Literal['a', 'b']` -> "one of 'a', 'b'"."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [describe_type(a) for a in args if a is not type(None)]
        none = " or none" if type(None) in args else ""
        return " or ".join(parts) + none
    if origin in (list, tuple):
        inner = describe_type(args[0]) if args else "value"
        return f"a list of {inner}"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def describe(model: type[Options]) -> list[dict[str, Any]]:
    """One dict per option (name, default, allowed, description): what `dataqa checks`
    and the docs show."""
    return [
        {
            "name": name,
            "default": field.default,
            "allowed": allowed(model, name),
            "description": field.description or "",
        }
        for name, field in model.model_fields.items()
    ]
