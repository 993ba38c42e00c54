"""What dataqa adds to transformers' `Trainer`: the learning curve and the overfitting verdict.

`LearningCurve` is a `TrainerCallback` that records, at every evaluation, the training
loss since the previous one, the validation loss (and accuracy, for a classifier), the
learning rate and the gradient norm; the report draws its learning curves from that
history, and at the end of training `overfitting_verdict` reads it. Everything else (optimiser, schedule, clipping,
mixed precision, early stopping, best checkpoint, TensorBoard and W&B) is Trainer's own.
"""

from __future__ import annotations

import numpy as np
from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback


class LearningCurve(TrainerCallback):
    """Collects one point per evaluation (or per log when there is no validation split)."""

    def __init__(self, has_validation: bool) -> None:
        self.has_validation = has_validation
        self.history: list[dict] = []
        self.verdict: dict = {}
        self._last: dict = {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self._last = {
                "train_loss": float(logs["loss"]),
                "lr": float(logs.get("learning_rate", 0.0)),
                "grad_norm": float(logs["grad_norm"]) if "grad_norm" in logs else None,
            }
            if not self.has_validation:
                self.history.append(self._point(state))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        point = self._point(state)
        point["val_loss"] = float(metrics.get("eval_loss", float("nan")))
        if "eval_accuracy" in metrics:  # classifiers; a language model has only the loss
            point["val_accuracy"] = float(metrics["eval_accuracy"])
        self.history.append(point)

    def on_train_end(self, args, state, control, **kwargs):
        restored = bool(args.load_best_model_at_end and state.best_model_checkpoint)
        self.verdict = overfitting_verdict(self.history, restored=restored)

    def _point(self, state) -> dict:
        return {"step": int(state.global_step), "epoch": round(float(state.epoch or 0), 4)} | (
            self._last
        )


class StepBar(ProgressCallback):
    """Trainer's progress bar over the steps, without printing every log dict under it."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        return None

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        return None


def overfitting_verdict(
    history: list[dict],
    *,
    rise: float = 0.05,
    min_rise: float = 0.02,
    min_after: int = 2,
    restored: bool = False,
) -> dict:
    """Did the model overfit? Training loss falling while validation loss rises.

    Parameters
    ----------
    history : list of dict
        Points with `step`, `epoch`, `train_loss` and `val_loss`, in training order.
    rise : float, default 0.05
        Relative rise of the validation loss above its minimum that counts.
    min_rise : float, default 0.02
        Absolute rise that counts too, so near-zero losses do not cry wolf.
    min_after : int, default 2
        Evaluations after the minimum before a rise counts (one bad point is noise).
    restored : bool
        Whether the best checkpoint was loaded back (said in the message).

    Returns
    -------
    dict
        `overfitting` (bool), `checked` (False with fewer than 3 validation points),
        where it began (epoch and step of the validation minimum), the losses and the
        train/validation gap at the minimum and at the end, and a one-line `message`.
    """
    pts = [h for h in history if h.get("val_loss") is not None and h.get("train_loss") is not None]
    pts = [h for h in pts if np.isfinite(h["val_loss"])]
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
    grew = last["val_loss"] - best["val_loss"]
    fired = (
        after >= min_after
        and val_rise > rise
        and grew > min_rise
        and last["train_loss"] < best["train_loss"]
    )
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
        "restored_best": restored,
    }
    if fired:
        out["message"] = (
            f"overfitting: validation loss rose {val_rise:.0%} from its minimum at epoch "
            f"{best['epoch']:.2f} (step {best['step']}) while training loss kept falling "
            f"({best['train_loss']:.3f} -> {last['train_loss']:.3f}); train/val gap "
            f"{out['gap_last']:.3f}" + ("; the best checkpoint was restored" if restored else "")
        )
    else:
        out["message"] = (
            f"no overfitting seen: validation loss ended {val_rise:+.0%} from its minimum at "
            f"epoch {best['epoch']:.2f}; train/val gap {out['gap_last']:.3f}"
        )
    return out
