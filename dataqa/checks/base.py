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
from dataqa.errors import singular
from dataqa.findings import Finding
from dataqa.fixes import Fix, Kind
from dataqa.options import Options, validate


@dataclass
class CheckResult:
    """What a check returns: its findings, its dataset-level stats, and - when it could
    not judge this data - why (`skipped`, which the audit lists in
    `report.meta["skipped"]` beside the checks that did not run at all)."""

    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    skipped: str | None = None
    tables: dict = field(default_factory=dict)
    """Per-row tables (name -> pandas DataFrame), e.g. the labels check's score for every
    row; saved beside the JSON report as Parquet sidecars, not inside it."""

    def __post_init__(self) -> None:
        if self.skipped is None and isinstance(self.stats.get("skipped"), str):
            self.skipped = self.stats["skipped"]
        if self.skipped is not None:
            self.stats.setdefault("skipped", self.skipped)


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


class NoOptions(Options):
    """A check without options."""


class Check:
    """Base class: subclasses set `name`, `needs`, `Options`, `kinds` and implement `run`.

    Attributes
    ----------
    name : str
        The check's name (`--checks`, `-s NAME.OPTION=VALUE`, the finding prefix).
    needs : tuple of str
        Column roles the check cannot run without (text, label, group).
    Options : type of dataqa.options.Options
        Its options model: the one place its options, defaults and ranges are declared.
    kinds : tuple of dataqa.fixes.Kind
        Every kind of finding it can emit, with the fix each carries.
    reusable : bool
        True for model-based checks whose findings `clean` takes from an earlier audit
        (`--report`) instead of running them again on the repaired text.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("text",)
    Options: ClassVar[type[Options]] = NoOptions
    kinds: ClassVar[tuple[Kind, ...]] = ()
    reusable: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.options = validate(self.Options, params, where=self.name)
        self.params = self.options.model_dump()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return cls.Options().model_dump()

    @classmethod
    def kind(cls, name: str) -> Kind:
        """The declared kind `name` (`<check>.<kind>`); a `<check>.*` kind matches any."""
        for k in cls.kinds:
            if k.name == name or (k.name.endswith(".*") and name.startswith(k.name[:-1])):
                return k
        raise KeyError(f"{cls.__name__} declares no finding kind {name!r}")

    def finding(
        self,
        kind: str,
        message: str,
        row_ids=(),
        *,
        evidence: dict | None = None,
        fix: Fix | None = None,
        severity: str | None = None,
    ) -> Finding:
        """A Finding of a declared kind (its default severity unless given); the fix
        must be of the kind's declared type (default: that type with no arguments)."""
        k = self.kind(f"{self.name}.{kind}" if "." not in kind else kind)
        if fix is None:  # only RepairText kinds carry a step
            fix = k.fix(step=k.step) if k.step else k.fix()  # type: ignore[call-arg]
        if not isinstance(fix, k.fix):
            raise TypeError(f"{k.name} declares {k.fix.__name__}, got {type(fix).__name__}")
        return Finding(
            check=k.name if not k.name.endswith(".*") else kind,
            severity=severity or k.severity,
            message=singular(message),
            row_ids=list(row_ids),
            evidence=evidence or {},
            fix=fix,
        )

    def missing_roles(self, ds: Dataset) -> list[str]:
        roles = ds.roles.as_dict()
        return [r for r in self.needs if roles.get(r) is None]

    def not_applicable(self, ds: Dataset) -> str | None:
        """Why this check has nothing to judge in this kind of data (e.g. conversation
        checks on a text-per-row set), or None. Unlike a missing column, this is not a
        gap in the audit: the audit lists it apart and the verdict does not."""
        if "label" in self.needs and ds.roles.schema != "text" and ds.roles.label is None:
            return "a check of class labels; these conversation records have none"
        return None

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError
