"""What both fine-tune stages share: the step plan, the run cache, budget facts, findings.

The classification stage (`stage`) and the conversation stage (`sft`) train arms the
same way and report them the same way; the pieces they have in common live here, once:
`plan_steps` (equal optimiser steps for every arm), `cache_get`/`cache_put` (one file
per run, keyed by a hash of its inputs), `budget_facts` (the verdict's compute line),
the findings (`leak_findings`, `arm_findings`, `comparison_finding`), the learning-curve
charts and `make_report`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dataqa import __version__
from dataqa.findings import Finding, Report
from dataqa.train.options import TrainOptions
from dataqa.train.verdict import UNDERTRAINED_GAP

FAMILY = "finetune"


def plan_steps(opts: TrainOptions, mode: str, ref_rows: int, rows: int) -> tuple[int, int]:
    """(max_steps, eval_every) for one run: equal steps follow the first arm's rows."""
    basis = ref_rows if mode == "steps" else rows
    per_epoch = max(1, -(-basis // opts.batch_size))
    return opts.steps_for(basis), int(opts.eval_every or max(1, per_epoch // 2))


def cache_get(cache_dir, key: str) -> dict | None:
    import json

    if not cache_dir:
        return None
    path = Path(cache_dir) / f"run-{key}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cache_put(cache_dir, key: str, payload: dict) -> None:
    import json

    from dataqa.dataset import atomic_write_text
    from dataqa.findings import to_jsonable

    if cache_dir:
        atomic_write_text(Path(cache_dir) / f"run-{key}.json", json.dumps(to_jsonable(payload)))


def seed_summary(records: list[dict], metrics: dict[str, tuple[int, bool]]) -> dict:
    """Mean (and sample standard deviation) over seeds of each test metric.

    Parameters
    ----------
    records : list of dict
        One run record per seed, each with `test[metric]` and `train["steps"]`.
    metrics : dict
        Metric -> (decimals, with its standard deviation); the sd is None for one seed.
    """
    out: dict = {"runs": len(records)}
    for name, (digits, with_sd) in metrics.items():
        values = np.array([r["test"][name] for r in records], dtype=float)
        out[f"{name}_mean"] = round(float(values.mean()), digits)
        if with_sd:
            sd = round(float(values.std(ddof=1)), digits) if len(values) > 1 else None
            out[f"{name}_sd"] = sd
    out["steps"] = [r["train"]["steps"] for r in records]
    return out


def add_runs(arm: dict, records: list[dict], summary: dict, *, first: bool) -> None:
    """Put one budget's runs of an arm (one record per seed) into its stats: the first
    budget (equal steps) is the arm's headline; a second (equal epochs, on request) goes
    under `equal_epochs`."""
    if first:
        arm["seeds"] = records
        arm["train"] = records[0]["train"]
        arm["summary"] = summary
        arm["tensorboard"] = records[0]["tensorboard"]
        arm["cached"] = all(r["cached"] for r in records)
    else:
        arm["equal_epochs"] = {"seeds": records, "summary": summary}


def budget_facts(mode: str, names: list[str], runs: dict, opts: TrainOptions) -> dict:
    """How much training each arm got under one budget (for the verdict's facts line)."""
    steps, epochs, rows = {}, {}, {}
    for n in names:
        arm = runs[n]
        recs = arm["seeds"] if arm["seeds"][0]["budget"] == mode else arm["equal_epochs"]["seeds"]
        max_steps = recs[0]["train"]["max_steps"]
        steps[n] = max_steps
        rows[n] = arm["train_rows"]
        epochs[n] = round(max_steps * opts.batch_size / max(1, arm["train_rows"]), 2)
    first = steps[names[0]]
    return {
        "mode": mode,
        "steps": steps,
        "epochs": epochs,
        "train_rows": rows,
        "epochs_asked": opts.epochs,
        "batch_size": opts.batch_size,
        "warmup_steps": int(round(opts.warmup_ratio * first)),
        "warmup_ratio": opts.warmup_ratio,
        "schedule": opts.schedule,
        "early_stopping_patience": opts.patience,
    }


def verdict_of(comp, budgets, names, seeds, comparisons, **extra) -> dict | None:
    """`verdict.verdict` of one comparison under the first budget, with the other budget's
    result as a line (None for a comparison under the other budget).

    `extra` goes to `verdict` (the classification path's trusted rows, test audit and
    baseline).
    """
    from dataqa.train.verdict import verdict

    if comp["budget"] != next(iter(budgets)):
        return None  # the other budget is a line in the main verdict
    other = next(
        (c["all"] for c in comparisons if c["b"] == comp["b"] and c["budget"] != comp["budget"]),
        None,
    )
    return verdict(
        comp["all"],
        budget=budgets[comp["budget"]],
        names=names,
        seeds=seeds,
        other_budget=other,
        **extra,
    )


def leak_findings(leaked: dict, names, trains, test, unit: str = "rows") -> list[Finding]:
    out = []
    for name, ds in zip(names, trains, strict=True):
        ids = leaked.get(name) or []
        if ids:
            out.append(
                Finding(
                    check=f"{FAMILY}.leakage",
                    severity="warning",
                    message=(
                        f"{len(ids)} {unit} of the {name} training set also appear in the test "
                        "set (same or nearly the same text); they were left out of training "
                        "(--drop-leaked)"
                    ),
                    row_ids=ids,
                    evidence={"run": name, "path": ds.source, "test_path": test.source},
                    fix={"action": "quarantine"},
                )
            )
    return out


def arm_findings(name: str, arm: dict, pretrained: bool) -> list[Finding]:
    out = []
    for rec in arm["seeds"]:
        v = rec["train"]["verdict"]
        if v.get("overfitting"):
            out.append(
                Finding(
                    check=f"{FAMILY}.overfitting",
                    severity="warning",
                    message=f"{name} (seed {rec['seed']}): {v['message']}",
                    evidence={"run": name, "seed": rec["seed"], **v},
                    fix={
                        "action": "review",
                        "hint": "fewer epochs, more dropout or weight decay, or more data",
                    },
                )
            )
    base = arm.get("baseline")
    mean = arm["summary"].get("accuracy_mean")
    if base and mean < base["test"]["accuracy"]:
        gap = base["test"]["accuracy"] - mean
        far = gap > UNDERTRAINED_GAP
        out.append(
            Finding(
                check=f"{FAMILY}.below_baseline",
                severity="warning" if far else "info",
                message=(
                    f"{name}: the fine-tuned model ({mean:.3f}, mean over seeds) scores below "
                    f"the TF-IDF baseline ({base['test']['accuracy']:.3f}) on the test set"
                    + ("" if pretrained else "; the model was not pretrained")
                    + (
                        f". {gap * 100:.0f} points below it, the model has not learned what "
                        "the data allows, so the raw-vs-curated verdict measures training "
                        "noise more than data: train longer (--epochs) or start from a "
                        "pretrained --model, and read the baseline's comparison beside it"
                        if far
                        else ""
                    )
                ),
                evidence={"run": name, "gap": round(gap, 4)},
            )
        )
    return out


def comparison_finding(v: dict) -> Finding:
    """The verdict as a finding. "Worse" gates CI (an error) only when several seeds back
    it: one run per set cannot tell data from seed noise (Dodge et al., 2020), so a
    single-seed "worse" is a warning and says so in its message, which is what CI logs show.
    """
    single = bool(v["single_seed"])
    message = v["headline"]
    if single:
        message += " (single seed per set: seed noise is not measured; use --seeds 3)"
    return Finding(
        check=f"{FAMILY}.comparison",
        severity=(
            ("warning" if single or v.get("undertrained") else "error")
            if v["outcome"] == "worse"
            else "info"
        ),
        message=message,
        evidence={
            "a": v["a"],
            "b": v["b"],
            "outcome": v["outcome"],
            "budget": v["budget"],
            "single_seed": v["single_seed"],
            **{k: v[k] for k in ("accuracy", "macro_f1", "loss") if k in v},
        },
    )


def curve_charts(names: list[str], runs: dict) -> list[dict]:
    """One learning-curve chart per arm (its first seed), from `LearningCurve`'s history."""
    charts = []
    for name in names:
        hist = runs[name]["train"]["history"]
        if not hist:
            continue
        x = [h["epoch"] for h in hist]
        series = {"train loss": [h.get("train_loss") for h in hist]}
        if any("val_loss" in h for h in hist):
            series["validation loss"] = [h.get("val_loss") for h in hist]
            if any("val_accuracy" in h for h in hist):
                series["validation accuracy"] = [h.get("val_accuracy") for h in hist]
        charts.append(
            {
                "id": f"finetune-curve-{name}",
                "type": "line",
                "title": f"Learning curve: {name} (seed {runs[name]['seeds'][0]['seed']})",
                "x_label": "epoch",
                "y_label": "loss / accuracy",
                "data": {"x": x, "series": series},
            }
        )
    return charts


def make_report(findings, stats, trains, names, test, opts) -> Report:
    from dataqa.stages.audit import input_hash

    report = Report(findings=findings, stats={FAMILY: stats})
    report.meta = {
        "tool": "dataqa",
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "finetune",
        "input": {
            "path": trains[0].source,
            "sha256": input_hash(trains[0]),
            "rows": len(trains[0]),
            "roles": trains[0].roles.as_dict(),
        },
        "trains": [
            {"name": n, "path": d.source, "rows": len(d)}
            for n, d in zip(names, trains, strict=True)
        ],
        "against": {"path": test.source, "rows": len(test)},
        "seed": opts.seed,
        "timings_s": {"finetune": stats["seconds"]},
    }
    return report
