"""Sentence embeddings from any local transformers checkpoint (mean-pooled last hidden state).

GPU when torch sees one, else CPU. Texts are sorted by length before batching so padding
stays short; `trust_remote_code` stays off and only safetensors weights are loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataqa.featurizers import Features
from dataqa.featurizers.checkpoint import resolve_checkpoint
from dataqa.progress import bar


def encoder_features(
    texts: list[str],
    *,
    path: str | Path | None = None,
    batch_size: int = 64,
    max_length: int = 128,
    device: str | None = None,
    progress: bool = False,
) -> Features:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from dataqa.errors import DataQAError

    folder = resolve_checkpoint(path)
    if not (folder / "model.safetensors").exists():
        raise DataQAError(
            "the checkpoint has no model.safetensors (other weight formats are not loaded)",
            path=str(folder),
            hint="re-save it with save_pretrained(..., safe_serialization=True)",
        )
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    if not progress:
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in piped output
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
        model = AutoModel.from_pretrained(
            str(folder), use_safetensors=True, trust_remote_code=False
        )
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    model = model.to(dev).eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out: np.ndarray | None = None
    starts = range(0, len(order), batch_size)
    with torch.inference_mode():
        for s in bar(
            starts, desc="labels: encoder embeddings", total=len(starts), enabled=progress
        ):
            idx = order[s : s + batch_size]
            batch = tok(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(dev)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            emb = torch.nn.functional.normalize(emb.float(), dim=1).cpu().numpy()
            if out is None:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
    if out is None:
        out = np.zeros((0, 1), dtype=np.float32)
    return Features(
        "encoder",
        out,
        sparse=False,
        info={
            "dims": int(out.shape[1]),
            "checkpoint": str(folder),
            "device": dev,
            "pooling": "mean",
        },
    )
