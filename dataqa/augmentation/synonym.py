"""Synonym replacement: a fast native WordNet path, and nlpaug's SynonymAug as a backend.

The native path (`synonym_replace`) replaces about `rate` of a row's words with
same-POS synonyms from their top WordNet senses, leaving stop-words, negations,
polarity words and proper nouns alone (see `WordNet.synonyms`). Synonyms are looked up
once per distinct word, so it runs at tens of thousands of sentences per second.

nlpaug's `SynonymAug` (`nlpaug_synonyms`) is kept as a second backend and as the
reference the benchmark compares against. It always POS-tags with NLTK's perceptron
tagger, whose data cannot be installed offline; `make_tagger` supplies one instead (a
spaCy pipeline when a spaCy model is installed, else the WordNet sense-count tagger)
and it is set on the augmenter instance only, nothing global is patched.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from itertools import chain

from dataqa.augmentation.rng import RowRandom
from dataqa.augmentation.wordnet import FIXED, NOT_WORD, WordNet, load_wordnet
from dataqa.augmentation.words import (
    NEGATIONS,
    POLARITY_WORDS,
    STOP_WORDS,
    TOKEN_RE,
    match_case,
    word_set,
)
from dataqa.errors import DataQAError

NOUN_CUES = word_set(
    "a an the my your his her its our their this that these those some any each every no another"
)
VERB_CUES = word_set("to can could will would shall should must may might do does did please")
PARTICLES = word_set("up down out off away back over")
"""A word followed by one of these is likely half of a phrasal verb ("top up", "pull
out"): replacing it alone breaks the phrase, so it is kept."""
VERB_PREPOSITIONS = word_set("into at for after on in through around about with to from")
"""A verb followed by one of these may be a prepositional verb ("look into", "wait for"):
its synonym rarely takes the same preposition ("seem into"), so the verb is kept."""


def replaceable(
    parts: list[tuple[str, str]], wn: WordNet
) -> tuple[list[tuple[int, tuple[str, ...]]], int]:
    """(position, synonyms) of the words that have a synonym, and the number of words.

    The word before picks the part of speech when it can ("a charge" is a noun, "to
    charge" a verb); a capitalised word after the first is taken for a name, and a word
    before a particle for half of a phrasal verb, and both are kept. This loop is the
    hot path of synonym replacement, hence the inlined cache look-up.
    """
    kinds, kind, cache, lookup = wn.kinds, wn.kind, wn._cache, wn.synonyms
    out: list[tuple[int, tuple[str, ...]]] = []
    n_words = 0
    prev = ""
    last = len(parts) - 1
    for i, (_, t) in enumerate(parts):
        k, low = kinds.get(t) or kind(t)
        if k == NOT_WORD:
            prev = ""
            continue
        n_words += 1
        low_prev, prev = prev, low
        if k == FIXED or (n_words > 1 and t[0].isupper()):
            continue
        nxt = kind(parts[i + 1][1])[1] if i < last else ""
        if nxt in PARTICLES:
            continue
        hint = "n" if low_prev in NOUN_CUES else "v" if low_prev in VERB_CUES else None
        if nxt in VERB_PREPOSITIONS and (wn.tag(t, hint) or "xx")[1] == "v":
            continue
        syns = cache.get((t, hint))
        if syns is None:
            syns = lookup(t, hint)
        if syns:
            out.append((i, syns))
    return out, n_words


def fix_article(parts: list[tuple[str, str]], i: int) -> None:
    """After replacing word i, make a preceding "a"/"an" agree with it."""
    if i == 0:
        return
    gap, art = parts[i - 1]
    if art.lower() not in ("a", "an"):
        return
    want = "an" if parts[i][1][:1].lower() in "aeiou" else "a"
    parts[i - 1] = (gap, match_case(art, want) if art[:1].isupper() else want)


def n_edits(n_words: int, rate: float) -> int:
    """Words to change at `rate`: at least one (EDA's n = max(1, alpha * len))."""
    return max(1, int(rate * n_words + 0.5))


def synonym_replace(text: str, rng: RowRandom, wn: WordNet, rate: float = 0.1) -> str:
    """Replace about `rate` of the words of `text` with WordNet synonyms.

    Returns `text` unchanged when no word has a synonym (the filter counts that as an
    unchanged copy).
    """
    parts = TOKEN_RE.findall(text)
    cands, n_words = replaceable(parts, wn)
    if not cands:
        return text
    n = min(n_edits(n_words, rate), len(cands))
    picks = rng.sample(cands, n) if n > 1 else [rng.choice(cands)]
    for i, syns in picks:
        gap, tok = parts[i]
        parts[i] = (gap, match_case(tok, rng.choice(syns)))
        fix_article(parts, i)
    return "".join(chain.from_iterable(parts)).strip()


def synonym_batch(
    texts: Sequence[str],
    seeds: Sequence[int],
    *,
    rate: float = 0.1,
    wordnet_dir: str | os.PathLike | None = None,
) -> list[str]:
    """The native path over many rows; row i uses `RowRandom(seeds[i])`."""
    wn = load_wordnet(wordnet_dir)
    return [synonym_replace(t, RowRandom(s), wn, rate) for t, s in zip(texts, seeds, strict=True)]


# ---- nlpaug backend ----------------------------------------------------------------------

PTB = {"n": "NN", "v": "VB", "a": "JJ", "r": "RB"}
PTB_INFLECTED = {("n", "s"): "NNS", ("v", "s"): "VBZ", ("v", "ing"): "VBG", ("v", "ed"): "VBD"}


def wordnet_tagger(wordnet_dir: str | os.PathLike | None = None) -> Callable[[list[str]], list]:
    """A context-free Penn Treebank tagger from WordNet sense counts.

    Closed-class words get "DT", which nlpaug's SynonymAug never replaces; words
    WordNet does not know get "NN" (what a tagger guesses for an unknown word);
    numbers "CD" and punctuation ".".
    """
    wn = load_wordnet(wordnet_dir)

    def tag(tokens: list[str]) -> list[tuple[str, str]]:
        out = []
        for tok in tokens:
            low = tok.lower()
            if not tok[:1].isalnum():
                out.append((tok, "."))
            elif tok[:1].isdigit():
                out.append((tok, "CD"))
            elif low in STOP_WORDS or low in NEGATIONS:
                out.append((tok, "DT"))
            else:
                reading = wn.tag(low)
                if reading is None:
                    out.append((tok, "NN"))
                else:
                    lemma, pos, infl = reading
                    out.append((tok, PTB_INFLECTED.get((pos, infl), PTB[pos])))
        return out

    return tag


def spacy_tagger() -> Callable[[list[str]], list] | None:
    """A tagger from the first installed spaCy pipeline, or None when there is none."""
    import spacy
    from spacy.tokens import Doc

    models = sorted(spacy.util.get_installed_models())
    if not models:
        return None
    nlp = spacy.load(models[0], disable=["parser", "ner", "lemmatizer"])

    def tag(tokens: list[str]) -> list[tuple[str, str]]:
        doc = Doc(nlp.vocab, words=list(tokens))
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        return [(t.text, t.tag_) for t in doc]

    return tag


def make_tagger(wordnet_dir: str | os.PathLike | None = None) -> Callable[[list[str]], list]:
    return spacy_tagger() or wordnet_tagger(wordnet_dir)


def nlpaug_augmenter(
    rate: float = 0.1,
    *,
    protect: bool = True,
    wordnet_dir: str | os.PathLike | None = None,
    tagger: Callable[[list[str]], list] | None = None,
):
    """nlpaug's SynonymAug over the offline WordNet, with a working POS tagger.

    `protect=True` passes dataqa's stop-words, negations and polarity words as nlpaug
    stop-words; `protect=False` is plain nlpaug (the benchmark's reference).
    """
    from dataqa.augmentation.wordnet import nltk_wordnet

    try:
        nltk_wordnet(wordnet_dir)
        import nlpaug.augmenter.word as naw
    except ImportError as err:
        raise DataQAError(
            f"the nlpaug synonym backend needs {err.name or 'nlpaug'}, which is not installed",
            hint="pip install 'dataqa-finetune[augment]', or use the native backend",
        ) from None

    stop = sorted(STOP_WORDS | NEGATIONS | POLARITY_WORDS) if protect else None
    aug = naw.SynonymAug(aug_src="wordnet", aug_p=rate, stopwords=stop)
    # nlpaug calls self.model.pos_tag(tokens) -> nltk.pos_tag; an instance attribute
    # shadows that classmethod for this augmenter only.
    aug.model.pos_tag = tagger or make_tagger(wordnet_dir)
    return aug


def nlpaug_synonyms(
    texts: Sequence[str],
    seeds: Sequence[int],
    *,
    rate: float = 0.1,
    protect: bool = True,
    wordnet_dir: str | os.PathLike | None = None,
    augmenter=None,
) -> list[str]:
    """nlpaug SynonymAug over many rows, deterministic per row seed.

    nlpaug draws from Python's global `random`, so its state is seeded per row and
    restored afterwards.
    """
    aug = augmenter or nlpaug_augmenter(rate, protect=protect, wordnet_dir=wordnet_dir)
    state = random.getstate()
    out = []
    try:
        for text, seed in zip(texts, seeds, strict=True):
            random.seed(seed)
            res = aug.augment(text)
            out.append(res[0] if isinstance(res, list) else res)
    finally:
        random.setstate(state)
    return out
