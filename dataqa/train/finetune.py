"""Fine-tune one model on one training set with transformers' `Trainer`.

`train` maps `TrainOptions` onto `TrainingArguments` and runs `Trainer`: AdamW with no
decay on biases and LayerNorm weights, warm-up then a linear/cosine/constant schedule,
gradient clipping, bf16 (else fp16) mixed precision on a GPU, length-grouped batches with
dynamic padding, evaluation on the validation split every `eval_every` steps, early
stopping on validation loss and the best checkpoint loaded back at the end, TensorBoard
event files per run and Weights & Biases through `report_to`. What is dataqa's own rides
along as a callback (`callbacks.LearningCurve`: the learning curve and the overfitting
verdict). `predict_proba` scores texts with the trained model through `Trainer.predict`.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dataqa.errors import DataQAError
from dataqa.train.options import TrainOptions

log = logging.getLogger(__name__)

TrainConfig = TrainOptions
"""Former name of the options (kept for callers outside dataqa.train)."""

SCHEDULE_NAMES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
OPTIMIZER_NAMES = {"adamw": "adamw_torch_fused", "sgd": "sgd"}  # fused: Trainer's default


@dataclass
class TrainResult:
    """What a run did: the learning curve, the best point, speed and resources."""

    history: list[dict]
    best: dict | None
    stopped_early: bool
    steps: int
    max_steps: int
    epochs_run: float
    device: str
    threads: int | None
    precision: str
    samples_per_s: float
    train_seconds: float
    peak_memory_mb: float
    memory_kind: str
    trainable_params: int
    total_params: int
    verdict: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- device, threads, precision ---------------------------------------------------------


def pick_device(requested: str = "auto") -> str:
    """`cuda` when a GPU is visible (for `auto`), else `cpu`; an unusable request is an error."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise DataQAError(
            f"device {requested!r} asked for, but this torch sees no CUDA GPU",
            hint="use --device cpu (or auto), or install a CUDA build of torch",
        )
    return requested


def pick_threads(requested: int | None = None) -> int:
    """CPU threads for torch: the user's number, else the cores the load leaves free.

    On shared 2-core machines one thread often beats two (the second fights other jobs
    for the core); on a quiet machine more threads win. The 1-minute load average tells
    which case this is, cheaply and without a timing run.
    """
    if requested:
        return max(1, int(requested))
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, min(int(cores - load + 0.5), cores, 8))


def pick_precision(requested: str, device: str) -> str:
    """bf16 on a GPU that has it (else fp16) for `auto`; fp32 on the CPU unless asked."""
    import torch

    if device.startswith("cuda"):
        if requested in ("auto", "bf16"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return requested
    if requested == "fp16":
        raise DataQAError(
            "fp16 mixed precision needs a GPU", hint="use --precision fp32 (or bf16) on the CPU"
        )
    return "bf16" if requested == "bf16" else "fp32"


# ---- data --------------------------------------------------------------------------------


def encode(tokenizer, texts, labels=None, max_length: int = 128) -> list[dict]:
    """Rows for Trainer: token ids (truncated, no padding: the collator pads per batch)."""
    enc = tokenizer(
        [str(t) for t in texts],
        truncation=True,
        max_length=max_length,
        return_token_type_ids=False,
    )
    rows = [
        {"input_ids": ids, "attention_mask": mask}
        for ids, mask in zip(enc["input_ids"], enc["attention_mask"], strict=True)
    ]
    if labels is not None:
        for row, y in zip(rows, labels, strict=True):
            row["labels"] = int(y)
    return rows


def _accuracy(eval_pred) -> dict:
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    return {"accuracy": float((np.asarray(logits).argmax(-1) == np.asarray(labels)).mean())}


# ---- training ----------------------------------------------------------------------------


def training_arguments(
    cfg: TrainOptions,
    *,
    output_dir: Path,
    max_steps: int,
    eval_every: int,
    has_validation: bool,
    device: str,
    precision: str,
    wandb: bool,
    run_name: str,
    progress: bool,
):
    """`TrainingArguments` for one run (Trainer's names for each of our options)."""
    from transformers import TrainingArguments

    steps = {"eval_steps": eval_every, "save_steps": eval_every} if has_validation else {}
    return TrainingArguments(
        output_dir=str(output_dir),
        run_name=run_name,
        max_steps=int(max_steps),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        learning_rate=float(cfg.lr),
        weight_decay=cfg.weight_decay,
        optim=OPTIMIZER_NAMES[cfg.optimizer],
        lr_scheduler_type=SCHEDULE_NAMES[cfg.schedule],
        warmup_steps=int(round(cfg.warmup_ratio * max_steps)),
        max_grad_norm=cfg.max_grad_norm if cfg.max_grad_norm > 0 else 1e9,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        train_sampling_strategy="group_by_length",
        eval_strategy="steps" if has_validation else "no",
        save_strategy="steps" if has_validation else "no",
        save_total_limit=1,
        save_only_model=True,
        load_best_model_at_end=has_validation,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_strategy="steps",
        logging_steps=eval_every,
        report_to=["wandb"] if wandb else "none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,  # rows hold only what the model takes
        disable_tqdm=True,  # the bar is StepBar, added by `train` when progress is on
        **steps,
    )


def train(
    model,
    tokenizer,
    train_texts,
    train_y,
    val_texts,
    val_y,
    cfg: TrainOptions,
    **kw,
) -> TrainResult:
    """Fine-tune a sequence classifier in place with `Trainer` (`fit`) on texts and labels.

    Parameters
    ----------
    model, tokenizer
        A sequence classifier and its tokenizer (`models.load`), labels as ids 0..K-1.
    train_texts, train_y, val_texts, val_y
        Training and validation rows; an empty validation split turns off evaluation,
        early stopping and best-checkpoint selection.
    cfg : TrainOptions
        Settings; `lr` and `epochs` must be filled (`TrainOptions.for_model`).
    **kw
        As `fit` (`max_steps`, `eval_every`, `log_dir`, `work_dir`, `run_name`, `wandb`,
        `progress`).

    Raises
    ------
    DataQAError
        No training rows, an unusable device, or out of memory (with a batch size to try).
    """
    from transformers import DataCollatorWithPadding

    if not len(train_texts):
        raise DataQAError("no labelled training rows to fine-tune on", hint="check --label-col")
    train_rows = encode(tokenizer, train_texts, train_y, cfg.max_length)
    val_rows = encode(tokenizer, val_texts, val_y, cfg.max_length) if len(val_y) else []
    return fit(
        model,
        tokenizer,
        train_rows,
        val_rows,
        cfg,
        collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_accuracy if val_rows else None,
        **kw,
    )


def fit(
    model,
    tokenizer,
    train_rows: list[dict],
    val_rows: list[dict],
    cfg: TrainOptions,
    *,
    collator,
    compute_metrics=None,
    max_steps: int | None = None,
    eval_every: int | None = None,
    log_dir: str | Path | None = None,
    work_dir: str | Path | None = None,
    run_name: str = "run",
    wandb: bool = False,
    progress: bool = False,
) -> TrainResult:
    """Train `model` in place on encoded rows with `Trainer`; the best checkpoint is loaded back.

    The one training loop of dataqa: sequence classification (`train`) and causal-LM
    fine-tuning on conversations (`dataqa.train.sft`) both run through it.

    Parameters
    ----------
    model, tokenizer
        The model (a classifier or a causal LM) and its tokenizer.
    train_rows, val_rows : list of dict
        Encoded rows (`input_ids`, `attention_mask`, `labels`); no validation rows turns
        off evaluation, early stopping and best-checkpoint selection.
    cfg : TrainOptions
        Settings; `lr` and `epochs` must be filled (`TrainOptions.for_model`).
    collator
        Pads a batch (`DataCollatorWithPadding`, or `DataCollatorForSeq2Seq` to pad
        token labels with -100).
    compute_metrics : callable, optional
        Extra validation metrics (accuracy for classifiers).
    max_steps : int, optional
        Optimiser steps (default: `cfg.epochs` passes over the training rows). The stage
        passes the same number to every arm: equal compute.
    eval_every : int, optional
        Steps between evaluations (default `cfg.eval_every`, else twice per epoch).
    log_dir : path, optional
        TensorBoard event files go to `log_dir/run_name`.
    work_dir : path, optional
        Where Trainer keeps checkpoints during the run (removed at the end).

    Raises
    ------
    DataQAError
        No training rows, an unusable device, or out of memory (with a batch size to try).
    """
    import torch
    from transformers import EarlyStoppingCallback, Trainer

    from dataqa.train.callbacks import LearningCurve, StepBar
    from dataqa.train.models import quiet_transformers

    if cfg.lr is None:
        raise ValueError("fill the model's defaults first: cfg.for_model(pretrained)")
    if not train_rows:
        raise DataQAError("no training rows to fine-tune on")
    device = pick_device(cfg.device)
    threads = None
    if device == "cpu":
        threads = pick_threads(cfg.threads)
        torch.set_num_threads(threads)
    precision = pick_precision(cfg.precision, device)
    per_epoch = max(1, -(-len(train_rows) // cfg.batch_size))
    max_steps = int(max_steps or cfg.steps_for(len(train_rows)))
    eval_every = int(eval_every or cfg.eval_every or max(1, per_epoch // 2))
    if work_dir is None:
        import tempfile

        work_dir = tempfile.mkdtemp(prefix="dataqa-train-")
    out_dir = Path(work_dir) / "checkpoints" / run_name.replace("/", "_")
    args = training_arguments(
        cfg,
        output_dir=out_dir,
        max_steps=max_steps,
        eval_every=eval_every,
        has_validation=bool(val_rows),
        device=device,
        precision=precision,
        wandb=wandb,
        run_name=run_name,
        progress=progress,
    )
    curve = LearningCurve(has_validation=bool(val_rows))
    callbacks = [curve]
    early = None
    patience = 3 if cfg.patience is None else cfg.patience
    if val_rows and patience:
        early = EarlyStoppingCallback(patience, early_stopping_threshold=cfg.min_delta)
        callbacks.append(early)
    writer = _tensorboard(log_dir, run_name)
    if writer is not None:
        from transformers.integrations import TensorBoardCallback

        callbacks.append(TensorBoardCallback(tb_writer=writer))
    if wandb:
        _check_wandb()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=val_rows or None,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    # logs go to the learning curve and TensorBoard; the terminal gets a bar at most
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    from dataqa.progress import interactive

    if progress and interactive():  # a redirected stderr gets no carriage-return updates
        trainer.add_callback(StepBar())
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    try:
        with quiet_transformers():
            out = trainer.train()
    except (torch.cuda.OutOfMemoryError, RuntimeError) as err:
        if isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower():
            raise _oom_error(cfg, device) from None
        raise
    finally:
        if writer is not None:
            writer.close()
        shutil.rmtree(out_dir, ignore_errors=True)
    seconds = time.perf_counter() - t0
    state = trainer.state
    best = _best_point(curve.history, state)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    peak, kind = _peak_memory(device)
    return TrainResult(
        history=curve.history,
        best=best,
        stopped_early=state.global_step < max_steps,
        steps=int(state.global_step),
        max_steps=max_steps,
        epochs_run=round(state.global_step / per_epoch, 4),
        device=_device_name(device),
        threads=threads,
        precision=precision,
        samples_per_s=round(float(out.metrics.get("train_samples_per_second", 0.0)), 2),
        train_seconds=round(seconds, 2),
        peak_memory_mb=peak,
        memory_kind=kind,
        trainable_params=int(trainable),
        total_params=int(total),
        verdict=curve.verdict,
    )


def _best_point(history: list[dict], state) -> dict | None:
    with_val = [h for h in history if h.get("val_loss") is not None]
    if not with_val:
        return history[-1] if history else None
    return min(with_val, key=lambda h: (h["val_loss"], h["step"]))


def predict_proba(
    model, tokenizer, texts, *, cfg: TrainOptions, device: str | None = None
) -> np.ndarray:
    """Class probabilities, shape (len(texts), num_labels), columns in the model's label order."""
    from transformers import DataCollatorWithPadding

    if not len(texts):
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    rows = encode(tokenizer, texts, max_length=cfg.max_length)
    logits = _predict(model, tokenizer, rows, cfg, DataCollatorWithPadding(tokenizer), device)
    logits = np.asarray(logits[0] if isinstance(logits, tuple) else logits, dtype=np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def token_losses(logits, labels):
    """Per-position negative log-likelihood of a causal LM, shape (batch, seq), in nats.

    Position t holds -log p(token t | tokens < t) (the causal shift: logits at t-1
    predict token t); position 0 and positions labelled -100 hold 0. Computed in float32
    per batch (`Trainer`'s `preprocess_logits_for_metrics`), so the full logits - batch x
    length x vocabulary - are never gathered.
    """
    import torch

    logits = logits[0] if isinstance(logits, tuple) else logits
    target = labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        logits[:, :-1].float().transpose(1, 2),
        target.clamp(min=0),
        reduction="none",
    )
    nll = torch.where(target == -100, torch.zeros_like(nll), nll)
    return torch.nn.functional.pad(nll, (1, 0))


def conversation_losses(
    model, tokenizer, rows: list[dict], *, cfg: TrainOptions, device: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Summed loss (nats) and trainable-token count of each row, both shape (len(rows),).

    A row's mean loss per assistant token is `sums / counts`; `exp` of the pooled mean is
    the perplexity. Rows are the causal-LM rows of `dataqa.train.masking`.
    """
    from transformers import DataCollatorForSeq2Seq

    from dataqa.train.masking import IGNORE_INDEX, trainable_tokens

    if not rows:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX)
    out = _predict(model, tokenizer, rows, cfg, collator, device, preprocess=token_losses)
    nll = np.asarray(out, dtype=np.float64)
    counts = np.array([trainable_tokens(r) for r in rows])
    width = nll.shape[1] if nll.ndim == 2 else 0
    sums = np.array([nll[i, 1 : min(width, len(r["labels"]))].sum() for i, r in enumerate(rows)])
    return sums, counts


def _predict(model, tokenizer, rows, cfg: TrainOptions, collator, device, preprocess=None):
    """`Trainer.predict` on encoded rows: the predictions (or what `preprocess` made of them)."""
    import tempfile

    from transformers import Trainer, TrainingArguments

    from dataqa.train.models import quiet_transformers

    device = device or pick_device(cfg.device)
    precision = pick_precision(cfg.precision, device)
    with tempfile.TemporaryDirectory(prefix="dataqa-predict-") as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_eval_batch_size=cfg.eval_batch_size,
            bf16_full_eval=precision == "bf16",
            fp16_full_eval=precision == "fp16",
            use_cpu=device == "cpu",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            remove_unused_columns=False,
        )
        trainer = Trainer(
            model=model,
            args=args,
            data_collator=collator,
            processing_class=tokenizer,
            preprocess_logits_for_metrics=preprocess,
        )
        with quiet_transformers():
            return trainer.predict(rows).predictions


# ---- helpers -----------------------------------------------------------------------------


def _oom_error(cfg: TrainOptions, device: str) -> DataQAError:
    smaller = max(1, cfg.batch_size // 2)
    return DataQAError(
        f"out of memory on {device} at batch size {cfg.batch_size} (max length {cfg.max_length})",
        hint=f"try --batch-size {smaller}"
        + (f" or --max-length {cfg.max_length // 2}" if cfg.max_length > 32 else "")
        + " or --lora",
    )


def _peak_memory(device: str) -> tuple[float, str]:
    import torch

    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1), "gpu allocated"
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 if sys.platform != "darwin" else kb / 2**20, 1), "process peak RSS"


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return device


def _tensorboard(log_dir, run_name: str):
    if not log_dir:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed: no event files are written")
        return None
    return SummaryWriter(log_dir=str(Path(log_dir) / run_name))


def _check_wandb() -> None:
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise DataQAError(
            "Weights & Biases logging was asked for, but wandb is not installed",
            hint="pip install wandb, or drop --wandb (TensorBoard files are always written)",
        ) from None
