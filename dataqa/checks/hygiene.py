"""Row hygiene: missing or empty text, length, encoding, markup, PII, language, typos.

Every sub-check is one vectorised screen over the whole column, yielding one Finding
that lists all rows it hits (with the per-row value as evidence). Slow per-row tools
(ftfy, the language identifier, the Luhn check) only see rows a regex already selected.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.text import (
    INVISIBLE_RE,
    PTB_TOKENS,
    UniqueText,
    identify_languages,
    invisible_junk,
    typo_rate,
    word_units,
)

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


def _valid_pii(kind: str, match: str) -> bool:
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
            .map(lambda ms, k=kind: [m for m in ms if _valid_pii(k, m)])
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


class HygieneCheck(Check):
    name = "hygiene"

    @classmethod
    def defaults(cls):
        return {
            "min_words": 2,  # fewer words than this: too short (info)
            "max_chars": 20000,  # longer than this: too long (warning)
            "max_words": 512,  # beyond a typical encoder's context: truncated (info)
            "outlier_z": 3.5,  # modified z-score on log word count
            "language": None,  # expected ISO 639-1 code; None = the dataset's main language
            "language_min_prob": 0.95,
            "language_min_words": 4,
            "language_min_letters": 25,  # shorter rows are "undetermined", never flagged
            "typo_rate": 0.34,  # share of out-of-dictionary words that flags a row
            "typo_min_words": 3,
        }

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        raw = ds.frame[ds.roles.text]
        text = ds.text
        findings: list[Finding] = []
        stats: dict = {}
        # every text feature is computed once per distinct text (Arrow kernels), then
        # spread to rows: large sets repeat texts a lot, and this is the 1M-row fast path
        u = ctx.cached("unique_text", lambda: UniqueText.of(text))

        def add(check, severity, mask, message, fix=None, values=None, **evidence):
            mask = np.asarray(mask, dtype=bool)
            ids = ds.ids[mask]
            if len(ids) == 0:
                return
            if values is not None:
                evidence["values"] = dict(
                    zip(map(str, ids), _row_values(values, u, mask), strict=True)
                )
            findings.append(
                Finding(
                    check=f"hygiene.{check}",
                    severity=severity,
                    row_ids=list(ids),
                    message=message.format(n=len(ids)),
                    evidence=evidence,
                    fix=fix,
                )
            )

        missing = raw.isna().to_numpy()
        add(
            "missing_text",
            "error",
            missing,
            "{n} rows have no text at all (a broken line or an empty cell)",
            fix={"action": "quarantine"},
        )
        blank = u.rows(u.match(r"^\s*$")) & ~missing
        add("empty", "error", blank, "{n} rows hold only whitespace", fix={"action": "quarantine"})
        if ds.roles.label is not None:
            labels = ds.labels
            add(
                "missing_label",
                "error",
                labels.isna().to_numpy(),
                "{n} rows have no label",
                fix={"action": "quarantine"},
            )
            findings.extend(_label_variants(ds, labels))

        chars_u = pc.utf8_length(u.arrow).to_numpy(zero_copy_only=False)
        words_u = word_units(u.arrow)  # CJK and Thai count too, though written without spaces
        chars, words = chars_u[u.codes], words_u[u.codes]
        stats["chars"] = _describe(chars)
        stats["words"] = _describe(words)
        stats["words_histogram"] = _histogram(words)
        present = ~(missing | blank)
        add(
            "too_short",
            "info",
            present & (words < p["min_words"]),
            f"{{n}} rows have fewer than {p['min_words']} words",
            fix={"action": "review"},
            threshold=p["min_words"],
        )
        add(
            "too_long",
            "warning",
            chars > p["max_chars"],
            f"{{n}} rows are longer than {p['max_chars']:,} characters",
            fix={"action": "review"},
            values=chars_u,
            threshold=p["max_chars"],
        )
        add(
            "truncated",
            "info",
            (words > p["max_words"]) & (chars <= p["max_chars"]),
            f"{{n}} rows exceed {p['max_words']} words and will be truncated by a typical encoder",
            values=words_u,
            threshold=p["max_words"],
        )
        add(
            "length_outlier",
            "info",
            present & _outliers(words, p["outlier_z"], present),
            "{n} rows have an unusual length for this dataset (modified z-score > "
            f"{p['outlier_z']} on log word count)",
            values=words_u,
        )

        non_ascii = ~pc.string_is_ascii(u.arrow).to_numpy(zero_copy_only=False)
        mojibake = _mojibake(u.values[non_ascii], np.flatnonzero(non_ascii))
        add(
            "mojibake",
            "warning",
            u.rows(mojibake.index),
            "{n} rows show mojibake (text decoded with the wrong encoding); ftfy can repair them",
            fix={"action": "fix_text"},
            values=mojibake,
        )
        broken = ds.io.surrogates
        if broken:
            bad_ids = {rid for rid, _col in broken}
            add(
                "invalid_unicode",
                "warning",
                ds.ids.isin(bad_ids),
                "{n} rows hold lone surrogates (an emoji or other character cut in half); "
                "clean repairs them to U+FFFD",
                fix={"action": "fix_text"},
            )
        screened = np.flatnonzero(u.match(INVISIBLE_RE))
        junk = [i for i in screened if invisible_junk(u.values[i])]
        add(
            "control_chars",
            "warning",
            u.rows(junk),
            "{n} rows contain control, zero-width or bidirectional-override characters that "
            "are not part of their script (zero-width joiners in Persian or emoji are kept)",
            fix={"action": "fix_text"},
        )
        tags, entities = u.rows(u.match(TAG_RE)), u.rows(u.match(ENTITY_RE))
        add(
            "markup",
            "warning",
            tags | entities,
            "{n} rows contain HTML tags or entities left over from scraping",
            fix={"action": "fix_text"},
            tags=int(tags.sum()),
            entities=int(entities.sum()),
        )
        add(
            "tokenizer_artifacts",
            "info",
            u.rows(u.match("(?i)" + PTB_TOKENS)),
            "{n} rows contain Penn-Treebank bracket escapes such as -lrb- / -rrb-",
            fix={"action": "fix_text"},
        )
        add(
            "boilerplate",
            "warning",
            u.rows(u.match(BOILERPLATE_RE)),
            "{n} rows contain boilerplate (signatures, legal footers, placeholders)",
            fix={"action": "review"},
        )
        repeats = u.match(REPEAT_CHARS_RE) | _repeated_words(u)
        add(
            "repeated_chars",
            "info",
            u.rows(repeats),
            "{n} rows repeat a character, punctuation mark or word many times in a row",
        )

        candidates = np.flatnonzero(u.match(PII_SCREEN_RE))
        pii = find_pii(pd.Series(u.values[candidates], index=candidates))
        stats["pii"] = {}
        for kind, hits in pii.items():
            mask = u.rows(hits.index)
            stats["pii"][kind] = int(mask.sum())
            add(
                "pii",
                "warning",
                mask,
                f"{{n}} rows contain {kind.replace('_', ' ')} data",
                fix={"action": "mask_pii", "kind": kind},
                values=hits.map(lambda ms: ms[:3]),
                kind=kind,
            )

        typos = ctx.cached("typo_rate", lambda: typo_rate(text, unique=u))
        langs = ctx.cached(
            (
                "languages",
                p["language"],
                p["language_min_prob"],
                p["language_min_words"],
                p["language_min_letters"],
            ),
            lambda: identify_languages(
                u,
                typos,
                present,
                expected=p["language"],
                min_prob=p["language_min_prob"],
                min_words=p["language_min_words"],
                min_letters=p["language_min_letters"],
                seed=ctx.seed,
            ),
        )
        lang_stats = stats["language"] = langs.stats
        if len(langs.other):
            add(
                "language",
                "warning",
                u.rows(langs.other.index),
                f"{{n}} rows are not in the dataset's language ({langs.main!r})",
                fix={"action": "quarantine"},
                values=langs.other,
                expected=langs.main,
            )
        if lang_stats.get("main") == "en":
            rate = typos["typo_rate"].to_numpy()
            stats["typo_rate"] = _describe(rate) | {
                "histogram": _histogram(rate, bins=10, upper=1.0)
            }
            high = (rate >= p["typo_rate"]) & (typos["tokens"].to_numpy() >= p["typo_min_words"])
            add(
                "typos",
                "info",
                high,
                f"{{n}} rows have {p['typo_rate']:.0%} or more words outside an 82k-word English "
                "dictionary (typos, slang or foreign words)",
                fix={"action": "review"},
                values=np.round(typos.attrs["unique_rate"], 3),
                threshold=p["typo_rate"],
            )
        stats["charts"] = _charts(stats, findings)
        return CheckResult(findings, stats)


def _charts(stats: dict, findings: list[Finding]) -> list[dict]:
    rows_by_check = Counter()
    for f in findings:
        rows_by_check[f.check.split(".", 1)[1]] += len(f.row_ids)
    charts = [
        {
            "id": "hygiene-rows",
            "type": "bar",
            "title": "Rows flagged per hygiene check",
            "x_label": "check",
            "y_label": "rows",
            "data": {"labels": list(rows_by_check), "values": list(rows_by_check.values())},
        },
        {
            "id": "hygiene-words",
            "type": "histogram",
            "title": "Words per row",
            "x_label": "words (99th percentile and above in the last bin)",
            "y_label": "rows",
            "data": stats["words_histogram"],
        },
    ]
    if "typo_rate" in stats:
        charts.append(
            {
                "id": "hygiene-typos",
                "type": "histogram",
                "title": "Out-of-dictionary word rate per row",
                "x_label": "share of words not in the dictionary",
                "y_label": "rows",
                "data": stats["typo_rate"]["histogram"],
            }
        )
    return charts


def _label_variants(ds: Dataset, labels: pd.Series) -> list[Finding]:
    """Labels that differ only by case or surrounding space ('Positive' vs 'positive ').

    Whitespace is never part of a label: the canonical spelling is the most common
    spelling once trimmed, so `"negative  "` on most rows still canonicalises to
    `"negative"`; a label that only ever appears with surrounding space is trimmed too.
    """
    present = labels.dropna()
    trimmed = present.str.strip()
    canon = trimmed.str.casefold()
    out = []
    for rows_of in present.groupby(canon).groups.values():
        raw = present.loc[rows_of]
        variants = raw.unique()
        if len(variants) < 2 and variants[0] == variants[0].strip():
            continue
        keep = trimmed.loc[rows_of].value_counts().index[0]
        rows = raw.index[(raw != keep).to_numpy()]
        counts = raw.value_counts()
        out.append(
            Finding(
                check="hygiene.label_variants",
                severity="error",
                row_ids=list(rows),
                message=(
                    f"label {keep!r} is also spelt "
                    f"{sorted(str(v) for v in set(variants) - {keep})} in {len(rows)} rows"
                ),
                evidence={"variants": counts.to_dict(), "canonical": keep},
                fix={"action": "relabel", "to": keep},
            )
        )
    return out


def _mojibake(values: np.ndarray, index: np.ndarray) -> pd.Series:
    """Repaired text by distinct-text index, for texts ftfy would change."""
    if len(values) == 0:
        return pd.Series(dtype=object)
    import ftfy

    texts = pd.Series(values, index=index)
    fixed = texts.map(ftfy.fix_encoding)
    return fixed[fixed != texts]


def _repeated_words(u: UniqueText) -> np.ndarray:
    """Distinct texts with the same word three times in a row ("very very very")."""
    flat, parent = u.tokens()
    words = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object)
    same = (words[1:] == words[:-1]) & (parent[1:] == parent[:-1])
    triple = same[1:] & same[:-1]
    out = np.zeros(len(u.values), dtype=bool)
    out[parent[2:][triple]] = True
    return out


def _row_values(values, u: UniqueText, mask: np.ndarray) -> list:
    """Per-row evidence values for the rows in `mask`, from per-distinct-text values
    (a full numpy array, or a Series indexed by distinct-text index)."""
    codes = u.codes[mask]
    if isinstance(values, pd.Series):
        return values.loc[codes].tolist()
    return np.asarray(values)[codes].tolist()


def _outliers(values: pd.Series, z: float, present) -> np.ndarray:
    logv = np.log1p(np.asarray(values, dtype=float))
    base = logv[present]
    if base.size < 20:
        return np.zeros(len(values), dtype=bool)
    med = np.median(base)
    mad = np.median(np.abs(base - med))
    if mad == 0:
        return np.zeros(len(values), dtype=bool)
    return np.abs(0.6745 * (logv - med) / mad) > z


def _describe(values) -> dict:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return {}
    q = np.percentile(v, [0, 5, 25, 50, 75, 95, 100])
    return {
        "mean": float(v.mean()),
        "min": q[0],
        "p05": q[1],
        "p25": q[2],
        "median": q[3],
        "p75": q[4],
        "p95": q[5],
        "max": q[6],
    }


def _histogram(values, bins: int = 20, upper: float | None = None) -> dict:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return {"edges": [], "counts": []}
    hi = upper if upper is not None else max(float(np.percentile(v, 99)), 1.0)
    counts, edges = np.histogram(np.clip(v, 0, hi), bins=bins, range=(0, hi))
    return {"edges": edges.round(4).tolist(), "counts": counts.tolist()}
