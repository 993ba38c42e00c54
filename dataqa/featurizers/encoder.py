"""Sentence embeddings from any local transformers checkpoint (mean-pooled last hidden state).

GPU when torch sees one, else CPU. A text longer than one window (`max_length` tokens) is
cut into consecutive chunks, each chunk is embedded on its own, and the chunk embeddings
are averaged (weighted by their token counts); past `max_chunks` chunks only the first and
last halves are kept (`dataqa.featurizers.windows.chunk_ids`), so a long document costs at
most `max_chunks` windows. Chunks are sorted by length before batching so padding stays
short; `trust_remote_code` stays off and only safetensors weights are loaded.
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
    max_chunks: int = 8,
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
    from dataqa.featurizers.windows import chunk_ids

    prefix, suffix = special_tokens(tok)
    body = max(1, max_length - len(prefix) - len(suffix))
    enc = tok(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    chunks: list[tuple[int, list[int]]] = []
    for i, ids in enumerate(enc):
        parts = chunk_ids(ids, body, max_chunks) or [[]]
        chunks += [(i, c) for c in parts]
    order = np.argsort([len(c) for _, c in chunks], kind="stable")
    sums: np.ndarray | None = None
    weights = np.zeros(len(texts), dtype=np.float64)
    starts = range(0, len(order), batch_size)
    with torch.inference_mode():
        for s in bar(
            starts, desc="labels: encoder embeddings", total=len(starts), enabled=progress
        ):
            idx = order[s : s + batch_size]
            batch = tok.pad(
                {"input_ids": [prefix + chunks[j][1] + suffix for j in idx]},
                return_tensors="pt",
            ).to(dev)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            emb = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy()
            if sums is None:
                sums = np.zeros((len(texts), emb.shape[1]), dtype=np.float64)
            for row, j in enumerate(idx):
                doc, ids = chunks[j]
                w = max(1, len(ids))
                sums[doc] += w * emb[row]
                weights[doc] += w
    if sums is None:
        out = np.zeros((0, 1), dtype=np.float32)
    else:
        out = sums / np.maximum(weights, 1e-12)[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        out = out.astype(np.float32)
    return Features(
        "encoder",
        out,
        sparse=False,
        info={
            "dims": int(out.shape[1]),
            "checkpoint": str(folder),
            "device": dev,
            "pooling": "mean over tokens, then over chunks",
            "window_tokens": max_length,
            "max_chunks": max_chunks,
            "rows_chunked": int(sum(len(ids) > body for ids in enc)),
        },
    )


def special_tokens(tok) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a text ([CLS] / [SEP], <s> / </s>, none),
    found by tokenising one word with and without them."""
    plain = tok("hello", add_special_tokens=False)["input_ids"]
    full = tok("hello", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    return [], []
