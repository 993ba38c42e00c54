"""The audit stage: run the chosen checks over a Dataset and gather one Report."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataqa import __version__
from dataqa.checks import DEFAULT_CHECKS, REGISTRY, Context, check_class, installed
from dataqa.dataset import Dataset, another_split, as_dataset
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.progress import stage

MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 500
MAX_EXAMPLE_FINDINGS = 500


def audit(
    data,
    *,
    checks: list[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    against=None,
    reference=None,
    seed: int = 0,
    progress: bool = False,
    **roles: str | None,
) -> Report:
    """Run checks on a dataset and return a Report.

    Parameters
    ----------
    data : Dataset, pandas.DataFrame or datasets.Dataset
        The rows (a frame takes `text_col=`, `label_col=`... in `roles`).
    checks : list of str, optional
        Checks to run; default every default check whose extra is installed and whose
        column roles exist (one that cannot run is listed in `report.meta["skipped"]`).
    options : dict, optional
        Check name -> its options, e.g. `{"hygiene": {"min_words": 3}}`; validated
        against each check's options model before any check runs.
    against : Dataset or DataFrame, optional
        Another split (e.g. the test set) for leakage checks.
    reference : Dataset or DataFrame, optional
        A sample of the target domain for the relevance check.
    seed : int, default 0
        Same data + same seed = same report.
    progress : bool, default False
        Log each check's progress (logger "dataqa", INFO) and show bars on a terminal.

    Returns
    -------
    Report

    Raises
    ------
    DataQAError
        An unknown check or option, a bad option value, or unreadable data.
    """
    ds = as_dataset(data, **roles)
    other = None
    if against is not None:
        other = another_split(against, ds, source="<against>")
    ref = None
    if reference is not None:
        ref = as_dataset(
            reference,
            text_col=ds.roles.text
            if isinstance(reference, pd.DataFrame) and ds.roles.text in reference.columns
            else None,
            source="<reference>",
        )
    options = options or {}
    explicit = checks is not None
    names = list(checks) if checks is not None else [c for c in DEFAULT_CHECKS if installed(c)]
    unknown = sorted(set(options) - set(REGISTRY))
    if unknown:
        raise DataQAError(
            f"there is no check {unknown[0]!r} to set options for",
            hint=f"checks: {', '.join(REGISTRY)}",
        )
    # the rules check reads the other checks' results, so it runs last
    names.sort(key=lambda n: n == "rules")
    # every option is validated before any check runs: a typo fails in a second, not an hour
    instances = {name: check_class(name)(**options.get(name, {})) for name in names}
    ctx = Context(against=other, reference=ref, seed=seed, progress=progress)
    report = Report()
    skipped: dict[str, str] = {}
    if not explicit:
        for name in REGISTRY:
            if name in DEFAULT_CHECKS and not installed(name):
                _, _, extra = REGISTRY[name]
                skipped[name] = f"not installed: pip install 'dataqa-finetune[{extra}]'"
    timings: dict[str, float] = {}
    not_applicable: dict[str, str] = {}
    for name, check in instances.items():
        why_not = check.not_applicable(ds)
        if why_not:  # asked for by name, it is a gap the verdict must own up to
            (skipped if explicit else not_applicable)[name] = why_not
            continue
        missing = check.missing_roles(ds)
        if missing and explicit:  # asked for by name: a CI gate must not pass on a no-op
            raise DataQAError(
                f"the {name} check needs a {missing[0]} column and none was found among "
                f"the columns {', '.join(map(str, ds.frame.columns))}",
                hint=f"name it with --{missing[0]}-col (in Python: {missing[0]}_col=), or "
                f"leave {name} out of the checks",
            )
        if missing:
            skipped[name] = f"needs a {missing[0]} column (--{missing[0]}-col)"
            continue
        start = time.perf_counter()
        with stage(f"audit: {name}", enabled=progress):
            result = check.run(ds, ctx)
        timings[name] = round(time.perf_counter() - start, 3)
        report.findings.extend(result.findings)
        report.stats[name] = result.stats
        report.tables.update(result.tables)
        ctx.results[name] = result
        if result.skipped:
            skipped[name] = result.skipped
    report.stats["dataset"] = dataset_stats(ds)
    attach_examples(report.findings, ds)
    report.meta = {
        "tool": "dataqa",
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {
            "path": ds.source,
            "sha256": input_hash(ds),
            "rows": len(ds),
            "roles": ds.roles.as_dict(),
        },
        "against": None if other is None else {"path": other.source, "rows": len(other)},
        "reference": None if ref is None else {"path": ref.source, "rows": len(ref)},
        "checks": [n for n in names if n in report.stats and n not in skipped],
        "skipped": skipped,
        "not_applicable": not_applicable,
        "options": options,
        "seed": seed,
        "timings_s": timings,
        "notes": ctx.notes,
    }
    return report


def dataset_stats(ds: Dataset) -> dict:
    out: dict[str, Any] = {
        "rows": len(ds),
        "columns": [str(c) for c in ds.frame.columns],
        "roles": ds.roles.as_dict(),
    }
    labels, groups = ds.labels, ds.groups
    if labels is not None:
        counts = labels.value_counts(dropna=True)
        out["classes"] = int(counts.size)
        out["label_counts"] = {str(k): int(v) for k, v in counts.items()}
    if groups is not None:
        out["groups"] = int(groups.nunique())
    return out


def attach_examples(findings: list[Finding], ds: Dataset) -> None:
    """Give row-level findings a few example rows (text, label) so a report read from
    JSON alone can show them; every row id stays in `row_ids`.

    Only the first `MAX_EXAMPLE_FINDINGS` findings of each check get examples: a 1M-row
    audit has ~100k duplicate groups, and examples for all of them would make the JSON
    hundreds of MB for text nobody pages through (the HTML shows a capped number anyway).
    """
    text = ds.text  # what the checks saw: strings, lone surrogates shown as U+FFFD
    labels = ds.labels
    seen: dict[str, int] = {}
    position = pd.Series(np.arange(len(ds)), index=ds.frame.index)
    for f in findings:
        if not f.row_ids or "examples" in f.evidence:
            continue
        seen[f.check] = seen.get(f.check, 0) + 1
        if seen[f.check] > MAX_EXAMPLE_FINDINGS:
            continue
        ids = f.row_ids[:MAX_EXAMPLES]
        pos = position.reindex(ids).dropna().astype(int).to_numpy()
        texts = text.iloc[pos]
        labs = labels.iloc[pos] if labels is not None else None
        rows = []
        for k, i in enumerate(texts.index):
            t = str(texts.iloc[k])
            row = {
                "row_id": i,
                "text": t[:MAX_EXAMPLE_CHARS] + ("…" if len(t) > MAX_EXAMPLE_CHARS else ""),
            }
            if labs is not None:
                row["label"] = labs.iloc[k]
            rows.append(row)
        f.evidence["examples"] = rows


def input_hash(ds: Dataset) -> str:
    src = Path(ds.source)
    h = hashlib.sha256()
    if ds.source != "<memory>" and src.is_file():
        with open(src, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    h.update(pd.util.hash_pandas_object(ds.frame.astype(str), index=True).to_numpy().tobytes())
    return h.hexdigest()
