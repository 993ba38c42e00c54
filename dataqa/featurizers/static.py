"""Static token embeddings: the IDF-weighted mean of a checkpoint's *input* embedding rows.

No forward pass is run, so it costs a tokenizer call and one sparse-dense product
(~1-2 s for 20k short texts on one core) yet carries what the encoder learned about
word similarity ("superb" ~ "excellent"), which n-gram TF-IDF cannot see. Only the
embedding tensor is read from `model.safetensors` (memory-mapped); no code from the
checkpoint runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataqa.featurizers import Features
from dataqa.featurizers.checkpoint import resolve_checkpoint

EMBEDDING_KEYS = ("word_embeddings.weight", "embed_tokens.weight", "wte.weight", "shared.weight")


def available(path: str | Path | None = None) -> bool:
    """True when a checkpoint with tokenizer.json + model.safetensors and the readers exist."""
    import importlib.util

    if (
        importlib.util.find_spec("safetensors") is None
        or importlib.util.find_spec("tokenizers") is None
    ):
        return False
    try:
        folder = resolve_checkpoint(path)
    except Exception:  # DataQAError: no checkpoint, which here just means "not available"
        return False
    return (folder / "tokenizer.json").exists() and (folder / "model.safetensors").exists()


def load_embedding_table(folder: Path) -> np.ndarray:
    from safetensors import safe_open

    from dataqa.errors import DataQAError

    with safe_open(str(folder / "model.safetensors"), framework="np") as fh:
        keys = [k for k in fh.keys() if k.endswith(EMBEDDING_KEYS)]  # noqa: SIM118 (not a dict)
        if not keys:
            raise DataQAError(
                "no token embedding table found in model.safetensors",
                path=str(folder),
                hint="use a BERT/RoBERTa/GPT-style checkpoint, or --featurizer tfidf",
            )
        return np.asarray(fh.get_tensor(sorted(keys, key=len)[0]), dtype=np.float32)


MAX_CHARS = (6000, 2000)
"""A long document is read through its first 6,000 and last 2,000 characters (about
2,000 tokens; `dataqa.featurizers.windows.head_tail`): a mean of more token embeddings
barely moves, and tokenising costs grow with length."""


def static_features(
    texts: list[str], *, path: str | Path | None = None, window: tuple[int, int] = MAX_CHARS
) -> Features:
    import scipy.sparse as sp
    from sklearn.preprocessing import StandardScaler, normalize
    from tokenizers import Tokenizer

    folder = resolve_checkpoint(path)
    table = load_embedding_table(folder)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    from dataqa.featurizers.windows import head_tail

    tok.no_padding()
    tok.no_truncation()
    encs = tok.encode_batch([head_tail(t, *window) for t in texts], add_special_tokens=False)
    lens = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
    ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(lens.sum()))
    ids = np.minimum(ids, table.shape[0] - 1)
    rows = np.repeat(np.arange(len(encs)), lens)
    counts = sp.csr_matrix(
        (np.ones(len(ids), np.float32), (rows, ids)), shape=(len(encs), table.shape[0])
    )
    df = np.bincount(counts.indices, minlength=table.shape[0])
    idf = (np.log((1 + len(encs)) / (1 + df)) + 1).astype(np.float32)
    weights = normalize(counts.multiply(idf).tocsr(), norm="l1")
    X = StandardScaler().fit_transform(np.asarray(weights @ table, dtype=np.float32))
    return Features(
        "static",
        X.astype(np.float32),
        sparse=False,
        info={
            "dims": int(X.shape[1]),
            "checkpoint": str(folder),
            "pooling": "idf-weighted mean of input embeddings",
        },
    )
