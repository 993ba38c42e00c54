"""The finetune stage on conversation data: a causal LM on raw and on curated records.

`stage.finetune` hands conversation data (OpenAI chat, ShareGPT, Alpaca,
prompt/completion, preference pairs: `dataqa.chat`) to `finetune_conversations`. The
question stays the one of the classification path - is the curated set better for
fine-tuning? - and so does the machinery:

- unfair comparisons are refused before anything trains: a test conversation that is
  in a training set exactly or nearly (MinHash Jaccard >= the duplicates check's
  default threshold on the normalised `role: content` rendering) is leakage (`testset.drop_or_refuse_leaks`);
- one validation split is drawn on the first set and applied to the others by row id
  (`split.make_splits`);
- every record becomes a training row with assistant-only loss (`masking`: labels -100
  on everything but assistant tokens, through the tokenizer's chat template when it has
  one); records with no trainable token are left out and named;
- each arm trains `seeds` times for the same number of optimiser steps through the one
  `Trainer` loop (`finetune.fit`), from the same checkpoint (`--model tiny`: a small
  GPT-2 with a tokenizer trained on the training conversations; any local causal-LM
  checkpoint; `lora` adds PEFT adapters);
- every run is scored on the same held-out conversations: the mean loss per assistant
  token of each conversation (`finetune.conversation_losses`), and the perplexity;
- the arms are compared by the two-level bootstrap over seeds and held-out conversations
  (`compare.mean_difference`) and `verdict` says better, worse or no measurable
  difference - lower loss is better.

There is no TF-IDF baseline, no test-label audit and no hyperparameter search here:
conversations have no labels to predict.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from dataqa.dataset import Dataset
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.progress import stage
from dataqa.train.options import TrainOptions

FAMILY = "finetune"
ITEMS = "held-out conversations"
log = logging.getLogger(__name__)


def finetune_conversations(
    trains: list[Dataset],
    test: Dataset,
    *,
    names: list[str],
    model: str | None,
    options: TrainOptions,
    drop_leaked: bool,
    work_dir: Path,
    tensorboard: bool,
    wandb: bool,
    cache_dir: str | Path | None,
    progress: bool,
) -> Report:
    """Fine-tune a causal LM on each conversation set `options.seeds` times; compare.

    Parameters
    ----------
    trains : list of Dataset
        Conversation sets (any schema of `dataqa.chat` but `text`); the first is the
        reference (raw).
    test : Dataset
        The held-out conversations every run is scored on (never trained or tuned on).
    names : list of str
        One distinct name per training set.
    model : str or None
        `tiny` (also for None/`default`), a local causal-LM checkpoint or a hub name.
    options : TrainOptions
        Settings; None ones take the model's defaults (`TrainOptions.for_model`).
    drop_leaked : bool
        Leave training conversations found (exactly or nearly) in the test set out
        instead of refusing to run.
    work_dir : Path
        The tiny model, checkpoints and TensorBoard events go here.
    tensorboard, wandb, progress
        As `stage.finetune`.
    cache_dir : path, optional
        Each run's record and per-conversation losses, keyed by a hash of its inputs.

    Returns
    -------
    Report
        `stats["finetune"]` with `task: "causal_lm"`, the runs, the comparisons (held-out
        loss, perplexity) and the verdicts.

    Raises
    ------
    DataQAError
        Mixed classification and conversation data, leakage (unless `drop_leaked`), a
        set or test set without a trainable assistant token, a model or tokenizer that
        does not load, a chat template that does not render a record.
    """
    from dataqa.train import models
    from dataqa.train.shared import (
        arm_findings,
        budget_facts,
        comparison_finding,
        leak_findings,
        make_report,
        verdict_of,
    )
    from dataqa.train.split import make_splits
    from dataqa.train.testset import drop_or_refuse_leaks, near_leak_threshold

    _check_schemas(trains, test)
    started = time.perf_counter()
    trains, leaked = drop_or_refuse_leaks(
        trains,
        names,
        test,
        drop_leaked=drop_leaked,
        unit="conversations",
        near_threshold=near_leak_threshold(),
    )
    findings = leak_findings(leaked, names, trains, test, unit="conversations")
    splits, _ = make_splits(trains, test, frac=options.val_frac, seed=options.seed)
    tok_texts = [t for ds, sp in zip(trains, splits, strict=True) for t in ds.text.loc[sp.train]]
    source = models.resolve(
        model,
        work_dir,
        texts=tok_texts,
        causal=True,
        max_length=options.max_length,
        seed=options.seed,
    )
    opts = options.for_model(source.pretrained, causal=True)
    _, tokenizer = models.load_causal(source)
    enc = _encode_all(trains, names, splits, test, tokenizer, opts)
    seeds = list(range(opts.seed, opts.seed + opts.seeds))
    modes = ["steps", "epochs"] if opts.budget == "both" else [opts.budget]
    ref_rows = len(enc["arms"][names[0]]["train"].rows)
    ctx = {
        "source": source,
        "tokenizer": tokenizer,
        "test": enc["test"],
        "work": Path(work_dir),
        "log_root": Path(work_dir) / "tensorboard" if tensorboard else None,
        "cache_dir": cache_dir,
        "wandb": wandb,
        "progress": progress,
        "ref_rows": ref_rows,
        "tok_texts": tok_texts,
    }
    runs: dict[str, dict] = {}
    losses: dict[tuple[str, str], list[np.ndarray]] = {}
    for name, ds, sp in zip(names, trains, splits, strict=True):
        arm, arm_losses = _train_arm(ctx, name, ds, sp, enc["arms"][name], opts, modes, seeds)
        losses.update({(name, mode): v for mode, v in arm_losses.items()})
        runs[name] = arm
        findings += arm_findings(name, arm, pretrained=source.pretrained)
        findings += _untrainable_findings(name, ds, enc["arms"][name])
    findings += _untrainable_findings("test", test, {"test": enc["test"]})

    comparisons = _comparisons(names, losses, runs, modes, opts.seed)
    budgets = {m: budget_facts(m, names, runs, opts) | {"unit": "conversations"} for m in modes}
    verdicts = [verdict_of(c, budgets, names, seeds, comparisons) for c in comparisons]
    verdicts = [v for v in verdicts if v is not None]
    findings += [comparison_finding(v) for v in verdicts]
    stats = {
        "task": "causal_lm",
        "model": {**source.as_dict(), **models.describe_folder(source.path)},
        "template": _template_facts(tokenizer),
        "device": runs[names[0]]["train"]["device"],
        "config": opts.as_dict(),
        "seeds": seeds,
        "budget": budgets[modes[0]],
        "budgets": budgets,
        "test": {
            "path": test.source,
            "conversations": len(enc["test"].rows),
            "records": len(test),
            "left_out": enc["test"].reasons(),
            "assistant_tokens": int(sum(_counts(enc["test"].rows))),
        },
        "runs": runs,
        "comparisons": comparisons,
        "verdict": verdicts[0] if verdicts else None,
        "verdicts": verdicts,
        "charts": _charts(names, runs),
        "not_run": {
            "baseline": "no TF-IDF baseline for a language model",
            "test_label_audit": "conversations have no labels",
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    return make_report(findings, stats, trains, names, test, opts)


def reject_classification_only(search: str | None) -> None:
    """Refuse the options that only the classification path has.

    Raises
    ------
    DataQAError
        `search` is set.
    """
    if search:
        raise DataQAError(
            "--search is not available for conversation data yet",
            hint="leave out --search; set --lr and --epochs yourself",
        )


# ---- inputs ------------------------------------------------------------------------------


def _check_schemas(trains: list[Dataset], test: Dataset) -> None:
    for ds in [*trains, test]:
        if ds.roles.schema == "text":
            raise DataQAError(
                "this file is classification data (a text and a label per row) but the first "
                "training set holds conversations; raw, curated and test must all be "
                "conversation data",
                path=ds.source,
                hint="pass the conversation files (or force the format with --schema)",
            )


def _encode_all(trains, names, splits, test, tokenizer, opts: TrainOptions) -> dict:
    """Encode every arm's training and validation records and the test records.

    Raises
    ------
    DataQAError
        A set (or the test set) without one record that has a trainable assistant token.
    """
    from dataqa.train.masking import encode_records

    arms = {}
    for name, ds, sp in zip(names, trains, splits, strict=True):
        parts = {}
        for part, ids in (("train", sp.train), ("val", sp.val)):
            parts[part] = encode_records(
                ds.records.loc[ids],
                ds.roles.schema,
                tokenizer,
                opts.max_length,
                name=name,
                path=ds.source,
            )
        if not parts["train"].rows:
            raise DataQAError(
                f"the {name} training set has no conversation with a trainable assistant token "
                f"({len(ds):,} records; {_reasons(parts['train'])}): there is nothing to "
                "fine-tune on",
                path=ds.source,
                hint="give records with assistant turns (dataqa audit lists format problems), "
                "raise --max-length, or check that clean did not quarantine every record",
            )
        arms[name] = parts
    test_enc = encode_records(
        test.records, test.roles.schema, tokenizer, opts.max_length, name="test", path=test.source
    )
    if not test_enc.rows:
        raise DataQAError(
            f"the test set has no conversation with an assistant token to score "
            f"({len(test):,} records; {_reasons(test_enc)})",
            path=test.source,
            hint="the held-out loss is measured on assistant turns: give conversations that "
            "have them (dataqa audit lists format problems), or raise --max-length",
        )
    return {"arms": arms, "test": test_enc}


def _reasons(enc) -> str:
    reasons = enc.reasons()
    if not reasons:
        return "none usable"
    return "; ".join(f"{n:,} {why}" for why, n in reasons.items())


def _counts(rows: list[dict]) -> list[int]:
    from dataqa.train.masking import trainable_tokens

    return [trainable_tokens(r) for r in rows]


def _template_facts(tokenizer) -> dict:
    if getattr(tokenizer, "chat_template", None):
        return {"kind": "chat template", "note": "the tokenizer's own chat template"}
    return {
        "kind": "plain",
        "note": "no chat template: each turn is 'role: ' then its content; an assistant "
        "turn ends with the end-of-sequence token, other turns with a newline",
    }


# ---- training ----------------------------------------------------------------------------


def _train_arm(ctx, name, ds, sp, enc, opts, modes, seeds) -> tuple[dict, dict]:
    """Every seed (and budget) of one arm: its record and per-conversation losses per budget."""
    from dataqa.train.shared import add_runs

    arm = {
        "name": name,
        "path": ds.source,
        "rows": len(ds),
        "train_rows": len(enc["train"].rows),
        "val_rows": len(enc["val"].rows),
        "held_out_rows": len(sp.held_out),
        "left_out": {part: enc[part].reasons() for part in ("train", "val")},
        "split_notes": sp.notes,
        "search": None,
        "config": opts.as_dict(),
    }
    out: dict[str, list[np.ndarray]] = {}
    for mode in modes:
        records, values = [], []
        for seed in seeds:
            run_opts = opts.model_copy(update={"seed": seed})
            rec, per_item = _run_cached(ctx, name, enc, run_opts, mode)
            records.append(rec)
            values.append(per_item)
        out[mode] = values
        add_runs(arm, records, _summary(records), first=mode == modes[0])
    return arm, out


def _summary(records: list[dict]) -> dict:
    from dataqa.train.shared import seed_summary

    return seed_summary(records, {"loss": (4, True), "perplexity": (3, False)})


def _test_scores(sums: np.ndarray, counts: np.ndarray) -> dict:
    per_item = sums / np.maximum(counts, 1)
    pooled = float(sums.sum() / max(1, counts.sum()))
    return {
        "loss": round(float(per_item.mean()), 6),
        "token_loss": round(pooled, 6),
        "perplexity": round(math.exp(min(pooled, 50.0)), 4),
        "conversations": len(per_item),
        "assistant_tokens": int(counts.sum()),
    }


def _run_cached(ctx, name, enc, opts: TrainOptions, mode: str) -> tuple[dict, np.ndarray]:
    from dataqa.train.shared import cache_get, cache_put, plan_steps

    train_rows, val_rows = enc["train"].rows, enc["val"].rows
    max_steps, eval_every = plan_steps(opts, mode, ctx["ref_rows"], len(train_rows))
    key = _run_key(ctx, enc, opts, {"max_steps": max_steps, "eval_every": eval_every})
    cached = cache_get(ctx["cache_dir"], key)
    if cached is not None:
        sums, counts = np.asarray(cached["sums"]), np.asarray(cached["counts"])
        rec = cached["run"] | {"cached": True, "budget": mode}
        return rec, sums / np.maximum(counts, 1)
    tag = f"{name}/seed{opts.seed}" + ("" if mode == "steps" else "-epochs")
    with stage(
        f"finetune: {tag} ({len(train_rows):,} train / {len(val_rows):,} validation "
        f"conversations, {max_steps:,} steps)",
        enabled=ctx["progress"],
    ):
        res, model = _fit(ctx, train_rows, val_rows, opts, max_steps, eval_every, tag)
        from dataqa.train.finetune import conversation_losses

        sums, counts = conversation_losses(model, ctx["tokenizer"], ctx["test"].rows, cfg=opts)
    rec = {
        "seed": opts.seed,
        "budget": mode,
        "train": res.as_dict(),
        "test": _test_scores(sums, counts),
        "tensorboard": str(ctx["log_root"] / tag) if ctx["log_root"] else None,
        "cached": False,
    }
    cache_put(ctx["cache_dir"], key, {"run": rec, "sums": sums.tolist(), "counts": counts.tolist()})
    return rec, sums / np.maximum(counts, 1)


def _fit(ctx, train_rows, val_rows, opts: TrainOptions, max_steps: int, eval_every: int, tag):
    """Load the checkpoint (seeded), add LoRA adapters if asked, train with `fit`."""
    import torch
    from transformers import DataCollatorForSeq2Seq

    from dataqa.train import models
    from dataqa.train.finetune import fit
    from dataqa.train.masking import IGNORE_INDEX

    torch.manual_seed(opts.seed)
    model, tok = models.load_causal(ctx["source"], tokenizer=ctx["tokenizer"], dropout=opts.dropout)
    if opts.lora:
        model = models.apply_lora(
            model, r=opts.lora_r, alpha=opts.lora_alpha, dropout=opts.lora_dropout, causal=True
        )
    res = fit(
        model,
        tok,
        train_rows,
        val_rows,
        opts,
        collator=DataCollatorForSeq2Seq(tok, label_pad_token_id=IGNORE_INDEX),
        max_steps=max_steps,
        eval_every=eval_every,
        log_dir=ctx["log_root"],
        work_dir=ctx["work"],
        run_name=tag,
        wandb=ctx["wandb"],
        progress=ctx["progress"],
    )
    return res, model


def _run_key(ctx, enc, opts: TrainOptions, extra: dict) -> str:
    """Hash of everything a run's outcome depends on (encoded rows, test, model, settings)."""
    from dataqa import __version__

    h = hashlib.sha256()
    for part in (enc["train"], enc["val"], ctx["test"]):
        h.update(json.dumps([list(map(str, part.ids)), part.rows]).encode())
    source = ctx["source"]
    h.update(f"causal|{source.spec}|{source.path}".encode())
    if not source.pretrained:
        h.update(json.dumps(ctx["tok_texts"]).encode())
    settings = {
        "options": {
            k: v
            for k, v in opts.as_dict().items()
            if k not in ("threads", "device", "seeds", "budget")
        },
        "extra": extra,
        "version": __version__,
    }
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


# ---- comparing ---------------------------------------------------------------------------


def _comparisons(names, losses, runs, modes, seed) -> list[dict]:
    """Each later arm against the first, per budget: held-out loss and perplexity."""
    from dataqa.train.compare import mean_difference

    out = []
    a = names[0]
    for b in names[1:]:
        for mode in modes:
            m = mean_difference(losses[(a, mode)], losses[(b, mode)], metric="loss", seed=seed)
            key = "summary" if mode == modes[0] else "equal_epochs"
            summ = {
                n: (runs[n]["summary"] if key == "summary" else runs[n][key]["summary"])
                for n in (a, b)
            }
            out.append(
                {
                    "a": a,
                    "b": b,
                    "budget": mode,
                    "all": {
                        "a": a,
                        "b": b,
                        "runs_a": len(losses[(a, mode)]),
                        "runs_b": len(losses[(b, mode)]),
                        "n": m["n"],
                        "items": ITEMS,
                        "variation": "held-out-conversation",
                        "outcome": m["outcome"],
                        "metrics": {"loss": m},
                        "perplexity": {
                            "a": summ[a]["perplexity_mean"],
                            "b": summ[b]["perplexity_mean"],
                        },
                    },
                }
            )
    return out


# ---- findings and charts -----------------------------------------------------------------


def _untrainable_findings(name: str, ds: Dataset, parts: dict) -> list[Finding]:
    dropped = {rid: why for enc in parts.values() for rid, why in enc.dropped.items()}
    if not dropped:
        return []
    reasons: dict[str, int] = {}
    for why in dropped.values():
        reasons[why] = reasons.get(why, 0) + 1
    where = "held-out loss" if name == "test" else "training"
    return [
        Finding(
            check=f"{FAMILY}.untrainable",
            severity="warning",
            message=(
                f"{len(dropped):,} records of the {name} set were left out of {where}: "
                + "; ".join(f"{n:,} {why}" for why, n in reasons.items())
            ),
            row_ids=list(dropped),
            evidence={"run": name, "path": ds.source, "reasons": reasons},
            fix={"action": "review", "hint": "dataqa audit reports these records, with why"},
        )
    ]


def _charts(names: list[str], runs: dict) -> list[dict]:
    from dataqa.train.shared import curve_charts

    charts = curve_charts(names, runs)
    charts.append(
        {
            "id": "finetune-heldout-loss",
            "type": "bar",
            "title": "Held-out loss per assistant token (mean over conversations and runs)",
            "x_label": "training set",
            "y_label": "loss (nats)",
            "data": {
                "labels": [f"{n} (mean of {runs[n]['summary']['runs']} runs)" for n in names],
                "values": [runs[n]["summary"]["loss_mean"] for n in names],
            },
        }
    )
    return charts
