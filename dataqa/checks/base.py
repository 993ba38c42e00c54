"""The contract every check follows.

A check is a small class in the scikit-learn manner: its parameters are set in
`__init__` and never changed; `run(dataset, context)` reads the dataset and returns a
`CheckResult` (findings plus dataset-level stats) without mutating anything. Work that
several checks need (normalised text, surface features) is computed once through
`Context.cached`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dataqa.dataset import Dataset
from dataqa.findings import Finding


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    """Per-row tables (name -> pandas DataFrame), e.g. the labels check's score for every
    row; saved beside the JSON report as Parquet sidecars, not inside it."""


@dataclass
class Context:
    """What a run shares between checks: other splits, seed, progress and a cache."""

    against: Dataset | None = None
    reference: Dataset | None = None
    """A sample of the target domain (`--reference`), for the relevance check."""
    results: dict[str, CheckResult] = field(default_factory=dict)
    """Results of the checks that already ran in this audit, by check name (the rules
    check runs last and reads them)."""
    seed: int = 0
    progress: bool = False
    cache: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class Check:
    """Base class: subclasses set `name`, `needs` and implement `run`."""

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("text",)
    """Column roles the check cannot run without (text, label, group)."""

    def __init__(self, **params: Any) -> None:
        defaults = self.defaults()
        unknown = set(params) - set(defaults)
        if unknown:
            from dataqa.errors import DataQAError

            raise DataQAError(
                f"check {self.name!r} has no option {sorted(unknown)[0]!r}",
                hint=f"its options are: {', '.join(sorted(defaults)) or 'none'}",
            )
        self.params = {**defaults, **params}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {}

    def missing_roles(self, ds: Dataset) -> list[str]:
        roles = ds.roles.as_dict()
        return [r for r in self.needs if roles.get(r) is None]

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError
