"""Finding and Report: what every check emits and what the JSON report holds.

The JSON shape is versioned (`SCHEMA_VERSION`) and described by
`dataqa/schema/report.schema.json`; other tools may rely on the top-level `findings`
list whose items carry `check`, `severity`, `row_ids`, `message` and `evidence`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dataqa.dataset import atomic_write_text, read_json_file
from dataqa.fixes import FIX_ACTIONS, SEVERITIES, Fix, fix_from_dict  # noqa: F401

SCHEMA_VERSION = "1.1"
"""1.1: fixes are typed (`dataqa.fixes`); actions fix_text and mask_pii became repair_text."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass
class Finding:
    """One problem: a check name, how bad, which rows, why, and what to do about it.

    `fix` is a typed `dataqa.fixes.Fix` that `clean` acts on through its policy table
    (a JSON dict `{"action": ..., ...}` is accepted and typed). Dataset-level findings
    have an empty `row_ids`.
    """

    check: str
    severity: str
    message: str
    row_ids: list = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    fix: Fix | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        self.row_ids = [to_jsonable(r) for r in self.row_ids]
        if isinstance(self.fix, dict):
            self.fix = fix_from_dict(self.fix)

    def to_dict(self) -> dict:
        # not dataclasses.asdict: it deep-copies every row id, which dominates 1M-row reports
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "row_ids": self.row_ids,
            "evidence": to_jsonable(self.evidence),
            "fix": to_jsonable(self.fix.to_dict()) if self.fix is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(
            check=d["check"],
            severity=d["severity"],
            message=d["message"],
            row_ids=list(d.get("row_ids", [])),
            evidence=d.get("evidence") or {},
            fix=d.get("fix"),
        )


@dataclass
class Report:
    """Findings plus dataset-level stats (per check) and run metadata."""

    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    """Per-row tables by name (pandas DataFrames indexed by row id), e.g. `tables["labels"]`:
    the labels check's score for every row. `save` writes each one beside the JSON as
    `<stem>.<name>.parquet`; `load` reads them back."""

    def counts(self) -> dict:
        by_sev = Counter(f.severity for f in self.findings)
        by_check: dict[str, dict[str, int]] = {}
        for f in self.findings:
            entry = by_check.setdefault(
                f.check, {"findings": 0, "rows": 0, **dict.fromkeys(SEVERITIES, 0)}
            )
            entry["findings"] += 1
            entry["rows"] += len(f.row_ids)
            entry[f.severity] += 1
        flagged = {r for f in self.findings for r in f.row_ids}
        return {
            "by_severity": {s: by_sev.get(s, 0) for s in SEVERITIES},
            "by_check": dict(sorted(by_check.items())),
            "rows_flagged": len(flagged),
        }

    def worst(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=severity_rank)

    def exit_code(self, fail_on: str) -> int:
        """0 when nothing reaches `fail_on` (info|warning|error|never), else 1."""
        if fail_on == "never":
            return 0
        worst = self.worst()
        return 1 if worst is not None and severity_rank(worst) >= severity_rank(fail_on) else 0

    def by_check(self, prefix: str) -> list[Finding]:
        return [f for f in self.findings if f.check == prefix or f.check.startswith(prefix + ".")]

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "meta": to_jsonable(self.meta),
            "counts": self.counts(),
            "stats": to_jsonable(self.stats),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, indent: int | None = None) -> str:
        """Indented for reading when small; compact past 5,000 findings (1M-row audits)."""
        if indent is None and len(self.findings) <= 5000:
            indent = 1
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def save(self, path: str | Path) -> Path:
        """Write the JSON report to `path` and each per-row table beside it as Parquet
        (`reports/train.json` -> `reports/train.labels.parquet`); the JSON's
        `meta.sidecars` names them."""
        from dataqa.dataset import write_table

        path = Path(path)
        sidecars = {}
        for name, frame in self.tables.items():
            side = sidecar_path(path, name)
            write_table(frame, side, index=True)
            sidecars[name] = side.name
        if sidecars:
            self.meta["sidecars"] = sidecars
        return atomic_write_text(path, self.to_json())

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        return cls(
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            stats=d.get("stats", {}),
            meta=d.get("meta", {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> Report:
        from dataqa.errors import DataQAError

        data = read_json_file(path, "report", "give a file written by `dataqa audit --json`")
        if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
            raise DataQAError(
                "not a dataqa report (no 'findings' list)",
                path=str(path),
                hint="give a file written by `dataqa audit --json`",
            )
        bad = next((i for i, f in enumerate(data["findings"]) if not _finding_ok(f)), None)
        if bad is not None:
            raise DataQAError(
                f"finding #{bad} is malformed",
                path=str(path),
                hint="each finding needs check, severity (info|warning|error), message and a row_ids list",
            )
        report = cls.from_dict(data)
        sidecars = (data.get("meta") or {}).get("sidecars") or {}
        for name, file in sidecars.items() if isinstance(sidecars, dict) else []:
            side = Path(path).parent / Path(str(file)).name  # only beside the report
            if side.is_file():
                import pandas as pd

                from dataqa.dataset import ROW_ID

                frame = pd.read_parquet(side)
                report.tables[str(name)] = (
                    frame.set_index(ROW_ID) if ROW_ID in frame.columns else frame
                )
        return report


def sidecar_path(report_path: str | Path, name: str) -> Path:
    """Where `Report.save` puts the table `name`: `train.json` -> `train.<name>.parquet`."""
    p = Path(report_path)
    stem = p.name[: -len(p.suffix)] if p.suffix.lower() == ".json" else p.name
    return p.with_name(f"{stem}.{name}.parquet")


def _finding_ok(f) -> bool:
    return (
        isinstance(f, dict)
        and isinstance(f.get("check"), str)
        and f.get("severity") in SEVERITIES
        and isinstance(f.get("message"), str)
        and isinstance(f.get("row_ids", []), list)
    )


def to_jsonable(obj: Any) -> Any:
    """numpy/pandas scalars and containers to plain JSON types; NaN/inf become None."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if np.isfinite(f) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)
