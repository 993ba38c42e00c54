"""The finding -> fix contract: what a check can find, and what `clean` may do about it.

Every check declares, in one place, the finding kinds it can emit (`Kind`: name,
default severity, the type of fix its findings carry, the default clean policy and the
`CleanOptions` flags that steer it). A fix is a small typed value:

=====================  ==================================================  ===========
fix                    what it means                                       policies
=====================  ==================================================  ===========
`RepairText(step)`     rewrite the text with a named repair step           apply, keep
`Quarantine(reason)`   set the row aside, with the reason                   quarantine, keep
`Relabel(to, conf.)`   the label is probably `to` (`review`: not sure)     relabel, quarantine, keep
`Dedupe(keep)`         the rows say the same thing: keep one               first, longest, keep
`ResolveConflict`      duplicates that disagree on the label               quarantine, majority, labels, keep
`Review(reason)`       a person should look; clean leaves the row alone    keep
`Augment(plan)`        grow the data (`dataqa augment` reads the plan)     keep
`NoFix`                nothing to do per row                               keep
=====================  ==================================================  ===========

Any row-level finding may also be given the policy `quarantine` (e.g.
`relevance.off_topic=quarantine`). `clean` applies fixes through the policy table
(`dataqa.stages.policies`) and never names a check; the JSON report stores a fix as a dict
with an `action` key (`Fix.to_dict`, `fix_from_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True, kw_only=True)
class Fix:
    """Base of the fix values; `action` names the type in JSON.

    `details` carries what a check adds for people (e.g. the bias check's rows to add
    per label and its alternatives); clean does not read it.
    """

    details: dict = field(default_factory=dict)
    action: ClassVar[str] = "none"
    policies: ClassVar[tuple[str, ...]] = ("keep",)
    """Policies clean accepts for a finding that carries this fix (besides quarantine)."""

    def to_dict(self) -> dict[str, Any]:
        own = {k: v for k, v in asdict(self).items() if k != "details" and v is not None}
        return {"action": self.action, **own, **self.details}


@dataclass(frozen=True, kw_only=True)
class NoFix(Fix):
    action: ClassVar[str] = "none"


@dataclass(frozen=True, kw_only=True)
class RepairText(Fix):
    """Rewrite the text with the repair step `step` (a name in `dataqa.text.repairs.REPAIRS`)."""

    step: str = ""
    action: ClassVar[str] = "repair_text"
    policies: ClassVar[tuple[str, ...]] = ("apply", "keep")


@dataclass(frozen=True, kw_only=True)
class Quarantine(Fix):
    """Set the rows aside (the reason goes to the quarantine file)."""

    reason: str = ""
    action: ClassVar[str] = "quarantine"
    policies: ClassVar[tuple[str, ...]] = ("quarantine", "keep")


@dataclass(frozen=True, kw_only=True)
class Relabel(Fix):
    """The label is probably `to`; `confidence` in [0, 1] is how sure the check is that
    `to` is right. `review`: the evidence is not strong enough for an automatic relabel
    (clean treats the row as unsure, `--label-unsure`), so a person should look."""

    to: Any = None
    confidence: float | None = None
    review: bool = False
    action: ClassVar[str] = "relabel"
    policies: ClassVar[tuple[str, ...]] = ("relabel", "quarantine", "keep")


@dataclass(frozen=True, kw_only=True)
class Dedupe(Fix):
    """The rows say the same thing: keep one (`keep` is the check's suggestion)."""

    keep: Any = None
    action: ClassVar[str] = "dedupe"
    policies: ClassVar[tuple[str, ...]] = ("first", "longest", "keep")


@dataclass(frozen=True, kw_only=True)
class ResolveConflict(Fix):
    """Duplicates whose labels disagree; `labels` maps row id (as str) -> label."""

    labels: dict = field(default_factory=dict)
    majority: Any = None
    action: ClassVar[str] = "resolve_conflict"
    policies: ClassVar[tuple[str, ...]] = ("quarantine", "majority", "labels", "keep")


@dataclass(frozen=True, kw_only=True)
class Review(Fix):
    """A person should look; clean leaves the rows alone unless told to quarantine."""

    reason: str | None = None
    action: ClassVar[str] = "review"


@dataclass(frozen=True, kw_only=True)
class Augment(Fix):
    """Grow the data; `plan` points at the plan in the report (e.g. stats.balance.plan)."""

    plan: str | None = None
    action: ClassVar[str] = "augment"


FIX_TYPES: dict[str, type[Fix]] = {
    cls.action: cls
    for cls in (NoFix, RepairText, Quarantine, Relabel, Dedupe, ResolveConflict, Review, Augment)
}
FIX_ACTIONS = tuple(FIX_TYPES)
LEGACY_ACTIONS = {"fix_text": "repair_text", "mask_pii": "repair_text"}
"""Actions of reports written before fixes were typed (schema 1.0)."""


def fix_from_dict(d: dict | None) -> Fix | None:
    """The typed fix of a JSON fix dict (`None` stays `None`).

    Raises
    ------
    ValueError
        The action is unknown.
    """
    if d is None:
        return None
    action = LEGACY_ACTIONS.get(d.get("action", "none"), d.get("action", "none"))
    if action not in FIX_TYPES:
        raise ValueError(f"unknown fix action {d.get('action')!r}; known: {', '.join(FIX_ACTIONS)}")
    cls = FIX_TYPES[action]
    names = {f.name for f in fields(cls)} - {"details"}
    own = {k: v for k, v in d.items() if k in names}
    details = {k: v for k, v in d.items() if k not in own and k != "action"}
    details.update(d.get("details") or {})
    if d.get("action") == "mask_pii":
        own["step"] = "mask_pii"
        details.pop("kind", None)
    return cls(**own, details=details)


@dataclass(frozen=True)
class Kind:
    """A kind of finding a check can emit, declared once, next to the check.

    Attributes
    ----------
    name : str
        `<check>.<kind>`, e.g. `hygiene.mojibake`.
    severity : str
        Default severity (a check may raise or lower it per finding, e.g. by size).
    fix : type of Fix
        The fix every finding of this kind carries.
    summary : str
        What it finds, in one line (shown by `dataqa checks` and in the docs).
    policy : str
        What `clean` does by default: one of `fix.policies`, or "quarantine".
    flags : tuple of str
        `CleanOptions` fields that steer this kind (e.g. `language` for
        `hygiene.language`), so the CLI's flags map onto the policy table.
    rows : bool
        False for dataset-level findings (no rows to act on).
    step : str or None
        For `RepairText` kinds: the repair step (`dataqa.text.repairs.REPAIRS`) they ask for.
    """

    name: str
    severity: str
    fix: type[Fix]
    summary: str
    policy: str = "keep"
    flags: tuple[str, ...] = ()
    rows: bool = True
    step: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity must be one of {SEVERITIES}")
        if (self.fix is RepairText) != (self.step is not None):
            raise ValueError(f"{self.name}: a RepairText kind names its step, no other does")
        if self.policy not in allowed_policies(self):
            raise ValueError(f"{self.name}: policy {self.policy!r} not in {allowed_policies(self)}")

    @property
    def check(self) -> str:
        return self.name.split(".", 1)[0]


def allowed_policies(kind: Kind) -> tuple[str, ...]:
    """The policies clean accepts for `kind`: its fix's own, and quarantine for row findings."""
    extra = ("quarantine",) if kind.rows and "quarantine" not in kind.fix.policies else ()
    return (*kind.fix.policies, *extra)
