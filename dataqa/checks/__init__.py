"""Registry of checks, by name, imported lazily so `dataqa --help` stays fast.

Add a check: write a `Check` subclass in its own module and add one line here. The
contract test in tests/test_check_contract.py then runs it on the shared fixture.
"""

from __future__ import annotations

import importlib
import importlib.util

from dataqa.checks.base import Check, CheckResult, Context

# name -> (module:Class, python packages it needs beyond the core install, extra that brings them)
REGISTRY: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "hygiene": ("dataqa.checks.hygiene:HygieneCheck", (), None),
    "duplicates": ("dataqa.checks.duplicates:DuplicateCheck", (), None),
    "conversations": ("dataqa.checks.conversations:ConversationCheck", ("rapidfuzz",), None),
    "balance": ("dataqa.checks.balance:BalanceCheck", (), None),
    "size": ("dataqa.checks.size:SizeCheck", ("sklearn",), "labels"),
    "bias": ("dataqa.checks.bias:BiasCheck", ("scipy",), "labels"),
    "relevance": ("dataqa.checks.relevance:RelevanceCheck", ("sklearn",), "labels"),
    "labels": ("dataqa.checks.labels:LabelCheck", ("cleanlab", "sklearn"), "labels"),
    "rules": ("dataqa.checks.rules:RulesCheck", ("great_expectations",), "rules"),
}

DEFAULT_CHECKS = (
    "hygiene",
    "duplicates",
    "conversations",
    "labels",
    "balance",
    "size",
    "bias",
    "relevance",
    "rules",
)


def check_class(name: str) -> type[Check]:
    from dataqa.errors import DataQAError

    if name not in REGISTRY:
        raise DataQAError(f"unknown check {name!r}", hint=f"choose from: {', '.join(REGISTRY)}")
    target, needs, extra = REGISTRY[name]
    missing = [p for p in needs if importlib.util.find_spec(p) is None]
    if missing:
        raise DataQAError(
            f"check {name!r} needs the Python package {missing[0]!r}, which is not installed",
            hint=f"pip install 'dataqa-finetune[{extra}]'"
            if extra
            else f"pip install {missing[0]}",
        )
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def installed(name: str) -> bool:
    _, needs, _ = REGISTRY[name]
    return all(importlib.util.find_spec(p) is not None for p in needs)


__all__ = [
    "REGISTRY",
    "DEFAULT_CHECKS",
    "Check",
    "CheckResult",
    "Context",
    "check_class",
    "installed",
]
