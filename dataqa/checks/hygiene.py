"""Row hygiene: missing or empty text, length, encoding, markup, PII, language, typos.

The check is a table of small named sub-checks (`SUBCHECKS`, datatrove's filters are
the model): each is one vectorised screen over the distinct texts of the column and
returns the rows it hits, which become one Finding of its declared kind. Slow per-row
tools (ftfy, the language identifier, the Luhn check) only see texts a cheap regex
selected. A sub-check whose fix is a text repair flags a row exactly when the repair
(`dataqa.text.repairs`) would change it: it calls the same function.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pydantic import Field, field_validator

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Kind, Quarantine, Relabel, RepairText, Review
from dataqa.options import Options
from dataqa.text import (
    BOILERPLATE_RE,
    ENTITY_RE,
    INVISIBLE_RE,
    PII_SCREEN_RE,
    PTB_TOKENS,
    REPEAT_CHARS_RE,
    TAG_RE,
    UniqueText,
    find_pii,
    identify_languages,
    invisible_junk,
    repairs,
    typo_rate,
    word_units,
)


class HygieneOptions(Options):
    """Options of the hygiene check."""

    min_words: int = Field(
        2, ge=0, description="Rows with fewer words (every script counted) are too short."
    )
    max_chars: int = Field(20000, ge=1, description="Rows longer than this are too long.")
    max_words: int = Field(
        512,
        ge=1,
        description="Rows beyond this many words exceed a BERT-style encoder's 512 tokens.",
    )
    outlier_z: float = Field(
        3.5,
        gt=0,
        description="Modified z-score on log word count above which a length is an outlier "
        "(3.5: Iglewicz and Hoaglin, 1993).",
    )
    language: str | None = Field(
        None, description="Expected ISO 639-1 language; default: the dataset's main language."
    )
    language_min_prob: float = Field(
        0.95,
        gt=0.5,
        lt=1.0,
        description="A row is another language when the identifier gives the main one at "
        "most 1 - this.",
    )
    language_min_words: int = Field(
        4, ge=1, description="Words a row needs before its language is judged."
    )
    language_min_letters: int = Field(
        25, ge=0, description="Letters a row needs before its language is judged."
    )
    typo_rate: float = Field(
        0.34, gt=0, le=1, description="Share of out-of-dictionary words that flags a row."
    )
    typo_min_words: int = Field(3, ge=1, description="Words a row needs for its typo rate.")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from dataqa.text import known_languages

        known = known_languages()
        if value not in known:
            raise ValueError(
                f"not a language the identifier knows ({', '.join(sorted(set(known)))})"
            )
        return value


def _kind(name, severity, fix, summary, policy="keep", flags=(), step=None) -> Kind:
    return Kind(f"hygiene.{name}", severity, fix, summary, policy, tuple(flags), step=step)


KINDS = (
    _kind("missing_text", "error", Quarantine, "no text at all", "quarantine"),
    _kind("empty", "error", Quarantine, "only whitespace", "quarantine"),
    _kind("not_text", "warning", Review, "a number, list or object where text should be"),
    _kind("header_row", "error", Quarantine, "a repeated header line (files joined)", "quarantine"),
    _kind("missing_label", "error", Quarantine, "no label", "quarantine"),
    _kind("label_variants", "error", Relabel, "label spelt differently", "relabel"),
    _kind("label_not_scalar", "error", Review, "a list or object as label (multi-label data?)"),
    _kind(
        "mixed_label_types", "warning", Review, "numbers among named labels, or names among numbers"
    ),
    _kind("too_short", "info", Review, "fewer than min_words words"),
    _kind("too_long", "warning", Review, "longer than max_chars characters"),
    _kind("truncated", "info", Review, "more words than an encoder takes"),
    _kind("length_outlier", "info", Review, "an unusual length for this dataset"),
    _kind(
        "invalid_unicode",
        "warning",
        RepairText,
        "lone surrogates (half an emoji)",
        "apply",
        ["fix_text"],
        "repair_surrogates",
    ),
    _kind(
        "mojibake",
        "warning",
        RepairText,
        "mojibake / encoding damage (ftfy)",
        "apply",
        ["fix_text"],
        "fix_encoding",
    ),
    _kind(
        "control_chars",
        "warning",
        RepairText,
        "control, zero-width or bidi junk",
        "apply",
        ["fix_text"],
        "remove_control_chars",
    ),
    _kind(
        "markup",
        "warning",
        RepairText,
        "HTML tags or entities",
        "apply",
        ["strip_markup"],
        "strip_markup",
    ),
    _kind(
        "tokenizer_artifacts",
        "info",
        RepairText,
        "Penn-Treebank escapes (-lrb-)",
        "apply",
        ["fix_tokenizer_artifacts"],
        "fix_tokenizer_artifacts",
    ),
    _kind(
        "whitespace",
        "info",
        RepairText,
        "runs of spaces or blank lines, edge space, non-NFC",
        "apply",
        ["fix_text"],
        "normalize_whitespace",
    ),
    _kind("boilerplate", "warning", Review, "signatures, legal footers, placeholders"),
    _kind("repeated_chars", "info", Review, "a character or word repeated many times"),
    _kind(
        "pii",
        "warning",
        RepairText,
        "emails, URLs, cards, IPs, phone numbers",
        "keep",
        ["mask_pii"],
        "mask_pii",
    ),
    _kind(
        "language",
        "warning",
        Quarantine,
        "not in the dataset's language",
        "quarantine",
        ["language"],
    ),
    _kind(
        "typos",
        "info",
        RepairText,
        "many words outside the English dictionary",
        "keep",
        ["correct_typos"],
        "correct_typos",
    ),
)


@dataclass
class Hit:
    """Rows one sub-check flags: a mask over rows or a list of distinct-text indices."""

    rows: np.ndarray | list
    message: str
    values: Any = None
    evidence: dict = field(default_factory=dict)
    fix: Any = None
    by_text: bool = True  # `rows` indexes distinct texts (else rows)


@dataclass
class Scan:
    """What the sub-checks share: the dataset, its distinct texts and per-text counts."""

    ds: Dataset
    ctx: Context
    p: dict
    u: UniqueText
    missing: np.ndarray
    blank: np.ndarray
    chars_u: np.ndarray
    words_u: np.ndarray
    stats: dict
    stats_cache: dict = field(default_factory=dict)  # per-scan values two sub-checks share

    @property
    def present(self) -> np.ndarray:
        return ~(self.missing | self.blank)

    @property
    def words(self) -> np.ndarray:
        return self.words_u[self.u.codes]

    def changed_by(self, step: str, which: np.ndarray | None = None) -> np.ndarray:
        """Distinct-text indices that repair `step` would change (among `which`)."""
        idx = np.arange(len(self.u.values)) if which is None else np.asarray(which)
        if idx.size == 0:
            return idx
        before = pd.Series(self.u.values[idx], index=idx, dtype=object)
        after = repairs.REPAIRS[step](before)
        return idx[(after != before).to_numpy()]


# ---- the sub-checks, one job each --------------------------------------------------------


def missing_text(s: Scan):
    return Hit(
        s.missing, "{n} rows have no text at all (a broken line or an empty cell)", by_text=False
    )


def empty(s: Scan):
    return Hit(s.blank, "{n} rows hold only whitespace", by_text=False)


def not_text(s: Scan):
    col = s.ds.frame[s.ds.roles.text]
    if col.dtype != object or s.ds.roles.schema != "text":
        return None  # conversation records are lists by design
    odd = col.map(lambda v: v is not None and v == v and not isinstance(v, str)).to_numpy()
    kinds = Counter(type(v).__name__ for v in col[odd])
    return Hit(
        odd,
        "{n} rows hold a " + " / ".join(sorted(kinds)) + " where text should be; "
        "clean leaves them as they are",
        evidence={"types": dict(kinds)},
        by_text=False,
    )


def header_row(s: Scan):
    """Rows that repeat the column names: two files joined with their headers."""
    cols = [c for c in s.ds.frame.columns if isinstance(c, str)]
    if len(cols) < 2:
        return None
    same = np.zeros(len(s.ds), dtype=int)
    for c in cols:
        col = s.ds.frame[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            text = (
                col.where(col.map(lambda v: isinstance(v, str)), "") if col.dtype == object else col
            )
            same += (text.fillna("").astype(str).str.strip() == c).to_numpy()
    return Hit(
        same >= 2,
        "{n} rows repeat the header line (files joined with their headers?)",
        by_text=False,
    )


def missing_label(s: Scan):
    if s.ds.roles.label is None:
        return None
    return Hit(s.ds.labels.isna().to_numpy(), "{n} rows have no label", by_text=False)


def _label_kind(value) -> str:
    """ "none", "object" (list, dict, array), "number" (also "2.5", "1", True) or "name"."""
    if value is None or (isinstance(value, float) and value != value):
        return "none"
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return "object"
    if isinstance(value, bool | int | float | np.number | np.bool_):
        return "number"
    text = str(value).strip()
    if NUMBER_RE.fullmatch(text) or text.lower() in ("true", "false"):
        return "number"
    return "name"


NUMBER_RE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _label_kinds(s: Scan) -> pd.Series:
    if "label_kinds" not in s.stats_cache:
        s.stats_cache["label_kinds"] = s.ds.frame[s.ds.roles.label].map(_label_kind)
    return s.stats_cache["label_kinds"]


def label_not_scalar(s: Scan):
    if s.ds.roles.label is None:
        return None
    return Hit(
        (_label_kinds(s) == "object").to_numpy(),
        "{n} rows have a list or object as label: dataqa reads a label as one class (the "
        "list becomes a class of its own); multi-label data is not supported, so fix the "
        "export or give each row one label",
        by_text=False,
    )


def mixed_label_types(s: Scan):
    """The rarer of numbers and names in a label column that holds both (`1` among intent
    names: a shifted column, or an id where a class name belongs)."""
    if s.ds.roles.label is None:
        return None
    kinds = _label_kinds(s)
    numbers, names = int((kinds == "number").sum()), int((kinds == "name").sum())
    if not numbers or not names:
        return None
    rare = "number" if numbers < names else "name"
    return Hit(
        (kinds == rare).to_numpy(),
        "{n} rows have a "
        + ("number" if rare == "number" else "name")
        + " as label where most labels are "
        + ("names" if rare == "number" else "numbers")
        + f" ({min(numbers, names):,} of {numbers + names:,}): a shifted column or a mistyped "
        "label; each distinct value counts as a class of its own",
        by_text=False,
    )


def too_short(s: Scan):
    n = s.p["min_words"]
    return Hit(
        s.present & (s.words < n),
        f"{{n}} rows have fewer than {n} words",
        evidence={"threshold": n},
        by_text=False,
    )


def too_long(s: Scan):
    n = s.p["max_chars"]
    return Hit(
        np.flatnonzero(s.chars_u > n),
        f"{{n}} rows are longer than {n:,} characters",
        values=s.chars_u,
        evidence={"threshold": n},
    )


def truncated(s: Scan):
    n = s.p["max_words"]
    hit = np.flatnonzero((s.words_u > n) & (s.chars_u <= s.p["max_chars"]))
    return Hit(
        hit,
        f"{{n}} rows exceed {n} words and will be truncated by a typical encoder",
        values=s.words_u,
        evidence={"threshold": n},
    )


def length_outlier(s: Scan):
    z = s.p["outlier_z"]
    mask = s.present & _outliers(s.words, z, s.present)
    return Hit(
        mask,
        "{n} rows have an unusual length for this dataset (modified z-score > "
        f"{z} on log word count)",
        values=s.words_u,
        by_text=False,
    )


def invalid_unicode(s: Scan):
    broken = {rid for rid, _col in s.ds.io.surrogates}
    if not broken:
        return None
    return Hit(
        s.ds.ids.isin(broken),
        "{n} rows hold lone surrogates (an emoji or other "
        "character cut in half); clean repairs them to U+FFFD",
        by_text=False,
    )


def mojibake(s: Scan):
    non_ascii = np.flatnonzero(~pc.string_is_ascii(s.u.arrow).to_numpy(zero_copy_only=False))
    hit = s.changed_by("fix_encoding", non_ascii)
    fixed = pd.Series(
        repairs.fix_encoding(pd.Series(s.u.values[hit], index=hit, dtype=object)), index=hit
    )
    return Hit(
        hit, "{n} rows show mojibake or other encoding damage; ftfy can repair them", values=fixed
    )


def control_chars(s: Scan):
    screened = np.flatnonzero(s.u.match(INVISIBLE_RE))
    hit = [i for i in screened if invisible_junk(s.u.values[i])]
    return Hit(
        hit,
        "{n} rows contain control, zero-width or bidirectional-override characters "
        "that are not part of their script (joiners in Persian or emoji are kept)",
    )


def markup(s: Scan):
    screened = np.flatnonzero(s.u.match(TAG_RE + "|" + ENTITY_RE))
    hit = s.changed_by("strip_markup", screened)
    tags = s.u.rows(s.u.match(TAG_RE))
    return Hit(
        hit,
        "{n} rows contain HTML tags or entities left over from scraping",
        evidence={"tags": int(tags.sum())},
    )


def tokenizer_artifacts(s: Scan):
    return Hit(
        np.flatnonzero(s.u.match("(?i)" + PTB_TOKENS)),
        "{n} rows contain Penn-Treebank bracket escapes such as -lrb- / -rrb-",
    )


def whitespace(s: Scan):
    present = np.flatnonzero(~s.u.match(r"^\s*$"))
    return Hit(
        s.changed_by("normalize_whitespace", present),
        "{n} rows have runs of spaces or tabs, blank-line runs, space at either end, or "
        "text not in Unicode NFC form",
    )


def boilerplate(s: Scan):
    return Hit(
        np.flatnonzero(s.u.match(BOILERPLATE_RE)),
        "{n} rows contain boilerplate (signatures, legal footers, placeholders)",
    )


def repeated_chars(s: Scan):
    return Hit(
        np.flatnonzero(s.u.match(REPEAT_CHARS_RE) | _repeated_words(s.u)),
        "{n} rows repeat a character, punctuation mark or word many times in a row",
    )


def pii(s: Scan):
    candidates = np.flatnonzero(s.u.match(PII_SCREEN_RE))
    found = find_pii(pd.Series(s.u.values[candidates], index=candidates))
    s.stats["pii"] = {}
    hits = []
    for kind, values in found.items():
        s.stats["pii"][kind] = int(s.u.rows(values.index).sum())
        hits.append(
            Hit(
                list(values.index),
                f"{{n}} rows contain {kind.replace('_', ' ')} data",
                values=values.map(lambda ms: ms[:3]),
                evidence={"kind": kind},
            )
        )
    return hits


def language(s: Scan):
    p = s.p
    langs = s.ctx.cached(
        (
            "languages",
            p["language"],
            p["language_min_prob"],
            p["language_min_words"],
            p["language_min_letters"],
        ),
        lambda: identify_languages(
            s.u,
            _typos(s),
            s.present,
            expected=p["language"],
            min_prob=p["language_min_prob"],
            min_words=p["language_min_words"],
            min_letters=p["language_min_letters"],
            seed=s.ctx.seed,
        ),
    )
    s.stats["language"] = langs.stats
    s.ctx.cache["other_language_rows"] = s.u.rows(langs.other.index)
    if not len(langs.other):
        return None
    return Hit(
        list(langs.other.index),
        f"{{n}} rows are not in the dataset's language ({langs.main!r})",
        values=langs.other,
        evidence={"expected": langs.main},
    )


def typos(s: Scan):
    t = _typos(s)
    main = s.stats.get("language", {}).get("main")
    # too little text to vote on a language: English when most words are English words
    english = main == "en" or (main is None and t["oov"].sum() <= 0.5 * t["tokens"].sum())
    if not english or not t["tokens"].sum():
        return None
    rate = t["typo_rate"].to_numpy()
    s.stats["typo_rate"] = _describe(rate) | {"histogram": _histogram(rate, bins=10, upper=1.0)}
    high = (rate >= s.p["typo_rate"]) & (t["tokens"].to_numpy() >= s.p["typo_min_words"])
    other = s.ctx.cache.get("other_language_rows")
    if other is not None:
        high &= ~other  # another language is not a pile of typos
    return Hit(
        high,
        f"{{n}} rows have {s.p['typo_rate']:.0%} or more words outside an 82k-word "
        "English dictionary (typos, slang or foreign words)",
        values=np.round(t.attrs["unique_rate"], 3),
        evidence={"threshold": s.p["typo_rate"]},
        by_text=False,
    )


def _typos(s: Scan) -> pd.DataFrame:
    return s.ctx.cached("typo_rate", lambda: typo_rate(s.ds.text, unique=s.u))


SUBCHECKS: dict[str, Callable[[Scan], Hit | list[Hit] | None]] = {
    "missing_text": missing_text,
    "empty": empty,
    "not_text": not_text,
    "header_row": header_row,
    "missing_label": missing_label,
    "label_not_scalar": label_not_scalar,
    "mixed_label_types": mixed_label_types,
    "too_short": too_short,
    "too_long": too_long,
    "truncated": truncated,
    "length_outlier": length_outlier,
    "invalid_unicode": invalid_unicode,
    "mojibake": mojibake,
    "control_chars": control_chars,
    "markup": markup,
    "tokenizer_artifacts": tokenizer_artifacts,
    "whitespace": whitespace,
    "boilerplate": boilerplate,
    "repeated_chars": repeated_chars,
    "pii": pii,
    "language": language,
    "typos": typos,
}
"""Sub-check name -> function, in report order (label variants are built apart: one
finding per label)."""
WHOLE_TEXT_ONLY = {"empty", "too_short", "truncated", "length_outlier", "whitespace", "not_text"}
"""Sub-checks that judge a text as one whole; for conversation records (rendered as
`role: content` lines) the conversations check judges turns and tokens instead."""


class HygieneCheck(Check):
    name = "hygiene"
    Options = HygieneOptions
    kinds = KINDS

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        text = ds.text
        # every text feature is computed once per distinct text (Arrow kernels), then
        # spread to rows: large sets repeat texts a lot, and this is the 1M-row fast path
        u = ctx.cached("unique_text", lambda: UniqueText.of(text))
        missing = ds.frame[ds.roles.text].isna().to_numpy()
        chars_u = pc.utf8_length(u.arrow).to_numpy(zero_copy_only=False)
        words_u = word_units(u.arrow)  # CJK and Thai count too, though written without spaces
        s = Scan(
            ds,
            ctx,
            self.params,
            u,
            missing,
            u.rows(u.match(r"^\s*$")) & ~missing,
            chars_u,
            words_u,
            {},
        )
        s.stats["chars"] = _describe(chars_u[u.codes])
        s.stats["words"] = _describe(s.words)
        s.stats["words_histogram"] = _histogram(s.words)
        findings: list[Finding] = []
        for name, sub in SUBCHECKS.items():
            if ds.roles.schema != "text" and name in WHOLE_TEXT_ONLY:
                continue  # a conversation's length and turns are the conversations check's
            out = sub(s)
            for hit in out if isinstance(out, list) else [out] if out is not None else []:
                findings.extend(self._to_finding(name, hit, s))
            if name == "missing_label" and ds.roles.label is not None:
                findings.extend(self._label_variants(ds.labels))
        s.stats["charts"] = _charts(s.stats, findings)
        return CheckResult(findings, s.stats)

    def _to_finding(self, name: str, hit: Hit, s: Scan) -> list[Finding]:
        rows = np.asarray(hit.rows)
        mask = s.u.rows(rows) if hit.by_text else rows.astype(bool)
        ids = s.ds.ids[mask]
        if len(ids) == 0:
            return []
        evidence = dict(hit.evidence)
        if hit.values is not None:
            evidence["values"] = dict(
                zip(map(str, ids), _row_values(hit.values, s.u, mask), strict=True)
            )
        return [
            self.finding(name, hit.message.format(n=len(ids)), ids, evidence=evidence, fix=hit.fix)
        ]

    def _label_variants(self, labels: pd.Series) -> list[Finding]:
        """Labels that are one label spelt differently ('Positive' vs 'positive ').

        Whitespace, invisible characters and Unicode compatibility forms (full-width
        `ｐｏｓ`) are never part of a label: they are folded always. Case is folded only
        when one spelling clearly dominates (the others on at most 20% of the rows, or
        on two rows): `us` and `US` on half the rows each may be two classes. The canonical spelling is the most common one once
        folded, so `"negative  "` on most rows still becomes `"negative"`.
        """
        import unicodedata

        from dataqa.text import remove_invisible_junk

        present = labels.dropna()
        if present.empty:
            return []
        distinct = pd.Series(present.unique())
        folded = distinct.map(
            lambda v: remove_invisible_junk(unicodedata.normalize("NFKC", v)).strip()
        )
        strict = present.map(dict(zip(distinct, folded, strict=True)))
        out = []
        for rows_of in present.groupby(strict.str.casefold()).groups.values():
            spellings = strict.loc[rows_of].value_counts()
            minority = spellings.sum() - spellings.iloc[0]
            if len(spellings) > 1 and minority > max(2, 0.2 * spellings.sum()):
                groups = [
                    strict.loc[rows_of][strict.loc[rows_of] == k].index for k in spellings.index
                ]
            else:
                groups = [rows_of]
            for ids in groups:
                raw = present.loc[ids]
                keep = strict.loc[ids].value_counts().index[0]
                rows = raw.index[(raw != keep).to_numpy()]
                if len(rows) == 0:
                    continue
                others = sorted(str(v) for v in set(raw.unique()) - {keep})
                out.append(
                    self.finding(
                        "label_variants",
                        f"label {keep!r} is also spelt {others} in {len(rows)} rows",
                        rows,
                        evidence={"variants": raw.value_counts().to_dict(), "canonical": keep},
                        fix=Relabel(to=keep, confidence=1.0),
                    )
                )
        return out


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
