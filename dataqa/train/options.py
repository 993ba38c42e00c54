"""The fine-tune options: one typed model, validated before anything trains.

`TrainOptions` is the single source of the fine-tune settings: the Click options of
`dataqa finetune`, the `finetune:` block of a pipeline file and the Python API all build
it, and a bad value is a `DataQAError` that names the option, the value and what is
allowed. Settings left at None take the model's own default (`for_model`): a pretrained
encoder fine-tunes at lr 5e-5 for 3 epochs (the BERT paper's range, Devlin et al. 2019),
LoRA adapters at lr 5e-4 (adapters need a larger step; Hu et al. 2022 use 2e-4 to 5e-4 on
GLUE), and the `tiny` model, which learns from scratch, at the values measured in
BENCHMARKS.md ("tiny that learns": lr 2e-3, 12 epochs, dropout 0.2, patience 6).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from dataqa.options import Options, validate

PRETRAINED_LR = 5e-5
PRETRAINED_EPOCHS = 3.0
LORA_LR = 5e-4
TINY_LR = 2e-3
TINY_EPOCHS = 12.0
TINY_LM_EPOCHS = 4.0
TINY_DROPOUT = 0.2
PRETRAINED_PATIENCE = 3
TINY_PATIENCE = 6


class TrainOptions(Options):
    """Hyperparameters and run settings of a fine-tune (all arms, all seeds)."""

    epochs: float | None = Field(
        None, gt=0, description="Passes over the first (raw) training set; None: model default."
    )
    max_steps: int | None = Field(
        None, gt=0, description="Optimiser steps per run; overrides epochs when set."
    )
    budget: Literal["steps", "epochs", "both"] = Field(
        "steps",
        description="steps: every arm gets the same optimiser steps (equal compute); "
        "epochs: every arm gets the same passes over its own rows; both: report both.",
    )
    seeds: int = Field(3, ge=1, le=50, description="Training runs per arm (different seeds).")
    batch_size: int = Field(32, gt=0)
    lr: float | None = Field(None, gt=0, description="Peak learning rate; None: model default.")
    weight_decay: float = Field(0.01, ge=0)
    dropout: float | None = Field(None, ge=0, lt=1)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    max_grad_norm: float = Field(1.0, ge=0)
    max_length: int = Field(128, ge=8, le=8192)
    eval_every: int | None = Field(None, gt=0, description="Steps; None: twice per epoch.")
    patience: int | None = Field(
        None, ge=0, description="Evaluations without progress; 0: never stop; None: model default."
    )
    min_delta: float = Field(1e-4, ge=0)
    val_frac: float = Field(0.1, ge=0, lt=0.9)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")
    threads: int | None = Field(None, gt=0)
    eval_batch_size: int = Field(128, gt=0)
    lora: bool = False
    lora_r: int = Field(8, gt=0)
    lora_alpha: int = Field(16, gt=0)
    lora_dropout: float = Field(0.1, ge=0, lt=1)
    seed: int = Field(0, ge=0)

    def as_dict(self) -> dict:
        return self.model_dump()

    def for_model(self, pretrained: bool, *, causal: bool = False) -> TrainOptions:
        """The options with None settings filled with the defaults for this kind of model.

        The tiny causal LM (`causal`, conversations) trains 4 epochs, not 12: on a few
        hundred conversations its validation loss bottoms out after 3-4 epochs and then
        rises as it memorises the answers (measured while building it; the best
        checkpoint is restored either way).
        """
        fill: dict = {}
        if self.lr is None:
            fill["lr"] = LORA_LR if self.lora else (PRETRAINED_LR if pretrained else TINY_LR)
        if self.epochs is None:
            tiny = TINY_LM_EPOCHS if causal else TINY_EPOCHS
            fill["epochs"] = PRETRAINED_EPOCHS if pretrained else tiny
        if self.dropout is None and not pretrained:
            fill["dropout"] = TINY_DROPOUT  # from scratch on a few thousand rows it overfits
        if self.patience is None:
            # from scratch, validation loss plateaus for a while before the decaying
            # learning rate brings it down again: wait three epochs, not one and a half
            fill["patience"] = PRETRAINED_PATIENCE if pretrained else TINY_PATIENCE
        return self.model_copy(update=fill)

    def steps_for(self, rows: int) -> int:
        """Optimiser steps for `epochs` passes over `rows` rows (at least one)."""
        if self.max_steps:
            return int(self.max_steps)
        per_epoch = max(1, math.ceil(rows / self.batch_size))
        return max(1, math.ceil((self.epochs or PRETRAINED_EPOCHS) * per_epoch))


def make_options(where: str = "finetune", **values) -> TrainOptions:
    """`TrainOptions(**values)`, validated (`dataqa.options.validate`).

    Raises
    ------
    DataQAError
        Naming the first bad option (as `WHERE.NAME`), the value given and what is allowed.
    """
    return validate(TrainOptions, values, where=where)
