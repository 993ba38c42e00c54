"""dataqa: audit, clean, augment and prove a text dataset before fine-tuning on it.

The Python API mirrors the CLI::

    import dataqa
    ds = dataqa.load("train.csv", label_col="label")
    report = dataqa.audit(ds)                 # or dataqa.audit(df, text_col="text")
    result = dataqa.clean(ds, report=report)  # kept rows, quarantine, change log
    bigger, stats = dataqa.augment(result.kept, "synonym,eda", target="balance")

Heavy modules load on first use, so `import dataqa` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "load": "dataqa.dataset",
    "from_frame": "dataqa.dataset",
    "Dataset": "dataqa.dataset",
    "Roles": "dataqa.dataset",
    "audit": "dataqa.audit",
    "clean": "dataqa.clean",
    "augment": "dataqa.augment.stage",
    "finetune": "dataqa.train.stage",
    "Finding": "dataqa.findings",
    "Report": "dataqa.findings",
    "DataQAError": "dataqa.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'dataqa' has no attribute {name!r}")
