"""Featurisers for the label-error check: text -> a feature matrix, one job each.

| name     | what                                                        | needs                   |
|----------|-------------------------------------------------------------|-------------------------|
| tfidf    | word 1-2 + hashed char 3-5 TF-IDF, L2-normalised (sparse)   | scikit-learn            |
| hashing  | word 1-2 hashed TF-IDF for large sets, built in batches     | scikit-learn            |
| static   | IDF-weighted mean of a checkpoint's input token embeddings   | safetensors, tokenizers |
| spacy    | spaCy document vectors                                      | a spaCy model w/ vectors|
| encoder  | mean-pooled hidden states of a local transformers checkpoint| torch, transformers     |
| finetuned| out-of-fold log-probs of the checkpoint fine-tuned per fold | torch, transformers, y  |

Every featuriser returns a `Features`; heavy libraries are imported inside the builder.
Long documents cost a bounded amount per row (`dataqa.featurizers.windows`): character
n-grams read a head + tail window, static embeddings a longer one, the encoder embeds
fixed-size chunks (at most 8) and averages them, and the fine-tuned model reads a head +
tail token window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Features:
    """A feature matrix plus what made it (for the report)."""

    name: str
    X: Any  # scipy.sparse CSR (sparse=True) or a dense float32 ndarray
    sparse: bool
    info: dict = field(default_factory=dict)


FEATURIZERS = ("tfidf", "hashing", "static", "spacy", "encoder", "finetuned")


def build(name: str, texts: list[str], *, progress: bool = False, **opts: Any) -> Features:
    """Build the features `name` for `texts` (see the table in this module's docstring)."""
    if name == "tfidf":
        from dataqa.featurizers.tfidf import tfidf_features

        return tfidf_features(texts, **opts)
    if name == "hashing":
        from dataqa.featurizers.tfidf import hashing_features

        return hashing_features(texts, progress=progress, **opts)
    if name == "static":
        from dataqa.featurizers.static import static_features

        return static_features(texts, **opts)
    if name == "spacy":
        from dataqa.featurizers.spacy_vectors import spacy_features

        return spacy_features(texts, progress=progress, **opts)
    if name == "encoder":
        from dataqa.featurizers.encoder import encoder_features

        return encoder_features(texts, progress=progress, **opts)
    if name == "finetuned":  # needs the labels: labels=, n_classes=
        from dataqa.featurizers.finetuned import finetuned_features

        return finetuned_features(texts, progress=progress, **opts)
    from dataqa.errors import DataQAError

    raise DataQAError(f"unknown featuriser {name!r}", hint=f"choose from: {', '.join(FEATURIZERS)}")


__all__ = ["FEATURIZERS", "Features", "build"]
