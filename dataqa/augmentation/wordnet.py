"""Offline WordNet 3.0 from the Debian packages, read natively and fast.

Two ways in:

- `load_wordnet()` reads the `index.*`, `data.*`, `*.exc` and `cntlist.rev` files of
  Debian's `wordnet-base` directly. Index and exception files are parsed once (about a
  second); data lines are read on demand from memory-mapped files by their byte offset.
  `WordNet.synonyms(word)` gives same-POS synonyms from the word's most frequent senses,
  already inflected like the word, cached per distinct word, so a corpus of N sentences
  costs one look-up per distinct word, not per occurrence.
- `nltk_wordnet()` prepares the same files for NLTK's reader (which nlpaug uses): that
  reader also wants a `lexnames` file the Debian package lacks and `index.sense` from
  `wordnet-sense-index`, and it refuses symlinks, so the files are copied into an NLTK
  data folder under the user's cache dir. Nothing is ever downloaded.

A word's part of speech comes from WordNet's own sense-tag counts (SemCor frequencies in
`cntlist.rev`): "fine" is mostly an adjective, "book" mostly a noun. That is a unigram
tagger with no context, which is why only the top senses are used and function words,
negations and polarity words are never touched (`dataqa.augmentation.words`).
"""

from __future__ import annotations

import functools
import mmap
import os
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from dataqa.augmentation.words import LIGHT_VERBS, NEGATIONS, POLARITY_WORDS, STOP_WORDS
from dataqa.errors import DataQAError

DEFAULT_DIR = Path("/usr/share/wordnet")
POS_FILE = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
"""Sense-key synset type -> our POS letter (adjective satellites fold into adjectives)."""

LEXNAMES = (
    ("adj.all", 3),
    ("adj.pert", 3),
    ("adv.all", 4),
    ("noun.Tops", 1),
    ("noun.act", 1),
    ("noun.animal", 1),
    ("noun.artifact", 1),
    ("noun.attribute", 1),
    ("noun.body", 1),
    ("noun.cognition", 1),
    ("noun.communication", 1),
    ("noun.event", 1),
    ("noun.feeling", 1),
    ("noun.food", 1),
    ("noun.group", 1),
    ("noun.location", 1),
    ("noun.motive", 1),
    ("noun.object", 1),
    ("noun.person", 1),
    ("noun.phenomenon", 1),
    ("noun.plant", 1),
    ("noun.possession", 1),
    ("noun.process", 1),
    ("noun.quantity", 1),
    ("noun.relation", 1),
    ("noun.shape", 1),
    ("noun.state", 1),
    ("noun.substance", 1),
    ("noun.time", 1),
    ("verb.body", 2),
    ("verb.change", 2),
    ("verb.cognition", 2),
    ("verb.communication", 2),
    ("verb.competition", 2),
    ("verb.consumption", 2),
    ("verb.contact", 2),
    ("verb.creation", 2),
    ("verb.emotion", 2),
    ("verb.motion", 2),
    ("verb.perception", 2),
    ("verb.possession", 2),
    ("verb.social", 2),
    ("verb.stative", 2),
    ("verb.weather", 2),
    ("adj.ppl", 3),
)
"""The 45 lexicographer files in lexnames(5WN) order: name and syntactic category
(1 noun, 2 verb, 3 adjective, 4 adverb). NLTK's reader needs them as a `lexnames` file."""

NLTK_FILES = (
    "index.noun",
    "index.verb",
    "index.adj",
    "index.adv",
    "data.noun",
    "data.verb",
    "data.adj",
    "data.adv",
    "noun.exc",
    "verb.exc",
    "adj.exc",
    "adv.exc",
    "cntlist.rev",
    "index.sense",
)
NATIVE_FILES = NLTK_FILES[:-1]

INSTALL_HINT = "install the Debian package wordnet-base (apt-get install wordnet-base)"

# Regular inflection, WordNet's own detachment rules: suffix of the form -> suffix of the lemma.
NOUN_RULES = (
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("ies", "y"),
    ("s", ""),
)
VERB_RULES = {
    "s": (("ies", "y"), ("es", "e"), ("es", ""), ("s", "")),
    "ing": (("ing", "e"), ("ing", "")),
    "ed": (("ed", "e"), ("ed", "")),
}
NOT_WORD, FIXED, SWAPPABLE = 0, 1, 2
_CVC = re.compile(r"^[^aeiou]*[aeiou][bdgklmnprtv]$")
"""One-syllable consonant-vowel-consonant verbs double their last letter: stop -> stopping."""


def wordnet_dir(root: str | os.PathLike | None = None) -> Path:
    """The WordNet dict folder: the argument, else $DATAQA_WORDNET_DIR, else Debian's."""
    return Path(root or os.environ.get("DATAQA_WORDNET_DIR") or DEFAULT_DIR)


def _require_files(root: Path, names, hint: str = INSTALL_HINT) -> None:
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        where = "it" if not root.is_dir() else f"{', '.join(missing[:4])}"
        raise DataQAError(
            f"WordNet 3.0 is not installed: {where} missing in {root}",
            path=str(root),
            hint=f"{hint}, or point DATAQA_WORDNET_DIR at a folder with the WordNet 3.0 dict files",
        )


class WordNet:
    """Synonyms from WordNet's index and data files. Build with `load_wordnet()`."""

    def __init__(
        self, root: Path, max_senses: int = 2, min_count: int = 1, min_dominance: float = 0.5
    ) -> None:
        _require_files(root, NATIVE_FILES)
        self.root = root
        self.max_senses = max_senses
        self.min_count = min_count
        self.min_dominance = min_dominance
        # pos -> lemma -> the rest of its index line; offsets are parsed on first use
        self._index: dict[str, dict[str, str]] = {}
        for pos, name in POS_FILE.items():
            with open(root / f"index.{name}", encoding="utf-8") as fh:
                lines = fh.read().splitlines()
            self._index[pos] = dict(ln.split(" ", 1) for ln in lines if ln and ln[0] != " ")
        self._offsets: dict[tuple[str, str], list[int]] = {}
        # (lemma, pos) -> SemCor tag count per sense number, and the total
        self.sense_counts: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
        with open(root / "cntlist.rev", encoding="utf-8") as fh:
            for line in fh:
                key, sense_no, count = line.split()
                lemma, _, rest = key.partition("%")
                pos = SS_TYPE.get(rest[:1])
                if pos:
                    d = self.sense_counts[(lemma, pos)]
                    d[int(sense_no)] = d.get(int(sense_no), 0) + int(count)
        self.exceptions: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pos, name in POS_FILE.items():
            with open(root / f"{name}.exc", encoding="utf-8") as fh:
                for line in fh:
                    parts = line.split()
                    for base in parts[1:]:
                        self.exceptions[parts[0]].append((base, pos))
        self.irregular_verbs = {
            b for forms in self.exceptions.values() for b, p in forms if p == "v"
        }
        self._data = {}
        for pos, name in POS_FILE.items():
            with open(root / f"data.{name}", "rb") as fh:
                self._data[pos] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._cache: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._tags: dict[tuple[str, str | None], tuple[str, str, str] | None] = {}
        self.kinds: dict[str, tuple[int, str]] = {}
        """token -> (NOT_WORD / FIXED / SWAPPABLE, lower case), filled by `kind`: the hot
        path's cache."""
        self._synset_cache: dict[tuple[str, int], tuple[list[str], set[str]]] = {}

    # ---- low level -----------------------------------------------------------------------

    def synset(self, pos: str, offset: int) -> tuple[list[str], set[str]]:
        """Lemmas of a synset, and those of its lemmas that have a direct antonym."""
        key = (pos, offset)
        hit = self._synset_cache.get(key)
        if hit is not None:
            return hit
        data = self._data[pos]
        end = data.find(b"\n", offset)
        parts = data[offset:end].split(b" | ", 1)[0].decode("utf-8").split()
        w_cnt = int(parts[3], 16)
        words = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).lower() for i in range(w_cnt)]
        p = 4 + 2 * w_cnt
        p_cnt = int(parts[p])
        polar: set[str] = set()
        for i in range(p_cnt):
            sym, _, _, src_tgt = parts[p + 1 + 4 * i : p + 5 + 4 * i]
            if sym == "!":
                src = int(src_tgt[:2], 16)
                if 0 < src <= w_cnt:
                    polar.add(words[src - 1])
        out = (words, polar)
        self._synset_cache[key] = out
        return out

    def offsets(self, lemma: str, pos: str) -> list[int]:
        """Synset offsets of a lemma, most frequent sense first (empty when unknown)."""
        key = (lemma, pos)
        hit = self._offsets.get(key)
        if hit is None:
            line = self._index[pos].get(lemma)
            if line is None:
                return []
            parts = line.split()
            n_syn = int(parts[1])
            hit = self._offsets[key] = [int(o) for o in parts[len(parts) - n_syn :]]
        return hit

    def has(self, lemma: str, pos: str) -> bool:
        return lemma in self._index[pos]

    def count(self, lemma: str, pos: str) -> int:
        return sum(self.sense_counts.get((lemma, pos), {}).values())

    def lemmas(self, word: str) -> list[tuple[str, str, str]]:
        """(lemma, pos, suffix rule) readings of a lower-case word: the base form itself,
        irregular forms from the exception lists, and regular inflections."""
        out = [(word, pos, "") for pos in POS_FILE if word in self._index[pos]]
        for base, pos in self.exceptions.get(word, ()):
            if self.has(base, pos):
                infl = "irregular"
                if pos == "v" and word.endswith(("ing", "ed")):
                    infl = "ing" if word.endswith("ing") else "ed"  # doubled: running, stopped
                out.append((base, pos, infl))
        for form, base_suffix in NOUN_RULES:
            if word.endswith(form) and len(word) > len(form) + 1:
                base = word[: len(word) - len(form)] + base_suffix
                if self.has(base, "n"):
                    out.append((base, "n", "s"))
                    break
        for infl, rules in VERB_RULES.items():
            for form, base_suffix in rules:
                if word.endswith(form) and len(word) > len(form) + 1:
                    stem = word[: len(word) - len(form)]
                    cands = [stem + base_suffix]
                    if infl in ("ing", "ed") and len(stem) > 2 and stem[-1] == stem[-2]:
                        cands.append(stem[:-1])  # stopping -> stop
                    hit = next((b for b in cands if self.has(b, "v")), None)
                    if hit:
                        out.append((hit, "v", infl))
                        break
        return out

    def tag(self, word: str, hint: str | None = None) -> tuple[str, str, str] | None:
        """The most frequent reading of a word by SemCor counts (ties: base form first).

        `hint` narrows the readings when the word has such a reading: "v" (after "to" or
        a modal: "to charge" is a verb) keeps verbs, "n" (after a determiner: "a charge",
        "an extra fee") drops verbs and adverbs.
        """
        key = (word, hint)
        if key in self._tags:
            return self._tags[key]
        self._tags[key] = out = self._tag(word, hint)
        return out

    def _tag(self, word: str, hint: str | None) -> tuple[str, str, str] | None:
        readings = self.lemmas(word.lower())
        if hint == "v":
            readings = [r for r in readings if r[1] == "v"] or readings
        elif hint == "n":
            readings = [r for r in readings if r[1] in ("n", "a")] or readings
        if not readings:
            return None
        return max(enumerate(readings), key=lambda ir: (self.count(ir[1][0], ir[1][1]), -ir[0]))[1]

    # ---- what augmentation uses ----------------------------------------------------------

    def is_polar(self, lemma: str, pos: str) -> bool:
        """A word with a direct antonym in one of its top senses (good/bad, love/hate)."""
        if pos == "n":
            return False
        for off in self.offsets(lemma, pos)[: self.max_senses]:
            if lemma in self.synset(pos, off)[1]:
                return True
        return False

    def protected(self, word: str) -> bool:
        low = word.lower()
        if low in STOP_WORDS or low in NEGATIONS or low in POLARITY_WORDS or low.endswith("n't"):
            return True
        reading = self.tag(low)
        if reading is None:
            return False
        lemma, pos, _ = reading
        return (
            lemma in POLARITY_WORDS
            or (pos == "v" and lemma in LIGHT_VERBS)
            or self.is_polar(lemma, pos)
        )

    def kind(self, token: str) -> tuple[int, str]:
        """(kind, lower-case token). The kind is NOT_WORD (punctuation, numbers), FIXED (a
        word never replaced: function words, negations, polarity words, unknown words)
        or SWAPPABLE (has synonyms under some part-of-speech hint). Cached per token:
        most tokens are decided by one dictionary look-up."""
        hit = self.kinds.get(token)
        if hit is None:
            c = token[:1]
            if not (c.isalpha() or (c == "'" and len(token) > 1)):
                k = NOT_WORD
            elif any(self.synonyms(token, h) for h in (None, "n", "v")):
                k = SWAPPABLE
            else:
                k = FIXED
            hit = self.kinds[token] = (k, token.lower())
        return hit

    def synonyms(self, word: str, hint: str | None = None) -> tuple[str, ...]:
        """Same-POS synonyms of `word` from its top senses, inflected like `word`.

        Empty for function words, negations, polarity words, proper nouns and acronyms
        (capitals inside the word), and words WordNet does not know. `hint` as in `tag`.
        """
        key = (word, hint)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out = self._synonyms(word, hint)
        self._cache[key] = out
        return out

    def _synonyms(self, word: str, hint: str | None = None) -> tuple[str, ...]:
        if len(word) < 3 or not word.isalpha() or any(c.isupper() for c in word[1:]):
            return ()
        low = word.lower()
        if self.protected(low):
            return ()
        reading = self.tag(low, hint)
        if reading is None:
            return ()
        lemma, pos, infl = reading
        if infl == "irregular":
            return ()  # re-inflecting an irregular form ("went") is not safe
        if not self.dominant(lemma, pos):
            return ()
        seen = {lemma, low}
        ranked: list[tuple[int, int, str]] = []
        for rank, off in enumerate(self.top_senses(lemma, pos)):
            for syn in self.synset(pos, off)[0]:
                if syn in seen or not re.fullmatch(r"[a-z]{3,}(?:[_-][a-z]+)?", syn):
                    continue  # also drops "a" (for "amp") and other one-letter lemmas
                seen.add(syn)
                if syn in STOP_WORDS or (pos == "n" and _plural_lemma(syn, self)):
                    continue  # "dealings" cannot stand in for a singular "transaction"
                count = self.count(syn, pos)
                if count < self.min_count and "_" not in syn:
                    continue  # "agnise", "defrayal": real synonyms nobody writes
                form = self._inflect(syn, pos, infl)
                if form is None:
                    continue
                ranked.append((rank, -count, form.replace("_", " ")))
        ranked.sort()
        return tuple(r[2] for r in ranked)

    def dominant(self, lemma: str, pos: str) -> bool:
        """Does one sense clearly lead? Without context the first sense is a guess, and a
        bad one for "account" (10 senses, the first 41% of uses: "history", "report" in a
        banking text) or "charge" (25 senses): such words are left alone. The first sense
        must cover `min_dominance` of SemCor's uses; a word SemCor never saw may have at
        most two senses."""
        counts = self.sense_counts.get((lemma, pos))
        if not counts:
            return len(self.offsets(lemma, pos)) <= 2
        return counts.get(1, 0) >= self.min_dominance * sum(counts.values())

    def top_senses(self, lemma: str, pos: str) -> list[int]:
        """The first sense, plus senses among the first `max_senses` that SemCor saw at
        least a quarter as often (a rare second sense is more often wrong than useful)."""
        offs = self.offsets(lemma, pos)[: self.max_senses]
        counts = self.sense_counts.get((lemma, pos), {})
        first = counts.get(1, 0)
        return [
            o for i, o in enumerate(offs) if i == 0 or counts.get(i + 1, 0) * 4 >= max(first, 1)
        ]

    def _inflect(self, lemma: str, pos: str, infl: str) -> str | None:
        if not infl:
            return lemma
        *head, last = lemma.split("_")
        if pos == "n":
            if last.endswith(("s", "x", "z", "ch", "sh")):
                last += "es"
            elif last.endswith("y") and last[-2:-1] not in set("aeiou"):
                last = last[:-1] + "ies"
            else:
                last += "s"
            return "_".join([*head, last])
        # verbs: the first word carries the inflection (give_up -> giving_up)
        first, *tail = lemma.split("_")
        if first in self.irregular_verbs and infl == "ed":
            return None
        if infl == "s":
            if first.endswith(("s", "x", "z", "ch", "sh", "o")):
                first += "es"
            elif first.endswith("y") and first[-2:-1] not in set("aeiou"):
                first = first[:-1] + "ies"
            else:
                first += "s"
        else:
            suffix = infl
            if first.endswith("e") and not first.endswith(("ee", "ye", "oe")):
                first = first[:-1]
            elif first.endswith("y") and suffix == "ed" and first[-2:-1] not in set("aeiou"):
                first = first[:-1] + "i"
            elif _CVC.match(first) and not first.endswith(("w", "x", "y")):
                first += first[-1]
            first += suffix
        return "_".join([first, *tail])


def _plural_lemma(syn: str, wn: WordNet) -> bool:
    last = syn.rsplit("_", 1)[-1]
    return last.endswith("s") and not last.endswith("ss") and wn.has(last[:-1], "n")


@functools.lru_cache(maxsize=4)
def _load(root: str, max_senses: int, min_count: int) -> WordNet:
    return WordNet(Path(root), max_senses=max_senses, min_count=min_count)


def load_wordnet(
    root: str | os.PathLike | None = None, *, max_senses: int = 2, min_count: int = 1
) -> WordNet:
    """The native reader for `root` (default: Debian's /usr/share/wordnet), cached.

    `min_count`: a single-word synonym must occur at least this often in SemCor
    (`cntlist.rev`); 0 allows every WordNet synonym, rare ones included.
    """
    return _load(str(wordnet_dir(root)), max_senses, min_count)


# ---- NLTK's reader (for nlpaug) --------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dataqa"


def nltk_data_dir(root: str | os.PathLike | None = None) -> Path:
    """An NLTK data folder holding `corpora/wordnet` copied from the Debian files.

    Copies (NLTK refuses symlinks), adds `lexnames`, and is rebuilt when the source
    files change size. The folder is created atomically, so concurrent runs are safe.
    """
    src = wordnet_dir(root)
    _require_files(src, NATIVE_FILES)
    _require_files(
        src,
        ("index.sense",),
        hint="NLTK's reader needs index.sense: install the Debian package wordnet-sense-index "
        "(apt-get install wordnet-sense-index)",
    )
    data = cache_dir() / "nltk_data"
    dest = data / "corpora" / "wordnet"
    stamp = ";".join(f"{n}:{(src / n).stat().st_size}" for n in NLTK_FILES)
    if (dest / ".dataqa-source").is_file() and (dest / ".dataqa-source").read_text() == stamp:
        return data
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet.", dir=dest.parent))
    try:
        for name in NLTK_FILES:
            shutil.copyfile(src / name, tmp / name)  # a real copy, never a link
        lines = [f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES)]
        (tmp / "lexnames").write_text("".join(lines), encoding="utf-8")
        (tmp / ".dataqa-source").write_text(stamp)
        old = None
        if dest.exists():
            old = dest.with_name(f".wordnet.old.{os.getpid()}")
            dest.rename(old)
        try:
            tmp.rename(dest)
        except OSError:  # another process won the race: theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def nltk_wordnet(root: str | os.PathLike | None = None):
    """NLTK's WordNet corpus reader over the Debian files (never downloads)."""
    import nltk
    from nltk.corpus import wordnet

    data = str(nltk_data_dir(root))
    if data not in nltk.data.path:
        nltk.data.path.insert(0, data)
    wordnet.ensure_loaded()
    return wordnet
