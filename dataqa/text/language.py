"""Language identification: one identifier and one rule for every check that asks."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dataqa.text.tokens import CJK_CHARS_RE, UniqueText, word_units

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


def _english_words(u: UniqueText, which: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per distinct text (zero outside `which`): lower-case Latin words and how many are
    English words, then all Latin words (any case) and how many are English words."""
    import pyarrow as pa

    from dataqa.text.tokens import english_vocabulary

    parts = pc.split_pattern_regex(u.arrow.take(which), r"[^A-Za-z']+")
    flat = pc.utf8_trim(pc.list_flatten(parts), "'")
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    lower = pc.and_(
        pc.match_substring_regex(flat, "^[a-z]"), pc.greater_equal(pc.utf8_length(flat), 2)
    ).to_numpy(zero_copy_only=False)
    vocab = pa.array(english_vocabulary().tolist())
    stem = pc.replace_substring_regex(flat, "'[a-z]+$", "")
    known = pc.or_(pc.is_in(flat, value_set=vocab), pc.is_in(stem, value_set=vocab))
    lower_flat = pc.utf8_lower(flat)
    known_any = pc.or_(
        pc.is_in(lower_flat, value_set=vocab),
        pc.is_in(pc.replace_substring_regex(lower_flat, "'[a-z]+$", ""), value_set=vocab),
    ).to_numpy(zero_copy_only=False)
    word = pc.greater_equal(pc.utf8_length(flat), 2).to_numpy(zero_copy_only=False)
    known = known.to_numpy(zero_copy_only=False) & lower
    n = len(u.values)

    def per_text(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        out[which] = np.bincount(parent[mask], minlength=len(which))
        return out

    return per_text(lower), per_text(known), per_text(word), per_text(known_any & word)


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
    dictionary (its lower-case words: names and acronyms are no evidence either way).
    Shorter texts count as undetermined, never as foreign. Close relatives
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
    n = len(u.values)
    is_present = np.zeros(n, dtype=bool)
    is_present[u.codes[present]] = True

    def judgeable(which: np.ndarray) -> np.ndarray:
        return _judgeable(u, which, min_words, min_letters)

    # the vote: a random sample of the present texts, the judgeable ones among them
    present_ids = np.flatnonzero(is_present)
    votes = Counter() if expected else language_votes(u, present, seed, min_words, min_letters)
    main = expected or (votes.most_common(1)[0][0] if votes else None)
    stats = {"main": main, "sample_votes": dict(votes.most_common(10)), "identified_texts": 0}
    none = pd.Series([], dtype=object)
    if main is None:
        stats["undetermined_rows"] = int(present.sum())
        return LanguageVerdicts(None, none, stats)
    screen = present_ids
    if main == "en":  # dictionary words are evidence the identifier need not weigh
        # a cheap first screen: texts mostly made of English words are English
        tok, oov = typos.attrs["unique_tokens"], typos.attrs["unique_oov"]
        screen = screen[(tok[screen] == 0) | (oov[screen] >= 0.5 * tok[screen])]
    enough = np.zeros(n, dtype=bool)
    enough[screen] = judgeable(screen)
    candidates = enough.copy()
    if main == "en":
        lower, lower_known, latin, latin_known = _english_words(u, np.flatnonzero(candidates))
        # names and acronyms (Kerberos, WSAPI) say little: the lower-case words decide;
        # a Title Case line falls back to all its words; no Latin word at all (Cyrillic,
        # CJK, Arabic) makes a candidate
        mostly_foreign = np.where(
            lower >= 2, lower_known < 0.5 * lower, latin_known < 0.5 * np.maximum(latin, 1)
        )
        candidates &= (latin == 0) | mostly_foreign
    judged = enough.copy()
    if main == "en":
        judged[present_ids] = True  # dictionary English, or enough for the identifier
        judged[screen] = enough[screen]
    stats["undetermined_rows"] = int((~judged[u.codes] & present).sum())
    idx = np.flatnonzero(candidates)
    stats["identified_texts"] = int(idx.size)
    keep_i, keep_lang = [], []
    for i in idx:
        ranking = ident.rank(u.values[i])
        top, p_main = ranking[0][0], dict(ranking).get(main, 0.0)
        # and the identifier must be sure of *something*: a name list scores ~0.05 on all
        if top != main and p_main <= 1 - min_prob and ranking[0][1] >= 0.5:
            keep_i.append(i)
            keep_lang.append(top)
    return LanguageVerdicts(main, pd.Series(keep_lang, index=keep_i, dtype=object), stats)


def _judgeable(u, which: np.ndarray, min_words: int, min_letters: int) -> np.ndarray:
    """Which of the distinct texts `which` hold enough evidence to be judged."""
    if which.size == 0:
        return np.zeros(0, dtype=bool)
    sub = u.arrow.take(which)
    # letters by deleting what is not one (runs): faster than matching each letter
    letters = pc.utf8_length(pc.replace_substring_regex(sub, r"[^\pL\pM]+", ""))
    letters = letters.to_numpy(zero_copy_only=False)  # marks count: Devanagari vowels
    cjk = pc.count_substring_regex(sub, CJK_CHARS_RE).to_numpy(zero_copy_only=False)
    words = pc.count_substring_regex(sub, r"[\pL\pM]+").to_numpy(zero_copy_only=False)
    units = word_units(sub)  # words of every script
    return ((np.minimum(words, units) >= min_words) & (letters >= min_letters)) | (
        cjk >= 2 * min_words
    )


def language_votes(
    u,
    present: np.ndarray,
    seed: int = 0,
    min_words: int = LANGUAGE_DEFAULTS["min_words"],
    min_letters: int = LANGUAGE_DEFAULTS["min_letters"],
) -> Counter:
    """The identifier's votes on a seeded sample of at most 2,000 judgeable present texts.

    The main language is the most common vote; a distributed run adds the votes of its
    partitions (each a sample of its own rows) and takes the most common of the sum.
    """
    ident = language_identifier()
    is_present = np.zeros(len(u.values), dtype=bool)
    is_present[u.codes[present]] = True
    present_ids = np.flatnonzero(is_present)
    rng = np.random.default_rng(seed)
    draw = np.sort(rng.permutation(present_ids)[:6000])
    pool = draw[_judgeable(u, draw, min_words, min_letters)][:2000]
    return Counter(ident.classify(u.values[i])[0] for i in pool)
