"""Augmentation: synonym, EDA and back-translation rows for thin classes, filtered for labels.

`augment(ds, methods, plan=... | target="balance" | per_class=N | factor=F)` is the stage
function; the modules behind it each do one job: `plan` (what to generate), `wordnet`
(offline WordNet), `synonym`, `eda`, `backtranslate` (generators), `filter` (label
preservation). Heavy libraries (nlpaug, nltk, transformers, sklearn) load only inside the
functions that use them.
"""

from dataqa.augmentation.eda import EdaRates
from dataqa.augmentation.filter import FilterOptions
from dataqa.augmentation.stage import METHODS, AugmentOptions, augment

__all__ = ["METHODS", "AugmentOptions", "EdaRates", "FilterOptions", "augment"]
