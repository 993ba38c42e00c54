"""The training loop: plain PyTorch, the same code on CUDA and on CPU.

Why not Hugging Face `Trainer`: the loop is ~150 lines, has no per-step overhead
beyond the model, and keeps early stopping, the best checkpoint and the overfitting
verdict in one place. (`benchmarks/bench_finetune.py` compares its speed with
`Trainer` on the same model, batch size, sequence length and precision.)

What it does: AdamW with decoupled weight decay (no decay on biases and LayerNorm),
optional L1 penalty, dropout set on every dropout layer, warmup then a linear or cosine
schedule, gradient clipping, bf16 (or fp16 with a gradient scaler) autocast on CUDA,
length-bucketed batches padded per batch, fixed seeds. It evaluates on the validation
split every `eval_every` steps, stops when validation loss has not improved for
`patience` evaluations, and restores the best checkpoint.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dataqa.errors import DataQAError
from dataqa.progress import bar
from dataqa.train.batching import bucket_batches, collate, encode

SCHEDULES = ("linear", "cosine", "constant")
OPTIMIZERS = ("adamw", "sgd")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Hyperparameters and run settings; defaults suit a small pretrained encoder."""

    epochs: float = 3.0
    batch_size: int = 32
    lr: float = 5e-5
    weight_decay: float = 0.01
    l1: float = 0.0
    dropout: float | None = None  # None keeps the checkpoint's own dropout
    optimizer: str = "adamw"
    warmup_ratio: float = 0.1
    schedule: str = "linear"
    max_grad_norm: float = 1.0
    max_length: int = 128
    eval_every: int | None = None  # steps; None = twice per epoch
    patience: int = 3  # evaluations without a better validation loss before stopping
    min_delta: float = 1e-4
    val_frac: float = 0.1
    precision: str = "auto"  # auto = bf16 (else fp16) on CUDA, fp32 on CPU
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads; None = chosen from the machine's load
    eval_batch_size: int = 128
    log_every: int = 10  # steps between per-step TensorBoard scalars (each one syncs a GPU)
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "schedule": SCHEDULES,
            "optimizer": OPTIMIZERS,
            "precision": PRECISIONS,
        }
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise DataQAError(
                    f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}"
                )
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        for name, value in positive.items():
            if not value or value <= 0:
                raise DataQAError(f"{name} must be positive, not {value!r}")
        if not 0.0 <= self.val_frac < 0.9:
            raise DataQAError(f"val_frac must be in [0, 0.9), not {self.val_frac!r}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise DataQAError(f"dropout must be in [0, 1), not {self.dropout!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    """What a run did: history of evaluations, the best point, speed and resources."""

    history: list[dict]
    best: dict | None
    stopped_early: bool
    steps: int
    epochs_run: float
    device: str
    threads: int | None
    precision: str
    samples_per_s: float
    train_seconds: float
    peak_memory_mb: float
    memory_kind: str
    verdict: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- device, threads, precision ---------------------------------------------------------


def pick_device(requested: str = "auto") -> str:
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

    On shared 2-core machines one thread often beats two (the second fights other
    jobs for the core); on a quiet machine more threads win. The 1-minute load average
    tells which case this is, cheaply and without a timing run.
    """
    if requested:
        return max(1, int(requested))
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    free = int(cores - load + 0.5)
    return max(1, min(free, cores, 8))


def pick_precision(requested: str, device: str) -> str:
    import torch

    if device.startswith("cuda"):
        if requested in ("auto", "bf16"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return requested
    if requested == "fp16":
        raise DataQAError(
            "fp16 autocast needs a GPU", hint="use --precision fp32 (or bf16) on the CPU"
        )
    return "bf16" if requested == "bf16" else "fp32"


def _autocast(device: str, precision: str):
    import contextlib

    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


# ---- optimiser and schedule --------------------------------------------------------------


def _no_decay(name: str, param) -> bool:
    return param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name or name.endswith(".bias")


def make_optimizer(model, cfg: TrainConfig):
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if _no_decay(name, p) else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9), decay
    return torch.optim.AdamW(groups, lr=cfg.lr), decay


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base learning rate at `step` (warmup, then decay to 0)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 - progress


# ---- evaluation and prediction -----------------------------------------------------------


def predict_logits(
    model,
    ids: list[list[int]],
    *,
    pad_id: int,
    device: str,
    precision: str = "fp32",
    batch_size: int = 128,
) -> np.ndarray:
    """Logits for pre-tokenised rows, in the input order."""
    import torch

    model.eval()
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for rows in bucket_batches([len(x) for x in ids], batch_size, shuffle=False):
            input_ids, mask = collate(ids, rows, pad_id)
            with _autocast(device, precision):
                logits = model(
                    input_ids=input_ids.to(device), attention_mask=mask.to(device)
                ).logits
            out[rows] = logits.float().cpu().numpy()
    return out


def predict_proba(model, tokenizer, texts, *, cfg: TrainConfig, device: str | None = None):
    """Class probabilities for raw texts (columns in the model's label order)."""
    device = device or pick_device(cfg.device)
    ids = encode(tokenizer, texts, cfg.max_length)
    logits = predict_logits(
        model,
        ids,
        pad_id=tokenizer.pad_token_id,
        device=device,
        precision=pick_precision(cfg.precision, device),
        batch_size=cfg.eval_batch_size,
    )
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _loss_acc(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-logp[np.arange(len(y)), y].mean())
    acc = float((logits.argmax(axis=1) == y).mean())
    return loss, acc


# ---- the loop ----------------------------------------------------------------------------


def train(
    model,
    tokenizer,
    train_texts,
    train_y,
    val_texts,
    val_y,
    cfg: TrainConfig,
    *,
    log_dir: str | Path | None = None,
    run_name: str = "run",
    wandb: bool = False,
    progress: bool = False,
) -> TrainResult:
    """Fine-tune `model` in place; return the history. The best checkpoint (lowest
    validation loss) is loaded back into `model` before returning."""
    import torch

    device = pick_device(cfg.device)
    threads = None
    if device == "cpu":
        threads = pick_threads(cfg.threads)
        torch.set_num_threads(threads)
    precision = pick_precision(cfg.precision, device)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % (2**32))

    train_y = np.asarray(train_y, dtype=np.int64)
    val_y = np.asarray(val_y, dtype=np.int64)
    tr_ids = encode(tokenizer, train_texts, cfg.max_length)
    va_ids = encode(tokenizer, val_texts, cfg.max_length) if len(val_y) else []
    pad_id = tokenizer.pad_token_id
    if not tr_ids:
        raise DataQAError("no labelled training rows to fine-tune on", hint="check --label-col")

    model.to(device)
    optimizer, l1_params = make_optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(tr_ids) / cfg.batch_size)
    total = max(1, math.ceil(cfg.epochs * steps_per_epoch))
    warmup = int(round(cfg.warmup_ratio * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, warmup, cfg.schedule)
    )
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    eval_every = cfg.eval_every or max(1, steps_per_epoch // 2)
    writer = _tensorboard(log_dir, run_name)
    wb = _wandb(run_name, cfg) if wandb else None
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)

    history: list[dict] = []
    best_loss, best_state, best_point = math.inf, None, None
    bad_evals, stopped_early = 0, False
    step, seen, train_time = 0, 0, 0.0
    steps_iter = bar(
        _batches(tr_ids, cfg, total), desc=f"finetune {run_name}", total=total, enabled=progress
    )
    t0 = time.perf_counter()
    model.train()
    on_gpu = device.startswith("cuda")
    # Running sums stay on the device: reading a GPU scalar every step would stall the
    # queue of kernels behind it.
    run_loss = run_correct = torch.zeros((), device=device)
    run_n = 0
    for epoch_f, rows in steps_iter:
        input_ids, mask = collate(tr_ids, rows, pad_id)
        labels = torch.as_tensor(train_y[rows])
        if on_gpu:
            input_ids, mask, labels = (t.pin_memory() for t in (input_ids, mask, labels))
        input_ids, mask, labels = (
            t.to(device, non_blocking=on_gpu) for t in (input_ids, mask, labels)
        )
        try:
            with _autocast(device, precision):
                logits = model(input_ids=input_ids, attention_mask=mask).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            total_loss = loss
            if cfg.l1:
                total_loss = loss + cfg.l1 * sum(p.abs().sum() for p in l1_params)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(total_loss).backward()
                scaler.unscale_(optimizer)
            else:
                total_loss.backward()
            clip = cfg.max_grad_norm if cfg.max_grad_norm and cfg.max_grad_norm > 0 else math.inf
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
        except (torch.cuda.OutOfMemoryError, RuntimeError) as err:
            if (
                isinstance(err, torch.cuda.OutOfMemoryError)
                or "out of memory" in str(err).lower()
                or "can't allocate" in str(err)
            ):
                raise _oom_error(cfg, device) from None
            raise
        step += 1
        seen += len(rows)
        run_loss = run_loss + loss.detach() * len(rows)
        run_correct = run_correct + (logits.detach().argmax(1) == labels).sum()
        run_n += len(rows)
        if writer is not None and (step % cfg.log_every == 0 or step == total):
            writer.add_scalar("train/loss_step", float(loss.detach()), step)
            writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
            writer.add_scalar("train/grad_norm", float(grad_norm), step)
        if step % eval_every == 0 or step == total:
            if on_gpu:
                torch.cuda.synchronize(device)  # count the queued work in the train time
            train_time += time.perf_counter() - t0
            point = {
                "step": step,
                "epoch": round(epoch_f, 4),
                "train_loss": float(run_loss) / max(run_n, 1),
                "train_accuracy": float(run_correct) / max(run_n, 1),
                "lr": scheduler.get_last_lr()[0],
                "grad_norm": float(grad_norm),
            }
            run_loss = run_correct = torch.zeros((), device=device)
            run_n = 0
            if va_ids:
                logits_v = predict_logits(
                    model,
                    va_ids,
                    pad_id=pad_id,
                    device=device,
                    precision=precision,
                    batch_size=cfg.eval_batch_size,
                )
                point["val_loss"], point["val_accuracy"] = _loss_acc(logits_v, val_y)
                model.train()
                if point["val_loss"] < best_loss - cfg.min_delta:
                    best_loss, best_point, bad_evals = point["val_loss"], point, 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
                else:
                    bad_evals += 1
            history.append(point)
            _log_point(writer, wb, point)
            if va_ids and bad_evals >= cfg.patience:
                stopped_early = step < total
                break
            t0 = time.perf_counter()
    if best_state is not None:
        model.load_state_dict(best_state)
    if device.startswith("cuda"):
        peak, kind = torch.cuda.max_memory_allocated(device) / 2**20, "cuda max_memory_allocated"
    else:
        peak, kind = _peak_rss_mb(), "process peak RSS"
    if writer is not None:
        writer.close()
    if wb is not None:
        wb.finish()
    result = TrainResult(
        history=history,
        best=best_point,
        stopped_early=stopped_early,
        steps=step,
        epochs_run=round(step / steps_per_epoch, 3),
        device=_device_name(device),
        threads=threads,
        precision=precision,
        samples_per_s=round(seen / train_time, 2) if train_time > 0 else 0.0,
        train_seconds=round(train_time, 2),
        peak_memory_mb=round(peak, 1),
        memory_kind=kind,
    )
    result.verdict = overfitting_verdict(history, restored=best_point)
    return result


def _batches(ids, cfg: TrainConfig, total: int):
    """(fractional epoch, row positions) for `total` steps, reshuffled every epoch."""
    lengths = [len(x) for x in ids]
    per_epoch = math.ceil(len(ids) / cfg.batch_size)
    step, epoch = 0, 0
    while step < total:
        for i, rows in enumerate(
            bucket_batches(lengths, cfg.batch_size, shuffle=True, seed=cfg.seed * 1000 + epoch)
        ):
            if step >= total:
                return
            step += 1
            yield epoch + (i + 1) / per_epoch, rows
        epoch += 1


def _oom_error(cfg: TrainConfig, device: str) -> DataQAError:
    smaller = max(1, cfg.batch_size // 2)
    return DataQAError(
        f"out of memory on {device} at batch size {cfg.batch_size} (max length {cfg.max_length})",
        hint=f"try --batch-size {smaller}"
        + (f" or --max-length {cfg.max_length // 2}" if cfg.max_length > 32 else ""),
    )


def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


def _tensorboard(log_dir, run_name: str):
    if not log_dir:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(Path(log_dir) / run_name))


def _wandb(run_name: str, cfg: TrainConfig):
    try:
        import wandb
    except ImportError:
        raise DataQAError(
            "Weights & Biases logging was asked for, but wandb is not installed",
            hint="pip install wandb, or drop --wandb (TensorBoard files are always written)",
        ) from None
    return wandb.init(project="dataqa", name=run_name, config=cfg.as_dict(), reinit=True)


def _log_point(writer, wb, point: dict) -> None:
    if writer is not None:
        step = point["step"]
        writer.add_scalar("train/loss", point["train_loss"], step)
        writer.add_scalar("train/accuracy", point["train_accuracy"], step)
        if "val_loss" in point:
            writer.add_scalar("val/loss", point["val_loss"], step)
            writer.add_scalar("val/accuracy", point["val_accuracy"], step)
        writer.flush()
    if wb is not None:
        wb.log({k: v for k, v in point.items() if k != "step"}, step=point["step"])


# ---- overfitting verdict -----------------------------------------------------------------


def overfitting_verdict(
    history: list[dict],
    *,
    rise: float = 0.05,
    min_rise: float = 0.02,
    min_after: int = 2,
    restored: dict | None = None,
) -> dict:
    """Did the model overfit? Train loss falling while validation loss rises.

    Fires when validation loss ended more than `rise` (relative) and `min_rise`
    (absolute, so near-zero losses do not cry wolf) above its minimum, at least
    `min_after` evaluations after that minimum, while the training loss at the end is
    below its value at the minimum. Overfitting "began" at the minimum's epoch.
    """
    pts = [h for h in history if h.get("val_loss") is not None]
    if len(pts) < 3:
        return {
            "overfitting": False,
            "checked": False,
            "message": "too few validation points to judge overfitting",
        }
    i = int(np.argmin([p["val_loss"] for p in pts]))
    best, last = pts[i], pts[-1]
    after = len(pts) - 1 - i
    val_rise = (last["val_loss"] - best["val_loss"]) / max(abs(best["val_loss"]), 1e-12)
    train_fell = last["train_loss"] < best["train_loss"]
    grew = last["val_loss"] - best["val_loss"]
    fired = after >= min_after and val_rise > rise and grew > min_rise and train_fell
    out = {
        "overfitting": bool(fired),
        "checked": True,
        "began_epoch": best["epoch"] if fired else None,
        "began_step": best["step"] if fired else None,
        "best_epoch": best["epoch"],
        "best_step": best["step"],
        "val_loss_min": round(best["val_loss"], 5),
        "val_loss_last": round(last["val_loss"], 5),
        "val_loss_rise": round(val_rise, 4),
        "train_loss_at_best": round(best["train_loss"], 5),
        "train_loss_last": round(last["train_loss"], 5),
        "gap_at_best": round(best["val_loss"] - best["train_loss"], 5),
        "gap_last": round(last["val_loss"] - last["train_loss"], 5),
        "restored_best": restored is not None,
    }
    if fired:
        out["message"] = (
            f"overfitting: validation loss rose {val_rise:.0%} from its minimum at epoch "
            f"{best['epoch']:.2f} (step {best['step']}) while training loss kept falling "
            f"({best['train_loss']:.3f} -> {last['train_loss']:.3f}); train/val gap "
            f"{out['gap_last']:.3f}"
            + ("; the best checkpoint was restored" if restored is not None else "")
        )
    else:
        out["message"] = (
            f"no overfitting seen: validation loss ended {val_rise:+.0%} from its minimum at "
            f"epoch {best['epoch']:.2f}; train/val gap {out['gap_last']:.3f}"
        )
    return out
