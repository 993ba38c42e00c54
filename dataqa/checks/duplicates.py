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

from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from dataqa.chat import prompt_text
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


CONTRAST_WORDS = (
    "not|no|never|nor|none|nothing|nobody|neither|without|cannot|once|twice|thrice|zero|one"
    "|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|first"
    "|second|third|half|double|triple"
)
CONTRAST_TOKEN_RE = (
    r"[^\pL\pN\pM\s'\".,!;:\x{2026}()\[\]_-]"  # a sign, symbol, emoji or `?` (`+1`, `A+`)
    r"|\pN"  # a number
    rf"|^(?:{CONTRAST_WORDS})$|n't$"  # a number word or a negation
    r"|^(?:un|in|im|il|ir|dis|non|anti)[a-z]{3,}$"  # a word a negating prefix may make
)
"""(RE2) A whitespace token of a normalised text whose change can flip its meaning.
Clause punctuation (`. , ! ; :`) is not one: it is the edit near-duplicates are made of;
nor is a hyphen (`top-up`), unless it is a sign before a number."""


def contrast_signatures(keys: pd.Series) -> pd.Series:
    """Per text, its meaning-bearing tokens (`CONTRAST_TOKEN_RE`), sorted and joined:
    two texts with one signature differ only in words that cannot flip their meaning.
    Vectorised: one Arrow split and one RE2 match over all tokens."""
    arr = pa.array(keys.to_numpy(dtype=object), type=pa.large_string())
    parts = pc.split_pattern_regex(arr, r"\s+")
    flat = pc.list_flatten(parts)
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    hit = pc.match_substring_regex(flat, CONTRAST_TOKEN_RE).to_numpy(zero_copy_only=False)
    hit |= pc.match_substring_regex(flat, r"^-\pN|[-+]$").to_numpy(zero_copy_only=False)
    tokens = pd.DataFrame(
        {
            "row": parent[hit],
            "tok": np.asarray(flat.filter(pa.array(hit)).to_pylist(), dtype=object),
        }
    ).sort_values(["row", "tok"], kind="stable")
    joined = tokens.groupby("row", sort=False)["tok"].agg("\x1f".join)
    out = np.full(len(keys), "", dtype=object)
    out[joined.index.to_numpy()] = joined.to_numpy()
    return pd.Series(out, index=keys.index)


def split_contrasts(
    groups: pd.Series,
    keys: pd.Series,
    similarity: dict[int, float],
) -> tuple[pd.Series, dict[int, float]]:
    """Split near-duplicate groups whose members differ in what carries meaning.

    `+1 would recommend` / `-1 would recommend`, `Delivery speed 👍` / `👎`, `likely` /
    `unlikely`, `twice` / `thrice` and a statement / its question share most character
    n-grams, but they are contrast pairs, not copies: deduplicating them throws away
    signal, and calling their different labels a conflict quarantines both. Each member
    gets a signature, the sorted tokens of `CONTRAST_TOKEN_RE` in its normalised text; a group
    is split into its signature classes (two texts with one signature differ only in
    words that cannot flip their meaning). One regex pass per text, no pairwise work.

    Parameters
    ----------
    groups : pandas.Series
        Row id -> near-duplicate group (from `near_duplicate_groups`).
    keys : pandas.Series
        Normalised text by row id (a superset of `groups.index`).
    similarity : dict
        Group -> lowest linking similarity, as `near_duplicate_groups` gives it.

    Returns
    -------
    groups : pandas.Series
        Row id -> group, groups of two or more only, numbered from 0.
    similarity : dict
        Group -> the lowest linking similarity of the group it was split from.
    """
    if groups.empty:
        return groups, similarity
    sig = contrast_signatures(keys.loc[groups.index])
    frame = pd.DataFrame({"g": groups.to_numpy(), "sig": sig.to_numpy()}, index=groups.index)
    sub = frame.groupby(["g", "sig"], sort=False).ngroup()
    sizes = sub.map(sub.value_counts())
    keep = (sizes >= 2).to_numpy()
    sub, parent = sub[keep], frame["g"][keep]
    codes, _ = pd.factorize(sub, sort=False)
    new = pd.Series(codes.astype(np.int64), index=sub.index)
    sims = dict(zip(codes.tolist(), parent.map(similarity).tolist(), strict=True))
    return new, sims


def near_leaks(
    keys: pd.Series, ds: Dataset, other: Dataset, other_keys: pd.Series, **minhash
) -> dict:
    """Rows of `ds` (their dedup `keys`) that nearly match rows of `other`.

    For conversations a near match must also ask (nearly) the same thing, as near
    duplicates within a set must (`Duplicates._same_prompts`): a shared answer template
    or system prompt alone is not a leak.

    Parameters
    ----------
    keys, other_keys : pd.Series
        `normalize_for_dedup` of each set's text, indexed by row id (no empty keys).
    ds, other : Dataset
        The two sets (their records give the prompts).
    **minhash
        `threshold`, `num_perm`, `shingle`, `ngram`, `seed` of `minhash.near_matches_across`.

    Returns
    -------
    dict
        Row id of `ds` -> (ids of `other` rows, best first; best similarity).
    """
    from dataqa.minhash import near_matches_across

    pairs = near_matches_across(keys, other_keys, **minhash)
    if not pairs or ds.roles.schema == "text" or other.roles.schema == "text":
        return pairs
    mine = normalize_for_dedup(ds.records.loc[list(pairs)].map(prompt_text).astype(str))
    theirs = normalize_for_dedup(other.records.map(prompt_text).astype(str))
    same = near_matches_across(mine[mine != ""], theirs[theirs != ""], **minhash)
    return {
        row: match
        for row, match in pairs.items()
        if row in same and set(match[0]) & set(same[row][0])
    }


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

    @property
    def minhash_params(self) -> dict:
        """The MinHash arguments of `dataqa.minhash` from this check's options."""
        return {k: self.params[k] for k in ("threshold", "num_perm", "shingle", "ngram", "seed")}

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

    def _same_prompts(self, groups: pd.Series, ds: Dataset) -> pd.Series:
        """Conversations: near-duplicates must also ask (nearly) the same thing.

        A long templated answer or system prompt makes records look alike by character
        n-grams though they answer different questions: each group is split by the
        near-duplicate groups of the records' prompts (their non-system, non-assistant
        turns), and what is left alone drops out.
        """
        from dataqa.minhash import near_duplicate_groups

        prompts = ds.records.loc[groups.index].map(prompt_text)
        pkeys = normalize_for_dedup(prompts)
        reps = pkeys[(pkeys != "") & ~pkeys.duplicated(keep="first")]
        pg, _ = near_duplicate_groups(
            reps,
            **self.minhash_params,
        )
        rep_of = pd.Series(pg.to_numpy(), index=reps.loc[pg.index].to_numpy())
        # an exact prompt is its own group too; prompts with no near partner stay alone
        prompt_group = pkeys.map(rep_of)
        alone = prompt_group.isna()
        prompt_group[alone] = -1 - pd.factorize(pkeys[alone])[0]
        combo = pd.Series(
            list(zip(groups.to_numpy(), prompt_group.to_numpy(), strict=True)), index=groups.index
        )
        codes = pd.Series(pd.factorize(combo)[0], index=groups.index)
        sizes = codes.map(codes.value_counts())
        return codes[sizes >= 2].astype(np.int64)

    def _near(self, keys: pd.Series, exact: pd.Series, ds: Dataset, ctx: Context):
        """Near-duplicates among distinct keys (exact copies collapse to one representative)."""
        from dataqa.minhash import near_duplicate_groups

        reps = keys[(keys != "") & ~keys.duplicated(keep="first")]
        groups, sims = near_duplicate_groups(
            reps,
            **self.minhash_params,
        )
        groups, sims = split_contrasts(groups, reps, sims)
        if ds.roles.schema != "text" and not groups.empty:
            groups = self._same_prompts(groups, ds)
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
            rest = keys[(keys != "") & ~keys.isin(by_key.index)]
            pairs = near_leaks(
                rest,
                ds,
                other,
                other_keys,
                **self.minhash_params,
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
