"""Finding and Report: what every check emits and what the JSON report holds.

The JSON shape is versioned (`SCHEMA_VERSION`) and described by
`dataqa/schema/report.schema.json`; other tools may rely on the top-level `findings`
list whose items carry `check`, `severity`, `row_ids`, `message` and `evidence`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dataqa.dataset import atomic_write_text, read_json_file
from dataqa.fixes import FIX_ACTIONS, SEVERITIES, Fix, fix_from_dict  # noqa: F401

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "1.2"
"""1.1: fixes are typed (`dataqa.fixes`); actions fix_text and mask_pii became repair_text.
1.2: every chart a family shows is in `stats.<family>.charts`, each with its Vega-Lite
spec under `vega_lite`."""


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

    def verdict(self) -> dict:
        """Ready to fine-tune? See `verdict` (the HTML report's answer, as data)."""
        return verdict(self.findings)

    def to_frame(self, *, dataset_level: bool = True) -> pd.DataFrame:
        """The findings as a table: one row per (finding, row) pair.

        Like cleanlab's `Datalab.get_issues()`, for filtering, joining and sorting in
        pandas: `df[df.severity == "error"].row_id.unique()` are the rows an error
        names; `df.merge(data, left_on="row_id", right_index=True)` puts their text
        beside them.

        Parameters
        ----------
        dataset_level : bool, default True
            Keep findings about the whole dataset (no rows, e.g. a thin class) as one
            row each with a missing `row_id`.

        Returns
        -------
        pandas.DataFrame
            Columns `row_id`, `check` (the finding kind, e.g. "duplicates.exact"),
            `family` ("duplicates"), `severity` (ordered categorical info < warning <
            error), `message`, `fix` (the fix's action, e.g. "relabel"; None when the
            finding carries none), `fix_args` (the rest of the fix as a dict: the
            suggested label, the row to keep, the repair step; shared by the rows of one
            finding, so read it, do not edit it) and `finding` (the position of the
            finding in `report.findings`, for its evidence). Rows come in the order of
            the findings, and within a finding in its order.
        """
        import numpy as np
        import pandas as pd

        picked = [(i, f) for i, f in enumerate(self.findings) if f.row_ids or dataset_level]
        sizes = np.array([max(len(f.row_ids), 1) for _, f in picked], dtype=np.int64)
        fixes = [f.fix.to_dict() if f.fix is not None else None for _, f in picked]

        def spread(values: list) -> np.ndarray:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            return np.repeat(arr, sizes)

        row_ids: list = []
        for _, f in picked:
            row_ids.extend(f.row_ids if f.row_ids else [None])
        checks = [f.check for _, f in picked]
        return pd.DataFrame(
            {
                "row_id": pd.Series(row_ids, dtype=object),
                "check": pd.Categorical(spread(checks)),
                "family": pd.Categorical(spread([c.split(".", 1)[0] for c in checks])),
                "severity": pd.Categorical(
                    spread([f.severity for _, f in picked]), categories=SEVERITIES, ordered=True
                ),
                "message": spread([f.message for _, f in picked]),
                "fix": spread([d["action"] if d else None for d in fixes]),
                "fix_args": spread(
                    [{k: v for k, v in d.items() if k != "action"} if d else {} for d in fixes]
                ),
                "finding": np.repeat(np.array([i for i, _ in picked], dtype=np.int64), sizes),
            }
        )

    def __repr__(self) -> str:
        """One line for a terminal (the findings are in `.findings` and `.to_frame()`)."""
        c = self.counts()
        sev = ", ".join(f"{n:,} {s}" for s, n in reversed(c["by_severity"].items()) if n)
        source = (self.meta.get("input") or {}).get("path") or "<memory>"
        return (
            f"<Report {source}: {len(self.findings):,} findings ({sev or 'none'}), "
            f"{c['rows_flagged']:,} rows flagged, {len(self.stats)} checks>"
        )

    def _repr_html_(self) -> str:
        """The verdict and the top findings, for Jupyter (every text escaped)."""
        v = self.verdict()
        counts = self.counts()
        rows = "".join(
            "<tr><td>{}</td><td><code>{}</code></td><td style='text-align:right'>{:,}</td>"
            "<td style='text-align:right'>{:,}</td><td>{}</td><td>{}</td></tr>".format(
                _esc(g["severity"]),
                _esc(g["check"]),
                g["findings"],
                g["rows"],
                _esc(_clip(g["message"], 160)),
                _esc(g["fix"] or "–"),
            )
            for g in v["items"][:REPR_ITEMS]
        )
        more = len(v["items"]) - REPR_ITEMS
        table = (
            "<table><thead><tr><th>severity</th><th>check</th><th>findings</th><th>rows</th>"
            f"<th>first message</th><th>fix</th></tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        where = self.meta.get("input") if isinstance(self.meta.get("input"), dict) else {}
        source = where.get("path") if where else None
        return (
            "<div class='dataqa-report'>"
            f"<p><b>dataqa report</b>{' of ' + _esc(str(source)) if source else ''}: "
            f"{counts['rows_flagged']:,} rows flagged by {len(self.findings):,} findings</p>"
            + _finetune_html(self.stats.get("finetune"))  # first, as on the HTML page
            + (
                ""  # a fine-tune's findings are about its runs, not data readiness
                if self.meta.get("command") == "finetune"
                else f"<p><b>Ready to fine-tune? {_esc(v['answer'])}.</b> {_esc(v['headline'])}</p>"
            )
            + table
            + (f"<p>… and {more:,} more kinds of finding.</p>" if more > 0 else "")
            + "<p><code>report.to_frame()</code>: every finding-row pair as a DataFrame.</p>"
            "</div>"
        )

    def by_check(self, prefix: str) -> list[Finding]:
        return [f for f in self.findings if f.check == prefix or f.check.startswith(prefix + ".")]

    def to_dict(self) -> dict:
        """The JSON shape (`dataqa/schema/report.schema.json`); each chart in the stats
        carries its Vega-Lite spec (`dataqa.charts.with_vega_lite`)."""
        from dataqa.charts import with_vega_lite

        return {
            "schema_version": SCHEMA_VERSION,
            "meta": to_jsonable(self.meta),
            "counts": self.counts(),
            "stats": with_vega_lite(to_jsonable(self.stats)),
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


REPR_ITEMS = 10
"""Kinds of finding a notebook shows (the HTML report shows more)."""


def verdict(findings: Iterable[Finding | dict]) -> dict:
    """Ready to fine-tune? No while any error finding remains.

    Parameters
    ----------
    findings : iterable of Finding or of finding dicts (the JSON shape)
        A dict with an unknown severity counts as info (hand-edited reports). A dict
        may stand for several findings of one kind: `count` findings naming `rows` rows
        (the grouped entries of a run's curated-set audit).

    Returns
    -------
    dict
        `answer` ("No", "Yes, after review", "Yes"), `status` ("blocked", "review",
        "ready"), `headline` (one sentence), `errors`, `warnings`, `infos` (counts of
        findings) and `items`: one entry per (severity, check) of the errors and
        warnings (`severity`, `check`, `findings`, `rows`, the first `message`, its
        `fix` action or ""), errors first, then by rows named.
    """
    groups: dict[tuple[str, str], dict] = {}
    n_by_sev = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        sev, check, count, rows, message, fix = _parts(f)
        n_by_sev[sev] += count
        if sev == "info":
            continue
        g = groups.get((sev, check))
        if g is None:
            action = fix.get("action") if isinstance(fix, dict) else getattr(fix, "action", None)
            g = groups[(sev, check)] = {
                "severity": sev,
                "check": check,
                "findings": 0,
                "rows": 0,
                "message": _clip(message, 300),
                "fix": str(action) if action not in (None, "none") else "",
            }
        g["findings"] += count
        g["rows"] += rows
    items = sorted(
        groups.values(),
        key=lambda g: (-SEVERITIES.index(g["severity"]), -g["rows"], -g["findings"], g["check"]),
    )
    n_err, n_warn, n_info = n_by_sev["error"], n_by_sev["warning"], n_by_sev["info"]
    if n_err:
        answer, status = "No", "blocked"
        headline = (
            f"Not yet: {n_err:,} blocking problem{'s' if n_err != 1 else ''} (errors) "
            f"in {sum(1 for g in items if g['severity'] == 'error')} checks"
            + (f", and {n_warn:,} warnings to review" if n_warn else "")
            + "."
        )
    elif n_warn:
        answer, status = "Yes, after review", "review"
        headline = f"No errors; review {n_warn:,} warning{'s' if n_warn != 1 else ''} first."
    else:
        answer, status = "Yes", "ready"
        headline = "No errors or warnings" + (f" ({n_info:,} notes)." if n_info else ".")
    return {
        "answer": answer,
        "status": status,
        "headline": headline,
        "items": items,
        "errors": n_err,
        "warnings": n_warn,
        "infos": n_info,
    }


def _parts(f: Finding | dict) -> tuple[str, str, int, int, Any, Any]:
    """(severity, check, findings, rows named, message, fix) of a Finding or a finding
    dict; a grouped dict stands for `count` findings naming `rows` rows."""
    if isinstance(f, dict):
        sev, check, ids = f.get("severity"), f.get("check", ""), f.get("row_ids")
        message, fix = f.get("message", ""), f.get("fix")
        count = int(f.get("count", 1))
        rows = int(f["rows"]) if "rows" in f else len(ids) if isinstance(ids, list) else 0
    else:
        sev, check, message, fix = f.severity, f.check, f.message, f.fix
        count, rows = 1, len(f.row_ids)
    sev = sev if sev in SEVERITIES else "info"
    return str(sev), str(check), count, rows, message, fix


def _esc(value: Any) -> str:
    from dataqa.text.visible import escape_visible

    return escape_visible(value)


def _finetune_html(stats: Any) -> str:
    """When the report comes from `dataqa.finetune` (or `dataqa run`): its verdicts (is
    the curated set better, worse, or not measurably different?), then each arm's test
    scores: accuracy and macro-F1, or for conversation (SFT) arms the mean test loss
    per assistant token and perplexity over the seeds."""
    if not isinstance(stats, dict):
        return ""
    out = []
    for v in stats.get("verdicts") or []:
        if isinstance(v, dict):
            out.append(
                f"<p><b>{_esc(_clip(v.get('question'), 200))} {_esc(_clip(v.get('answer'), 60))}."
                f"</b> {_esc(_clip(v.get('headline'), 600))}</p>"
            )
    runs = stats.get("runs")
    cells = []
    for name, run in runs.items() if isinstance(runs, dict) else []:
        if not isinstance(run, dict):
            continue
        test, summary = run.get("test"), run.get("summary")
        test = test if isinstance(test, dict) else {}
        summary = summary if isinstance(summary, dict) else {}
        macro = test.get("macro")
        macro = macro if isinstance(macro, dict) else {}
        scores = ", ".join(
            f"{key} {value:.3f}"
            for key, value in (
                ("accuracy", test.get("accuracy")),
                ("macro-F1", macro.get("f1")),
                # conversation (SFT) arms: loss per assistant token, mean over the seeds
                ("loss", summary.get("loss_mean") if not test else None),
                ("perplexity", summary.get("perplexity_mean") if not test else None),
            )
            if isinstance(value, int | float)
        )
        if scores:
            cells.append(f"<li><b>{_esc(str(name))}</b>: {_esc(scores)}</li>")
    if cells:
        out.append(f"<p>Fine-tuned, scored on one test set:</p><ul>{''.join(cells)}</ul>")
    return "".join(out)


def _clip(text: Any, limit: int) -> str:
    """Text cut at `limit` characters, saying how much was cut; None/NaN -> ""."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = str(text)
    return s if len(s) <= limit else s[:limit] + f"… (+{len(s) - limit:,} characters)"


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
