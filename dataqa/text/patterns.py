"""Patterns for what rows should not carry: markup, boilerplate, repeats, PII.

The detectors (`dataqa.checks.hygiene`) and the repairs (`dataqa.text.repairs`) share them,
so that clean fixes exactly what the audit reports.
"""

from __future__ import annotations

import re

import pandas as pd

TAG_RE = r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>"
ENTITY_RE = r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});"
BOILERPLATE_RE = (
    r"(?i)lorem ipsum|sent from my (?:iphone|ipad|android|phone|mobile)|all rights reserved"
    r"|click here to|unsubscribe|do not reply to this (?:e-?mail|message)|\[(?:deleted|removed)\]"
    r"|this (?:e-?mail|message) (?:and any attachments )?(?:is|may be) confidential|powered by \w+"
)
REPEAT_CHARS_RE = (
    "(?i)"
    + "|".join(c * 5 for c in "abcdefghijklmnopqrstuvwxyz")
    + r"|!!!!|\?\?\?\?|\.\.\.\.\.|\*\*\*\*"
)
"""A letter five times or a punctuation mark four times in a row, spelt out because RE2
(Arrow's regex engine) has no back-references."""
PII_SCREEN_RE = r"@|(?i:https?://|www\.)|[0-9][0-9 ().+-]{6,}[0-9]"
"""Cheap RE2 screen: only texts it matches go through the exact PII patterns below."""
PII_PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "url": r"(?i)\b(?:https?://|www\.)[^\s<>\"']+",
    "credit_card": r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])",
    "ip": r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
    "phone": r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w])",
}


def luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def valid_pii(kind: str, match: str) -> bool:
    if kind == "credit_card":
        digits = re.sub(r"\D", "", match)
        return 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1
    if kind == "phone":
        digits = re.sub(r"\D", "", match)
        return 9 <= len(digits) <= 15
    return True


def find_pii(text: pd.Series) -> dict[str, pd.Series]:
    """kind -> Series (row id -> list of matches) for rows holding that kind of PII."""
    out = {}
    rest = text
    for kind, pattern in PII_PATTERNS.items():
        hit = rest.str.contains(pattern, regex=True)
        if not hit.any():
            continue
        found = (
            rest[hit]
            .str.findall(pattern)
            .map(lambda ms, k=kind: [m for m in ms if valid_pii(k, m)])
        )
        found = found[found.map(len) > 0]
        if not found.empty:
            out[kind] = found
            # a span is one kind of PII only: a card number is not also a phone number
            rest = rest.copy()
            rest[found.index] = [
                _blank(t, ms) for t, ms in zip(rest[found.index], found, strict=True)
            ]
    return out


def _blank(text: str, matches: list[str]) -> str:
    for m in matches:
        text = text.replace(m, " ")
    return text
