"""What `clean` does about each kind of finding: the policy table and its options.

`CleanOptions` holds the user's choices. Its named fields are the CLI's flags
(`--dedupe`, `--conflicts`, `--language`, ...); each finding kind says which flags steer
it (`Kind.flags`, declared next to the check), so no check is named here. `policies`
sets any kind directly (`--policy relevance.off_topic=quarantine`) and wins over flags.
`policy_for(kind, options)` is the one place a kind's policy is decided.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from dataqa.fixes import Kind, allowed_policies
from dataqa.options import Options


class CleanOptions(Options):
    """What `clean` may do. Defaults fix encoding, invisible junk, markup and whitespace,
    quarantine broken, off-language, leaking and conflicting rows, keep one row of each
    duplicate group, and change no meaning (labels are left alone)."""

    fix_text: bool = Field(
        True, description="Repair encoding, lone surrogates, invisible junk and whitespace."
    )
    strip_markup: bool = Field(True, description="Strip HTML tags and unescape entities.")
    fix_tokenizer_artifacts: bool = Field(
        True, description="Turn Penn-Treebank escapes (-lrb-) back into brackets."
    )
    mask_pii: bool = Field(False, description="Replace emails, URLs, cards, IPs, phones.")
    correct_typos: bool = Field(
        False, description="SymSpell typo correction on rows with many unknown words."
    )
    dedupe: Literal["first", "longest", "none"] = Field(
        "first", description="Which row of a duplicate group stays (none: keep all)."
    )
    near_duplicates: Literal["dedupe", "keep"] = Field(
        "dedupe", description="Treat near-duplicates like exact ones, or keep them."
    )
    conflicts: Literal["quarantine", "majority", "labels", "keep"] = Field(
        "quarantine",
        description="Duplicates with different labels: quarantine all, keep the majority "
        "label's rows, keep the rows the labels check trusts, or keep all.",
    )
    language: Literal["quarantine", "keep"] = Field(
        "quarantine", description="Rows not in the dataset's language."
    )
    leakage: Literal["quarantine", "keep"] = Field(
        "quarantine", description="Rows that also appear in the --against split."
    )
    label_errors: Literal["quarantine", "relabel", "keep"] = Field(
        "keep", description="Rows the labels check thinks are mislabelled."
    )
    label_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Relabel or quarantine only suspects whose suggested label is at least "
        "this likely (the labels check: out of fold); relabel only those with strong "
        "evidence (the check's errors).",
    )
    label_unsure: Literal["keep", "quarantine"] = Field(
        "keep",
        description="Suspects below --label-threshold or without strong evidence (the "
        "check's warnings).",
    )
    policies: dict[str, str] = Field(
        default_factory=dict,
        description="Finding kind -> policy, over the flags (e.g. "
        "{'relevance.off_topic': 'quarantine'}).",
    )
    audit_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Options of the checks clean runs, by check."
    )

    @field_validator("policies")
    @classmethod
    def _policy_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if "." not in name:
                raise ValueError(f"{name!r} is not a finding kind (write CHECK.KIND)")
        return value


def flag_policy(flag: str, value: Any, kind: Kind) -> str | None:
    """The policy a flag's value gives `kind`, or None when the flag leaves it be."""
    if isinstance(value, bool):  # fix_text, strip_markup, mask_pii, ...
        return "apply" if value else "keep"
    if flag == "dedupe":
        return "keep" if value == "none" else value
    if flag == "near_duplicates":
        return "keep" if value == "keep" else None
    if flag == "label_errors":
        return value
    return value  # conflicts, language, leakage: the value is the policy


def policy_for(kind: Kind, options: CleanOptions) -> str:
    """What clean does with findings of `kind`: `options.policies`, else its flags (in
    the order the kind lists them, the last that speaks wins), else its default.

    Raises
    ------
    DataQAError
        `options.policies` gives the kind a policy its fix does not allow.
    """
    from dataqa.errors import DataQAError

    if kind.name in options.policies:
        chosen = options.policies[kind.name]
        if chosen not in allowed_policies(kind):
            raise DataQAError(
                f"policy {kind.name}={chosen!r} is not allowed",
                hint=f"{kind.name} takes one of: {', '.join(allowed_policies(kind))}",
            )
        return chosen
    policy = kind.policy
    for flag in kind.flags:
        said = flag_policy(flag, getattr(options, flag), kind)
        if said is not None:
            policy = said
    return policy
