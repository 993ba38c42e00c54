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

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.text import PTB_TOKENS, ascii_only, typo_rate

CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
TAG_RE = r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>"
ENTITY_RE = r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});"
BOILERPLATE_RE = (
    r"(?i)lorem ipsum|sent from my (?:iphone|ipad|android|phone|mobile)|all rights reserved"
    r"|click here to|unsubscribe|do not reply to this (?:e-?mail|message)|\[(?:deleted|removed)\]"
    r"|this (?:e-?mail|message) (?:and any attachments )?(?:is|may be) confidential|powered by \w+"
)
REPEAT_RE = r"([a-zA-Z])\1{4,}|([!?.*])\2{3,}|\b([a-zA-Z]+)(?:\s+\3\b){2,}"
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
        found = rest[hit].str.findall(pattern).map(lambda ms, k=kind: [m for m in ms if _valid_pii(k, m)])
        found = found[found.map(len) > 0]
        if not found.empty:
            out[kind] = found
            # a span is one kind of PII only: a card number is not also a phone number
            rest = rest.copy()
            rest[found.index] = [_blank(t, ms) for t, ms in zip(rest[found.index], found, strict=True)]
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
            "typo_rate": 0.34,  # share of out-of-dictionary words that flags a row
            "typo_min_words": 3,
        }

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        raw = ds.frame[ds.roles.text]
        text = ds.text
        findings: list[Finding] = []
        stats: dict = {}

        def add(check, severity, mask, message, fix=None, values=None, **evidence):
            ids = ds.ids[np.asarray(mask, dtype=bool)]
            if len(ids) == 0:
                return
            if values is not None:
                evidence["values"] = {str(i): values[i] for i in ids}
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
        blank = (text.str.strip() == "").to_numpy() & ~missing
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

        chars = text.str.len()
        words = text.str.count(r"\S+")
        stats["chars"] = _describe(chars)
        stats["words"] = _describe(words)
        stats["words_histogram"] = _histogram(words)
        present = ~(missing | blank)
        add(
            "too_short",
            "info",
            present & (words < p["min_words"]).to_numpy(),
            f"{{n}} rows have fewer than {p['min_words']} words",
            fix={"action": "review"},
            values=words,
            threshold=p["min_words"],
        )
        add(
            "too_long",
            "warning",
            (chars > p["max_chars"]).to_numpy(),
            f"{{n}} rows are longer than {p['max_chars']:,} characters",
            fix={"action": "review"},
            values=chars,
            threshold=p["max_chars"],
        )
        add(
            "truncated",
            "info",
            ((words > p["max_words"]) & (chars <= p["max_chars"])).to_numpy(),
            f"{{n}} rows exceed {p['max_words']} words and will be truncated by a typical encoder",
            values=words,
            threshold=p["max_words"],
        )
        add(
            "length_outlier",
            "info",
            present & _outliers(words, p["outlier_z"], present),
            "{n} rows have an unusual length for this dataset (modified z-score > "
            f"{p['outlier_z']} on log word count)",
            values=words,
        )

        ascii_rows = ascii_only(text)
        non_ascii = text[~ascii_rows]
        mojibake = _mojibake(non_ascii)
        add(
            "mojibake",
            "warning",
            text.index.isin(mojibake.index),
            "{n} rows show mojibake (text decoded with the wrong encoding); ftfy can repair them",
            fix={"action": "fix_text"},
            values=mojibake,
        )
        add(
            "control_chars",
            "warning",
            text.str.contains(CONTROL_RE, regex=True).to_numpy(),
            "{n} rows contain control, zero-width or bidirectional-override characters",
            fix={"action": "fix_text"},
        )
        tags = text.str.contains(TAG_RE, regex=True).to_numpy()
        entities = text.str.contains(ENTITY_RE, regex=True).to_numpy()
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
            text.str.contains(PTB_TOKENS, regex=True, case=False).to_numpy(),
            "{n} rows contain Penn-Treebank bracket escapes such as -lrb- / -rrb-",
            fix={"action": "fix_text"},
        )
        add(
            "boilerplate",
            "warning",
            text.str.contains(BOILERPLATE_RE, regex=True).to_numpy(),
            "{n} rows contain boilerplate (signatures, legal footers, placeholders)",
            fix={"action": "review"},
        )
        add(
            "repeated_chars",
            "info",
            text.str.extract(REPEAT_RE).notna().any(axis=1).to_numpy(),
            "{n} rows repeat a character, punctuation mark or word many times in a row",
        )

        pii = find_pii(text)
        stats["pii"] = {k: len(v) for k, v in pii.items()}
        for kind, hits in pii.items():
            add(
                "pii",
                "warning",
                text.index.isin(hits.index),
                f"{{n}} rows contain {kind.replace('_', ' ')} data",
                fix={"action": "mask_pii", "kind": kind},
                values=hits.map(lambda ms: ms[:3]),
                kind=kind,
            )

        typos = ctx.cached("typo_rate", lambda: typo_rate(text))
        lang, lang_stats = self._language(text, typos, present, ctx)
        stats["language"] = lang_stats
        if lang is not None:
            main = lang_stats["main"]
            add(
                "language",
                "warning",
                text.index.isin(lang.index),
                f"{{n}} rows are not in the dataset's language ({main!r})",
                fix={"action": "quarantine"},
                values=lang,
                expected=main,
            )
        if lang_stats.get("main") == "en":
            rate = typos["typo_rate"]
            stats["typo_rate"] = _describe(rate) | {
                "histogram": _histogram(rate, bins=10, upper=1.0)
            }
            high = (rate >= p["typo_rate"]) & (typos["tokens"] >= p["typo_min_words"])
            add(
                "typos",
                "info",
                high.to_numpy(),
                f"{{n}} rows have {p['typo_rate']:.0%} or more words outside an 82k-word English "
                "dictionary (typos, slang or foreign words)",
                fix={"action": "review"},
                values=rate.round(3),
                threshold=p["typo_rate"],
            )
        stats["charts"] = _charts(stats, findings)
        return CheckResult(findings, stats)

    def _language(self, text: pd.Series, typos: pd.DataFrame, present, ctx: Context):
        """Main language from a sample; flag rows confidently in another language.

        Rows whose words are mostly in the English dictionary skip the identifier when
        the main language is English: that keeps 1M-row audits fast.
        """
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        ident = ctx.cached(
            "langid", lambda: LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        )
        p = self.params
        pool = text[present]
        sample = pool.sample(min(len(pool), 2000), random_state=ctx.seed) if len(pool) else pool
        votes = Counter(ident.classify(t)[0] for t in sample if len(t.split()) >= 3)
        main = p["language"] or (votes.most_common(1)[0][0] if votes else None)
        stats = {"main": main, "sample_votes": dict(votes.most_common(10))}
        if main is None:
            return None, stats
        words = text.str.count(r"\S+")
        candidates = present & (words >= p["language_min_words"]).to_numpy()
        if main == "en":
            in_vocab = 1.0 - typos["typo_rate"]
            candidates &= ~((in_vocab >= 0.75) & (typos["tokens"] >= 3)).to_numpy()
        uniq = pd.Series(text[candidates].unique())
        if uniq.empty:
            return None, stats
        # "confidently not the main language" beats "confidently language X": close
        # relatives (pt/gl, es/ca) split the probability between them
        ranked = uniq.map(lambda t: _top_and_main(ident.rank(t), main))
        verdict = pd.DataFrame(ranked.tolist(), columns=["lang", "p_main"], index=uniq)
        other = verdict[
            (verdict["lang"] != main) & (verdict["p_main"] <= 1 - p["language_min_prob"])
        ]
        flagged = text[candidates]
        flagged = flagged[flagged.isin(other.index)]
        stats["identified_rows"] = int(candidates.sum())
        return flagged.map(other["lang"]), stats


def _charts(stats: dict, findings: list[Finding]) -> list[dict]:
    rows_by_check = Counter()
    for f in findings:
        rows_by_check[f.check.split(".", 1)[1]] += len(f.row_ids)
    charts = [{"id": "hygiene-rows", "type": "bar", "title": "Rows flagged per hygiene check",
               "x_label": "check", "y_label": "rows",
               "data": {"labels": list(rows_by_check), "values": list(rows_by_check.values())}},
              {"id": "hygiene-words", "type": "histogram", "title": "Words per row",
               "x_label": "words (99th percentile and above in the last bin)", "y_label": "rows",
               "data": stats["words_histogram"]}]
    if "typo_rate" in stats:
        charts.append({"id": "hygiene-typos", "type": "histogram", "title": "Out-of-dictionary word rate per row",
                       "x_label": "share of words not in the dictionary", "y_label": "rows",
                       "data": stats["typo_rate"]["histogram"]})
    return charts


def _top_and_main(ranking: list[tuple[str, float]], main: str) -> tuple[str, float]:
    return ranking[0][0], dict(ranking).get(main, 0.0)


def _label_variants(ds: Dataset, labels: pd.Series) -> list[Finding]:
    """Labels that differ only by case or surrounding space ('Positive' vs 'positive ')."""
    present = labels.dropna()
    canon = present.str.strip().str.casefold()
    groups = present.groupby(canon).unique()
    out = []
    for key, variants in groups.items():
        if len(variants) < 2:
            continue
        counts = present[canon == key].value_counts()
        keep = counts.index[0]
        rows = present.index[(canon == key).to_numpy() & (present != keep).to_numpy()]
        out.append(
            Finding(
                check="hygiene.label_variants",
                severity="error",
                row_ids=list(rows),
                message=f"label {keep!r} is also spelt {sorted(set(variants) - {keep})} in {len(rows)} rows",
                evidence={"variants": counts.to_dict(), "canonical": keep},
                fix={"action": "relabel", "to": keep},
            )
        )
    return out


def _mojibake(text: pd.Series) -> pd.Series:
    if text.empty:
        return text
    import ftfy

    fixed = text.map(ftfy.fix_encoding)
    return fixed[fixed != text]


def _outliers(values: pd.Series, z: float, present) -> np.ndarray:
    logv = np.log1p(values.to_numpy(dtype=float))
    base = logv[present]
    if base.size < 20:
        return np.zeros(len(values), dtype=bool)
    med = np.median(base)
    mad = np.median(np.abs(base - med))
    if mad == 0:
        return np.zeros(len(values), dtype=bool)
    return np.abs(0.6745 * (logv - med) / mad) > z


def _describe(values: pd.Series) -> dict:
    v = values.to_numpy(dtype=float)
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


def _histogram(values: pd.Series, bins: int = 20, upper: float | None = None) -> dict:
    v = values.to_numpy(dtype=float)
    if v.size == 0:
        return {"edges": [], "counts": []}
    hi = upper if upper is not None else max(float(np.percentile(v, 99)), 1.0)
    counts, edges = np.histogram(np.clip(v, 0, hi), bins=bins, range=(0, hi))
    return {"edges": edges.round(4).tolist(), "counts": counts.tolist()}
