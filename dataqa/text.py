"""Vectorised text primitives shared by checks: normalisation, tokens, dictionary look-ups.

Everything here works on whole pandas Series at once; per-row Python loops are kept for
the few rows a cheap vectorised screen selects (mojibake, language), because ftfy and the
language identifier run at tens of thousands of rows per second at best.
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

WORD_RE = r"[a-z]+(?:'[a-z]+)?"
PTB_TOKENS = r"-(?:lrb|rrb|lsb|rsb|lcb|rcb)-"
"""Penn Treebank bracket escapes left in tokenised corpora such as SST-2."""


def normalize_for_dedup(text: pd.Series) -> pd.Series:
    """NFKC, case-folded, punctuation dropped, whitespace collapsed: the exact-duplicate key."""
    s = text.map(lambda t: unicodedata.normalize("NFKC", t), na_action="ignore")
    s = s.str.casefold()
    s = s.str.replace(r"[^\w\s]|_", " ", regex=True)
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


def ascii_only(text: pd.Series) -> np.ndarray:
    """True where a row is pure ASCII (no need to run Unicode-level checks on it)."""
    return text.str.contains(r"^[\x00-\x7f]*$", regex=True).to_numpy(dtype=bool)


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


def typo_rate(text: pd.Series) -> pd.DataFrame:
    """Per row: alphabetic tokens, tokens not in the dictionary, and their share."""
    toks = word_tokens(text)
    vocab = english_vocabulary()
    # "didn't" style tokens are fine when their stem is a word
    stem = toks.str.replace(r"'[a-z]+$", "", regex=True)
    oov = ~(toks.isin(vocab) | stem.isin(vocab))
    n = toks.groupby(level=0).size()
    bad = oov.groupby(level=0).sum()
    out = pd.DataFrame({"tokens": n, "oov": bad}).reindex(text.index, fill_value=0)
    out["typo_rate"] = np.where(out["tokens"] > 0, out["oov"] / out["tokens"].clip(lower=1), 0.0)
    return out
