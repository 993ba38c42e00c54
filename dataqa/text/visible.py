"""Invisible and direction-changing characters, made visible.

A bidi override (U+202E) in a row would reorder what a reader sees, and zero-width
characters hide differences between rows; the report and the notebook views show each as a ⟨U+XXXX⟩ marker.
"""

from __future__ import annotations

import unicodedata

# Format/separator characters that unicodedata does not all class as Cf.
_ALWAYS = frozenset("\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2060\ufeff")


def is_hidden_char(ch: str) -> bool:
    """True for characters a reader cannot see or that reorder text (newline and tab excepted)."""
    if ch in ("\n", "\t"):
        return False
    return ch in _ALWAYS or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def has_hidden(s: str) -> bool:
    return any(is_hidden_char(ch) for ch in s)


def marker(ch: str) -> str:
    return f"⟨U+{ord(ch):04X}⟩"


def make_visible(s: str) -> str:
    """Plain-text version: every hidden character replaced by its ⟨U+XXXX⟩ marker."""
    if not has_hidden(s):
        return s
    return "".join(marker(ch) if is_hidden_char(ch) else ch for ch in s)


def escape_visible(value: object) -> str:
    """`str(value)` for an HTML page: escaped, hidden characters shown as markers."""
    import html

    return html.escape(make_visible(str(value)))
