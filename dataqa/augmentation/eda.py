"""EDA (Wei & Zou, 2019): synonym replacement, random insertion, random swap, random deletion.

Each new row gets one operation, picked at random among those whose rate is above
zero, applied at that rate (EDA's alpha: the share of words touched, at least one).
Unlike plain EDA, negations are never deleted or moved, polarity words are never
deleted, and synonyms come from the native WordNet path with its protections, so
"not good" cannot become "good" or "not bad". Whitespace and punctuation of untouched
words are kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from dataqa.augmentation.rng import RowRandom
from dataqa.augmentation.synonym import n_edits, replaceable, synonym_replace
from dataqa.augmentation.wordnet import WordNet, load_wordnet
from dataqa.augmentation.words import POLARITY_WORDS, TOKEN_RE, is_negation, is_word
from dataqa.errors import DataQAError

OPS = ("synonym", "insert", "swap", "delete")


@dataclass(frozen=True)
class EdaRates:
    """Per-operation rates (EDA's alpha_sr, alpha_ri, alpha_rs, p_rd; paper default 0.1)."""

    synonym: float = 0.1
    insert: float = 0.1
    swap: float = 0.1
    delete: float = 0.1

    def __post_init__(self) -> None:
        for op, rate in asdict(self).items():
            if not 0.0 <= rate <= 1.0:
                raise DataQAError(f"the EDA rate for {op} must be between 0 and 1, not {rate}")
        if not any(asdict(self).values()):
            raise DataQAError("all EDA rates are 0", hint="give at least one operation a rate")

    def active(self) -> list[str]:
        return [op for op in OPS if getattr(self, op) > 0]


def random_insertion(text: str, rng: RowRandom, wn: WordNet, rate: float) -> str:
    """Insert a synonym of a random word at a random position, n times."""
    parts = TOKEN_RE.findall(text)
    cands, n_words = replaceable(parts, wn)
    if not cands:
        return text
    for _ in range(n_edits(n_words, rate)):
        word = rng.choice(rng.choice(cands)[1])
        pos = rng.randrange(len(parts) + 1)
        parts.insert(pos, (" ", word) if pos else ("", word + " "))
    return "".join(g + t for g, t in parts).strip()


def random_swap(text: str, rng: RowRandom, rate: float) -> str:
    """Swap two random words, n times; negations stay where they are (their scope
    would change)."""
    parts = TOKEN_RE.findall(text)
    movable = [i for i, (_, t) in enumerate(parts) if is_word(t) and not is_negation(t)]
    if len(movable) < 2:
        return text
    for _ in range(n_edits(len(movable), rate)):
        i, j = rng.sample(movable, 2)
        (gi, ti), (gj, tj) = parts[i], parts[j]
        parts[i], parts[j] = (gi, tj), (gj, ti)
    return "".join(g + t for g, t in parts).strip()


def random_deletion(text: str, rng: RowRandom, rate: float) -> str:
    """Delete each word with probability `rate`, never a negation or a polarity word;
    at least one word goes and at least one stays."""
    parts = TOKEN_RE.findall(text)
    words = [i for i, (_, t) in enumerate(parts) if is_word(t)]
    deletable = [
        i
        for i in words
        if not is_negation(parts[i][1]) and parts[i][1].lower() not in POLARITY_WORDS
    ]
    if not deletable or len(words) < 2:
        return text
    drop = {i for i in deletable if rng.random() < rate}
    if not drop:
        drop = {rng.choice(deletable)}
    if len(drop) >= len(words):
        drop.discard(rng.choice(sorted(drop)))
    kept = [p for i, p in enumerate(parts) if i not in drop]
    if kept and drop and min(drop) == 0:
        kept[0] = ("", kept[0][1])
    return "".join(g + t for g, t in kept).strip()


def eda_one(text: str, rng: RowRandom, wn: WordNet | None, rates: EdaRates) -> tuple[str, str]:
    """One EDA edit of `text`: (new text, operation)."""
    op = rng.choice(rates.active())
    rate = getattr(rates, op)
    if op == "synonym":
        return synonym_replace(text, rng, wn, rate), op
    if op == "insert":
        return random_insertion(text, rng, wn, rate), op
    if op == "swap":
        return random_swap(text, rng, rate), op
    return random_deletion(text, rng, rate), op


def eda_batch(
    texts: Sequence[str],
    seeds: Sequence[int],
    *,
    rates: EdaRates | None = None,
    wordnet_dir: str | os.PathLike | None = None,
) -> list[tuple[str, str]]:
    """EDA over many rows; row i uses `RowRandom(seeds[i])`."""
    rates = rates or EdaRates()
    needs_wordnet = rates.synonym > 0 or rates.insert > 0
    wn = load_wordnet(wordnet_dir) if needs_wordnet else None
    return [eda_one(t, RowRandom(s), wn, rates) for t, s in zip(texts, seeds, strict=True)]
