"""Language identification: one identifier and one rule for every check that asks."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dataqa.text.tokens import CJK_CHARS_RE, UniqueText

LANGUAGE_DEFAULTS = {"min_prob": 0.95, "min_words": 4, "min_letters": 25}
"""Evidence a row needs before its language is judged (see `identify_languages`)."""


@functools.lru_cache(maxsize=1)
def language_identifier():
    """py3langid's identifier with normalised probabilities (loaded once: ~1 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def known_languages() -> list[str]:
    """ISO 639-1 codes the identifier knows."""
    return list(language_identifier().nb_classes)


@dataclass
class LanguageVerdicts:
    """The dataset's main language and the distinct texts confidently in another one.

    Attributes
    ----------
    main : str or None
        ISO 639-1 code voted by a sample of texts long enough to judge (or the expected
        language the user named); None when no text is long enough.
    other : pandas.Series
        Distinct-text index (into `UniqueText.values`) -> the language identified, for
        texts judged not to be in `main`.
    stats : dict
        `main`, `sample_votes`, `undetermined_rows` (too short to judge),
        `identified_texts` (texts that went through the identifier).
    """

    main: str | None
    other: pd.Series
    stats: dict


def identify_languages(
    u: UniqueText,
    typos: pd.DataFrame,
    present: np.ndarray,
    *,
    expected: str | None = None,
    min_prob: float = LANGUAGE_DEFAULTS["min_prob"],
    min_words: int = LANGUAGE_DEFAULTS["min_words"],
    min_letters: int = LANGUAGE_DEFAULTS["min_letters"],
    seed: int = 0,
) -> LanguageVerdicts:
    """The main language from a sample; the texts that are confidently not in it.

    A text is judged only with enough evidence: at least `min_words` words with letters
    (or twice that many CJK characters) and `min_letters` letters - identifiers guess
    wildly on fragments such as SST-2's "a bad movie ," - and it is called "not the
    main language" only when the identifier gives the main language at most
    1 - `min_prob` and, for English, when most of its words are outside the English
    dictionary. Shorter texts count as undetermined, never as foreign. Close relatives
    (pt/gl, es/ca) split probability between them, so "confidently not the main
    language" is asked rather than "confidently language X".

    Parameters
    ----------
    u : UniqueText
        Distinct texts of the column.
    typos : pandas.DataFrame
        `typo_rate(text, unique=u)`: its `unique_tokens` / `unique_oov` attrs.
    present : numpy.ndarray of bool
        Per row: the text is present and not blank.
    expected : str, optional
        The language the user expects (ISO 639-1); default: the sample's vote.
    seed : int
        Seed of the sample of at most 2,000 texts that votes for the main language.

    Returns
    -------
    LanguageVerdicts
    """
    ident = language_identifier()

    def count(pattern: str) -> np.ndarray:
        return pc.count_substring_regex(u.arrow, pattern).to_numpy(zero_copy_only=False)

    letters = count(r"\pL")
    words = count(r"[\pL\pM]+")  # words with letters: "," and "--" are no evidence
    cjk = count(CJK_CHARS_RE)  # no spaces: one character is about one word
    is_present = np.zeros(len(u.values), dtype=bool)
    is_present[u.codes[present]] = True
    enough = is_present & ((words >= min_words) | (cjk >= 2 * min_words)) & (letters >= min_letters)
    pool = np.flatnonzero(enough)
    rng = np.random.default_rng(seed)
    sample = rng.choice(pool, size=min(len(pool), 2000), replace=False) if len(pool) else pool
    votes = Counter(ident.classify(u.values[i])[0] for i in np.sort(sample))
    main = expected or (votes.most_common(1)[0][0] if votes else None)
    stats = {
        "main": main,
        "sample_votes": dict(votes.most_common(10)),
        "undetermined_rows": int((~enough[u.codes] & present).sum()),
        "identified_texts": 0,
    }
    none = pd.Series([], dtype=object)
    if main is None:
        return LanguageVerdicts(None, none, stats)
    candidates = enough.copy()
    if main == "en":  # dictionary words are evidence the identifier need not weigh
        tok, oov = typos.attrs["unique_tokens"], typos.attrs["unique_oov"]
        candidates &= (1.0 - oov / np.maximum(tok, 1)) < 0.5
    idx = np.flatnonzero(candidates)
    stats["identified_texts"] = int(idx.size)
    keep_i, keep_lang = [], []
    for i in idx:
        ranking = ident.rank(u.values[i])
        top, p_main = ranking[0][0], dict(ranking).get(main, 0.0)
        if top != main and p_main <= 1 - min_prob:
            keep_i.append(i)
            keep_lang.append(top)
    return LanguageVerdicts(main, pd.Series(keep_lang, index=keep_i, dtype=object), stats)
