"""The clean stage: apply the fixes findings carry, through the policy table; lose nothing.

Clean never names a check. It works on typed fixes (`dataqa.fixes`) and asks
`dataqa.stages.policies.policy_for` what to do with each kind of finding:

1. **Repair.** The checks that can ask for text repairs run once; every `RepairText`
   finding whose policy is `apply` sends its rows through its named step
   (`dataqa.text.repairs.REPAIRS`, in order; a row one step changed also goes through the
   later ones). Every edit goes to the change log.
2. **Decide.** The checks whose findings clean acts on run again on the repaired text
   (rows that differed only by mojibake are duplicates now); model-based checks
   (`Check.reusable`) are taken from `report` when an earlier audit ran them. Then, in
   order: duplicate conflicts, label suggestions, quarantines, duplicate groups.
3. **Account.** rows in == rows kept + rows quarantined, by id, or nothing is returned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from dataqa.checks import DEFAULT_CHECKS, check_class, installed
from dataqa.dataset import ROW_ID, Dataset, another_split, as_dataset, label_like
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.fixes import Dedupe, Kind, Quarantine, Relabel, RepairText, ResolveConflict
from dataqa.io.readers import Source
from dataqa.io.writers import SURROGATE_RE
from dataqa.stages.policies import CleanOptions, policy_for

__all__ = ["CHANGE_COLUMNS", "REASONS_COL", "CleanOptions", "CleanResult", "clean", "output_paths"]
from dataqa.text.repairs import REPAIRS

REASONS_COL = "dataqa_reasons"
CHANGE_COLUMNS = [ROW_ID, "field", "before", "after", "step"]


@dataclass
class CleanResult:
    """What clean returns.

    Attributes
    ----------
    kept : Dataset
        The rows kept, repaired and relabelled (same ids as the input).
    quarantine : pandas.DataFrame
        The rows set aside, exactly as they came in, plus `dataqa_reasons`.
    changes : pandas.DataFrame
        One row per edit: `dataqa_row_id`, `field`, `before`, `after`, `step`.
    report : Report
        The audit of the repaired rows that the decisions were taken on.
    summary : dict
        Counts by outcome, step and reason, and the options used.
    quarantine_io : Source, optional
        How the input was stored (the quarantine is written back the same way as it came
        in; `kept.io` differs only in the cells it repaired).
    """

    kept: Dataset
    quarantine: pd.DataFrame
    changes: pd.DataFrame
    report: Report
    summary: dict
    quarantine_io: Source | None = None

    def save(
        self,
        out: str | os.PathLike,
        *,
        quarantine: str | os.PathLike | None = None,
        changes: str | os.PathLike | None = None,
        also: list | None = None,
    ) -> tuple[Path, Path, Path]:
        """Write the kept rows, the quarantine and the change log as one set.

        Parameters
        ----------
        out : path-like
            The kept rows; its extension picks the format (a path without one takes the
            input's), as `dataqa clean -o` does.
        quarantine, changes : path-like, optional
            Default: beside `out`, named by `output_paths` (`clean.csv` ->
            `clean.quarantine.csv`, `clean.changes.csv`).
        also : list of (path, writer), optional
            More outputs of the same set (`writer(tmp)` writes the temporary path).

        Returns
        -------
        tuple of Path
            Kept, quarantine and change-log paths.

        Raises
        ------
        DataQAError
            A path names a file type dataqa does not write, or a folder cannot be written;
            nothing of the set is left behind (`dataqa.io.write_outputs`).
        """
        from dataqa.io import serialize, write_outputs

        outp, q_path, c_path = output_paths(out, quarantine, changes)
        q_io = self.quarantine_io or self.kept.io
        jobs = [
            (outp, lambda t: serialize(self.kept.frame, t, outp, source=self.kept.io)),
            (q_path, lambda t: serialize(self.quarantine, t, q_path, source=q_io)),
            (c_path, lambda t: serialize(change_log_table(self.changes), t, c_path, index=False)),
            *(also or []),
        ]
        write_outputs(jobs)  # one set: a reader never sees new kept rows beside an old quarantine
        return outp, q_path, c_path

    def to_datasetdict(self, test=None):
        """The result as one `datasets.DatasetDict`: `train` (the kept rows),
        `quarantine` (the rows set aside, with `dataqa_reasons`) and, when given, `test`.

        Parameters
        ----------
        test : Dataset, pandas.DataFrame or datasets.Dataset, optional
            The held-out split (as passed to `clean(..., against=)`), written unchanged.

        Returns
        -------
        datasets.DatasetDict
            All splits share one set of features (a `ClassLabel` when the input had
            one) and keep `dataqa_row_id`; `save_to_disk` or `push_to_hub` it, or use
            `dataqa.io.write_datasetdict` to write it atomically.
        """
        from dataqa.io import to_datasetdict

        return to_datasetdict(self.splits(test), source=self.kept.io)

    def splits(self, test=None) -> dict[str, pd.DataFrame]:
        """Split name -> rows: train, quarantine and, when given, test."""
        out = {"train": self.kept.frame, "quarantine": self.quarantine}
        if test is not None:
            out["test"] = as_dataset(test, source="<test>").frame
        return out

    def __repr__(self) -> str:
        """One line for a terminal (the frames are in `.kept`, `.quarantine`, `.changes`)."""
        s = self.summary
        return (
            f"<CleanResult {s['rows_in']:,} rows in: {s['rows_kept']:,} kept, "
            f"{s['rows_quarantined']:,} quarantined, {s['rows_changed']:,} edited>"
        )

    def _repr_html_(self) -> str:
        """A summary for Jupyter: rows in, kept, quarantined (by reason), edited (by step)."""
        from dataqa.text.visible import escape_visible as esc

        s = self.summary
        reasons = sorted(s.get("quarantine_reasons", {}).items(), key=lambda kv: -kv[1])
        steps = sorted(s.get("changes_by_step", {}).items(), key=lambda kv: -kv[1])
        rows = "".join(
            f"<tr><td>{what}</td><td style='text-align:right'>{n:,}</td>"
            f"<td>{esc(str(why))}</td></tr>"
            for what, items in (("quarantined", reasons[:10]), ("edited", steps[:10]))
            for why, n in items
        )
        return (
            f"<div class='dataqa-clean'><p><b>dataqa clean</b>: {s['rows_in']:,} rows in "
            f"&rarr; {s['rows_kept']:,} kept, {s['rows_quarantined']:,} quarantined, "
            f"{s['rows_changed']:,} edited.</p>"
            + (
                f"<table><thead><tr><th></th><th>rows</th><th>why</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
                if rows
                else ""
            )
            + (f"<p><b>Note</b>: {esc(relabel_caveat(s) or '')}</p>" if relabel_caveat(s) else "")
            + "<p><code>.kept</code>, <code>.quarantine</code>, <code>.changes</code>, "
            "<code>.to_datasetdict()</code></p></div>"
        )


def clean(
    data,
    *,
    options: CleanOptions | None = None,
    against=None,
    report: Report | None = None,
    seed: int = 0,
    progress: bool = False,
    **roles: str | None,
) -> CleanResult:
    """Repair what can be repaired, quarantine what cannot; return kept rows and the logs.

    Parameters
    ----------
    data : Dataset, pandas.DataFrame or datasets.Dataset
        The rows to clean (a frame takes `text_col=`, `label_col=`... in `roles`).
    options : CleanOptions, optional
        The policy flags and table (default: `CleanOptions()`).
    against : Dataset or DataFrame, optional
        Another split (the test set): training rows that leak into it are quarantined.
    report : Report, optional
        An earlier audit of the same rows; its model-based findings (labels, relevance)
        are used instead of running those checks again.
    seed : int, default 0
        Seed of the checks clean runs.
    progress : bool, default False
        Progress bars on stderr.

    Returns
    -------
    CleanResult

    Raises
    ------
    DataQAError
        Bad options (an unknown finding kind or a policy its fix does not allow), or bad
        input (see `dataqa.load`).
    """
    opts = options or CleanOptions()
    ds = as_dataset(data, **roles)
    other = (
        another_split(against, ds, source="<against>", labels=False)
        if against is not None
        else None
    )
    kinds = _declared_kinds(ds, opts)
    policy = {name: policy_for(kind, opts) for name, kind in kinds.items()}

    text, changes, surrogates_fixed = _repair(ds, kinds, policy, opts, other, seed, progress)
    frame = ds.frame.copy()
    original = ds.frame[ds.roles.text]
    # only string values are text to repair: a number, a list or a missing value stays as
    # is; conversation records are never rewritten (their text is a rendering, not a column)
    if ds.roles.schema != "text":
        pass
    elif original.dtype == object:
        frame[ds.roles.text] = text.astype(object).where(_is_string(original), original)
    else:
        frame[ds.roles.text] = text.where(original.notna(), original)
    fixed = ds.with_frame(frame)
    post, findings = _decide_audit(fixed, kinds, policy, opts, other, report, seed, progress)

    book = decide(findings, policy, opts, text)

    for r, label in book.relabels.items():
        if r in book.reasons:
            continue
        before = frame.at[r, ds.roles.label]
        if str(before) != str(label):
            changes.append(_change([r], ds.roles.label, [before], [label], "relabel"))
            frame.at[r, ds.roles.label] = label_like(frame[ds.roles.label], label)

    q_ids = [r for r in frame.index if r in book.reasons]
    kept_frame = frame.drop(index=q_ids)
    q_frame = ds.frame.loc[q_ids].copy()  # quarantined rows keep their original values
    earlier = q_frame[REASONS_COL] if REASONS_COL in q_frame.columns else None
    q_frame[REASONS_COL] = [  # a re-cleaned quarantine file keeps its earlier reasons
        "; ".join(
            ([str(earlier[r])] if earlier is not None and isinstance(earlier[r], str) else [])
            + book.reasons[r]
        )
        for r in q_ids
    ]
    _check_nothing_lost(ds, kept_frame, q_frame)
    log = pd.concat(changes, ignore_index=True) if changes else pd.DataFrame(columns=CHANGE_COLUMNS)
    if len(log):  # a quarantined row goes out as it came in: its repairs were not applied
        log = log[~log[ROW_ID].isin(q_frame.index)].reset_index(drop=True)
    kept_io = replace(
        ds.io,
        surrogates={k: v for k, v in ds.io.surrogates.items() if k[0] in book.reasons}
        if surrogates_fixed
        else ds.io.surrogates,
    )
    return CleanResult(
        kept=ds.with_frame(kept_frame, io=kept_io),
        quarantine=q_frame,
        changes=log,
        report=post,
        summary=_summary(ds, kept_frame, q_frame, log, book, opts, policy),
        quarantine_io=ds.io,
    )


def output_paths(
    out: str | os.PathLike,
    quarantine: str | os.PathLike | None = None,
    changes: str | os.PathLike | None = None,
) -> tuple[Path, Path, Path]:
    """Kept, quarantine and change-log paths of one clean run.

    `clean.csv` -> `clean.quarantine.csv`, `clean.changes.csv`; `clean.parquet` ->
    `clean.quarantine.parquet`, `clean.changes.parquet`; a `datasets` folder `clean` ->
    `clean.quarantine`, `clean.changes.csv`. The log takes the kept file's format, so that
    `clean.csv` and `clean.parquet` keep apart logs.

    Raises
    ------
    DataQAError
        A path names a file type dataqa does not write (before any work is done).
    """
    from dataqa.io import output_format

    outp = Path(out)
    name, suffix = outp.name, ""
    for ext in (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq", ".ndjson", ".txt"):
        for comp in ("", ".gz", ".bz2", ".xz"):
            if name.lower().endswith(ext + comp) and len(name) > len(ext + comp):
                name, suffix = name[: -len(ext + comp)], name[-len(ext + comp) :]
                break
        if suffix:
            break
    q_path = Path(quarantine) if quarantine else outp.with_name(f"{name}.quarantine{suffix}")
    c_path = Path(changes) if changes else outp.with_name(f"{name}.changes{suffix or '.csv'}")
    for p in (outp, q_path, c_path):
        output_format(p)
    return outp, q_path, c_path


def change_log_table(changes: pd.DataFrame) -> pd.DataFrame:
    """The change log with before/after as text: one type per column for Parquet."""
    out = changes.copy()
    for col in ("before", "after"):
        out[col] = out[col].map(lambda v: None if v is None or v != v else str(v)).astype(object)
    return out


# ---- which kinds, which checks -----------------------------------------------------------


def _declared_kinds(ds: Dataset, opts: CleanOptions) -> dict[str, Kind]:
    """Every finding kind of the installed default checks that can run on `ds`."""
    kinds: dict[str, Kind] = {}
    for name in DEFAULT_CHECKS:
        if not installed(name):
            continue
        cls = check_class(name)
        missing = cls(**opts.audit_options.get(name, {})).missing_roles(ds)
        if missing:
            _refuse_policies_without(cls, missing[0], opts)
            continue
        kinds.update({k.name: k for k in cls.kinds})
    for name in opts.policies:
        family = name.split(".", 1)[0]
        try:
            kinds.setdefault(name, check_class(family).kind(name))
        except (KeyError, DataQAError):
            raise DataQAError(
                f"there is no finding kind {name!r} to set a policy for",
                hint="`dataqa checks` lists each check's finding kinds",
            ) from None
    return kinds


def _refuse_policies_without(cls, role: str, opts: CleanOptions) -> None:
    """Raise when the user asked clean to act on findings of a check that cannot run here
    (`--label-errors relabel` on a file with no label column would otherwise relabel
    nothing and exit 0)."""
    fields = type(opts).model_fields
    asked = [
        f"--{flag.replace('_', '-')} {getattr(opts, flag)}"
        for flag in dict.fromkeys(f for k in cls.kinds for f in k.flags)
        if flag in fields and getattr(opts, flag) != fields[flag].default
    ]
    asked += [f"-p {k}={v}" for k, v in opts.policies.items() if k.split(".", 1)[0] == cls.name]
    if asked:
        raise DataQAError(
            f"{asked[0]} acts on the {cls.name} check's findings, but that check needs a "
            f"{role} column and none was found",
            hint=f"name it with --{role}-col (the pipeline key {role}_col), or drop {asked[0]}",
        )


def _checks_for(kinds: dict[str, Kind], wanted) -> list[str]:
    return sorted({k.check for k in kinds.values() if wanted(k)}, key=DEFAULT_CHECKS.index)


def _repair(ds, kinds, policy, opts, other, seed, progress):
    """Phase 1: run the repair steps the findings ask for; (text, change frames, whether
    lone surrogates were repaired)."""
    from dataqa.stages.audit import audit

    text = ds.text
    changes: list[pd.DataFrame] = []
    applying = {n for n, k in kinds.items() if k.fix is RepairText and policy[n] == "apply"}
    if not applying or ds.roles.schema != "text":
        return text, changes, False  # conversation turns are not repaired in place
    checks = _checks_for(kinds, lambda k: k.name in applying)
    first = audit(
        ds, checks=checks, options=opts.audit_options, against=other, seed=seed, progress=progress
    )
    steps = {kinds[n].step for n in applying}
    rows_for: dict[str, set] = {}
    for f in first.findings:
        if f.check in applying and isinstance(f.fix, RepairText):
            rows_for.setdefault(f.fix.step, set()).update(f.row_ids)
    surrogates = bool(rows_for.get("repair_surrogates")) and bool(ds.io.surrogates)
    if surrogates:
        changes.append(_surrogate_repairs(ds))
    strings = set(ds.ids[_is_string(ds.frame[ds.roles.text]).to_numpy()])
    text, logged = apply_repairs(text, steps, rows_for, strings)
    changes += [c.assign(field=ds.roles.text) for c in logged]
    return text, changes, surrogates


def _decide_audit(fixed, kinds, policy, opts, other, report, seed, progress):
    """Phase 2: the findings clean decides on, from the repaired rows (or `report`)."""
    from dataqa.stages.audit import audit

    def acts(k: Kind) -> bool:
        return k.fix is not RepairText and policy[k.name] != "keep"

    wants_relabels = any(
        k.fix is ResolveConflict and policy[k.name] == "labels" for k in kinds.values()
    )
    checks = _checks_for(kinds, lambda k: acts(k) or (wants_relabels and k.fix is Relabel))
    reused = []
    if report is not None:
        for name in checks:
            if check_class(name).reusable and (name in report.stats or report.by_check(name)):
                reused.append(name)
    run = [c for c in checks if c not in reused]
    post = (
        audit(
            fixed,
            checks=run,
            options=opts.audit_options,
            against=other,
            seed=seed,
            progress=progress,
        )
        if run
        else Report()
    )
    findings = list(post.findings)
    if report is not None:
        findings += [f for f in report.findings if f.check.split(".", 1)[0] in reused]
    return post, findings


def decide(findings: list[Finding], policy: dict, opts: CleanOptions, text=None) -> _Book:
    """Phase 2's decisions, row by row: quarantines (with reasons) and relabels.

    Both engines call it on the findings of the repaired rows. In order: duplicate
    conflicts (they may settle label suspects), label suggestions and quarantines, then
    duplicate groups (each keeps a row that stays).

    Parameters
    ----------
    findings : list of Finding
    policy : dict
        Finding kind -> policy (`policies.policy_for`).
    opts : CleanOptions
    text : pandas.Series, optional
        Repaired text by row id; needed only for `--dedupe longest`.

    Returns
    -------
    _Book
        `reasons` (row id -> quarantine reasons) and `relabels` (row id -> label).
    """
    book = _Book()
    suspects = {
        r: f for f in findings if isinstance(f.fix, Relabel) and f.row_ids for r in f.row_ids
    }
    settled: set = set()
    for f in findings:  # conflicts first: they may settle label suspects
        if isinstance(f.fix, ResolveConflict) and f.row_ids:
            p = _policy_of(f, policy)
            settled |= _resolve_conflict(f, p, suspects, policy, opts, book)
    for f in findings:
        p = _policy_of(f, policy)
        if not f.row_ids or p is None or isinstance(f.fix, ResolveConflict):
            continue
        if isinstance(f.fix, Relabel):
            for r in f.row_ids:
                if r not in settled:
                    _relabel(f, r, p, opts, book)
        elif isinstance(f.fix, Dedupe):
            continue  # after every quarantine, so that a group keeps a row that stays
        elif p == "quarantine":
            book.quarantine(f.row_ids, _reason(f))
    for f in findings:
        p = _policy_of(f, policy)
        if isinstance(f.fix, Dedupe) and f.row_ids and p in ("first", "longest"):
            members = [r for r in f.row_ids if r not in book.reasons]
            if len(members) >= 2:
                keep = _keeper(members, text, p)
                book.quarantine(
                    [r for r in members if r != keep], f"{_name(f)} duplicate of row {keep}"
                )
    return book


def apply_repairs(
    text: pd.Series, steps: set, rows_for: dict | None, strings: set | None = None
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Run the repair steps (in `REPAIRS` order) and log every edit.

    Parameters
    ----------
    text : pandas.Series
        Text by row id.
    steps : set of str
        The steps whose policy is `apply`.
    rows_for : dict or None
        Step -> rows its findings flagged; a row one step changed also goes through the
        later ones. None: every row goes through every step, which edits exactly the
        same rows, because a hygiene finding flags a row for a step exactly when the
        step would change it (tests/test_repairs.py) - the Dask engine's way, which needs
        no findings first.
    strings : set, optional
        Row ids whose value is a string (others are never edited); default all.

    Returns
    -------
    text : pandas.Series
    changes : list of pandas.DataFrame
        Change-log frames (`CHANGE_COLUMNS`).
    """
    changes: list[pd.DataFrame] = []
    touched: set = set()
    for step, fn in REPAIRS.items():
        if step not in steps:
            continue
        if rows_for is None:
            target = list(
                text.index if strings is None else [r for r in text.index if r in strings]
            )
        else:
            wanted = rows_for.get(step, set()) | touched
            if strings is not None:
                wanted &= strings
            target = [r for r in text.index if r in wanted]
        if not target:
            continue
        before = text.loc[target]
        after = fn(before)
        diff = (after != before).to_numpy()
        if diff.any():
            ids = before.index[diff]
            changes.append(_change(ids, "", before[diff].to_numpy(), after[diff].to_numpy(), step))
            text = text.copy()
            text.loc[ids] = after[diff].to_numpy()
            touched.update(ids)
    return text, changes


def _is_string(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return values.notna()
    return values.map(lambda v: isinstance(v, str))


# ---- applying fixes ----------------------------------------------------------------------


class _Book:
    """Row -> quarantine reasons, row -> new label."""

    def __init__(self) -> None:
        self.reasons: dict = {}
        self.relabels: dict = {}

    def quarantine(self, rows, why: str) -> None:
        for r in rows:
            self.reasons.setdefault(r, []).append(why)


def _policy_of(f: Finding, policy: dict) -> str | None:
    """The policy for a finding's kind (a `check.*` kind covers every name it prefixes)."""
    if f.check in policy:
        return policy[f.check]
    return policy.get(f.check.split(".", 1)[0] + ".*")


def _name(f: Finding) -> str:
    return f.check.split(".", 1)[1] if "." in f.check else f.check


def _reason(f: Finding, row=None) -> str:
    """The quarantine reason of a finding: the fix's own, else the finding's kind and,
    for one row, its value in the evidence."""
    if isinstance(f.fix, Quarantine) and f.fix.reason:
        return f.fix.reason
    values = f.evidence.get("values") if isinstance(f.evidence, dict) else None
    if row is None and isinstance(values, dict) and len(f.row_ids) == 1:
        row = f.row_ids[0]
    if isinstance(values, dict) and row is not None and str(row) in values:
        return f"{_name(f).replace('_', ' ')}: {values[str(row)]!r}"
    return _name(f).replace("_", " ")


def _relabel(f: Finding, row, policy: str, opts: CleanOptions, book: _Book) -> bool:
    """Apply a Relabel fix to one row under `policy`; True when the row was acted on."""
    if policy == "keep":
        return False
    fix = f.fix
    assert isinstance(fix, Relabel)
    why = f"{f.check}: given {f.evidence.get('given_label')!r}, likely {fix.to!r}"
    unsure = _unsure(fix, opts, policy)
    if unsure:
        if opts.label_unsure == "quarantine":
            book.quarantine([row], f"{why} (unsure: {unsure})")
            return True
        return False
    if policy == "relabel" and fix.to is not None:
        book.relabels[row] = fix.to
    else:
        book.quarantine([row], why)
    return True


def _unsure(fix: Relabel, opts: CleanOptions, policy: str) -> str:
    """Why a suggested label is not sure enough to act on ("" when it is): for a relabel
    the check asks for review (weak evidence), or its confidence is under
    `--label-threshold` (quarantine, which changes no label, needs only the latter)."""
    if fix.review and policy == "relabel":
        return "the evidence is too weak for a relabel; review it"
    if fix.confidence is not None and fix.confidence < opts.label_threshold:
        return f"{fix.confidence:.0%} < {opts.label_threshold:.0%}"
    return ""


def _resolve_conflict(
    f: Finding, policy: str | None, suspects: dict, policies: dict, opts, book
) -> set:
    """Settle a duplicate group whose labels disagree; returns the label suspects it
    settled (so they are not acted on twice)."""
    fix = f.fix
    assert isinstance(fix, ResolveConflict)
    kind = f.evidence.get("kind", "duplicate")
    kind = ("an " if kind[:1] in "aeiou" else "a ") + kind
    labels = fix.labels or f.evidence.get("labels", {})
    if policy == "keep":
        return set()
    if policy == "labels":
        doubted = [r for r in f.row_ids if r in suspects]
        trusted = {str(labels.get(str(r))) for r in f.row_ids if r not in suspects}
        if doubted and len(trusted) == 1:
            for r in doubted:
                s = suspects[r]
                if not _relabel(s, r, _policy_of(s, policies) or "keep", opts, book):
                    book.quarantine(
                        [r],
                        f"conflicting labels in {kind} duplicate group: the labels check "
                        "doubts this row's label",
                    )
            return set(doubted)
    if policy == "majority" and fix.majority is not None:
        book.quarantine(
            [r for r in f.row_ids if labels.get(str(r)) != fix.majority],
            f"conflicting labels in {kind} duplicate group: minority label",
        )
        return set()
    distinct = sorted({str(v) for v in labels.values() if v is not None and v == v})
    book.quarantine(f.row_ids, f"conflicting labels in {kind} duplicate group {distinct}")
    return set()


def _keeper(members: list, text: pd.Series, policy: str):
    ordered = sorted(members, key=lambda v: (0, v, "") if isinstance(v, int) else (1, 0, str(v)))
    if policy == "longest":
        return max(ordered, key=lambda r: len(text.loc[r]))
    return ordered[0]


# ---- the logs ----------------------------------------------------------------------------


def _change(ids, field, before, after, step) -> pd.DataFrame:
    return pd.DataFrame(
        {
            ROW_ID: list(ids),
            "field": field,
            "before": list(before),
            "after": list(after),
            "step": step,
        }
    )


def _surrogate_repairs(ds: Dataset) -> pd.DataFrame:
    """Change-log rows for the lone surrogates the loader set aside (every check already
    saw them as U+FFFD); `before` spells each surrogate as a JSON escape (the log is UTF-8)."""
    rows = [
        (
            rid,
            col,
            SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(v)),
            ds.frame.at[rid, col],
        )
        for (rid, col), v in ds.io.surrogates.items()
    ]
    return pd.DataFrame(rows, columns=[ROW_ID, "field", "before", "after"]).assign(
        step="repair_surrogates"
    )


def _summary(ds, kept, quarantined, log, book, opts, policy) -> dict:
    reasons = pd.Series(
        [w.split(":")[0].split(" of row")[0] for r in quarantined.index for w in book.reasons[r]]
    )
    return {
        "rows_in": len(ds),
        "rows_kept": len(kept),
        "rows_quarantined": len(quarantined),
        "rows_changed": int(log[ROW_ID].nunique()) if len(log) else 0,
        "changes_by_step": log["step"].value_counts().to_dict() if len(log) else {},
        "quarantine_reasons": reasons.value_counts().to_dict() if len(reasons) else {},
        "options": opts.model_dump(),
        "policies": dict(sorted(policy.items())),
    }


RELABELS_RIGHT = "61-93%"
"""Share of the default relabels that fixed a planted flip, over seven benchmark settings
(BENCHMARKS.md, "Relabel: fixed vs broken (2026-11-30)"). The check's own posterior
estimate of that share was off by -19% to +45% there, too far to print as a count."""


def relabel_caveat(summary: dict) -> str | None:
    """The warning `clean` prints when it changed labels (None when it changed none):
    the new labels are model suggestions that a re-audit with the same kind of model
    cannot verify (it agrees with its own suggestions)."""
    n = int(summary.get("changes_by_step", {}).get("relabel", 0))
    if not n:
        return None
    return (
        f"{n:,} labels were changed to the labels check's suggestions (change log, step "
        f"'relabel'). They are a model's suggestions, not verified: with planted flips "
        f"{RELABELS_RIGHT} of such relabels were right across seven benchmark settings, "
        "and on this data the share is not measured. A re-audit with the same kind of model "
        "agrees with its own relabels, so it cannot confirm them; review the change log, "
        "or quarantine suspects instead (--label-errors quarantine)."
    )


def _check_nothing_lost(ds: Dataset, kept: pd.DataFrame, quarantined: pd.DataFrame) -> None:
    ids_in = set(ds.frame.index)
    k, q = set(kept.index), set(quarantined.index)
    if k & q or (k | q) != ids_in or len(kept) + len(quarantined) != len(ds):
        raise AssertionError(
            f"dataqa bug: rows lost or doubled in clean (in={len(ids_in)}, kept={len(k)}, "
            f"quarantined={len(q)}, both={len(k & q)}, missing={len(ids_in - k - q)}); "
            "nothing was written"
        )
