"""Tokenise once, batch rows of similar length, pad each batch only to its longest row.

Padding every row to the global maximum wastes most of the compute on short-text sets
such as Banking77 (median ~11 tokens, max ~80). Length bucketing sorts rows by length
inside large shuffled chunks, cuts the chunks into batches and shuffles the batch order,
so batches stay random across epochs but hold rows of similar length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to `max_length` (special tokens included)."""
    out = tokenizer(
        [str(t) for t in texts],
        truncation=True,
        max_length=max_length,
        add_special_tokens=True,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [list(ids) for ids in out["input_ids"]]


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    chunk_batches: int = 50,
) -> list[np.ndarray]:
    """Row positions per batch. Without `shuffle`, rows keep a length-sorted order
    (fast, deterministic evaluation); with it, order changes per seed."""
    lengths = np.asarray(lengths)
    n = len(lengths)
    if n == 0:
        return []
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    chunk = batch_size * chunk_batches
    batches = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def collate(ids: Sequence[Sequence[int]], rows: np.ndarray, pad_id: int):
    """Pad the chosen rows to their longest one: (input_ids, attention_mask) tensors."""
    import torch

    width = max(len(ids[r]) for r in rows)
    input_ids = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        seq = ids[r]
        input_ids[i, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[i, : len(seq)] = 1
    return input_ids, mask
