"""Words and tokens, in every script, computed once per distinct text.

Everything here works on whole pandas Series at once (Arrow's RE2 kernels over the
distinct texts of a column); per-row Python loops are kept for the few rows a cheap
vectorised screen selects.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WORD_RE = r"[a-z]+(?:'[a-z]+)?"
"""A lower-case English word (with an inner apostrophe): what the dictionary looks up."""
CASED_WORD_RE = r"\b[A-Za-z]+(?:'[a-z]+)?\b"
"""A Latin word as written, case kept (typo correction tells names by their capitals)."""
ENTITY_TOKEN_RE = r"[A-Za-z][A-Za-z0-9]*(?:[&-][A-Za-z0-9]+)*"
"""A brand- or name-like token: `AT&T`, `X-Men`, `iPhone15` (the bias check's shortcuts)."""
SPACED_TOKEN_RE = re.compile(r"(\s*)('?[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:]\d+)*|\S)")
"""(gap, token) pairs that join back into the exact text: words of any script, numbers,
single other characters. Augmentation rewrites text through it."""
PTB_TOKENS = r"-(?:lrb|rrb|lsb|rsb|lcb|rcb)-"
"""Penn Treebank bracket escapes left in tokenised corpora such as SST-2."""


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
