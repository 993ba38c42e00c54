"""Tokens, and the words augmentation must leave alone: stop-words, negations, polarity.

Texts are split into tokens that remember the whitespace before them, so an edit
changes only the words it touches and the rest of the row keeps its spacing and
punctuation (SST-2's "does n't" stays tokenised, Banking77's "I can't" stays natural).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd


def word_set(text: str) -> frozenset[str]:
    """A frozenset from a whitespace-separated word list (keeps long lists readable)."""
    return frozenset(text.split())


from dataqa.text import SPACED_TOKEN_RE as TOKEN_RE  # noqa: E402

"""A word (letters with inner apostrophes, also "'s" and "n't"), a number, or one other
character, each with the whitespace in front of it."""

NEGATIONS = word_set(
    "not no never none nobody nothing neither nor nowhere without cannot n't nope nah "
    "dont cant wont didnt doesnt isnt arent wasnt werent couldnt shouldnt wouldnt havent "
    "hasnt hadnt aint"
)
NEGATION_RE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(sorted((n for n in NEGATIONS if n != "n't"), key=len, reverse=True))
    + r")(?![\w'])|n't(?![\w'])",
    re.IGNORECASE,
)
"""Negation cues. "don't" counts once (its n't), "do not" once (not): a paraphrase that
turns one into the other keeps the count."""

# Function words: replacing them changes grammar, not wording.
STOP_WORDS = word_set(
    """a an the this that these those there here it its it's itself i me my mine myself we us
    our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
    they them their theirs themselves who whom whose which what whatever whichever when where why
    how whether if then than so as because since until unless while although though yet but and
    or either both each every all any some such own same other another few many much more most
    less least several enough is am are was were be been being have has had having do does did
    doing done will would shall should can could may might must ought to of in on at by for with
    about against between into through during before after above below from up down out off over
    under away back again further once only also just very too quite rather really even still already ever
    almost about around per via within upon onto toward towards among across along behind beyond
    's 're 've 'll 'd 'm s t d ll m re ve let lets get got gets getting make makes made go goes went
    gone going say says said thing things way one ones"""
)

# Light verbs: so many senses that a context-free synonym is usually wrong ("take" ->
# "use up"). Matched on the lemma, so "taking" and "took" are covered too.
LIGHT_VERBS = word_set("take give put come keep set see need want use have get make do go")

# Words whose replacement most often flips or blurs a label (sentiment and stance). WordNet's
# direct antonyms (good/bad, love/hate, like/dislike...) are added by `dataqa.augmentation.wordnet`.
POLARITY_WORDS = word_set(
    """good bad great terrible awful best worst better worse excellent poor nice horrible
    wonderful fine well enjoy enjoyed enjoyable boring bored fun funny brilliant perfect
    beautiful ugly stupid dull amazing awesome favorite favourite masterpiece mess fail failed
    failure success successful wrong right happy sad love loved lovely hate hated like liked
    dislike disliked pleasant unpleasant interesting uninteresting annoying annoyed angry
    mediocre superb fantastic lame weak strong worthless worthwhile waste wasted pointless
    charming delightful disappointing disappointed disappointment entertaining tedious
    predictable clever smart dumb silly hilarious sloppy flawed flawless satisfying
    unsatisfying compelling gripping moving touching painful pathetic ridiculous solid crap
    garbage junk rubbish trash unfortunately fortunately sadly luckily hopefully thankfully
    glad sorry upset frustrated frustrating thanks thank please help urgent"""
)


def tokenize(text: str) -> tuple[list[str], list[str]]:
    """Tokens and the whitespace before each; `detokenize` gives the text back exactly
    (trailing whitespace aside)."""
    gaps: list[str] = []
    toks: list[str] = []
    for m in TOKEN_RE.finditer(text):
        gaps.append(m.group(1))
        toks.append(m.group(2))
    return toks, gaps


def detokenize(toks: list[str], gaps: list[str]) -> str:
    return "".join(g + t for g, t in zip(gaps, toks, strict=True)).strip()


def is_word(tok: str) -> bool:
    return bool(tok) and (tok[0].isalpha() or (tok[0] == "'" and len(tok) > 1))


def is_negation(tok: str) -> bool:
    low = tok.lower()
    return low in NEGATIONS or low.endswith("n't")


def negation_counts(texts: pd.Series | Iterable[str]) -> pd.Series:
    """Negation cues per text, vectorised."""
    s = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    return s.fillna("").astype(str).str.count(NEGATION_RE.pattern, flags=re.IGNORECASE)


def match_case(src: str, repl: str) -> str:
    """Give `repl` the capitalisation pattern of `src` (Title, lower)."""
    if src[:1].isupper() and src[1:].islower():
        return repl[:1].upper() + repl[1:]
    return repl
