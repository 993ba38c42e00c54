"""The augment stage: grow thin classes with filtered paraphrases, every new row traceable.

`augment(ds, methods, plan=... | target=... | per_class=... | factor=...)` returns the
dataset with the new rows appended and a stats dict. For each method in turn and each
cell of the plan (a class, or a class within a group), it generates candidates from the
cell's source rows (cycling through them in a seeded order, each source giving at most
`max_per_source` rows), runs the label-preservation filter, keeps the first passing
candidates up to the method's share, and goes another round while a cell is short and
the method can still vary its output. What one method cannot supply passes to the next
method in the list.

New rows get ids "aug-<n>" (never colliding with existing ids) and provenance columns:
`dataqa_source_id` (the row paraphrased), `dataqa_method`, `dataqa_params` (JSON: rate,
EDA operation, engine, filter scores...) and `dataqa_seed` (the row's own seed:
re-running the method on the source with it gives the same text). Original rows have
them empty. Same input + same seed = same output.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataqa.augmentation.eda import EdaRates
from dataqa.augmentation.filter import REASONS, FilterOptions, filter_candidates, fit_label_model
from dataqa.augmentation.plan import (
    PROVENANCE,
    Plan,
    adopt_group_column,
    make_plan,
    read_plan,
    refuse_test_split,
    source_rows,
)
from dataqa.dataset import ROW_ID, Dataset, as_dataset
from dataqa.errors import DataQAError
from dataqa.progress import stage
from dataqa.text import normalize_for_dedup

METHODS = ("synonym", "eda", "backtranslate")
ENGLISH = ("en", "eng", "english")


@dataclass(frozen=True)
class AugmentOptions:
    """How to generate and filter. Defaults: native WordNet synonyms at a 10% edit rate,
    EDA at the paper's 0.1 per operation, Apertium back-translation through Spanish, the
    filter on with the source label required to stay the classifier's top class."""

    rate: float = 0.1
    eda: EdaRates = field(default_factory=EdaRates)
    synonym_backend: str = "native"  # native | nlpaug
    engine: str = "apertium"  # apertium | marian
    model: str | None = None  # Marian en->pivot checkpoint (folder or hub name)
    back_model: str | None = None  # Marian pivot->en checkpoint
    pivot: str = "spa"
    device: str | None = None
    batch_size: int = 32
    threads: int | None = None  # torch CPU threads for Marian (None: torch's default)
    filter: FilterOptions = field(default_factory=FilterOptions)
    max_per_source: int = 8
    max_rounds: int = 4
    language: str = "en"
    check_language: bool = True
    wordnet_dir: str | None = None

    def __post_init__(self) -> None:
        if self.language.lower() not in ENGLISH:
            raise DataQAError(
                f"augmentation supports English text only, not {self.language!r}",
                hint="WordNet, the stop-word lists and the eng-spa Apertium pair are English",
            )
        if not 0.0 < self.rate <= 1.0:
            raise DataQAError(f"the synonym rate must be in (0, 1], not {self.rate}")
        if self.synonym_backend not in ("native", "nlpaug"):
            raise DataQAError(
                f"unknown synonym backend {self.synonym_backend!r}", hint="use native or nlpaug"
            )
        if self.engine not in ("apertium", "marian"):
            raise DataQAError(
                f"unknown back-translation engine {self.engine!r}", hint="use apertium or marian"
            )
        if self.max_per_source < 1:
            raise DataQAError(f"max_per_source must be at least 1, not {self.max_per_source}")


def parse_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = methods.split(",")
    out = tuple(m.strip().lower() for m in methods if m and m.strip())
    bad = [m for m in out if m not in METHODS]
    if bad or not out:
        raise DataQAError(
            f"unknown augmentation method {bad[0] if bad else ''!r}",
            hint=f"choose from {', '.join(METHODS)} (comma-separated for several)",
        )
    return tuple(dict.fromkeys(out))


def check_language(ds: Dataset, sources: pd.Index, seed: int = 0) -> None:
    """Refuse text that is mostly not English (WordNet and Apertium's pair are English)."""
    from dataqa.text import language_identifier

    text = ds.text.loc[sources]
    text = text[text.str.count(r"\S+") >= 3]
    if text.empty:
        return
    sample = text.sample(min(len(text), 300), random_state=seed)
    ident = language_identifier()
    votes = pd.Series([ident.classify(t)[0] for t in sample]).value_counts()
    if votes.index[0] != "en" and votes.iloc[0] > 0.5 * len(sample):
        raise DataQAError(
            f"the text looks like {votes.index[0]!r}, not English "
            f"({votes.iloc[0]} of {len(sample)} sampled rows), and augmentation supports "
            "English only",
            path=ds.source,
            column=ds.roles.text,
            hint="augment an English dataset, or pass check_language=False if the detector "
            "is wrong",
        )


def preflight(methods: tuple[str, ...], opts: AugmentOptions) -> None:
    """Fail on a missing engine before any slow work (loading data, fitting the filter)."""
    needs_wordnet = "synonym" in methods or (
        "eda" in methods and (opts.eda.synonym > 0 or opts.eda.insert > 0)
    )
    if needs_wordnet:
        from dataqa.augmentation.wordnet import load_wordnet

        load_wordnet(opts.wordnet_dir)
    if "synonym" in methods and opts.synonym_backend == "nlpaug":
        from dataqa.augmentation.wordnet import nltk_data_dir

        nltk_data_dir(opts.wordnet_dir)
    if "backtranslate" in methods:
        from dataqa.augmentation import backtranslate as bt

        if opts.engine == "apertium":
            modes = bt.apertium_modes()
            for mode in (f"eng-{opts.pivot}", f"{opts.pivot}-eng"):
                if mode not in modes:
                    package = bt.APERTIUM_PAIRS.get(opts.pivot, f"apertium-eng-{opts.pivot}")
                    raise DataQAError(
                        f"the Apertium language pair {mode} is not installed",
                        hint=f"install the Debian package {package} (apt-get install {package})",
                    )
        else:
            for name in bt.model_names(opts.model, opts.back_model):
                bt.check_checkpoint(name)


def row_seed(seed: int, method: str, source_id, variant: int) -> int:
    """A row's own seed, stable across processes (Python's hash() is not)."""
    h = hashlib.blake2b(f"{seed}|{method}|{source_id}|{variant}".encode(), digest_size=4)
    return int.from_bytes(h.digest(), "big")


class _Generators:
    """Runs one method over a batch of (text, seed, variant); holds loaded models."""

    def __init__(self, opts: AugmentOptions, seed: int) -> None:
        self.opts = opts
        self.seed = seed
        self._nlpaug = None
        self._marian: dict = {}

    def varies(self, method: str) -> bool:
        """Can one source give several different outputs? (Apertium cannot.)"""
        return not (method == "backtranslate" and self.opts.engine == "apertium")

    def run(self, method: str, texts: list[str], seeds: list[int], variants: list[int]):
        o = self.opts
        if method == "synonym":
            if o.synonym_backend == "nlpaug":
                from dataqa.augmentation.synonym import nlpaug_augmenter, nlpaug_synonyms

                if self._nlpaug is None:
                    self._nlpaug = nlpaug_augmenter(o.rate, wordnet_dir=o.wordnet_dir)
                outs = nlpaug_synonyms(texts, seeds, augmenter=self._nlpaug)
            else:
                from dataqa.augmentation.synonym import synonym_batch

                outs = synonym_batch(texts, seeds, rate=o.rate, wordnet_dir=o.wordnet_dir)
            params = {"rate": o.rate, "backend": o.synonym_backend}
            return outs, [params] * len(outs)
        if method == "eda":
            from dataqa.augmentation.eda import eda_batch

            res = eda_batch(texts, seeds, rates=o.eda, wordnet_dir=o.wordnet_dir)
            return [t for t, _ in res], [{"op": op, "rate": getattr(o.eda, op)} for _, op in res]
        if o.engine == "apertium":
            from dataqa.augmentation.backtranslate import apertium_roundtrip

            params = {"engine": "apertium", "pivot": o.pivot}
            return apertium_roundtrip(texts, o.pivot), [params] * len(texts)
        return self._marian_run(texts, variants)

    def _marian_run(self, texts: list[str], variants: list[int]):
        from dataqa.augmentation.backtranslate import marian_roundtrip, model_names

        o = self.opts
        fwd, bwd = model_names(o.model, o.back_model)
        outs: list[str] = [""] * len(texts)
        params: list[dict] = [{}] * len(texts)
        for sampled in (False, True):
            idx = [i for i, v in enumerate(variants) if (v > 0) == sampled]
            if not idx:
                continue
            batch_seed = row_seed(self.seed, "marian", idx[0], variants[idx[0]])
            res = marian_roundtrip(
                [texts[i] for i in idx],
                fwd,
                bwd,
                device=o.device,
                batch_size=o.batch_size,
                sample=sampled,
                seed=batch_seed,
                cache=self._marian,
                threads=o.threads,
            )
            p: dict[str, Any] = {
                "engine": "marian",
                "model": fwd,
                "back_model": bwd,
                "sampled": sampled,
            }
            if sampled:
                p["batch_seed"] = batch_seed
            for i, r in zip(idx, res, strict=True):
                outs[i], params[i] = r, p
        return outs, params


def _new_ids(existing: pd.Index, n: int) -> list[str]:
    """n fresh ids "aug-<k>", after any aug-<k> already present."""
    taken = [int(m.group(1)) for m in (re.fullmatch(r"aug-(\d+)", str(i)) for i in existing) if m]
    start = max(taken) + 1 if taken else 0
    strs = {str(i) for i in existing}
    out: list[str] = []
    k = start
    while len(out) < n:
        if f"aug-{k}" not in strs:
            out.append(f"aug-{k}")
        k += 1
    return out


@dataclass
class AugmentResult:
    """What `augment` returns; unpacks as `(augmented, stats)` too.

    Attributes
    ----------
    augmented : Dataset
        The input rows plus the new ones (ids `aug-<n>`, provenance columns).
    stats : dict
        Planned, generated, kept and rejected (by reason) per method and class.
    """

    augmented: Dataset
    stats: dict

    def __iter__(self):
        yield self.augmented
        yield self.stats

    def __getitem__(self, i: int):
        return (self.augmented, self.stats)[i]

    def _repr_html_(self) -> str:
        """A summary for Jupyter: rows in and out, and per method what was kept and why
        candidates were rejected."""
        from dataqa.text.visible import escape_visible as esc

        s = self.stats
        rows = "".join(
            "<tr><td>{}</td><td style='text-align:right'>{:,}</td>"
            "<td style='text-align:right'>{:,}</td><td>{}</td></tr>".format(
                esc(str(m)),
                c.get("generated", 0),
                c.get("kept", 0),
                esc(
                    ", ".join(
                        f"{r} {n:,}"
                        for r, n in sorted(c.get("rejected", {}).items(), key=lambda kv: -kv[1])
                    )
                ),
            )
            for m, c in s.get("by_method", {}).items()
        )
        return (
            f"<div class='dataqa-augment'><p><b>dataqa augment</b>: {s['rows_in']:,} rows in "
            f"&rarr; {s['rows_out']:,} rows ({s['rows_added']:,} added)</p>"
            + (
                "<table><thead><tr><th>method</th><th>generated</th><th>kept</th>"
                f"<th>rejected</th></tr></thead><tbody>{rows}</tbody></table>"
                if rows
                else ""
            )
            + "</div>"
        )


def augment(
    data,
    methods=("synonym",),
    *,
    plan: dict | str | Path | None = None,
    target: str | None = None,
    per_class: int | None = None,
    factor: float | None = None,
    options: AugmentOptions | None = None,
    seed: int = 0,
    split: str | None = None,
    progress: bool = False,
    **roles: str | None,
) -> AugmentResult:
    """Add filtered paraphrases of training rows where the plan asks for them.

    Give exactly one of `plan` (an audit report or plan JSON path, or a plan dict),
    `target="balance"`, `per_class=N` or `factor=F` (see `dataqa.augmentation.plan`).
    Returns (dataset with the new rows appended, stats); `stats["rows_added"]` may be
    below the plan when the filter rejects too much or sources run out, and
    `stats["by_class"][label]["short"]` says where.
    """
    opts = options or AugmentOptions()
    ds = as_dataset(data, **roles)
    methods = parse_methods(methods)
    refuse_test_split(ds, split)
    preflight(methods, opts)
    plan_name = str(plan) if isinstance(plan, (str, Path)) else None
    if plan is not None:  # read once: it may name the group column the cells refer to
        plan = read_plan(plan) if isinstance(plan, (str, Path)) else plan
        ds = adopt_group_column(ds, plan)
    sources = source_rows(ds)
    if opts.check_language:
        check_language(ds, sources, seed)
    the_plan = make_plan(
        ds,
        sources,
        plan=plan,
        target=target,
        per_class=per_class,
        factor=factor,
        max_per_source=opts.max_per_source,
        plan_name=plan_name,
    )
    text, labels = ds.text, ds.labels
    assert labels is not None  # source_rows refused a set without a label column
    clf = None
    fit_s = 0.0
    if opts.filter.enabled and the_plan.total():
        start = time.perf_counter()
        with stage("augment: fitting the label filter", enabled=progress):
            clf = fit_label_model(
                text.loc[sources], labels.loc[sources], seed, opts.filter.max_fit_rows
            )
        fit_s = time.perf_counter() - start
    run = _Run(ds, sources, the_plan, methods, opts, seed, clf, progress)
    new_frame = run.execute()
    out = _assemble(ds, new_frame)
    stats = run.stats(len(ds), fit_s)
    return AugmentResult(out.with_frame(out.frame, augment={"rows_added": len(new_frame)}), stats)


class _Run:
    """State of one augment run: quotas, per-source variant counters, kept rows, counts."""

    def __init__(self, ds, sources, plan: Plan, methods, opts, seed, clf, progress) -> None:
        self.ds, self.plan, self.methods, self.opts = ds, plan, methods, opts
        self.seed, self.clf, self.progress = seed, clf, progress
        self.gen = _Generators(opts, seed)
        self.text, self.labels = ds.text, ds.labels
        self.seen = set(normalize_for_dedup(ds.text)) - {""}
        src_labels = self.labels.loc[sources]
        groups = ds.groups.loc[sources] if ds.groups is not None else None
        self.cell_sources: list[list] = []
        for ci, cell in enumerate(plan.cells):
            mask = src_labels == cell.label
            if cell.group is not None and groups is not None:
                mask &= groups == cell.group
            ids = list(sources[mask.to_numpy()])
            rng = np.random.default_rng([seed, ci, 7919])
            self.cell_sources.append([ids[i] for i in rng.permutation(len(ids))])
        self.cursor = [0] * len(plan.cells)
        self.variants: dict[tuple[str, object], int] = {}
        k = len(methods)
        self.quota = {
            (ci, m): c.rows // k + (j < c.rows % k)
            for ci, c in enumerate(plan.cells)
            for j, m in enumerate(methods)
        }
        self.got = dict.fromkeys(self.quota, 0)
        self.kept: list[dict] = []
        self.counts: dict[str, dict[str, Any]] = {
            m: {
                "generated": 0,
                "kept": 0,
                "surplus": 0,
                "rejected": dict.fromkeys(REASONS, 0),
                "seconds_generating": 0.0,
                "seconds_filtering": 0.0,
                "rounds": 0,
            }
            for m in methods
        }
        self.class_rejected: dict[str, dict[str, int]] = {}

    def execute(self) -> pd.DataFrame:
        for j, m in enumerate(self.methods):
            self._method_rounds(m)
            if j + 1 < len(self.methods):  # what this method could not supply, the next one tries
                self._hand_over(m, self.methods[j + 1])
        # a last sweep: the shortfall of the last method goes back to the methods that can
        # still vary their output (Apertium cannot)
        for m in self.methods:
            if m != self.methods[-1] and self.gen.varies(m) and self._short(self.methods[-1]):
                self._hand_over(self.methods[-1], m)
                self._method_rounds(m)
                self._hand_over(m, self.methods[-1])
        return self._frame()

    def _short(self, m: str) -> int:
        return sum(self.quota[(ci, m)] - self.got[(ci, m)] for ci in range(len(self.plan.cells)))

    def _hand_over(self, src: str, dst: str) -> None:
        for ci in range(len(self.plan.cells)):
            short = self.quota[(ci, src)] - self.got[(ci, src)]
            self.quota[(ci, src)] -= short
            self.quota[(ci, dst)] += short

    def _method_rounds(self, m: str) -> None:
        pass_rate = 0.8  # first guess; later rounds use the rate just seen
        for _ in range(self.opts.max_rounds):
            jobs = self._jobs(m, pass_rate)
            if not jobs:
                break
            self.counts[m]["rounds"] += 1
            with stage(
                f"augment: {m} round {self.counts[m]['rounds']} ({len(jobs):,} candidates)",
                enabled=self.progress,
            ):
                passed = self._round(m, jobs)
            pass_rate = max(passed / len(jobs), 0.05)

    def _jobs(self, m: str, pass_rate: float) -> list[tuple[int, object, int]]:
        cap = self.opts.max_per_source if self.gen.varies(m) else 1
        jobs = []
        for ci, srcs in enumerate(self.cell_sources):
            need = self.quota[(ci, m)] - self.got[(ci, m)]
            if need <= 0 or not srcs:
                continue
            want = math.ceil(need / pass_rate) + 2
            tried = 0
            while want > 0 and tried < len(srcs):
                sid = srcs[self.cursor[ci] % len(srcs)]
                self.cursor[ci] += 1
                v = self.variants.get((m, sid), 0)
                if v >= cap:
                    tried += 1
                    continue
                tried = 0
                self.variants[(m, sid)] = v + 1
                jobs.append((ci, sid, v))
                want -= 1
        return jobs

    def _round(self, m: str, jobs) -> int:
        ids = [sid for _, sid, _ in jobs]
        src_text = self.text.loc[ids].tolist()
        seeds = [row_seed(self.seed, m, sid, v) for _, sid, v in jobs]
        start = time.perf_counter()
        outs, params = self.gen.run(m, src_text, seeds, [v for _, _, v in jobs])
        mid = time.perf_counter()
        labs = [self.plan.cells[ci].label for ci, _, _ in jobs]
        verdict = filter_candidates(
            outs, src_text, labs, seen_keys=self.seen, clf=self.clf, options=self.opts.filter
        )
        c = self.counts[m]
        c["seconds_generating"] += mid - start
        c["seconds_filtering"] += time.perf_counter() - mid
        c["generated"] += len(jobs)
        keys = normalize_for_dedup(pd.Series(outs, dtype=object).fillna("").astype(str))
        passed = 0
        for i, (ci, sid, v) in enumerate(jobs):
            reason = verdict["reason"].iat[i]
            label = labs[i]
            if reason:
                c["rejected"][reason] += 1
                per = self.class_rejected.setdefault(label, {})
                per[reason] = per.get(reason, 0) + 1
                continue
            passed += 1
            if self.got[(ci, m)] >= self.quota[(ci, m)]:
                c["surplus"] += 1
                continue
            self.got[(ci, m)] += 1
            c["kept"] += 1
            self.seen.add(keys.iat[i])
            p = dict(params[i])
            p["variant"] = v
            for col in ("similarity", "label_prob"):
                val = verdict[col].iat[i]
                if val == val:  # not NaN
                    p[col] = round(float(val), 4)
            self.kept.append(
                {
                    "cell": ci,
                    "source": sid,
                    "text": outs[i],
                    "method": m,
                    "params": json.dumps(p, sort_keys=True),
                    "seed": seeds[i],
                }
            )
        return passed

    def _frame(self) -> pd.DataFrame:
        ds = self.ds
        if not self.kept:
            cols = [*ds.frame.columns, *[c for c in PROVENANCE if c not in ds.frame.columns]]
            return pd.DataFrame(columns=cols, index=pd.Index([], name=ROW_ID))
        src = [k["source"] for k in self.kept]
        new = ds.frame.loc[src].copy()
        ids = _new_ids(ds.frame.index, len(src))
        new.index = pd.Index(ids, name=ROW_ID, dtype=object)
        new[ds.roles.text] = [k["text"] for k in self.kept]
        if ds.roles.id is not None:
            new[ds.roles.id] = ids
        new["dataqa_source_id"] = pd.Series(src, index=new.index, dtype=object)
        new["dataqa_method"] = [k["method"] for k in self.kept]
        new["dataqa_params"] = [k["params"] for k in self.kept]
        new["dataqa_seed"] = pd.array([k["seed"] for k in self.kept], dtype="Int64")
        return new

    def stats(self, rows_in: int, fit_s: float) -> dict:
        per_class = self.plan.per_class()
        by_class: dict[str, dict] = {}
        for ci, cell in enumerate(self.plan.cells):
            d = by_class.setdefault(
                cell.label, {"planned": 0, "added": 0, "by_method": dict.fromkeys(self.methods, 0)}
            )
            for m in self.methods:
                d["by_method"][m] += self.got[(ci, m)]
                d["added"] += self.got[(ci, m)]
        for label, d in by_class.items():
            d["planned"] = per_class[label]
            d["short"] = d["planned"] - d["added"]
            d["capped"] = self.plan.capped.get(label, 0)
            d["rejected"] = self.class_rejected.get(label, {})
        by_method = {}
        for m, c in self.counts.items():
            gen_s = c["seconds_generating"]
            by_method[m] = {
                **{k: v for k, v in c.items() if k != "rejected"},
                "rejected": {r: n for r, n in c["rejected"].items() if n},
                "rejected_total": int(sum(c["rejected"].values())),
                "seconds_generating": round(gen_s, 3),
                "seconds_filtering": round(c["seconds_filtering"], 3),
                "sentences_per_s": round(c["generated"] / gen_s, 1) if gen_s > 0 else None,
            }
        rejected = {r: sum(self.counts[m]["rejected"][r] for m in self.methods) for r in REASONS}
        added = sum(d["added"] for d in by_class.values())
        labels_sorted = sorted(by_class)
        return {
            "rows_in": rows_in,
            "rows_added": added,
            "rows_out": rows_in + added,
            "methods": list(self.methods),
            "seed": self.seed,
            "plan": self.plan.as_dict(),
            "filter": {
                "enabled": self.opts.filter.enabled,
                "label_test": (
                    "off"
                    if self.clf is None
                    else "top class"
                    if self.opts.filter.threshold is None
                    else f"p >= {self.opts.filter.threshold}"
                ),
                "min_similarity": self.opts.filter.min_similarity,
                "max_similarity": self.opts.filter.max_similarity,
                "negations": self.opts.filter.negations,
                "fit_seconds": round(fit_s, 3),
            },
            "by_method": by_method,
            "by_class": by_class,
            "rejected": {r: n for r, n in rejected.items() if n},
            "charts": [
                {
                    "id": "augment-added",
                    "type": "bar",
                    "title": "Rows added per class",
                    "x_label": "class",
                    "y_label": "rows added",
                    "data": {
                        "labels": labels_sorted,
                        "values": [by_class[lab]["added"] for lab in labels_sorted],
                    },
                },
                {
                    "id": "augment-rejected",
                    "type": "bar",
                    "title": "Candidates rejected by the filter, by reason",
                    "x_label": "reason",
                    "y_label": "candidates",
                    "data": {"labels": list(REASONS), "values": [rejected[r] for r in REASONS]},
                },
            ],
        }


def _assemble(ds: Dataset, new: pd.DataFrame) -> Dataset:
    """Original rows (provenance columns empty unless already there) + the new rows."""
    frame = ds.frame.copy()
    for col in PROVENANCE:
        if col not in frame.columns:
            frame[col] = pd.array(
                [None] * len(frame), dtype="Int64" if col == "dataqa_seed" else object
            )
    if new.empty:
        return ds.with_frame(frame)
    new = new[frame.columns]
    out = pd.concat([frame, new], axis=0)
    out.index.name = ROW_ID
    return ds.with_frame(out)
