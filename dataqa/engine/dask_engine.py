"""The Dask executor: the checks of `dataqa.checks`, run over sharded input on a cluster.

Nothing here re-implements a check. Each stage is the local engine's function, called
where the data is:

- **Dataset-wide facts** (pass 1, one reduction): per piece, the word-count histogram,
  the label counts and the language votes that `HygieneCheck` would compute on the whole
  set (`word_count_histogram`, `language_votes`); summed on the client.
- **Row-wise work** (pass 2): per piece, `HygieneCheck.scan` with those facts in
  `Context.cache`; the partitions' hits are concatenated (`merge_hits`) and turned into
  findings by `HygieneCheck.findings_of`. The same pass computes each row's duplicate key
  (`normalize_for_dedup`) and its 64-bit hash, and keeps only (position, hash, non-empty,
  label code, group) in worker memory, about 20 bytes a row: no text, no row id (ids are
  derived from positions, `dataqa.io.shards.row_ids`; text is re-read for the few rows a stage needs,
  `_piece_keys`).
- **Exact duplicates**: a P2P shuffle of (hash, position) only; groups are the hashes
  seen more than once; members' positions and labels are looked up by hash.
- **Near duplicates**: per piece, the text of the representative rows (the first row of
  each distinct hash) is re-read and turned into `dataqa.minhash.band_keys`; buckets
  holding more than `SALT_ROWS` of a piece's rows are salted (`_salt`); a P2P shuffle of
  (band, bucket, position, size) only, `bucket_pairs` per bucket partition, then the
  text of the candidate pairs' members only (re-read) is joined to the pairs (two P2P
  merges) and verified by `linking_pairs` (exact Jaccard, pairs already linked skipped);
  `groups_from_pairs` (scipy connected components) and `split_contrasts` on the client.
- **Balance**: `BalanceCheck` on the label and group columns (two short columns
  gathered to the client; the counts are a reduction).

Row ids are ``<shard>:<row>`` (`dataqa.io.shards`): the findings name the same rows as
the local engine on the same shards, whatever the partitioning.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dataqa.checks import Context, check_class
from dataqa.dataset import ROW_ID, Dataset, Roles, from_frame
from dataqa.engine import DASK_CHECKS, EngineOptions
from dataqa.errors import DataQAError
from dataqa.findings import Finding, Report
from dataqa.io.shards import Piece, ShardSet, piece_positions, read_piece, row_ids

log = logging.getLogger("dataqa")


# ---- the cluster ----------------------------------------------------------------------


@contextmanager
def dask_client(opts: EngineOptions, *, processes: bool = True):
    """A `distributed.Client`: connected to `opts.scheduler`, or to a `LocalCluster` of
    one single-threaded worker process per CPU (or `opts.workers`), closed on exit.

    Raises
    ------
    DataQAError
        Dask is not installed, or the scheduler does not answer within
        `opts.connect_timeout` seconds.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise DataQAError(
            "--engine dask needs Dask", hint="pip install 'dataqa-finetune[scale]'"
        ) from None
    dask.config.set(
        {"dataframe.shuffle.method": "p2p", "distributed.scheduler.allowed-failures": 3}
    )
    # Dask's own chatter (a line per P2P shuffle started and stopped) is not for users:
    # dataqa reports its stages; real failures still come through as errors
    logging.getLogger("distributed").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
    cluster = None
    if opts.scheduler:
        try:
            client = Client(opts.scheduler, timeout=f"{opts.connect_timeout}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise DataQAError(
                f"cannot reach the Dask scheduler at {opts.scheduler} "
                f"({type(err).__name__}: {err}); nothing was read or written",
                hint="start it (`dask scheduler`) or check the address; without --scheduler "
                "dataqa starts a local cluster",
            ) from None
    else:
        workers = opts.workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0" if _has_bokeh() else None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        where = (
            opts.scheduler
            or f"a local cluster of {len(client.scheduler_info()['workers'])} workers"
        )
        link = client.dashboard_link if _has_bokeh() else None
        log.info(
            "dask: %s%s",
            where,
            f"; dashboard {link}" if link else " (dashboard: pip install bokeh)",
        )
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


@contextmanager
def _job(what: str):
    """Dask's failures as one paragraph: a worker that died on every retry, a lost
    scheduler. Nothing is written before a job has finished."""
    from distributed import KilledWorker

    try:
        yield
    except KilledWorker as err:
        raise DataQAError(
            f"{what} failed: a Dask worker died {err.args[1] if len(err.args) > 1 else ''} "
            f"while running task {err.task!r} on every retry; nothing was written",
            hint="see the workers' logs (out of memory?); give workers more memory or "
            "smaller shards, and run again",
        ) from None
    except (OSError, TimeoutError) as err:
        if isinstance(err, DataQAError):
            raise
        raise DataQAError(
            f"{what} failed: lost the Dask cluster ({type(err).__name__}: {err}); nothing "
            "was written",
            hint="check the scheduler and run again",
        ) from None


# ---- what each piece does -------------------------------------------------------------


@dataclass
class Plan:
    """What every task needs: roles, the checks and their options, dataset-wide facts."""

    roles: Roles
    checks: list[str]
    options: dict[str, dict]
    seed: int
    facts: dict = field(default_factory=dict)
    repairs: frozenset = frozenset()
    """Repair steps to apply to the text as each piece is read (clean)."""


def _piece_dataset(piece: Piece, plan: Plan) -> tuple[Dataset, np.ndarray]:
    frame = _repaired(read_piece(piece), plan)[0]
    r = plan.roles
    ds = from_frame(
        frame.reset_index(),
        text_col=r.text,
        label_col=r.label,
        group_col=r.group,
        id_col=ROW_ID,
        source=piece.path,
    )
    return ds, piece_positions(piece, len(frame))


def _repaired(frame: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The piece with its text repaired by `plan.repairs` (the clean stage's
    `apply_repairs`, every row through every step), and the change-log frames."""
    if not plan.repairs:
        return frame, []
    from dataqa.stages.clean import _is_string, apply_repairs

    col = frame[plan.roles.text]
    is_str = _is_string(col)
    text = col.astype(object).where(is_str, "")
    text, changes = apply_repairs(
        text, set(plan.repairs), None, set(frame.index[is_str.to_numpy()])
    )
    frame = frame.copy()
    frame[plan.roles.text] = text.where(is_str, col).astype(
        col.dtype if col.dtype != object else object
    )
    return frame, [c.assign(field=plan.roles.text) for c in changes]


def _piece_facts(piece: Piece, plan: Plan) -> dict:
    """Pass 1: the reductions behind hygiene's dataset-wide judgements, for one piece."""
    from dataqa.checks.hygiene import word_count_histogram
    from dataqa.text import UniqueText, word_units
    from dataqa.text.language import language_votes

    ds, _ = _piece_dataset(piece, plan)
    out: dict[str, Any] = {"rows": len(ds)}
    if ds.roles.label is not None:
        out["labels"] = ds.labels.dropna().value_counts()
    if "hygiene" in plan.checks:
        p = check_class("hygiene")(**plan.options.get("hygiene", {})).params
        u = UniqueText.of(ds.text)
        missing = ds.frame[ds.roles.text].isna().to_numpy()
        blank = u.rows(u.match(r"^\s*$")) & ~missing
        present = ~(missing | blank)
        words = word_units(u.arrow)[u.codes]
        out["words"] = word_count_histogram(words, present)
        if p["language"] is None:
            out["votes"] = language_votes(
                u, present, plan.seed, p["language_min_words"], p["language_min_letters"]
            )
    return out


def _piece_main(piece: Piece, plan: Plan):
    """Pass 2: hygiene's hits and stats, and each row's compact duplicate key, for one piece.

    The frame kept for the later stages holds no text and no row id (both are re-derived:
    text by re-reading the few rows a stage needs, ids from positions), so what a worker
    holds between stages is ~20 bytes a row.
    """
    ds, pos = _piece_dataset(piece, plan)
    hits, stats = [], {}
    if "hygiene" in plan.checks:
        from dataqa.checks.hygiene import GLOBAL_LABEL_COUNTS, GLOBAL_LENGTH_CENTER

        opts = dict(plan.options.get("hygiene", {}))
        if opts.get("language") is None and plan.facts.get("language"):
            opts["language"] = plan.facts["language"]
        ctx = Context(seed=plan.seed)
        ctx.cache[GLOBAL_LENGTH_CENTER] = plan.facts["length_center"]
        if "labels" in plan.facts:
            ctx.cache[GLOBAL_LABEL_COUNTS] = plan.facts["labels"]
        hits, stats = check_class("hygiene")(**opts).scan(ds, ctx)
        stats = {k: v for k, v in stats.items() if k in ("pii",)}
    key, h = _dedup_keys(ds.text)
    frame = pd.DataFrame(
        {
            "pos": pos,
            "h": h,
            "present": (key != "").to_numpy(),
            "label": _label_codes(ds, plan),
            "group": ds.groups.astype(object).to_numpy()
            if ds.roles.group
            else np.full(len(pos), None, dtype=object),
        }
    )
    return hits, stats, frame


def _keys_meta(plan: Plan) -> pd.DataFrame:
    """The (empty) compact frame `_piece_main` returns, for `dd.from_delayed`."""
    return pd.DataFrame(
        {
            "pos": np.zeros(0, np.int64),
            "h": np.zeros(0, np.int64),
            "present": np.zeros(0, bool),
            "label": pd.Categorical(
                [], categories=plan.facts["labels"].index if "labels" in plan.facts else None
            )
            if plan.roles.label
            else pd.Series([], dtype=object),
            "group": pd.Series([], dtype=object),
        }
    )


def _dedup_keys(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The duplicate key of each text (`normalize_for_dedup`) and its 64-bit hash: one
    definition for pass 2 and for the stages that re-read rows."""
    from dataqa.text import normalize_for_dedup

    keys = normalize_for_dedup(text)
    return keys, pd.util.hash_array(keys.to_numpy(dtype=object)).astype(np.int64)


def _label_codes(ds: Dataset, plan: Plan) -> pd.Categorical | np.ndarray:
    """Labels as categories of the dataset-wide label counts (1-2 bytes a row, not an
    object per row)."""
    if not ds.roles.label:
        return np.full(len(ds), None, dtype=object)
    known = plan.facts["labels"].index if "labels" in plan.facts else None
    return pd.Categorical(ds.labels.astype(object).to_numpy(), categories=known)


def _piece_keys(piece: Piece, plan: Plan, wanted: np.ndarray) -> pd.DataFrame:
    """Re-read one piece and return (pos, h, key) of its rows whose position is in the
    sorted array `wanted`: the text of only the rows a stage needs, never kept between
    stages. Keys and hashes are those of pass 2 (`_dedup_keys` of the repaired text)."""
    frame = _repaired(read_piece(piece, [plan.roles.text]), plan)[0]
    pos = piece_positions(piece, len(frame))
    at = np.searchsorted(wanted, pos)
    mine = (at < wanted.size) & (wanted[np.minimum(at, wanted.size - 1)] == pos)
    col = frame[plan.roles.text][mine]
    key, h = _dedup_keys(col.where(col.notna(), "").astype(str))
    return pd.DataFrame({"pos": pos[mine], "h": h, "key": key.to_numpy(dtype=object)})


# ---- the audit ------------------------------------------------------------------------


def audit_dask(
    shards: ShardSet,
    client,
    *,
    checks: list[str] | None = None,
    options: dict[str, dict] | None = None,
    seed: int = 0,
    text_col: str | None = None,
    label_col: str | None = None,
    group_col: str | None = None,
    repairs: frozenset = frozenset(),
    progress: bool = False,
) -> Report:
    """Audit sharded input on a Dask cluster; the Report the local engine would give for
    the same rows (same finding kinds, same row ids) for hygiene, duplicates and balance.

    Parameters
    ----------
    shards : ShardSet
        From `dataqa.io.shards.find_shards`.
    client : distributed.Client
        From `dask_client`.
    checks : list of str, optional
        Default: those of `DASK_CHECKS` whose roles exist. Others are refused.
    options : dict, optional
        Check name -> options, validated before anything runs.
    seed : int, default 0
    text_col, label_col, group_col : str, optional
        Column roles (guessed from the first piece when not given).
    repairs : frozenset, optional
        Repair steps applied to the text as pieces are read (clean).
    progress : bool, default False
        Bars on stderr (a terminal only) per stage.

    Returns
    -------
    Report

    Raises
    ------
    DataQAError
        A check the Dask engine does not run, a bad option, unreadable shards, or a
        cluster failure.
    """
    import dask

    from dataqa.checks.hygiene import length_center, merge_hits
    from dataqa.stages.audit import MAX_EXAMPLE_FINDINGS, MAX_EXAMPLES, attach_examples

    options = dict(options or {})
    pieces = shards.pieces()
    sample = read_piece(pieces[0])
    head = from_frame(
        sample.reset_index(drop=True).head(1000),
        text_col=text_col,
        label_col=label_col,
        group_col=group_col,
    )
    roles = Roles(text=head.roles.text, label=head.roles.label, group=head.roles.group)
    if head.roles.schema != "text":
        raise DataQAError(
            f"--engine dask audits text-classification shards; these hold {head.roles.schema} records",
            hint="use --engine local for conversation data",
        )
    explicit = checks is not None
    names = list(checks) if explicit else list(DASK_CHECKS)
    other = [c for c in names if c not in DASK_CHECKS]
    if other:
        raise DataQAError(
            f"the dask engine does not run the {other[0]!r} check yet",
            hint=f"it runs {', '.join(DASK_CHECKS)}; use --engine local for the others",
        )
    instances = {n: check_class(n)(**options.get(n, {})) for n in names}  # validate first
    if "labels" in names:
        from dataqa.engine.dask_labels import refuse

        refuse(instances["labels"].params)
    skipped: dict[str, str] = {}
    if not explicit:  # the verdict must own up to the default checks Dask does not run yet
        from dataqa.checks import DEFAULT_CHECKS

        for n in DEFAULT_CHECKS:
            if n not in DASK_CHECKS and n != "conversations":
                skipped[n] = "not run on --engine dask yet (run --engine local for it)"
    for n in list(names):
        missing = [r for r in instances[n].needs if getattr(roles, r) is None]
        if missing and explicit:  # asked for by name: as the local engine, not a no-op
            raise DataQAError(
                f"the {n} check needs a {missing[0]} column and none was found",
                hint=f"name it with --{missing[0]}-col, or leave {n} out of the checks",
            )
        if missing:
            skipped[n] = f"needs a {missing[0]} column (--{missing[0]}-col)"
            names.remove(n)
    plan = Plan(roles, names, options, seed, repairs=frozenset(repairs))
    report = Report()
    timings: dict[str, float] = {}
    notes: list[str] = []
    import time

    from dataqa.engine.dask_progress import compute, wait

    with _job("the audit"):
        # pass 1: dataset-wide facts
        t0 = time.perf_counter()
        parts = compute(
            client,
            [dask.delayed(_piece_facts)(p, plan) for p in pieces],
            "audit: dataset facts",
            progress,
        )
        rows = sum(p["rows"] for p in parts)
        if roles.label is not None:
            plan.facts["labels"] = (
                pd.concat([p["labels"] for p in parts]).groupby(level=0, sort=False).sum()
            )
        if "hygiene" in names:
            hist = pd.concat([p["words"] for p in parts]).groupby(level=0).sum()
            plan.facts["length_center"] = length_center(hist)
            votes = sum((p.get("votes", Counter()) for p in parts), Counter())
            plan.facts["language"] = votes.most_common(1)[0][0] if votes else None
        timings["facts"] = round(time.perf_counter() - t0, 3)

        # pass 2: hygiene and the keys, one read of every piece
        t0 = time.perf_counter()
        mains = [dask.delayed(_piece_main, nout=3)(p, plan) for p in pieces]
        meta = _keys_meta(plan)
        import dask.dataframe as dd

        keys = dd.from_delayed([m[2] for m in mains], meta=meta, verify_meta=False)
        keys, hits_parts, stats_parts = dask.persist(
            keys, [m[0] for m in mains], [m[1] for m in mains]
        )
        wait([keys, hits_parts, stats_parts], "audit: hygiene and duplicate keys", progress)
        hits_parts, stats_parts = dask.compute(hits_parts, stats_parts)
        if "hygiene" in names:
            hyg = instances["hygiene"]
            findings = hyg.findings_of(merge_hits(list(hits_parts)))
            stats = {"engine": "dask", "language": {"main": plan.facts.get("language")}}
            pii = sum((Counter(s.get("pii", {})) for s in stats_parts), Counter())
            if pii:
                stats["pii"] = dict(pii)
            report.findings.extend(findings)
            report.stats["hygiene"] = stats
            timings["hygiene"] = round(time.perf_counter() - t0, 3)

        if "duplicates" in names:
            t0 = time.perf_counter()
            if progress:  # shuffles: no task count to draw, a line instead
                log.info("audit: duplicates (P2P shuffles on the cluster) ...")
            f, stats = _duplicates(keys, rows, instances["duplicates"].params, roles, pieces, plan)
            report.findings.extend(f)
            report.stats["duplicates"] = stats
            timings["duplicates"] = round(time.perf_counter() - t0, 3)

        if "labels" in names:
            from dataqa.engine.dask_labels import labels_on_dask

            t0 = time.perf_counter()
            near = [f.row_ids for f in report.findings if f.check == "duplicates.near"]
            f, stats, tables, label_notes = labels_on_dask(
                client,
                pieces,
                _piece_dataset,
                plan,
                instances["labels"].params,
                plan.facts["labels"],
                near_groups=near,
                progress=progress,
            )
            report.findings.extend(f)
            report.stats["labels"] = stats
            report.tables.update(tables)
            notes += label_notes
            timings["labels"] = round(time.perf_counter() - t0, 3)

        if "balance" in names:
            t0 = time.perf_counter()
            # two short columns to the client; the counts themselves are a reduction
            lab = keys[["pos", "label", "group"]].compute()
            frame = pd.DataFrame(
                {roles.text: "", roles.label: lab["label"].astype(object).to_numpy()}
                | ({roles.group: lab["group"].to_numpy()} if roles.group else {}),
                index=row_ids(pieces, lab["pos"].to_numpy()),
            )
            ds = Dataset(frame, roles, shards.pattern)
            result = instances["balance"].run(ds, Context(seed=seed))
            report.findings.extend(result.findings)
            report.stats["balance"] = result.stats
            timings["balance"] = round(time.perf_counter() - t0, 3)

        # examples: the text of the few rows each report section shows
        # only the rows `attach_examples` shows: 20 rows of the first findings per check
        seen: Counter = Counter()
        wanted = set()
        for f in report.findings:
            if not f.row_ids:
                continue
            seen[f.check] += 1
            if seen[f.check] <= MAX_EXAMPLE_FINDINGS:
                wanted.update(f.row_ids[:MAX_EXAMPLES])
        if wanted:
            texts = pd.concat(
                compute(
                    client,
                    [dask.delayed(_rows_text)(p, roles, wanted) for p in pieces],
                    "audit: examples",
                    progress,
                )
            )
            if len(texts):
                attach_examples(report.findings, Dataset(texts, roles, shards.pattern))
    report.stats["dataset"] = {
        "rows": rows,
        "roles": roles.as_dict(),
        **(
            {
                "classes": int(plan.facts["labels"].size),
                "label_counts": {str(k): int(v) for k, v in plan.facts["labels"].items()},
            }
            if "labels" in plan.facts
            else {}
        ),
    }
    from datetime import UTC, datetime

    from dataqa import __version__

    report.meta = {
        "tool": "dataqa",
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {
            "path": shards.pattern,
            "shards": len(shards.paths),
            "rows": rows,
            "roles": roles.as_dict(),
        },
        "engine": {
            "name": "dask",
            "pieces": len(pieces),
            "workers": len(client.scheduler_info()["workers"]),
        },
        "checks": names,
        "skipped": skipped,
        "options": options,
        "seed": seed,
        "timings_s": timings,
        "notes": notes,
    }
    return report


def _rows_text(piece: Piece, roles: Roles, ids: set) -> pd.DataFrame:
    frame = read_piece(piece)
    cols = [c for c in (roles.text, roles.label) if c]
    return frame.loc[frame.index.isin(ids), cols].astype(object)


def _rows(frame: pd.DataFrame, column: str, values: np.ndarray) -> pd.DataFrame:
    """The rows (pos, h, label) of a piece's compact frame whose `column` is in `values`."""
    return frame.loc[frame[column].isin(values), ["pos", "h", "label"]]


SALT_ROWS = 1 << 10
"""A piece's rows in one LSH bucket beyond this many are spread over salted sub-buckets."""


def _piece_band_keys(
    piece: Piece, plan: Plan, reps: np.ndarray, params: dict, salt_rows: int
) -> tuple[pd.DataFrame, int]:
    """The LSH band keys (`band_keys`) of a piece's representative rows, skewed buckets
    salted (`_salt`), and how many buckets were salted; the text is re-read here and goes
    no further."""
    from dataqa.minhash import band_keys

    mine = _piece_keys(piece, plan, reps)
    keys = pd.Series(mine["key"].to_numpy(dtype=object), index=mine["pos"].to_numpy())
    return _salt(band_keys(keys, **params), salt_rows)


def _salt(bands: pd.DataFrame, salt_rows: int) -> tuple[pd.DataFrame, int]:
    """Spread the rows of buckets holding more than `salt_rows` of this piece's rows over
    sub-buckets, so that no shuffle partition receives a whole giant bucket.

    A bucket of n rows gets S = ceil(n / salt_rows) sub-buckets: each row goes to one of
    them by a hash of (row, band), and the rows of sub-bucket 0 (the anchors) also go to
    every other sub-bucket. Each sub-bucket therefore holds about 2 x `salt_rows` rows
    from this piece, and every sub-bucket shares its anchors with sub-bucket 0, which is
    also where the other pieces' rows of the bucket meet (a piece that does not salt a
    bucket sends it whole to sub-bucket 0, the bucket's own key). The candidate pairs
    stay linked across sub-buckets, so the connected components are those of the
    unsalted bucket whenever its rows are similar to their neighbours.
    Returns the rows and the number of buckets salted.
    """
    from dataqa.minhash import _fmix64

    bucket = bands["bucket"].to_numpy()
    counts = pd.Series(bucket).value_counts(sort=False)
    heavy = counts[counts > salt_rows]
    if heavy.empty:
        return bands, 0
    n = pd.Series(bucket).map(heavy).to_numpy()
    hit = ~np.isnan(n)
    light, big = bands[~hit], bands[hit]
    n_salts = np.ceil(n[hit] / salt_rows).astype(np.uint64)
    row = big["row"].to_numpy().astype(np.uint64)
    mix = _fmix64(row * np.uint64(0x9E3779B97F4A7C15) + big["band"].to_numpy().astype(np.uint64))
    salt = mix % n_salts
    anchor = salt == 0
    # anchors: one copy per sub-bucket 1..S-1 besides their own (sub-bucket 0)
    reps = np.where(anchor, n_salts, np.uint64(1)).astype(np.int64)
    idx = np.repeat(np.arange(len(big)), reps)
    start = np.cumsum(reps) - reps
    k = (np.arange(idx.size) - np.repeat(start, reps)).astype(np.uint64)  # 0..reps-1
    sub = np.where(anchor[idx], k, salt[idx])  # anchors: 0, 1, .., S-1
    out = big.iloc[idx].reset_index(drop=True)
    b = out["bucket"].to_numpy()
    out["bucket"] = np.where(sub == 0, b, _fmix64(b ^ _fmix64(sub + np.uint64(1))))
    return pd.concat([light, out], ignore_index=True), len(heavy)


def _pair_members(pairs: pd.DataFrame) -> np.ndarray:
    from dataqa.minhash import _sorted_unique

    both = np.concatenate([pairs["left"].to_numpy(), pairs["right"].to_numpy()])
    return _sorted_unique(both.astype(np.int64).view(np.uint64)).view(np.int64)


def _largest_bucket(bands: pd.DataFrame) -> pd.Series:
    # the band is mixed into the bucket hash: counting buckets counts (band, bucket)s
    n = pd.Series(bands["bucket"].to_numpy()).value_counts().max() if len(bands) else 0
    return pd.Series([int(n)])


def _verify(pairs: pd.DataFrame, threshold: float, shingle: str, ngram: int) -> pd.DataFrame:
    """Exact Jaccard of joined candidate pairs: the pairs that link groups (`linking_pairs`:
    a pair whose rows are already joined through verified pairs of this partition is not
    verified; the components are the same), with both keys and hashes (the client needs
    them for contrasts and expansion)."""
    from dataqa.minhash import linking_pairs

    at, sim = linking_pairs(pairs["lkey"], pairs["rkey"], threshold, shingle=shingle, ngram=ngram)
    out = pairs.iloc[at][["left", "right", "lkey", "rkey", "lh", "rh"]].reset_index(drop=True)
    out["sim"] = sim
    return out


def _duplicates(keys, n_rows: int, p: dict, roles: Roles, pieces: list[Piece], plan: Plan):
    """Exact and near duplicates over the compact keys (see the module docstring)."""
    import dask
    import dask.dataframe as dd

    from dataqa.checks.duplicates import group_findings, split_contrasts
    from dataqa.minhash import _sorted_unique, bucket_pairs, groups_from_pairs

    present = keys[keys["present"]]
    by_hash = (
        present[["h", "pos"]]
        .groupby("h")
        .agg({"pos": ["count", "min"]}, split_out=max(1, present.npartitions), shuffle_method="p2p")
    )
    by_hash.columns = ["n", "first"]
    by_hash = by_hash.compute()
    dup_hashes = by_hash.index[by_hash["n"] > 1].to_numpy()
    meta = {"pos": np.int64, "h": np.int64, "label": keys["label"].dtype}
    members = keys.map_partitions(_rows, "h", dup_hashes, meta=meta).compute()
    members = members.sort_values("pos", kind="stable")
    ids = row_ids(pieces, members["pos"].to_numpy())
    labels = (
        pd.Series(members["label"].astype(object).to_numpy(), index=ids) if roles.label else None
    )
    exact = pd.Series(pd.factorize(members["h"], sort=False)[0], index=ids)
    findings: list[Finding] = group_findings("exact", exact, None, labels)
    stats: dict[str, Any] = {
        "engine": "dask",
        "exact_groups": int(exact.nunique()),
        "exact_rows": int(len(exact)),
        "exact_redundant_rows": int(len(exact) - exact.nunique()),
    }
    if p["near"]:
        reps = np.sort(by_hash["first"].to_numpy())
        del by_hash
        params = {k: p[k] for k in ("threshold", "num_perm", "shingle", "ngram", "seed")}
        band_meta = {"band": np.uint8, "bucket": np.uint64, "row": np.int64, "size": np.int64}
        reps_d = dask.delayed(reps, pure=True)
        parts = [
            dask.delayed(_piece_band_keys, nout=2)(piece, plan, reps_d, params, SALT_ROWS)
            for piece in pieces
        ]
        bands = dd.from_delayed([b for b, _ in parts], meta=band_meta, verify_meta=False).shuffle(
            "bucket", shuffle_method="p2p"
        )
        pairs = bands.map_partitions(
            bucket_pairs, p["threshold"], meta={"left": np.int64, "right": np.int64}
        ).drop_duplicates(split_out=max(1, keys.npartitions), shuffle_method="p2p")
        largest = bands.map_partitions(_largest_bucket, meta=(None, np.int64))
        pairs, largest, salted = dask.persist(pairs, largest, [n for _, n in parts])
        stats["salted_buckets"] = int(sum(dask.compute(*salted)))
        stats["largest_bucket_rows"] = int(largest.max().compute())
        wanted = _sorted_unique(
            np.concatenate(
                dask.compute(*[dask.delayed(_pair_members)(d) for d in pairs.to_delayed()])
            ).view(np.uint64)
        ).view(np.int64)
        edges = pd.DataFrame()
        if wanted.size:
            wanted_d = dask.delayed(wanted, pure=True)
            texts = dd.from_delayed(
                [dask.delayed(_piece_keys)(piece, plan, wanted_d) for piece in pieces],
                meta={"pos": np.int64, "h": np.int64, "key": object},
                verify_meta=False,
            )
            left = texts.rename(columns={"pos": "left", "key": "lkey", "h": "lh"})
            right = texts.rename(columns={"pos": "right", "key": "rkey", "h": "rh"})
            joined = pairs.merge(left, on="left", shuffle_method="p2p").merge(
                right, on="right", shuffle_method="p2p"
            )
            edges = joined.map_partitions(
                _verify,
                p["threshold"],
                p["shingle"],
                p["ngram"],
                meta={
                    "left": np.int64,
                    "right": np.int64,
                    "lkey": object,
                    "rkey": object,
                    "lh": np.int64,
                    "rh": np.int64,
                    "sim": float,
                },
            ).compute()
        del pairs
        near_rows: pd.Series = pd.Series([], dtype=np.int64)
        groups = pd.Series([], dtype=np.int64)
        if len(edges):
            ends = np.concatenate([edges["left"].to_numpy(), edges["right"].to_numpy()])
            nodes, at = np.unique(ends, return_inverse=True)  # sort-based with the inverse
            groups, sims = groups_from_pairs(
                pd.Index(nodes), at[: len(edges)], at[len(edges) :], edges["sim"].to_numpy()
            )
            node = pd.DataFrame(
                {
                    "key": np.concatenate([edges["lkey"].to_numpy(), edges["rkey"].to_numpy()]),
                    "h": np.concatenate([edges["lh"].to_numpy(), edges["rh"].to_numpy()]),
                },
                index=ends,
            )
            node = node[~node.index.duplicated()]
            groups, sims = split_contrasts(groups, node["key"], sims)
        if len(groups):
            group_of_hash = pd.Series(
                groups.to_numpy(), index=node.loc[groups.index, "h"].to_numpy()
            )
            rows = (
                keys.map_partitions(_rows, "h", group_of_hash.index.to_numpy(), meta=meta)
                .compute()
                .sort_values("pos", kind="stable")
            )
            ids = row_ids(pieces, rows["pos"].to_numpy())
            near_rows = pd.Series(rows["h"].map(group_of_hash).to_numpy(dtype=np.int64), index=ids)
            near_labels = (
                pd.Series(rows["label"].astype(object).to_numpy(), index=ids)
                if roles.label
                else None
            )
            findings += group_findings("near", near_rows, None, near_labels, sims)
        stats.update(
            {
                "near_groups": int(near_rows.nunique()),
                "near_rows": int(len(near_rows)),
                "near_redundant_rows": int(groups.size - groups.nunique()),
            }
        )
    stats["duplicate_rate"] = round(
        (stats["exact_redundant_rows"] + stats.get("near_redundant_rows", 0)) / max(n_rows, 1),
        6,
    )
    return findings, stats


# ---- clean ----------------------------------------------------------------------------


SHARDS_MANIFEST = "_dataqa_shards.json"


def clean_dask(
    shards: ShardSet,
    client,
    outputs: tuple,
    *,
    options=None,
    seed: int = 0,
    text_col: str | None = None,
    label_col: str | None = None,
    group_col: str | None = None,
    progress: bool = False,
) -> dict:
    """Clean sharded input on a Dask cluster into sharded Parquet: kept, quarantine, changes.

    The local clean's phases, with its own functions: every piece's text goes through
    the repair steps whose policy is `apply` (`apply_repairs`); the decisions come from
    `audit_dask` of the repaired rows and `decide`; then each piece is split into kept
    (repaired, relabelled) and quarantined (unchanged, with `dataqa_reasons`) rows and
    written as `part-NNNNN.parquet` into staging folders. Rows in must equal kept plus
    quarantined, by id, before the three folders are moved in as one set
    (`write_outputs`: temporaries, a journal, renames); otherwise nothing is written.

    Parameters
    ----------
    shards : ShardSet
    client : distributed.Client
    outputs : (Path, Path, Path)
        Kept, quarantine and change-log folders.
    options : CleanOptions, optional
    seed : int, default 0
    text_col, label_col, group_col : str, optional
    progress : bool, default False
        Bars on stderr (a terminal only) per stage.

    Returns
    -------
    dict
        The summary: rows in, kept, quarantined, changed, reasons, outputs.

    Raises
    ------
    DataQAError
        An option the Dask engine does not take yet, bad input, a cluster failure, or
        rows that do not add up (nothing is written then).
    """
    import json
    import secrets
    import shutil
    from pathlib import Path

    import dask

    from dataqa.engine.dask_progress import compute
    from dataqa.fixes import RepairText
    from dataqa.io.writers import write_outputs
    from dataqa.stages.clean import CleanOptions, decide
    from dataqa.stages.policies import policy_for
    from dataqa.text.repairs import REPAIRS

    opts = options or CleanOptions()
    kinds = {k.name: k for n in ("hygiene", "duplicates", "balance") for k in check_class(n).kinds}
    policy = {name: policy_for(kind, opts) for name, kind in kinds.items()}
    if policy.get("duplicates.exact") == "longest" or policy.get("duplicates.near") == "longest":
        raise DataQAError(
            "--dedupe longest is not available with --engine dask yet",
            hint="use --dedupe first, or --engine local",
        )
    steps = {
        kinds[n].step for n, k in kinds.items() if k.fix is RepairText and policy[n] == "apply"
    }
    exact_only = {"correct_typos"}  # flags rows above a rate, not every row it would change
    if steps & exact_only:
        raise DataQAError(
            "--fix-typos is not available with --engine dask yet", hint="use --engine local"
        )
    steps = frozenset(s for s in steps if s in REPAIRS and s != "repair_surrogates")
    report = audit_dask(
        shards,
        client,
        checks=["hygiene", "duplicates"],
        options=opts.audit_options,
        seed=seed,
        text_col=text_col,
        label_col=label_col,
        group_col=group_col,
        repairs=steps,
        progress=progress,
    )
    book = decide(report.findings, policy, opts)
    roles = Roles(**{k: v for k, v in report.meta["input"]["roles"].items() if k != "id"})
    plan = Plan(roles, [], {}, seed, repairs=steps)
    kept_out, q_out, c_out = (Path(p) for p in outputs)
    stage = kept_out.parent / f".{kept_out.name}.dataqa-stage-{os.getpid()}-{secrets.token_hex(4)}"
    dirs = {
        "kept": stage / "kept",
        "quarantine": stage / "quarantine",
        "changes": stage / "changes",
    }
    for d in dirs.values():
        d.mkdir(parents=True)
    try:
        with _job("clean"):
            pieces = shards.pieces()
            counts = compute(
                client,
                [
                    dask.delayed(_piece_write)(i, p, plan, book.reasons, book.relabels, dirs)
                    for i, p in enumerate(pieces)
                ],
                "clean: write parts",
                progress,
            )
        rows_in = sum(c["rows"] for c in counts)
        kept = sum(c["kept"] for c in counts)
        quarantined = sum(c["quarantined"] for c in counts)
        if kept + quarantined != rows_in or quarantined != len(book.reasons):
            raise AssertionError(
                f"dataqa bug: rows lost or doubled in clean (in={rows_in}, kept={kept}, "
                f"quarantined={quarantined}, to quarantine={len(book.reasons)}); nothing was written"
            )
        summary = {
            "engine": "dask",
            "rows_in": rows_in,
            "rows_kept": kept,
            "rows_quarantined": quarantined,
            "rows_changed": sum(c["changed"] for c in counts),
            "changes_by_step": dict(sum((Counter(c["steps"]) for c in counts), Counter())),
            "quarantine_reasons": dict(
                Counter(
                    w.split(":")[0].split(" of row")[0] for ws in book.reasons.values() for w in ws
                ).most_common()
            ),
            "outputs": {"kept": str(kept_out), "quarantine": str(q_out), "changes": str(c_out)},
        }
        for name, d in dirs.items():
            (d / SHARDS_MANIFEST).write_text(
                json.dumps({"dataqa": name, "parts": len(pieces), **summary}, indent=1)
            )

        def mover(src: Path):
            return lambda tmp: os.replace(src, tmp)

        write_outputs(
            [
                (kept_out, mover(dirs["kept"])),
                (q_out, mover(dirs["quarantine"])),
                (c_out, mover(dirs["changes"])),
            ]
        )
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


def _piece_write(
    i: int, piece: Piece, plan: Plan, reasons: dict, relabels: dict, dirs: dict
) -> dict:
    """Split one piece into kept and quarantined rows and write its three parts."""
    from dataqa.dataset import label_like
    from dataqa.stages.clean import CHANGE_COLUMNS, REASONS_COL, _change

    original = read_piece(piece)
    fixed, changes = _repaired(original, plan)
    q = original.index.isin(list(reasons))
    kept = fixed.loc[~q].copy()
    label = plan.roles.label
    if label and relabels:
        for r in kept.index.intersection(list(relabels)):
            before = kept.at[r, label]
            if str(before) != str(relabels[r]):
                changes.append(_change([r], label, [before], [relabels[r]], "relabel"))
                kept.at[r, label] = label_like(kept[label], relabels[r])
    quarantine = original.loc[q].copy()
    quarantine[REASONS_COL] = ["; ".join(reasons[r]) for r in quarantine.index]
    log = pd.concat(changes, ignore_index=True) if changes else pd.DataFrame(columns=CHANGE_COLUMNS)
    if len(log):  # a quarantined row goes out unchanged: its repairs are not edits (as local)
        log = log[~log["dataqa_row_id"].isin(quarantine.index)].reset_index(drop=True)
    for c in ("before", "after"):
        log[c] = log[c].astype(object).map(lambda v: None if v is None else str(v))
    name = f"part-{i:05d}.parquet"
    kept.reset_index().to_parquet(dirs["kept"] / name, index=False)
    quarantine.reset_index().to_parquet(dirs["quarantine"] / name, index=False)
    log.to_parquet(dirs["changes"] / name, index=False)
    return {
        "rows": len(original),
        "kept": len(kept),
        "quarantined": int(q.sum()),
        "changed": int(log["dataqa_row_id"].nunique()) if len(log) else 0,
        "steps": log["step"].value_counts().to_dict() if len(log) else {},
    }
