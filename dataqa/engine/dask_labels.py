"""The labels check on Dask: the local check's functions, over pieces, with folds by hash.

Nothing here re-implements a step of label-error detection; each is the function the local
check (`dataqa.checks.labels`, `dataqa.labelprobs`) calls, run where the data is:

- **Features**: hashed word 1-2 gram TF-IDF, the local check's featuriser for large sets
  (`dataqa.featurizers.tfidf`): `hashed_counts` per piece (kept in worker memory),
  `document_frequency` summed over pieces, `hashed_tfidf` with the global frequencies, so
  a row's features are the ones the local engine gives it.
- **Folds**: `dataqa.folds.hash_folds` of a 64-bit key of each row: the hash of its
  normalised text (`normalize_for_dedup`, the exact-duplicate key), or for a member of a
  near-duplicate cluster (the duplicates check's `duplicates.near` findings, when that
  check ran) the smallest such hash in its cluster. Copies and near copies therefore share
  a fold (no model scores a row after training on its twin), and the folds depend on the
  rows' content alone: not on the partitioning, the number of shards or the row ids.
- **Fold models** (the local large-set pool: complement naive Bayes and SGD,
  `dataqa.labelprobs.fit_member`) are trained on a stratified sample of at most
  `sample_rows` rows (all rows below that; every class keeps at least
  `MIN_CLASS_SAMPLE` rows), drawn by another hash of the same key; one task per
  (fold, member).
- **Scoring**: every row, on the worker that holds its piece, by the models of its own
  fold (`score_member`), in batches of a piece.
- **The global step** runs on the client over the gathered out-of-fold scores (members x
  rows x classes float32) and the labels: the pool weights (`fit_pool`), the calibrated
  count and the ranking (`select_issues`: the smaller of the confident joint's count and
  the mixture bound), a second pass without the first pass's suspects when the local
  check would make one, and the findings (`selection_findings`). See docs/scale.md for
  where gathering stops fitting in memory.

Datalab's outlier and near-duplicate issue types (a kNN graph over every row) are not run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from dataqa.dataset import Dataset, Roles
from dataqa.errors import DataQAError
from dataqa.findings import Finding
from dataqa.io.shards import Piece, row_ids

MEMBERS = (("cnb", "hashing"), ("sgd", "hashing"))
"""The local check's pool for hashed features (`dataqa.checks.labels._plan`)."""
MIN_CLASS_SAMPLE = 1000
"""Every class keeps at least this many rows (or all it has) in the training sample."""
FEATURIZERS = ("auto", "hashing")


def refuse(params: dict) -> None:
    """Options the labels check does not take on Dask: exit 2 before anything runs."""
    hint = "use --engine local for it, or -s labels.featurizer=hashing"
    if params["featurizer"] not in FEATURIZERS:
        raise DataQAError(
            f"labels.featurizer={params['featurizer']} is not available with --engine dask: "
            "on Dask the labels check uses hashed word n-grams (featurizer=hashing)",
            hint=hint,
        )
    if params["members"] or params["encoder"]:
        raise DataQAError(
            "labels.members and labels.encoder are not available with --engine dask",
            hint=hint,
        )
    if params.get("ranking") == "loss":
        raise DataQAError(
            "labels.ranking=loss needs a fine-tuned model: not available with --engine dask",
            hint="use --engine local",
        )
    from dataqa.labelprobs import FILTERS

    if params["filter_by"] not in FILTERS:
        raise DataQAError(
            f"labels.filter_by must be one of {', '.join(FILTERS)}, not {params['filter_by']!r}"
        )


# ---- what each piece does (on the workers) -----------------------------------------------


def _prepare(piece: Piece, read, plan, classes: list[str], near: dict) -> dict:
    """Read a piece (`read(piece, plan)` -> (Dataset, positions), the audit's reader):
    class codes of every row, and for the analysed rows the hashed counts, the duplicate
    key's hash and the near-duplicate cluster (-1: none)."""
    from dataqa.featurizers.tfidf import hashed_counts
    from dataqa.text import normalize_for_dedup

    ds, pos = read(piece, plan)
    labels = ds.labels
    codes = pd.Categorical(labels, categories=classes).codes.astype(np.int32)
    codes[(codes < 0) & labels.notna().to_numpy()] = -2  # labelled, of a class left out
    use = codes >= 0
    text = ds.text[use]
    h = pd.util.hash_array(normalize_for_dedup(text).to_numpy(dtype=object)).astype(np.uint64)
    cluster = np.full(int(use.sum()), -1, np.int64)
    if near:
        cluster = np.fromiter(
            (near.get(r, -1) for r in ds.ids[use]), dtype=np.int64, count=len(cluster)
        )
    raw = ds.frame[plan.roles.label][use].to_numpy()
    first = pd.Series(raw).groupby(codes[use], sort=False).first()
    return {
        "pos": pos,
        "codes": codes,
        "counts": hashed_counts(text.tolist()),
        "h": h,
        "cluster": cluster,
        "raw": {int(c): v.item() if isinstance(v, np.generic) else v for c, v in first.items()},
    }


def _summary(state: dict) -> dict:
    """What the client needs of a piece before folds: document frequencies (sparse), row
    counts, the raw label values, and the near-duplicate clusters' keys."""
    from dataqa.featurizers.tfidf import document_frequency

    df = document_frequency(state["counts"])
    nz = np.flatnonzero(df)
    m = state["cluster"] >= 0
    return {
        "df": (nz, df[nz]),
        "n": int(state["counts"].shape[0]),
        "raw": state["raw"],
        "near": pd.DataFrame({"cluster": state["cluster"][m], "h": state["h"][m]}),
    }


def _assign(state: dict, cluster_key: np.ndarray, k: int, seed: int, rates: np.ndarray) -> dict:
    """Each analysed row's fold and whether it is in the training sample (by hash)."""
    from dataqa.folds import hash_folds, hash_unit

    key = state["h"].copy()
    m = state["cluster"] >= 0
    key[m] = cluster_key[state["cluster"][m]]
    y = state["codes"][state["codes"] >= 0].astype(np.int64)
    return {
        **state,
        "y": y,
        "fold": hash_folds(key, k, seed),
        "sample": hash_unit(key, seed, salt=2) < rates[y],
    }


def _features(counts, df: np.ndarray, n: int):
    from dataqa.featurizers.tfidf import hashed_tfidf

    return hashed_tfidf(counts, df, n)


def _sample_of(state: dict, df: np.ndarray, n: int) -> dict:
    s = state["sample"]
    return {
        "X": _features(state["counts"][np.flatnonzero(s)], df, n),
        "y": state["y"][s],
        "fold": state["fold"][s],
        "pos": state["pos"][state["codes"] >= 0][s],
    }


def _concat(parts: list[dict]) -> dict:
    import scipy.sparse as sp

    return {
        "X": sp.vstack([p["X"] for p in parts], format="csr"),
        **{c: np.concatenate([p[c] for p in parts]) for c in ("y", "fold", "pos")},
    }


def _fit(sample: dict, fold: int, member: str, K: int, seed: int, drop: np.ndarray):
    """One fold model: trained on the sample's rows of the other folds, less `drop`."""
    from dataqa.labelprobs import fit_member

    train = (sample["fold"] != fold) & ~np.isin(sample["pos"], drop)
    return fit_member(member, sample["X"][np.flatnonzero(train)], sample["y"][train], K, seed)


def _score(state: dict, df: np.ndarray, n: int, models: dict, K: int) -> dict:
    """Out-of-fold scores of a piece's analysed rows: each row by its own fold's models."""
    from dataqa.labelprobs import score_member

    X = _features(state["counts"], df, n)
    fold = state["fold"]
    out = {}
    for name, per_fold in models.items():
        S = np.zeros((X.shape[0], K), np.float32)
        for f, model in enumerate(per_fold):
            rows = np.flatnonzero(fold == f)
            if len(rows):
                S[rows] = score_member(name.split(":")[0], model, X[rows], K)
        out[name] = S
    return out


def _rows(state: dict) -> dict:
    return {"pos": state["pos"], "codes": state["codes"]}


def _labels_of(state: dict) -> np.ndarray:
    return state["y"]


def _positions_of(sample: dict) -> np.ndarray:
    return sample["pos"]


# ---- the client's part -------------------------------------------------------------------


def _broadcast(client, value):
    """`value` on every worker as one future (itself when empty).

    A dict scattered directly becomes a future per key, which every task then waits on (an
    8k-row SST-2 audit with duplicates hung); and a large keyword argument of
    `client.map` is put in the graph under the keyword's name, where the scheduler fails
    on it ("cannot pickle weakref", 92k rows). Wrapping the value in a list gives one.
    """
    return client.scatter([value], broadcast=True)[0] if len(value) else value


def labels_on_dask(
    client,
    pieces: list[Piece],
    read,
    plan,
    params: dict,
    class_counts: pd.Series,
    *,
    near_groups: list[list[str]] | None = None,
    progress: bool = False,
) -> tuple[list[Finding], dict, dict[str, pd.DataFrame], list[str]]:
    """Label errors over sharded input (see the module docstring).

    Parameters
    ----------
    client : distributed.Client
    pieces : list of Piece
        `ShardSet.pieces()`, in order (rows are gathered in this order, the local order).
    read : callable
        (piece, plan) -> (Dataset, 64-bit positions): how the audit reads a piece.
    plan : dataqa.engine.dask_engine.Plan
        Roles, seed and the repairs applied as pieces are read.
    params : dict
        The labels check's validated options (`LabelCheck(...).params`).
    class_counts : pandas.Series
        Rows per label (string form), from the audit's first pass.
    near_groups : list of list of str, optional
        Row ids of each near-duplicate cluster (kept in one fold).
    progress : bool, default False
        Bars on stderr per step.

    Returns
    -------
    (findings, stats, tables, notes)
        As the local check's `CheckResult` (tables: ``{"labels": score table}``).

    Raises
    ------
    DataQAError
        An option the Dask executor does not take (`refuse`).
    """
    from dataqa.checks.labels import (
        _cannot_judge,
        rare_class_finding,
        score_table,
        selection_findings,
    )
    from dataqa.engine.dask_progress import gather
    from dataqa.folds import plan_folds_counts
    from dataqa.labelprobs import fit_pool, select_issues

    refuse(params)
    p = params
    started = time.perf_counter()
    timings: dict[str, float] = {}
    notes: list[str] = []
    seed = plan.seed
    counts = class_counts
    rare = counts[counts < p["min_class_rows"]]
    classes = sorted(str(c) for c in counts.index[counts >= p["min_class_rows"]])
    K = len(classes)
    near = {r: i for i, g in enumerate(near_groups or []) for r in g}
    near_f = _broadcast(client, near)

    t0 = time.perf_counter()
    states = client.map(
        _prepare, pieces, read=read, plan=plan, classes=classes, near=near_f, pure=False
    )
    summaries = gather(client, client.map(_summary, states), "labels: hashed features", progress)
    timings["features"] = round(time.perf_counter() - t0, 3)
    rows = gather(client, client.map(_rows, states), "labels: rows", False)
    pos_all = np.concatenate([r["pos"] for r in rows])
    codes_all = np.concatenate([r["codes"] for r in rows])
    n_rows = len(pos_all)
    ids = row_ids(pieces, pos_all)
    use = codes_all >= 0
    n = int(use.sum())
    missing = int((codes_all == -1).sum())
    findings: list[Finding] = []
    stats: dict[str, Any] = {"engine": "dask", "rows": n_rows, "rows_missing_label": missing}
    if missing:
        notes.append(
            f"labels: {missing} rows without a label were skipped (see hygiene.missing_label)"
        )
    if len(rare):
        rare_ids = list(ids[codes_all == -2])
        findings.append(rare_class_finding(rare, rare_ids, p, notes))
    stats.update({"rows_analysed": n, "classes": K})
    why = _cannot_judge(K, n, p["max_classes"])
    if why:
        stats["skipped"] = why
        findings.append(Finding("labels.skipped", "warning" if K > 1 else "info", why, []))
        notes.append(f"labels: skipped: {why}")
        client.cancel(states)
        return findings, stats, {}, notes

    # global facts: document frequencies, near-duplicate cluster keys, folds, sample rates
    from dataqa.featurizers.tfidf import HASHING_FEATURES

    df = np.zeros(HASHING_FEATURES, np.int64)
    raw_of: dict[int, Any] = {}
    for s in summaries:
        np.add.at(df, s["df"][0], s["df"][1])
        for c, v in s["raw"].items():
            raw_of.setdefault(c, v)
    raw = [raw_of[c] for c in range(K)]
    cluster_key = np.zeros(0, np.uint64)
    if near:
        keyed = pd.concat([s["near"] for s in summaries])
        cluster_key = np.zeros(len(near_groups or []), np.uint64)
        mins = keyed.groupby("cluster")["h"].min()
        cluster_key[mins.index.to_numpy()] = mins.to_numpy(dtype=np.uint64)
    per_class = counts.reindex(classes).to_numpy(dtype=np.int64)
    k, note = plan_folds_counts(per_class, p["folds"])
    if note:
        notes.append(note)
    budget = p["sample_rows"]
    rates = np.minimum(1.0, np.maximum(budget / n, MIN_CLASS_SAMPLE / per_class))
    passes = int(p["passes"])
    if p["featurizer"] == "auto" and n > p["large_rows"]:
        passes = 1  # as the local check's plan for large sets
    notes.append(
        f"labels (dask): hashed word n-grams, naive Bayes + SGD, {passes} pass(es); {k} folds "
        "by a hash of the normalised text (copies and near-duplicate clusters share a fold)"
        + (
            f"; fold models trained on a stratified sample of about {int(rates @ per_class):,} "
            f"of {n:,} rows"
            if (rates < 1).any()
            else ""
        )
        + "; Datalab outlier/near_duplicate not run"
    )
    df_f = client.scatter(df, broadcast=True)
    key_f = _broadcast(client, cluster_key)
    assigned = client.map(
        _assign, states, cluster_key=key_f, k=k, seed=seed, rates=rates, pure=False
    )
    del states  # released once `assigned` holds what they had (cancel would cancel those too)
    sample = client.submit(
        _concat, client.map(_sample_of, assigned, df=df_f, n=n, pure=False), pure=False
    )
    y = np.concatenate(
        gather(client, client.map(_labels_of, assigned, pure=False), "labels", False)
    )
    sample_pos = client.submit(_positions_of, sample, pure=False)
    train_rows = int(len(client.gather(sample_pos)))

    drop = np.zeros(0, np.int64)
    P = np.full((n, K), 1.0 / K)
    weights: dict[str, float] = {}
    use_pos = pos_all[use]
    for step in range(passes):
        t0 = time.perf_counter()
        drop_f = _broadcast(client, drop)
        models = {
            f"{m}:{feat}": [
                client.submit(_fit, sample, f, m, K, seed, drop_f, pure=False) for f in range(k)
            ]
            for m, feat in MEMBERS
        }
        futures = [f for fs in models.values() for f in fs]
        gather(client, futures, f"labels: pass {step + 1} fold models", progress)
        timings[f"pass{step + 1}:fit"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        parts = gather(
            client,
            client.map(_score, assigned, df=df_f, n=n, models=models, K=K, pure=False),
            f"labels: pass {step + 1} scoring",
            progress,
        )
        scores = {name: np.concatenate([pt[name] for pt in parts]) for name in models}
        del parts, futures, models
        timings[f"pass{step + 1}:score"] = round(time.perf_counter() - t0, 3)
        P, weights = fit_pool(scores, y)
        del scores
        if step + 1 < passes:
            flagged = select_issues(
                y, P, filter_by=p["filter_by"], seed=seed, count="confident_joint"
            ).issues
            if n - int(flagged.sum()) < 2 * K:
                notes.append("labels: second pass skipped (too few rows left after the first)")
                break
            drop = np.sort(use_pos[flagged])
    del sample, sample_pos, assigned

    t0 = time.perf_counter()
    sel = select_issues(y, P, filter_by=p["filter_by"], seed=seed)
    findings += selection_findings(ids[use], y, classes, P, sel, p, raw, stats, notes)
    frame = pd.DataFrame(index=ids)
    ds = Dataset(frame, Roles(text="text"), "<dask>")
    table = score_table(ds, pd.Series(use), y, classes, P, sel)
    timings["select"] = round(time.perf_counter() - t0, 3)
    stats.update(
        {
            "featurizer": "hashing",
            "features": {"hashing": {"dims": HASHING_FEATURES, "ngrams": "word 1-2 (hashed)"}},
            "members": weights,
            "folds": k,
            "fold_assignment": "hash of the normalised text; near-duplicate clusters share a fold",
            "train_rows": train_rows,
            "passes": passes,
            "filter_by": p["filter_by"],
            "flagged": int(sel.issues.sum()),
            "timings_s": timings | {"total": round(time.perf_counter() - started, 3)},
        }
    )
    return findings, stats, {"labels": table}, notes
