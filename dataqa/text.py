"""Vectorised text primitives shared by checks: normalisation, tokens, dictionary look-ups.

Everything here works on whole pandas Series at once; per-row Python loops are kept for
the few rows a cheap vectorised screen selects (mojibake, language), because ftfy and the
language identifier run at tens of thousands of rows per second at best.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WORD_RE = r"[a-z]+(?:'[a-z]+)?"
PTB_TOKENS = r"-(?:lrb|rrb|lsb|rsb|lcb|rcb)-"
"""Penn Treebank bracket escapes left in tokenised corpora such as SST-2."""


def normalize_for_dedup(text: pd.Series) -> pd.Series:
    """The exact-duplicate key: what two texts share when they say the same thing.

    Folded: Unicode compatibility form (NFKC: full-width letters, ligatures, the
    non-breaking space), case, runs of whitespace, invisible junk (zero-width space,
    soft hyphen, BOM, bidi overrides), quote styles (curly, angled, primes -> ASCII),
    clause punctuation (`. , ! ? ; :` and their CJK forms, but not a decimal point) and
    a hyphen between letters (`top-up` ~ `top up`). Kept, because they change meaning:
    signs and digits (`+1` vs `-1`, `1.5` vs `15`), emoji and other symbols (`A+` vs
    `A-`), and every letter and mark of every script. Computed once per distinct text
    with Arrow kernels.
    """
    u = UniqueText.of(text)
    s = pc.utf8_normalize(u.arrow, form="NFKC")
    s = pc.utf8_lower(s)
    s = pc.replace_substring_regex(s, INVISIBLE_IGNORED_BY_KEY_RE, "")
    s = pc.replace_substring_regex(s, "[\u2018\u2019\u201a\u201b\u2032`\u00b4\u02bc]", "'")
    s = pc.replace_substring_regex(s, "[\u201c-\u201f\u2033\u00ab\u00bb]", '"')
    s = pc.replace_substring_regex(s, r"(\pL)[\p{Pd}](\pL)", r"\1 \2")  # top-up ~ top up
    s = pc.replace_substring_regex(s, r"(\d)([.,])(\d)", "\\1\x00\\3")  # 1.5 is not 15
    s = pc.replace_substring_regex(s, SENTENCE_PUNCT_RE, " ")
    s = pc.replace_substring_regex(s, "\x00", ".")
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"\s+", " "))
    keys = np.asarray(s.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(keys[u.codes], index=text.index, dtype=object)


SENTENCE_PUNCT_RE = "[.,!?;:\u2026\u00a1\u00bf\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a]+"
"""Punctuation that ends or separates clauses; a duplicate key ignores it ("Great!" is
"great."), but keeps signs, symbols, emoji, digits and other punctuation."""


# ---- invisible characters ---------------------------------------------------------------

INVISIBLE_RE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""Control, soft-hyphen, zero-width, bidi and BOM characters: the screen for
`invisible_junk`, which decides per occurrence (real characters, not escapes, so that
both Python's re and Arrow's RE2 read the class)."""
INVISIBLE_JUNK_ALWAYS_RE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u202d\u202e\u2060-\u2064\ufeff]"
)
"""Characters that are junk wherever they stand: C0/C1 controls (tab, newline and
carriage return are text), soft hyphens, bidi overrides (the "Trojan Source" trick),
word joiners, invisible operators and stray byte-order marks."""
INVISIBLE_IGNORED_BY_KEY_RE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""Invisible characters two texts may differ by and still be the same text: all of
`INVISIBLE_RE` but the joiners, which tell emoji sequences and words apart."""
_JOINERS = "\u200c\u200d"
_NO_SPACE_SCRIPTS = ("THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "JAVANESE", "BALINESE")


def invisible_junk(text: str) -> list[int]:
    """Positions of invisible characters that are junk in `text`, not part of its script.

    Kept as text: a zero-width joiner or non-joiner between two letters (or marks) of a
    script that uses them - Persian and Arabic (`می‌خواهم`), the Indic scripts -
    and a joiner inside an emoji sequence (the family emoji); a zero-width space
    between letters of scripts written without spaces (Thai, Khmer, Lao, Myanmar,
    Tibetan, CJK), where it marks word breaks; left-to-right / right-to-left marks,
    embeddings and isolates in text that holds right-to-left script.
    Junk: everything in `INVISIBLE_JUNK_ALWAYS_RE`, a joiner or zero-width space
    anywhere else (e.g. inside an ASCII word), bidi marks in text with no RTL script.
    """
    out = []
    rtl = None
    for m in _INVISIBLE_PY.finditer(text):
        i, ch = m.start(), m.group()
        prev = text[i - 1] if i > 0 else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch in _JOINERS:
            if _script_letter(prev) and _script_letter(nxt):
                continue
            if ch == "\u200d" and _emoji_part(prev) and _emoji_part(nxt):
                continue
        elif ch == "\u200b":
            if _no_space_letter(prev) and _no_space_letter(nxt):
                continue
        elif ch in "\u200e\u200f\u061c\u202a\u202b\u202c\u2066\u2067\u2068\u2069":
            if rtl is None:
                rtl = any(
                    unicodedata.bidirectional(c) in ("R", "AL")
                    and unicodedata.category(c)[0] == "L"
                    for c in text
                )
            if rtl:
                continue
        out.append(i)
    return out


def remove_invisible_junk(text: str) -> str:
    """`text` without the characters `invisible_junk` names."""
    drop = set(invisible_junk(text))
    return "".join(c for i, c in enumerate(text) if i not in drop) if drop else text


_INVISIBLE_PY = re.compile(INVISIBLE_RE)


def _script_letter(ch: str) -> bool:
    """A letter or mark of a script other than Latin (where joiners are text)."""
    if not ch or unicodedata.category(ch)[0] not in "LM":
        return False
    return "LATIN" not in unicodedata.name(ch, "")


def _emoji_part(ch: str) -> bool:
    if not ch:
        return False
    cp = ord(ch)
    return (
        unicodedata.category(ch) == "So"
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or cp in (0xFE0F, 0x20E3)  # emoji presentation selector, keycap
        or 0x1F000 <= cp <= 0x1FAFF
    )


def _no_space_letter(ch: str) -> bool:
    if not ch or unicodedata.category(ch)[0] not in "LM":
        return False
    name = unicodedata.name(ch, "")
    return name.startswith(_NO_SPACE_SCRIPTS) or name.startswith(("CJK", "HIRAGANA", "KATAKANA"))


# ---- word units for every script -------------------------------------------------------

CJK_CHARS_RE = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
SEA_CHARS_RE = r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"
SEA_CHARS_PER_WORD = 4
"""Thai, Lao, Khmer, Myanmar and Tibetan are written without spaces between words; a
word there is a few characters long (Thai averages roughly 3-5 letters a word), so
every four characters count as one word unit."""


def word_units(arrow_text) -> np.ndarray:
    """Words per text, in any script: what "too short" and "too long" should count.

    Whitespace-separated words, where a run of Chinese or Japanese characters counts
    one unit per character (one character is about one word and about one token of a
    subword tokenizer) and a run of Thai, Lao, Khmer, Myanmar or Tibetan one unit per
    `SEA_CHARS_PER_WORD` characters. For English and every other spaced script this is
    the plain word count.

    Parameters
    ----------
    arrow_text : pyarrow.Array of strings

    Returns
    -------
    numpy.ndarray of int64, one count per text.
    """
    cjk = pc.count_substring_regex(arrow_text, CJK_CHARS_RE).to_numpy(zero_copy_only=False)
    sea = pc.count_substring_regex(arrow_text, SEA_CHARS_RE).to_numpy(zero_copy_only=False)
    spaced = arrow_text
    if cjk.any() or sea.any():
        spaced = pc.replace_substring_regex(arrow_text, CJK_CHARS_RE + "|" + SEA_CHARS_RE, " ")
    words = pc.count_substring_regex(spaced, r"\S+").to_numpy(zero_copy_only=False)
    return (words + cjk + np.ceil(sea / SEA_CHARS_PER_WORD)).astype(np.int64)


def word_tokens(text: pd.Series, min_len: int = 2) -> pd.Series:
    """Lower-case word tokens, exploded: index = row id (repeated), value = token."""
    low = text.str.lower().str.replace(PTB_TOKENS, " ", regex=True)
    toks = low.str.findall(WORD_RE).explode()
    toks = toks[toks.notna()]
    if min_len > 1:
        toks = toks[toks.str.len() >= min_len]
    return toks


@functools.lru_cache(maxsize=1)
def english_vocabulary() -> pd.Index:
    """The 82,765-word English frequency dictionary shipped with symspellpy.

    A real frequency list (from the Google Books n-gram corpus via SymSpell) is what
    separates a typo from a rare word better than any hand list.
    """
    path = english_dictionary_path()
    words = pd.read_csv(
        path,
        sep=" ",
        header=None,
        names=["word", "count"],
        dtype={"word": str},
        keep_default_na=False,
        quoting=3,
    )["word"]
    # contractions and their halves appear in tokenised corpora ("does n't", "it 's")
    extra = pd.Series(["n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "ca", "wo"])
    return pd.Index(pd.concat([words.str.lower(), extra]).unique())


def english_dictionary_path() -> Path:
    spec = importlib.util.find_spec("symspellpy")
    if spec is None or spec.origin is None:
        raise RuntimeError("symspellpy is not installed: pip install symspellpy")
    return Path(spec.origin).parent / "frequency_dictionary_en_82_765.txt"


@dataclass
class UniqueText:
    """The distinct texts of a column, as a numpy object array and an Arrow array, plus
    `codes` mapping each row (by position) to its distinct text.

    Features computed on distinct texts and spread with `codes` cost what the number of
    distinct texts costs, and Arrow's RE2 kernels run an order of magnitude faster than
    Python's `re` row by row.
    """

    codes: np.ndarray
    values: np.ndarray
    arrow: pa.Array
    _tokens: tuple | None = field(default=None, repr=False)

    @classmethod
    def of(cls, text: pd.Series) -> UniqueText:
        codes, uniques = pd.factorize(text.to_numpy(dtype=object), sort=False)
        values = np.asarray(uniques, dtype=object)
        return cls(codes=codes, values=values, arrow=pa.array(values, type=pa.large_string()))

    def match(self, pattern: str) -> np.ndarray:
        """Boolean per distinct text: does RE2 `pattern` occur in it?"""
        return pc.match_substring_regex(self.arrow, pattern).to_numpy(zero_copy_only=False)

    def rows(self, which) -> np.ndarray:
        """Boolean per row, from a boolean mask or an index list over distinct texts."""
        which = np.asarray(which)
        if which.dtype != bool:
            mask = np.zeros(len(self.values), dtype=bool)
            mask[which.astype(np.int64)] = True
            which = mask
        return which[self.codes]

    def tokens(self) -> tuple[pa.Array, np.ndarray]:
        """Lower-case word tokens of 2+ letters (apostrophes kept inside: "n't") and the
        index of the distinct text each comes from."""
        if self._tokens is None:
            low = pc.replace_substring_regex(pc.utf8_lower(self.arrow), "(?i)" + PTB_TOKENS, " ")
            parts = pc.split_pattern_regex(low, r"[^a-z']+")
            flat = pc.utf8_trim(pc.list_flatten(parts), "'")
            parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
            keep = pc.greater_equal(pc.utf8_length(flat), 2)
            self._tokens = (pc.filter(flat, keep), parent[keep.to_numpy(zero_copy_only=False)])
        return self._tokens


def typo_rate(text: pd.Series, unique: UniqueText | None = None) -> pd.DataFrame:
    """Per row: word tokens, tokens not in the English dictionary, and their share.

    The per-distinct-text arrays ride along in `.attrs` (`unique_tokens`, `unique_oov`,
    `unique_rate`) for callers that work on distinct texts.
    """
    u = unique if unique is not None else UniqueText.of(text)
    flat, parent = u.tokens()
    vocab = pa.array(english_vocabulary().tolist())
    stem = pc.replace_substring_regex(flat, "'[a-z]+$", "")
    known = pc.or_(pc.is_in(flat, value_set=vocab), pc.is_in(stem, value_set=vocab))
    oov = ~known.to_numpy(zero_copy_only=False)
    n = len(u.values)
    tok_u = np.bincount(parent, minlength=n)
    oov_u = np.bincount(parent, weights=oov, minlength=n).astype(np.int64)
    rate_u = np.where(tok_u > 0, oov_u / np.maximum(tok_u, 1), 0.0)
    out = pd.DataFrame(
        {"tokens": tok_u[u.codes], "oov": oov_u[u.codes], "typo_rate": rate_u[u.codes]},
        index=text.index,
    )
    out.attrs.update(unique_tokens=tok_u, unique_oov=oov_u, unique_rate=rate_u)
    return out


# ---- language identification ------------------------------------------------------------

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
