"""Text repairs: the named steps a `RepairText` fix points at.

Each step maps a Series of texts to a Series of texts and changes only what it names.
The hygiene check flags a row for a step exactly when the step would change it (it
calls the same function), so `clean` repairs what the audit reported and nothing else;
`tests/test_repairs.py` holds every step to that. Steps run in the order of `REPAIRS`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dataqa.text import (
    CASED_WORD_RE,
    ENTITY_RE,
    INVISIBLE_RE,
    PII_PATTERNS,
    PTB_TOKENS,
    TAG_RE,
    english_dictionary_path,
    english_vocabulary,
    remove_invisible_junk,
    valid_pii,
)

PTB_MAP = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
SPACES_RE = "[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+"
"""Runs of horizontal space (tabs, no-break and typographic spaces): one space."""


def repair_surrogates(text: pd.Series) -> pd.Series:
    """Lone surrogates -> U+FFFD. Datasets already hold the repaired text (the loader
    sets originals aside, see `dataqa.dataset`); clean logs the change from them."""
    return text


def fix_encoding(text: pd.Series) -> pd.Series:
    """Mojibake and other encoding damage, repaired by ftfy (quotes, widths and
    ligatures left alone), on the texts that are not plain ASCII."""
    import ftfy

    cfg = ftfy.TextFixerConfig(
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=False,
        normalization="NFC",
    )
    non_ascii = ~_arrow(text, pc.string_is_ascii)
    if not non_ascii.any():
        return text
    out = text.copy()
    out[non_ascii] = text[non_ascii].map(lambda t: ftfy.fix_text(t, config=cfg))
    return out


def remove_control_chars(text: pd.Series) -> pd.Series:
    """Drop invisible characters that are junk; keep those a script or emoji needs
    (see `dataqa.text.invisible_junk`)."""
    has = text.str.contains(INVISIBLE_RE, regex=True)
    if not has.any():
        return text
    out = text.copy()
    out[has] = text[has].map(remove_invisible_junk)
    return out


def normalize_whitespace(text: pd.Series) -> pd.Series:
    """NFC form, runs of spaces and tabs inside a line to one space (a line's leading
    indentation stays: code and poetry keep their shape), no space before a line break,
    runs of blank lines to one blank line, no space at either end."""
    arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
    s = pc.utf8_normalize(arr, form="NFC")
    s = pc.replace_substring_regex(s, "(\\S)" + SPACES_RE, "\\1 ")  # indentation stays
    s = pc.replace_substring_regex(s, "[ \t]+\n", "\n")
    s = pc.replace_substring_regex(s, r"\s*\n\s*\n\s*", "\n\n")
    s = pc.utf8_trim_whitespace(s)
    return pd.Series(s.to_numpy(zero_copy_only=False), index=text.index, dtype=text.dtype)


def strip_markup(text: pd.Series) -> pd.Series:
    """HTML tags out (`<br>` and `</p>` become a space), entities unescaped - in texts
    that are markup: a closing or line-break tag, two tags or more, or an entity. A lone
    tag in prose ("use the <script> tag") is text."""
    has = text.str.contains(
        r"</[a-zA-Z]|(?i:<(?:br|hr|p|img)\b[^<>]*>)|" + ENTITY_RE, regex=True
    ) | (text.str.count(TAG_RE) >= 2)
    if not has.any():
        return text
    out = text.copy()
    out[has] = (
        text[has]
        .str.replace(r"(?i)<br\s*/?>|</p>", " ", regex=True)
        .str.replace(TAG_RE, "", regex=True)
        .map(html.unescape)
    )
    return out


def fix_tokenizer_artifacts(text: pd.Series) -> pd.Series:
    """Penn-Treebank bracket escapes (`-lrb-`) back to brackets."""
    return text.str.replace("(?i)" + PTB_TOKENS, lambda m: PTB_MAP[m.group(0).lower()], regex=True)


def mask_pii(text: pd.Series) -> pd.Series:
    """Emails, URLs, card numbers (Luhn-valid), IPs and phone numbers -> `[KIND]`."""
    out = text
    for kind, pattern in PII_PATTERNS.items():
        token = f"[{kind.upper()}]"
        hit = out.str.contains(pattern, regex=True)
        if hit.any():
            out = out.copy()
            out[hit] = out[hit].str.replace(
                pattern,
                lambda m, k=kind, t=token: t if valid_pii(k, m.group(0)) else m.group(0),
                regex=True,
            )
    return out


NEGATIONS = {"not", "no", "never", "nor", "none", "nothing", "nobody", "neither", "cannot"}
CONTRACTED = {
    w + "nt": w + "n't"
    for w in (
        "did",
        "do",
        "does",
        "is",
        "was",
        "were",
        "are",
        "has",
        "have",
        "had",
        "should",
        "could",
        "would",
        "must",
        "need",
    )
} | {"cant": "can't", "wont": "won't", "aint": "ain't", "shant": "shan't"}
"""Negations written without their apostrophe, repaired to the apostrophe form (a
spelling corrector would turn "didnt" into "didst" and lose the negation)."""
MAX_ROW_OOV = 0.7
"""Rows with more unknown words than this are another language or jargon: not corrected."""


def correct_typos(text: pd.Series) -> pd.Series:
    """Replace misspelt words by their closest dictionary word (SymSpell, Damerau distance
    <= 2 for words of 5+ letters, <= 1 below; the most frequent among the closest).

    Context-free, so it is opt-in and careful: only lower-case words (and a capital at
    the start of a sentence) are candidates - names, acronyms (`API`, `GLES`) and words
    with digits are left alone; a row whose words are mostly unknown (another language,
    jargon) is skipped; a negation is never created or removed ("didnt" becomes
    "didn't"); each distinct word is looked up once.
    """
    from symspellpy import SymSpell, Verbosity

    vocab = set(english_vocabulary())
    words = text.str.findall(CASED_WORD_RE)
    mapping: dict[str, str] = {}
    sym = None
    rows = []
    for i, toks in words.items():
        # a capitalised word is a name unless it opens an otherwise lower-case row
        first_ok = bool(toks) and not any(t[:1].isupper() for t in toks[1:])
        low = [
            t.lower()
            for k, t in enumerate(toks)
            if t.islower() or (k == 0 and first_ok and t[1:].islower())
        ]
        unknown = [
            w for w in low if len(w) >= 3 and w not in vocab and w.replace("'", "") not in vocab
        ]
        if not unknown or len(unknown) > MAX_ROW_OOV * max(len(low), 1):
            continue
        rows.append(i)
        for w in unknown:
            if w in mapping:
                continue
            if w in CONTRACTED:
                mapping[w] = CONTRACTED[w]
                continue
            if sym is None:
                sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
                sym.load_dictionary(str(english_dictionary_path()), term_index=0, count_index=1)
            hits = sym.lookup(w, Verbosity.CLOSEST, max_edit_distance=2 if len(w) >= 5 else 1)
            best = hits[0].term if hits else w
            if (best in NEGATIONS) != (w in NEGATIONS) or best == w:
                continue  # never create or drop a negation
            mapping[w] = best
    if not mapping or not rows:
        return text
    pattern = (
        r"\b(" + "|".join(re.escape(w) for w in sorted(mapping, key=len, reverse=True)) + r")\b"
    )

    def sub(m: re.Match) -> str:
        word = m.group(0)
        if not word.islower() and not (m.start() == 0 and word[1:].islower()):
            return word  # a name, an acronym or CamelCase
        fixed = mapping.get(word.lower(), word)
        return fixed.capitalize() if word[:1].isupper() else fixed

    out = text.copy()
    out.loc[rows] = text.loc[rows].str.replace(pattern, sub, regex=True, case=False)
    return out


REPAIRS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "repair_surrogates": repair_surrogates,
    "fix_encoding": fix_encoding,
    "remove_control_chars": remove_control_chars,
    "strip_markup": strip_markup,
    "fix_tokenizer_artifacts": fix_tokenizer_artifacts,
    "mask_pii": mask_pii,
    "correct_typos": correct_typos,
    "normalize_whitespace": normalize_whitespace,
}
"""Repair steps by name, in the order clean runs them (whitespace last: the others can
leave double spaces behind)."""


def _arrow(text: pd.Series, fn) -> pd.Series:
    arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
    return pd.Series(fn(arr).to_numpy(zero_copy_only=False), index=text.index)
