"""spaCy document vectors (mean of word vectors) from an installed spaCy model."""

from __future__ import annotations

import numpy as np

from dataqa.featurizers import Features
from dataqa.progress import bar


def installed_model() -> str | None:
    """The first installed spaCy pipeline package that ships word vectors, else None."""
    import importlib.util

    if importlib.util.find_spec("spacy") is None:
        return None
    import spacy

    for name in sorted(spacy.util.get_installed_models()):
        if name.endswith(("_md", "_lg")):  # _sm/_trf pipelines ship no static vectors
            return name
    return None


def spacy_features(
    texts: list[str], *, model: str | None = None, progress: bool = False
) -> Features:
    import spacy

    from dataqa.errors import DataQAError

    name = model or installed_model()
    if name is None:
        raise DataQAError(
            "no spaCy model with word vectors is installed",
            hint="pip install an *_md or *_lg spaCy model, or use --featurizer tfidf",
        )
    nlp = spacy.load(name, exclude=["parser", "ner", "lemmatizer", "textcat", "senter"])
    if not nlp.vocab.vectors.shape[0]:
        raise DataQAError(
            f"the spaCy model {name!r} has no word vectors", hint="use an *_md or *_lg model"
        )
    docs = nlp.pipe(texts, batch_size=256)
    X = np.stack(
        [
            d.vector
            for d in bar(docs, desc="labels: spaCy vectors", total=len(texts), enabled=progress)
        ]
    )
    return Features(
        "spacy", X.astype(np.float32), sparse=False, info={"dims": int(X.shape[1]), "model": name}
    )
