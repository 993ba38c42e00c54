"""Normalising text for comparison: the duplicate key, and invisible characters.

What is folded (treated as the same) and what is kept is a promise to users: the
README's table "What dataqa normalises" is this module.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dataqa.text.tokens import UniqueText


def normalize_for_dedup(text: pd.Series) -> pd.Series:
    """The exact-duplicate key: what two texts share when they say the same thing.

    Folded: Unicode compatibility form (NFKC: full-width letters, ligatures, the
    non-breaking space), case, runs of whitespace, invisible junk (zero-width space,
    soft hyphen, BOM, bidi overrides), quote styles (curly, angled, primes -> ASCII),
    clause punctuation (`. , ! ; :` and their CJK forms, but not a decimal point or `?`) and
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
    s = pc.replace_substring_regex(s, "\\s+([?\uff1f])", "\\1")  # "come ?" is "come?"
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"\s+", " "))
    keys = np.asarray(s.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Series(keys[u.codes], index=text.index, dtype=object)


SENTENCE_PUNCT_RE = "[.,!;:\u2026\u00a1\u3002\u3001\uff0c\uff01\uff1b\uff1a]+"
"""Punctuation that ends or separates clauses; a duplicate key ignores it ("Great!" is
"great."), but keeps the question mark (a question is not a statement), signs,
symbols, emoji, digits and other punctuation."""


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
