"""spaCy document vectors (mean of word vectors) from an installed spaCy model."""

from __future__ import annotations

import functools

import numpy as np

from dataqa.featurizers import Features
from dataqa.progress import bar


@functools.lru_cache(maxsize=1)
def installed_model() -> str | None:
    """The first installed spaCy pipeline package that ships word vectors (*_md, *_lg),
    found from package metadata so that spaCy itself is not imported (it takes seconds)."""
    from importlib.metadata import distributions

    found = []
    for dist in distributions():
        name = (dist.metadata["Name"] or "").replace("-", "_")
        if name.endswith(("_md", "_lg")) and any(
            r.split()[0].startswith("spacy") for r in (dist.requires or [])
        ):
            found.append(name)
    return sorted(found)[0] if found else None


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
