"""dataqa: audit, clean, augment and prove a text dataset before fine-tuning on it.

The Python API mirrors the CLI; every stage takes a `Dataset`, a pandas DataFrame or a
Hugging Face `datasets.Dataset`, returns a typed result, and writes nothing to disk
unless asked::

    import dataqa
    ds = dataqa.load("train.csv", label_col="label")
    report = dataqa.audit(ds)                 # or dataqa.audit(df, text_col="text")
    result = dataqa.clean(ds, report=report)  # .kept, .quarantine, .changes, .summary
    again = dataqa.audit(result.kept)         # re-audit the curated set
    bigger = dataqa.augment(result.kept, "synonym,eda", target="balance")

Options are typed models (`dataqa.CleanOptions`, `dataqa.HygieneOptions`, ...).
Heavy modules load on first use, so `import dataqa` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name loads on first use
    from dataqa.augmentation.stage import AugmentOptions, AugmentResult, augment
    from dataqa.checks.balance import BalanceOptions
    from dataqa.checks.bias import BiasOptions
    from dataqa.checks.duplicates import DuplicateOptions
    from dataqa.checks.hygiene import HygieneOptions
    from dataqa.checks.labels import LabelOptions
    from dataqa.checks.relevance import RelevanceOptions
    from dataqa.checks.rules import RulesOptions
    from dataqa.checks.size import SizeOptions
    from dataqa.dataset import Dataset, Roles, as_dataset, from_frame, load
    from dataqa.errors import DataQAError
    from dataqa.findings import Finding, Report
    from dataqa.io import write_datasetdict, write_table
    from dataqa.stages.audit import audit
    from dataqa.stages.clean import CleanOptions, CleanResult, clean
    from dataqa.train.stage import finetune

__version__ = "0.1.0"

_API = {
    # data
    "load": "dataqa.dataset",
    "from_frame": "dataqa.dataset",
    "as_dataset": "dataqa.dataset",
    "Dataset": "dataqa.dataset",
    "Roles": "dataqa.dataset",
    "write_table": "dataqa.io",
    "write_datasetdict": "dataqa.io",
    # stages
    "audit": "dataqa.stages.audit",
    "clean": "dataqa.stages.clean",
    "augment": "dataqa.augmentation.stage",
    "finetune": "dataqa.train.stage",
    # results and contracts
    "Report": "dataqa.findings",
    "Finding": "dataqa.findings",
    "CleanResult": "dataqa.stages.clean",
    "AugmentResult": "dataqa.augmentation.stage",
    "DataQAError": "dataqa.errors",
    # options
    "CleanOptions": "dataqa.stages.policies",
    "AugmentOptions": "dataqa.augmentation.stage",
    "HygieneOptions": "dataqa.checks.hygiene",
    "DuplicateOptions": "dataqa.checks.duplicates",
    "LabelOptions": "dataqa.checks.labels",
    "BalanceOptions": "dataqa.checks.balance",
    "SizeOptions": "dataqa.checks.size",
    "BiasOptions": "dataqa.checks.bias",
    "RelevanceOptions": "dataqa.checks.relevance",
    "RulesOptions": "dataqa.checks.rules",
}

__all__ = [
    "__version__",
    "load",
    "from_frame",
    "as_dataset",
    "Dataset",
    "Roles",
    "write_table",
    "write_datasetdict",
    "audit",
    "clean",
    "augment",
    "finetune",
    "Report",
    "Finding",
    "CleanResult",
    "AugmentResult",
    "DataQAError",
    "CleanOptions",
    "AugmentOptions",
    "HygieneOptions",
    "DuplicateOptions",
    "LabelOptions",
    "BalanceOptions",
    "SizeOptions",
    "BiasOptions",
    "RelevanceOptions",
    "RulesOptions",
]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'dataqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
