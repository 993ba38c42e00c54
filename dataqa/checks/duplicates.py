"""Duplicates: exact (after normalisation), near (MinHash LSH), conflicting labels, leakage.

Findings, one per duplicate group:
- `duplicates.exact` / `duplicates.near`: rows that say the same thing; `fix` names the
  row to keep (`keep`), the rest are dropped to quarantine by `clean`.
- `duplicates.conflict`: a group whose rows carry different labels; at most one label
  can be right, so `clean` quarantines the group unless told to keep the majority.
- `duplicates.leakage`: training rows that also appear (exactly or nearly) in the split
  given with `--against`; they inflate test scores.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Dedupe, Kind, Quarantine, ResolveConflict
from dataqa.options import Options
from dataqa.text import normalize_for_dedup


def exact_groups(keys: pd.Series) -> pd.Series:
    """Group number per row for rows whose key occurs more than once (others dropped)."""
    keys = keys[keys != ""]
    dup = keys[keys.duplicated(keep=False)]
    codes = pd.factorize(dup, sort=False)[0]
    return pd.Series(codes, index=dup.index)


def group_findings(
    kind: str,
    groups: pd.Series,
    ds: Dataset,
    labels: pd.Series | None,
    similarity: dict[int, float] | None = None,
) -> list[Finding]:
    """One `duplicates.<kind>` finding per group, plus a `duplicates.conflict` when labels differ.

    Groups are split with one stable sort rather than pandas groupby/.loc per group:
    a 1M-row audit has ~100k groups and per-group pandas calls cost a minute there.
    """
    out: list[Finding] = []
    if groups.empty:
        return out
    severity = "warning" if kind == "exact" else "info"
    gids = groups.to_numpy()
    order = np.argsort(gids, kind="stable")
    ids_sorted = groups.index.to_numpy()[order]
    bounds = np.flatnonzero(np.diff(gids[order])) + 1
    label_arr = None
    if labels is not None:
        sub = labels.reindex(groups.index).astype(object)
        label_arr = sub.where(sub.notna(), None).to_numpy()[order]
    conflicted = set()
    if label_arr is not None:
        per = pd.DataFrame({"g": gids[order], "l": label_arr}).dropna()
        n_labels = per.groupby("g")["l"].nunique()
        conflicted = set(n_labels.index[n_labels > 1].tolist())
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        gid = int(gids[order[start]])
        members = ids_sorted[start:end].tolist()
        perm = sorted(range(len(members)), key=lambda k: _order_key(members[k]))
        ids = [members[k] for k in perm]
        evidence: dict = {"group": gid, "size": len(ids)}
        if similarity is not None:
            evidence["similarity"] = round(float(similarity.get(gid, 1.0)), 4)
        row_labels = None
        if label_arr is not None:
            labs = label_arr[start:end]
            row_labels = {str(members[k]): labs[k] for k in perm}
            evidence["labels"] = row_labels
        out.append(
            Finding(
                check=f"duplicates.{kind}",
                severity=severity,
                row_ids=ids,
                message=f"{len(ids)} rows are {kind} duplicates of each other",
                evidence=evidence,
                fix=Dedupe(keep=ids[0]),
            )
        )
        if row_labels is None or gid not in conflicted:
            continue
        counts = Counter(v for v in row_labels.values() if v is not None)
        if len(counts) > 1:
            (top, n1), (_, n2) = counts.most_common(2)
            majority = top if n1 > n2 else None
            distinct = sorted(counts)
            out.append(
                Finding(
                    check="duplicates.conflict",
                    severity="error",
                    row_ids=ids,
                    message=f"{len(ids)} {kind}-duplicate rows carry different labels: {distinct}",
                    evidence={
                        "kind": kind,
                        "labels": row_labels,
                        "majority": majority,
                        "group": gid,
                    },
                    fix=ResolveConflict(labels=row_labels, majority=majority),
                )
            )
    return out


def _size_buckets(sizes: Counter) -> dict:
    edges = [(2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 50), (51, None)]
    labels, values = [], []
    for lo, hi in edges:
        n = sum(c for k, c in sizes.items() if k >= lo and (hi is None or k <= hi))
        labels.append(str(lo) if lo == hi else f"{lo}+" if hi is None else f"{lo}-{hi}")
        values.append(n)
    return {"labels": labels, "values": values}


def drop_own_paraphrases(groups: pd.Series, ds: Dataset) -> pd.Series:
    """Drop groups made only of one source row and its own augmentations.

    `dataqa augment` writes `dataqa_source_id` on every row it adds; a paraphrase next
    to its own source is by design, not a duplicate problem. Groups that also hold any
    other row stay, and leakage into another split (`_leakage`) is still reported.
    """
    if "dataqa_source_id" not in ds.frame.columns or groups.empty:
        return groups

    def as_str(v) -> str:  # ids come back from JSONL as 12.0, from CSV as "12"
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    src = ds.frame["dataqa_source_id"].reindex(groups.index)
    root = pd.Series(
        [as_str(s) if pd.notna(s) else as_str(i) for i, s in zip(groups.index, src, strict=True)],
        index=groups.index,
    )
    return groups[groups.map(root.groupby(groups).nunique()) > 1]


CONTRAST_RE = re.compile(
    r"[^\w\s'\"]|\d|^(?:not|no|never|nor|none|nothing|nobody|neither|without|cannot)$|n't$",
    re.IGNORECASE,
)
"""A token whose change can flip meaning: a sign or other symbol (`+1`/`-1`, `A+`/`A-`),
an emoji, a digit, or a negation. Punctuation that ends or separates clauses (`.`, `,`,
`!`, `?`, `;`, `:`) is excluded below: it is the edit near-duplicates are made of."""
_PLAIN_PUNCT = set(".,!?;:…()[]")
MAX_CONTRAST_GROUP = 200
"""Near-duplicate groups up to this size are re-checked pair by pair for contrasts."""


def split_contrasts(
    groups: pd.Series,
    keys: pd.Series,
    similarity: dict[int, float],
    *,
    threshold: float,
    ngram: int,
) -> tuple[pd.Series, dict[int, float]]:
    """Unlink near-duplicates that differ in what carries meaning.

    `+1 would recommend` / `-1 would recommend`, `Delivery speed 👍` / `👎` and
    `I liked it` / `I never liked it` share most character n-grams, but they are
    contrast pairs, not copies: deduplicating them throws away signal, and calling their
    different labels a conflict quarantines both. Within each group that holds such a
    token (`CONTRAST_RE`), the pairs are recomputed exactly (Jaccard of character
    n-gram sets, as MinHash estimates), pairs whose word-level difference includes a
    sign, symbol, emoji, digit or negation are dropped, and the group is re-split into
    connected components.

    Parameters
    ----------
    groups : pandas.Series
        Row id -> near-duplicate group (from `near_duplicate_groups`).
    keys : pandas.Series
        Normalised text by row id (a superset of `groups.index`).
    similarity : dict
        Group -> lowest linking similarity, as `near_duplicate_groups` gives it.
    threshold : float
        Jaccard similarity that makes a pair near-duplicates.
    ngram : int
        Character n-gram size of the shingles.

    Returns
    -------
    groups : pandas.Series
        Row id -> group, groups of two or more only.
    similarity : dict
        Group -> lowest similarity among the pairs that link it.
    """
    if groups.empty:
        return groups, similarity
    texts = keys.loc[groups.index]
    marked = texts.map(lambda t: any(_contrast_token(tok) for tok in _TOKEN_RE.findall(t)))
    touched = set(groups[marked.to_numpy()].unique().tolist())
    out_ids, out_groups, sims = [], [], {}
    next_id = 0
    for gid, members in groups.groupby(groups, sort=True).groups.items():
        members = list(members)
        if gid not in touched or len(members) > MAX_CONTRAST_GROUP:
            comps, low = [members], [similarity.get(gid, threshold)]
        else:
            comps, low = _components_without_contrasts(members, keys, threshold, ngram)
        for k, comp in enumerate(comps):
            if len(comp) < 2:
                continue
            out_ids += comp
            out_groups += [next_id] * len(comp)
            sims[next_id] = low[k] if low[k] is not None else threshold
            next_id += 1
    new = pd.Series(out_groups, index=pd.Index(out_ids, dtype=groups.index.dtype), dtype=np.int64)
    return new, sims


_TOKEN_RE = re.compile(r"[\w']+|[^\w\s]")


def _contrast_token(tok: str) -> bool:
    return tok not in _PLAIN_PUNCT and CONTRAST_RE.search(tok) is not None


def _is_contrast(a: str, b: str) -> bool:
    """True when the word-level edit from `a` to `b` touches a meaning-bearing token."""
    import difflib

    ta, tb = _TOKEN_RE.findall(a), _TOKEN_RE.findall(b)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes():
        if op != "equal" and any(_contrast_token(t) for t in ta[i1:i2] + tb[j1:j2]):
            return True
    return False


def _shingles(text: str, n: int) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)} or {text}


def _components_without_contrasts(members: list, keys: pd.Series, threshold: float, n: int):
    sets = [_shingles(keys[m], n) for m in members]
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    edges = []
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            sim = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if sim >= threshold and not _is_contrast(keys[members[i]], keys[members[j]]):
                edges.append((i, j, sim))
                parent[find(i)] = find(j)
    comps: dict[int, list] = {}
    for i, m in enumerate(members):
        comps.setdefault(find(i), []).append(m)
    ordered = sorted(comps.values(), key=lambda c: members.index(c[0]))
    low = []
    for comp in ordered:
        idx = {members.index(m) for m in comp}
        s = [sim for i, j, sim in edges if i in idx and j in idx]
        low.append(min(s) if s else None)
    return ordered, low


def _order_key(value):
    return (0, value, "") if isinstance(value, (int, np.integer)) else (1, 0, str(value))


class DuplicateOptions(Options):
    """Options of the duplicates check. Character 3-grams at Jaccard 0.78: why, see
    `dataqa.minhash` (recall 0.98 at precision 0.99 of planted edits on SST-2,
    benchmarks/bench_near_dups.py)."""

    near: bool = Field(True, description="Also find near-duplicates (MinHash LSH).")
    threshold: float = Field(
        0.78, gt=0.0, le=1.0, description="Jaccard similarity of shingle sets for a near pair."
    )
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations.")
    shingle: Literal["char", "word"] = Field("char", description="Shingle unit.")
    ngram: int = Field(3, ge=1, le=16, description="Shingle length (5 for long documents).")
    seed: int = Field(1, description="Seed of the MinHash permutations.")


KINDS = (
    Kind(
        "duplicates.exact",
        "warning",
        Dedupe,
        "rows equal up to case, space, quotes and clause punctuation",
        "first",
        ("dedupe",),
    ),
    Kind(
        "duplicates.near",
        "info",
        Dedupe,
        "rows one small edit apart (MinHash LSH)",
        "first",
        ("dedupe", "near_duplicates"),
    ),
    Kind(
        "duplicates.conflict",
        "error",
        ResolveConflict,
        "duplicates whose labels disagree",
        "quarantine",
        ("conflicts",),
    ),
    Kind(
        "duplicates.leakage",
        "error",
        Quarantine,
        "training rows also in the --against split",
        "quarantine",
        ("leakage",),
    ),
)


class DuplicateCheck(Check):
    Options = DuplicateOptions
    kinds = KINDS

    name = "duplicates"

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        keys = ctx.cached("dedup_key", lambda: normalize_for_dedup(ds.text))
        labels = ds.labels
        findings: list[Finding] = []
        exact = drop_own_paraphrases(exact_groups(keys), ds)  # augment provenance
        findings += group_findings("exact", exact, ds, labels)
        stats = {
            "exact_groups": int(exact.nunique()),
            "exact_rows": int(len(exact)),
            "exact_redundant_rows": int(len(exact) - exact.nunique()),
        }
        if self.params["near"]:
            near, near_stats = self._near(keys, exact, ds, ctx)
            findings += near
            stats.update(near_stats)
        if ctx.against is not None:
            leak, leak_stats = self._leakage(keys, ds, ctx)
            findings += leak
            stats.update(leak_stats)
        stats["duplicate_rate"] = round(
            (stats["exact_redundant_rows"] + stats.get("near_redundant_rows", 0)) / max(len(ds), 1),
            6,
        )
        sizes = Counter(
            len(f.row_ids) for f in findings if f.check in ("duplicates.exact", "duplicates.near")
        )
        kinds = Counter(f.check.split(".")[1] for f in findings)
        stats["charts"] = [
            {
                "id": "duplicates-kinds",
                "type": "bar",
                "title": "Duplicate findings by kind",
                "x_label": "kind",
                "y_label": "groups / rows",
                "data": {"labels": list(kinds), "values": list(kinds.values())},
            },
            {
                "id": "duplicates-sizes",
                "type": "bar",
                "title": "Duplicate group sizes",
                "x_label": "rows in group",
                "y_label": "groups",
                "data": _size_buckets(sizes),
            },
        ]
        return CheckResult(findings, stats)

    def _near(self, keys: pd.Series, exact: pd.Series, ds: Dataset, ctx: Context):
        """Near-duplicates among distinct keys (exact copies collapse to one representative)."""
        from dataqa.minhash import near_duplicate_groups

        p = self.params
        reps = keys[(keys != "") & ~keys.duplicated(keep="first")]
        groups, sims = near_duplicate_groups(
            reps,
            threshold=p["threshold"],
            num_perm=p["num_perm"],
            shingle=p["shingle"],
            ngram=p["ngram"],
            seed=p["seed"],
        )
        groups, sims = split_contrasts(
            groups, reps, sims, threshold=p["threshold"], ngram=p["ngram"]
        )
        if groups.empty:
            return [], {"near_groups": 0, "near_rows": 0, "near_redundant_rows": 0}
        # expand each representative to every row that shares its exact key
        rep_group = pd.Series(groups.to_numpy(), index=reps.loc[groups.index].to_numpy())
        row_group = keys.map(rep_group).dropna().astype(int)
        row_group = drop_own_paraphrases(row_group, ds)  # augment provenance
        if row_group.empty:
            return [], {"near_groups": 0, "near_rows": 0, "near_redundant_rows": 0}
        groups = groups[groups.isin(row_group.unique())]
        findings = group_findings("near", row_group, ds, ds.labels, sims)
        stats = {
            "near_groups": int(row_group.nunique()),
            "near_rows": int(len(row_group)),
            "near_redundant_rows": int(groups.size - groups.nunique()),
        }
        return findings, stats

    def _leakage(self, keys: pd.Series, ds: Dataset, ctx: Context):
        other = ctx.against
        other_keys = normalize_for_dedup(other.text)
        other_keys = other_keys[other_keys != ""]
        by_key = pd.Series(other_keys.index, index=other_keys.to_numpy()).groupby(level=0).agg(list)
        hit = keys[keys.isin(by_key.index)]
        findings = []
        for key, rows in hit.groupby(hit, sort=True).groups.items():
            findings.append(
                Finding(
                    check="duplicates.leakage",
                    severity="error",
                    row_ids=sorted(rows.tolist(), key=_order_key),
                    message=f"{len(rows)} rows also appear in {other.source}",
                    evidence={
                        "kind": "exact",
                        "against_ids": by_key[key][:20],
                        "against": other.source,
                    },
                    fix={"action": "quarantine"},
                )
            )
        stats = {"leakage_exact_rows": int(len(hit))}
        if self.params["near"]:
            from dataqa.minhash import near_matches_across

            p = self.params
            rest = keys[(keys != "") & ~keys.isin(by_key.index)]
            pairs = near_matches_across(
                rest,
                other_keys,
                threshold=p["threshold"],
                num_perm=p["num_perm"],
                shingle=p["shingle"],
                ngram=p["ngram"],
                seed=p["seed"],
            )
            for row, (other_ids, sim) in sorted(pairs.items(), key=lambda kv: _order_key(kv[0])):
                findings.append(
                    Finding(
                        check="duplicates.leakage",
                        severity="error",
                        row_ids=[row],
                        message=f"row nearly matches rows of {other.source}",
                        evidence={
                            "kind": "near",
                            "against_ids": other_ids[:20],
                            "similarity": round(sim, 4),
                            "against": other.source,
                        },
                        fix={"action": "quarantine"},
                    )
                )
            stats["leakage_near_rows"] = len(pairs)
        return findings, stats
