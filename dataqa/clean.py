"""The clean stage: fix what can be fixed, quarantine what cannot, lose nothing.

It runs as a short pipeline of small steps. Text fixes (`TEXT_FIXES`) each map a Series
of texts to a Series of texts and every change goes to the change log; then the audit
runs again on the fixed rows and each quarantine rule turns findings into
row -> reason. At the end `rows in == rows kept + rows quarantined`, by id, or the run
fails before anything is written.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from dataqa.checks.hygiene import ENTITY_RE, PII_PATTERNS, TAG_RE, _valid_pii
from dataqa.dataset import ROW_ID, Dataset, from_frame, label_like
from dataqa.findings import Finding, Report
from dataqa.io.writers import SURROGATE_RE
from dataqa.text import INVISIBLE_RE, english_vocabulary, remove_invisible_junk

REASONS_COL = "dataqa_reasons"
PTB_MAP = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}


@dataclass
class CleanOptions:
    """What `clean` may do. Defaults fix encoding, markup and whitespace, quarantine
    broken, off-language, conflicting and duplicate rows, and change no meaning."""

    fix_text: bool = True
    strip_markup: bool = True
    fix_tokenizer_artifacts: bool = True
    mask_pii: bool = False
    correct_typos: bool = False
    dedupe: str = "first"  # first | longest | none: which row of a duplicate group stays
    near_duplicates: str = "dedupe"  # dedupe | keep
    conflicts: str = "quarantine"  # quarantine | majority | labels | keep
    language: str = "quarantine"  # quarantine | keep
    leakage: str = "quarantine"  # quarantine | keep
    label_errors: str = "keep"  # quarantine | relabel | keep
    label_threshold: float = 0.5  # relabel/quarantine only suspects at least this sure
    label_unsure: str = "keep"  # keep | quarantine: suspects below the threshold
    audit_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from dataqa.errors import DataQAError

        allowed = {
            "dedupe": ("first", "longest", "none"),
            "near_duplicates": ("dedupe", "keep"),
            "conflicts": ("quarantine", "majority", "labels", "keep"),
            "language": ("quarantine", "keep"),
            "leakage": ("quarantine", "keep"),
            "label_errors": ("quarantine", "relabel", "keep"),
            "label_unsure": ("keep", "quarantine"),
        }
        for name, values in allowed.items():
            if getattr(self, name) not in values:
                raise DataQAError(
                    f"--{name.replace('_', '-')} must be one of {', '.join(values)}, "
                    f"not {getattr(self, name)!r}"
                )


@dataclass
class CleanResult:
    kept: Dataset
    quarantine: pd.DataFrame
    changes: pd.DataFrame
    report: Report
    summary: dict


# ---- text fixes: Series -> Series, one job each ------------------------------------------


def fix_encoding(text: pd.Series) -> pd.Series:
    import ftfy

    non_ascii = ~text.str.contains(r"^[\x00-\x7f]*$", regex=True)
    out = text.copy()
    cfg = ftfy.TextFixerConfig(
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=False,
        normalization="NFC",
    )
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


def strip_markup(text: pd.Series) -> pd.Series:
    has = text.str.contains(TAG_RE + "|" + ENTITY_RE, regex=True)
    out = text.copy()
    out[has] = (
        text[has]
        .str.replace(r"(?i)<br\s*/?>|</p>", " ", regex=True)
        .str.replace(TAG_RE, "", regex=True)
        .map(html.unescape)
    )
    return out


def fix_tokenizer_artifacts(text: pd.Series) -> pd.Series:
    return text.str.replace(
        r"(?i)-(?:lrb|rrb|lsb|rsb|lcb|rcb)-", lambda m: PTB_MAP[m.group(0).lower()], regex=True
    )


def normalize_whitespace(text: pd.Series) -> pd.Series:
    s = text.map(lambda t: unicodedata.normalize("NFC", t))
    return (
        s.str.replace(r"[ \t\u00a0\u2000-\u200a\u3000]+", " ", regex=True)
        .str.replace(r"\s*\n\s*\n\s*", "\n\n", regex=True)
        .str.strip()
    )


def mask_pii(text: pd.Series) -> pd.Series:
    out = text
    for kind, pattern in PII_PATTERNS.items():
        token = f"[{kind.upper()}]"
        hit = out.str.contains(pattern, regex=True)
        if hit.any():
            out = out.copy()
            out[hit] = out[hit].str.replace(
                pattern,
                lambda m, k=kind, t=token: t if _valid_pii(k, m.group(0)) else m.group(0),
                regex=True,
            )
    return out


def correct_typos(text: pd.Series) -> pd.Series:
    """Replace out-of-dictionary words by their closest dictionary word (SymSpell, Damerau
    distance <= 2 for words of 5+ letters, <= 1 below; the most frequent among the
    closest). Context-free, so it is opt-in; each distinct word is looked up once."""
    from symspellpy import SymSpell, Verbosity

    from dataqa.text import english_dictionary_path, word_tokens

    vocab = english_vocabulary()
    toks = word_tokens(text, min_len=3)
    oov = pd.Index(toks[~toks.isin(vocab)].unique())
    if oov.empty:
        return text
    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    sym.load_dictionary(str(english_dictionary_path()), term_index=0, count_index=1)
    mapping = {}
    for word in oov:
        hits = sym.lookup(word, Verbosity.CLOSEST, max_edit_distance=2 if len(word) >= 5 else 1)
        if hits and hits[0].term != word:
            mapping[word] = hits[0].term
    if not mapping:
        return text
    pattern = (
        r"\b(" + "|".join(re.escape(w) for w in sorted(mapping, key=len, reverse=True)) + r")\b"
    )

    def sub(m: re.Match) -> str:
        word = m.group(0)
        fixed = mapping.get(word.lower(), word)
        return fixed.capitalize() if word[:1].isupper() else fixed

    return text.str.replace(pattern, sub, regex=True, case=False)


TEXT_FIXES: dict[str, tuple[str, Callable[[pd.Series], pd.Series]]] = {
    "fix_encoding": ("fix_text", fix_encoding),
    "remove_control_chars": ("fix_text", remove_control_chars),
    "strip_markup": ("strip_markup", strip_markup),
    "fix_tokenizer_artifacts": ("fix_tokenizer_artifacts", fix_tokenizer_artifacts),
    "mask_pii": ("mask_pii", mask_pii),
    "correct_typos": ("correct_typos", correct_typos),
    "normalize_whitespace": ("fix_text", normalize_whitespace),
}
"""step name -> (the CleanOptions flag that turns it on, the function)."""


# ---- the stage ---------------------------------------------------------------------------


def clean(
    data: Dataset | pd.DataFrame,
    *,
    options: CleanOptions | None = None,
    against: Dataset | None = None,
    report: Report | None = None,
    seed: int = 0,
    progress: bool = False,
    **roles: str | None,
) -> CleanResult:
    """Fix and de-duplicate a dataset; return kept rows, quarantine and change log.

    `report` may carry findings from an earlier audit that clean cannot recompute
    cheaply (label errors); hygiene and duplicates are always re-checked on the fixed
    text so that, e.g., two rows that differ only by mojibake are seen as duplicates.
    """
    from dataqa.audit import audit

    opts = options or CleanOptions()
    ds = data if isinstance(data, Dataset) else from_frame(data, **roles)
    text_col = ds.roles.text
    text = ds.text
    change_frames = [_surrogate_repairs(ds)] if opts.fix_text and ds.io.surrogates else []
    for step, (flag, fn) in TEXT_FIXES.items():
        if not getattr(opts, flag):
            continue
        new = fn(text)
        diff = new != text
        if diff.any():
            change_frames.append(
                pd.DataFrame(
                    {
                        ROW_ID: text.index[diff],
                        "field": text_col,
                        "before": text[diff].to_numpy(),
                        "after": new[diff].to_numpy(),
                        "step": step,
                    }
                )
            )
        text = new
    frame = ds.frame.copy()
    frame[text_col] = text.where(ds.frame[text_col].notna() | (text != ""), ds.frame[text_col])
    fixed = ds.with_frame(frame)

    checks = ["hygiene", "duplicates"]
    wants_labels = opts.label_errors != "keep" or opts.conflicts == "labels"
    if wants_labels and not (
        report is not None and (report.by_check("labels") or "labels" in report.stats)
    ):
        checks.append("labels")  # no label findings were handed in: find them now
    post = audit(
        fixed,
        checks=checks,
        options=opts.audit_options,
        against=against,
        seed=seed,
        progress=progress,
    )
    findings = list(post.findings)
    if report is not None:
        findings += [f for f in report.findings if f.check.startswith("label")]

    reasons: dict = {}
    relabels: dict = {}
    suspects = {
        r: f for f in findings if f.check == "labels.issue" and f.row_ids for r in f.row_ids
    }
    settled: set = set()  # label suspects already handled as part of a conflict

    def quarantine(rows, why: str) -> None:
        for r in rows:
            reasons.setdefault(r, []).append(why)

    for f in findings:
        c = f.check
        if c in ("hygiene.missing_text", "hygiene.empty", "hygiene.missing_label"):
            quarantine(f.row_ids, c.split(".")[1].replace("_", " "))
        elif c == "hygiene.label_variants":
            for r in f.row_ids:
                relabels[r] = f.fix["to"]
        elif c == "hygiene.language" and opts.language == "quarantine":
            values = f.evidence.get("values", {})
            for r in f.row_ids:
                quarantine([r], f"language: looks like {values.get(str(r), '?')!r}")
        elif c == "duplicates.leakage" and opts.leakage == "quarantine":
            quarantine(
                f.row_ids, f"leakage: {f.evidence.get('kind')} match in {f.evidence.get('against')}"
            )
        elif c == "duplicates.conflict" and opts.conflicts != "keep":
            majority = f.evidence.get("majority")
            labels = f.evidence.get("labels", {})
            if opts.conflicts == "labels":
                done = _resolve_by_labels(f, suspects, opts, quarantine, relabels)
                settled.update(done)
                if done:
                    continue
            if opts.conflicts == "majority" and majority is not None:
                quarantine(
                    [r for r in f.row_ids if labels.get(str(r)) != majority],
                    f"conflicting labels in a {f.evidence['kind']} duplicate group: minority label",
                )
            else:
                quarantine(
                    f.row_ids,
                    f"conflicting labels in a {f.evidence['kind']} duplicate group "
                    f"{sorted({str(v) for v in labels.values() if v is not None and v == v})}",
                )

    if opts.label_errors != "keep":  # after the conflicts, which may have settled some
        for r, f in suspects.items():
            if r not in settled:
                _label_error(f, opts, quarantine, relabels)

    if opts.dedupe != "none":
        for f in findings:
            if f.check == "duplicates.exact" or (
                f.check == "duplicates.near" and opts.near_duplicates == "dedupe"
            ):
                members = [r for r in f.row_ids if r not in reasons]
                if len(members) < 2:
                    continue
                keep = _keeper(members, text, opts.dedupe)
                quarantine(
                    [r for r in members if r != keep],
                    f"{f.check.split('.')[1]} duplicate of row {keep}",
                )

    for r, label in relabels.items():
        if r in reasons:
            continue
        before = frame.at[r, ds.roles.label]
        if str(before) != str(label):
            change_frames.append(
                pd.DataFrame(
                    {
                        ROW_ID: [r],
                        "field": [ds.roles.label],
                        "before": [before],
                        "after": [label],
                        "step": ["relabel"],
                    }
                )
            )
            frame.at[r, ds.roles.label] = label_like(frame[ds.roles.label], label)

    q_ids = [r for r in frame.index if r in reasons]
    kept_frame = frame.drop(index=q_ids)
    q_frame = ds.frame.loc[q_ids].copy()  # quarantined rows keep their original text
    q_frame[REASONS_COL] = ["; ".join(reasons[r]) for r in q_ids]
    _check_nothing_lost(ds, kept_frame, q_frame)

    changes = (
        pd.concat(change_frames, ignore_index=True)
        if change_frames
        else pd.DataFrame(columns=[ROW_ID, "field", "before", "after", "step"])
    )
    reason_counts = pd.Series(
        [w.split(":")[0].split(" of row")[0] for r in q_ids for w in reasons[r]]
    )
    summary = {
        "rows_in": len(ds),
        "rows_kept": len(kept_frame),
        "rows_quarantined": len(q_frame),
        "rows_changed": int(changes[ROW_ID].nunique()) if len(changes) else 0,
        "changes_by_step": changes["step"].value_counts().to_dict() if len(changes) else {},
        "quarantine_reasons": reason_counts.value_counts().to_dict() if len(reason_counts) else {},
        "options": asdict(opts),
    }
    kept_io = replace(
        ds.io,
        surrogates={k: v for k, v in ds.io.surrogates.items() if k[0] in reasons}
        if opts.fix_text
        else ds.io.surrogates,
    )
    return CleanResult(
        kept=ds.with_frame(kept_frame, io=kept_io),
        quarantine=q_frame,
        changes=changes,
        report=post,
        summary=summary,
    )


def _surrogate_repairs(ds: Dataset) -> pd.DataFrame:
    """Change-log rows for the lone surrogates the loader set aside (shown as U+FFFD in
    every check, so the repair is already in the frame); `before` spells each surrogate
    as a JSON escape because the log is UTF-8."""
    rows = [
        (rid, col, SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(before)), after)
        for (rid, col), before in ds.io.surrogates.items()
        for after in [ds.frame.at[rid, col]]
    ]
    return pd.DataFrame(
        {
            ROW_ID: [r[0] for r in rows],
            "field": [r[1] for r in rows],
            "before": [r[2] for r in rows],
            "after": [r[3] for r in rows],
            "step": "repair_surrogates",
        }
    )


def _label_error(f: Finding, opts: CleanOptions, quarantine, relabels) -> bool:
    """Apply the label-error policy to one suspect; True when the row was acted on."""
    ev = f.evidence
    score = ev.get("confidence", ev.get("suggested_probability", 1.0))
    suggested = ev.get("suggested_label")
    why = f"{f.check}: given {ev.get('given_label')!r}, likely {suggested!r}"
    if score is None or score < opts.label_threshold:
        if opts.label_unsure == "quarantine":
            quarantine(f.row_ids, f"{why} (unsure: {score or 0:.0%} < {opts.label_threshold:.0%})")
            return True
        return False
    if opts.label_errors == "relabel" and suggested is not None:
        for r in f.row_ids:
            relabels[r] = suggested
    else:
        quarantine(f.row_ids, why)
    return True


def _resolve_by_labels(
    f: Finding, suspects: dict, opts: CleanOptions, quarantine, relabels
) -> list:
    """Settle a conflicting duplicate group with the labels check's verdicts.

    The members the check trusts keep their label when they agree with each other; a
    doubted member is relabelled or quarantined by the label-error policy, and
    quarantined for the conflict when that policy leaves it alone. Returns the doubted
    rows it settled: none when the check doubts no member or the trusted ones disagree.
    """
    labels = f.evidence.get("labels", {})
    doubted = [r for r in f.row_ids if r in suspects]
    trusted = {str(labels.get(str(r))) for r in f.row_ids if r not in suspects}
    if not doubted or len(trusted) != 1:
        return []
    for r in doubted:
        acted = opts.label_errors != "keep" and _label_error(
            suspects[r], opts, quarantine, relabels
        )
        if not acted:
            quarantine(
                [r],
                f"conflicting labels in a {f.evidence['kind']} duplicate group: "
                "the labels check doubts this row's label",
            )
    return doubted


def _keeper(members: list, text: pd.Series, policy: str):
    ordered = sorted(members, key=lambda v: (0, v, "") if isinstance(v, int) else (1, 0, str(v)))
    if policy == "longest":
        return max(ordered, key=lambda r: len(text.loc[r]))
    return ordered[0]


def _check_nothing_lost(ds: Dataset, kept: pd.DataFrame, quarantined: pd.DataFrame) -> None:
    ids_in = set(ds.frame.index)
    k, q = set(kept.index), set(quarantined.index)
    if k & q or (k | q) != ids_in or len(kept) + len(quarantined) != len(ds):
        raise AssertionError(
            f"dataqa bug: rows lost or doubled in clean (in={len(ids_in)}, kept={len(k)}, "
            f"quarantined={len(q)}, both={len(k & q)}, missing={len(ids_in - k - q)}); nothing was written"
        )
