"""Hyperparameter search, grid or random, selected on the validation split only.

A small sampler rather than `Trainer.hyperparameter_search`, whose backends (Optuna,
Ray Tune, SigOpt, W&B) would each be a dependency and which retrains the winner; here
the winning settings go straight on to train every seed. A search is a list of candidate settings and a `trial(settings) -> outcome` function;
the outcome carries validation numbers (and whatever the caller wants to keep, such as
the trained model). The search never sees a test set: the trial function it is given
only has the training and validation rows. Budget: at most `max_trials` trials and no new
trial after `max_seconds` (the first trial always runs).

The space maps a hyperparameter to candidate values (default: learning rate, batch size
and weight decay; `--space epochs=2,4 --space dropout=0.1,0.3` adds others, and what is
not in the space keeps its configured value). Grid search tries every
combination in a fixed order; random search draws each value independently: learning
rate log-uniform and weight decay / dropout uniform between the smallest and largest
candidates given, batch size, epochs and optimizer from the listed values.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dataqa.errors import DataQAError

DEFAULT_SPACE: dict[str, list] = {
    "lr": [2e-5, 5e-5, 1e-4],
    "batch_size": [16, 32],
    "weight_decay": [0.0, 0.01],
}
"""Searched when the user names nothing; every other setting stays as configured."""
SEARCHABLE = ("lr", "batch_size", "weight_decay", "dropout", "epochs", "optimizer", "warmup_ratio")
CONTINUOUS = {
    "lr": "log",
    "weight_decay": "uniform",
    "dropout": "uniform",
    "warmup_ratio": "uniform",
}
INTEGER = {"batch_size", "epochs"}
METRICS = {"val_accuracy": "max", "val_loss": "min"}


@dataclass
class SearchResult:
    method: str
    metric: str
    trials: list[dict]
    best_index: int | None
    best_outcome: dict | None = field(default=None, repr=False)
    seconds: float = 0.0
    stopped_by: str | None = None

    def table(self) -> list[dict]:
        return [dict(t) for t in self.trials]

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "metric": self.metric,
            "trials": self.table(),
            "best_trial": self.best_index,
            "best_settings": self.trials[self.best_index]["settings"]
            if self.best_index is not None
            else None,
            "seconds": round(self.seconds, 2),
            "stopped_by": self.stopped_by,
        }


def parse_space(items: list[str] | tuple[str, ...] | None, base: dict | None = None) -> dict:
    """`["lr=1e-5,3e-5", "batch_size=16,32"]` -> space (values read as YAML scalars)."""
    import yaml

    space = {k: list(v) for k, v in (base or DEFAULT_SPACE).items()}
    for item in items or ():
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise DataQAError(
                f"cannot read the search space entry {item!r}",
                hint="write it as NAME=V1,V2, e.g. --space lr=1e-5,3e-5,1e-4",
            )
        if key not in SEARCHABLE:
            raise DataQAError(
                f"cannot search over {key!r}", hint=f"searchable: {', '.join(SEARCHABLE)}"
            )
        space[key] = [_scalar(yaml.safe_load(v.strip())) for v in values.split(",") if v.strip()]
    return space


def _scalar(value):
    """YAML reads `1e-5` (no dot) as a string; numbers the user typed are numbers."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def grid(space: dict) -> list[dict]:
    keys = list(space)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*space.values())]


def random_settings(space: dict, n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = {}
        for key, values in space.items():
            values = list(values)
            kind = CONTINUOUS.get(key)
            lo, hi = (min(values), max(values)) if kind else (None, None)
            if kind == "log" and lo > 0 and hi > lo:
                s[key] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            elif kind == "uniform" and hi > lo:
                s[key] = float(rng.uniform(lo, hi))
            else:
                v = values[int(rng.integers(len(values)))]
                s[key] = int(v) if key in INTEGER else v
        out.append(s)
    return out


def candidates(method: str, space: dict, trials: int, seed: int = 0) -> list[dict]:
    if method == "grid":
        return grid(space)[:trials]
    if method == "random":
        return random_settings(space, trials, seed)
    raise DataQAError(f"unknown search method {method!r}", hint="use grid or random")


def run_search(
    trial: Callable[[dict], dict],
    settings: list[dict],
    *,
    method: str,
    metric: str = "val_accuracy",
    max_trials: int | None = None,
    max_seconds: float | None = None,
) -> SearchResult:
    """Run trials until the budget is spent; keep only the best outcome in memory.

    `trial` returns a dict with `val_loss` and `val_accuracy` (and any payload). Ties on
    the metric are broken by the other validation number, then by trial order.
    """
    if metric not in METRICS:
        raise DataQAError(f"unknown selection metric {metric!r}", hint=f"use {', '.join(METRICS)}")
    start = time.perf_counter()
    rows: list[dict] = []
    best_i, best_key, best_out = None, None, None
    stopped_by = None
    limit = len(settings) if max_trials is None else min(max_trials, len(settings))
    for i, s in enumerate(settings):
        if i >= limit:
            stopped_by = "trials"
            rows.append({"trial": i, "settings": s, "status": "skipped (trial budget)"})
            continue
        done = any(r["status"] == "done" for r in rows)
        if max_seconds is not None and done and time.perf_counter() - start > max_seconds:
            stopped_by = "seconds"
            rows.append({"trial": i, "settings": s, "status": "skipped (time budget)"})
            continue
        t0 = time.perf_counter()
        out = trial(s)
        row = {
            "trial": i,
            "settings": s,
            "status": "done",
            "val_loss": out.get("val_loss"),
            "val_accuracy": out.get("val_accuracy"),
            "best_epoch": out.get("best_epoch"),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        rows.append(row)
        key = _key(row, metric)
        if key is not None and (best_key is None or key < best_key):
            best_i, best_key, best_out = i, key, out
    for r in rows:
        r["selected"] = r["trial"] == best_i
    return SearchResult(
        method=method,
        metric=metric,
        trials=rows,
        best_index=best_i,
        best_outcome=best_out,
        seconds=time.perf_counter() - start,
        stopped_by=stopped_by,
    )


def _key(row: dict, metric: str):
    loss, acc = row.get("val_loss"), row.get("val_accuracy")
    if loss is None or acc is None or not np.isfinite(loss):
        return None
    return (-acc, loss) if metric == "val_accuracy" else (loss, -acc)
