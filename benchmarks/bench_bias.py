"""Detection and false-alarm rates of the balance, size and bias checks.

Planted problems with known rows, on the demo and on the real datasets in
../shared/data (Banking77 train, SST-2 train), plus the unmodified data (with random
group columns) for false alarms, a check of the learning-curve extrapolation against
measured accuracy, and the per-check seconds of a default Banking77 audit.

    .venv/bin/python benchmarks/bench_bias.py            # everything (~5-10 min on 2 cores)
    .venv/bin/python benchmarks/bench_bias.py --quick    # fewer seeds

Every seed is printed; the same command prints the same figures (timings aside).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dataqa.checks.base import Context  # noqa: E402
from dataqa.checks.bias import BiasCheck  # noqa: E402
from dataqa.dataset import from_frame  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
BRANDS = ["Acme", "Borealis", "Cobalt", "Dunmore", "Everly"]


def typos(text: str, rng: random.Random, rate: float) -> str:
    """Swap two adjacent letters in a share of the longer words (the demo's kind of typo)."""
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    return " ".join(words)


def bias(ds, seed=0, **params):
    start = time.perf_counter()
    result = BiasCheck(**params).run(ds, Context(seed=seed))
    return result, time.perf_counter() - start


def recall(planted: set, found: set) -> float:
    return len(planted & found) / len(planted) if planted else float("nan")


def precision(planted: set, found: set) -> float:
    return len(planted & found) / len(found) if found else float("nan")


def load_banking() -> pd.DataFrame:
    return pd.read_csv(DATA / "banking77" / "train.csv").dropna().reset_index(drop=True)


def load_sst2(n: int, seed: int) -> pd.DataFrame:
    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    return df.sample(n, random_state=seed).reset_index(drop=True)


def section(title: str) -> None:
    print(f"\n### {title}\n", flush=True)


# ---- planted problems ------------------------------------------------------------------------


def demo_runs(seeds: list[int]) -> None:
    from dataqa.demo import make_demo
    from dataqa.stages.audit import audit

    section("Demo (2,000 rows): thin class, Dunmore brand with typos + negatives")
    print(
        "| seed | thin class found | skewed groups | confound (severity) | brand_typos recall | precision | bias s |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        train, _, truth = make_demo(2000, seed)
        ds = from_frame(train, group_col="brand")
        report = audit(ds, checks=["balance", "bias"], seed=seed)
        thin = [f.evidence["label"] for f in report.by_check("balance.thin_class")]
        skewed = report.stats["bias"].get("groups", {}).get("skewed_groups", [])
        conf = [
            f"{f.evidence['group']}/{f.evidence['cue']} ({f.severity})"
            for f in report.by_check("bias.confound")
        ]
        found = {r for f in report.by_check("bias") for r in f.row_ids}
        planted = set(truth["brand_typos"])
        print(
            f"| {seed} | {thin == truth['thin_class']} ({', '.join(thin)}) | {', '.join(skewed)} | "
            f"{'; '.join(conf) or '-'} | {recall(planted, found):.3f} | "
            f"{precision(planted, found):.3f} | {report.meta['timings_s']['bias']:.1f} |"
        )


def sst2_exclamation(seeds: list[int], shares: list[float]) -> None:
    section('SST-2 train sample (10,000 rows): " !!!" appended to a share of the positives')
    print(
        "| share of positives | seed | cue finding | severity | strength | planted rows found | precision |"
    )
    print("|---|---|---|---|---|---|---|")
    for share in shares:
        for seed in seeds:
            df = load_sst2(10000, seed)
            rng = np.random.default_rng(seed)
            pos = df.index[df["label"] == 1]
            planted = set(rng.choice(pos, int(share * len(pos)), replace=False).tolist())
            df.loc[list(planted), "sentence"] = df.loc[list(planted), "sentence"] + " !!!"
            res, _ = bias(from_frame(df, text_col="sentence", label_col="label"), seed)
            hit = [
                f
                for f in res.findings
                if f.check == "bias.surface_cue" and f.evidence["cue"] == "exclamation"
            ]
            found = set(hit[0].row_ids) if hit else set()
            s = res.stats["surface_cues"]["exclamation"]["strength"]
            print(
                f"| {share:.0%} | {seed} | {bool(hit)} | {hit[0].severity if hit else '-'} | "
                f"{s:.3f} | {recall(planted, found):.3f} | {precision(planted, found):.3f} |"
            )


def banking_token(seeds: list[int], shares: list[float]) -> None:
    section(
        'Banking77 train (10,003 rows): "I use the Zyntra app." appended to a share of one intent'
    )
    print(
        "| share of the intent | seed | intent | token found | planted rows found | precision | other tokens flagged |"
    )
    print("|---|---|---|---|---|---|---|")
    base = load_banking()
    classes = sorted(base["category"].unique())
    for share in shares:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            victim = classes[rng.integers(len(classes))]
            rows = base.index[base["category"] == victim]
            planted = set(rng.choice(rows, int(share * len(rows)), replace=False).tolist())
            df = base.copy()
            df.loc[list(planted), "text"] = df.loc[list(planted), "text"] + " I use the Zyntra app."
            res, _ = bias(from_frame(df, text_col="text", label_col="category"), seed)
            toks = {
                f.evidence["token"]: f for f in res.findings if f.check == "bias.shortcut_token"
            }
            found = set(toks["Zyntra"].row_ids) if "Zyntra" in toks else set()
            others = sorted(set(toks) - {"Zyntra"})
            print(
                f"| {share:.0%} | {seed} | {victim} ({len(rows)} rows) | {'Zyntra' in toks} | "
                f"{recall(planted, found):.3f} | {precision(planted, found):.3f} | "
                f"{', '.join(others) or '-'} |"
            )


def brand_confound(seeds: list[int]) -> None:
    section(
        "Brand x typos x label confound planted in real data (random brands A-E; "
        "Dunmore over-sampled among some labels, its rows given typos)"
    )
    print(
        "| data | P(Dunmore \\| skewed labels) / other | typo rate | seed | group skew found "
        "| confound found (severity) | typo-planted rows found by the confound | precision "
        "| Dunmore rows in any bias finding |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    banking = load_banking()
    b_classes = sorted(banking["category"].unique())
    settings = [
        ("sst2", 0.4, 0.1, 0.3),
        ("sst2", 0.25, 0.1, 0.15),
        ("banking77", 0.5, 0.15, 0.3),
        ("banking77", 0.35, 0.15, 0.15),
    ]
    for data, p_hi, p_lo, rate in settings:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            if data == "sst2":
                df, text_col, label_col = load_sst2(10000, seed), "sentence", "label"
                hot = df[label_col] == 0
            else:
                df, text_col, label_col = banking.copy(), "text", "category"
                hot = df[label_col].isin(rng.choice(b_classes, 5, replace=False))
            is_d = rng.random(len(df)) < np.where(hot, p_hi, p_lo)
            others = [b for b in BRANDS if b != "Dunmore"]
            df["brand"] = np.where(is_d, "Dunmore", rng.choice(others, len(df)))
            trng = random.Random(seed)
            before = df[text_col].copy()
            df.loc[is_d, text_col] = [typos(t, trng, rate) for t in df.loc[is_d, text_col]]
            changed = set(df.index[(df[text_col] != before).to_numpy()].tolist())
            ds = from_frame(df, text_col=text_col, label_col=label_col, group_col="brand")
            res, _ = bias(ds, seed)
            skew = [f for f in res.findings if f.check == "bias.group_skew"]
            conf = [
                f
                for f in res.findings
                if f.check == "bias.confound" and f.evidence["group"] == "Dunmore"
            ]
            d_rows = set(df.index[is_d].tolist())
            found = {r for f in conf for r in f.row_ids}
            any_bias = {r for f in res.findings for r in f.row_ids}
            skew_desc = ", ".join(
                f"{f.evidence['group']} ({len(f.evidence['labels'])} labels)" for f in skew
            )
            conf_desc = sorted({f"{f.evidence['cue']} ({f.severity})" for f in conf})
            print(
                f"| {data} | {p_hi} / {p_lo} | {rate} | {seed} | {skew_desc or '-'} | "
                f"{', '.join(conf_desc) or '-'} | {recall(changed, found):.3f} | "
                f"{precision(changed, found):.3f} | {recall(d_rows, any_bias):.3f} |"
            )


# ---- false alarms ------------------------------------------------------------------------------


def false_alarms(seeds: list[int]) -> None:
    section("False alarms on unmodified data (random brand column A-E, uniform)")
    print("| data | seed | bias findings (check: severity) | groups flagged / tested | seconds |")
    print("|---|---|---|---|---|")
    banking = load_banking()
    flagged = tested = 0
    errors = 0
    for data in ("banking77", "sst2"):
        for seed in seeds:
            rng = np.random.default_rng(100 + seed)
            if data == "sst2":
                df, text_col, label_col = load_sst2(10000, 100 + seed), "sentence", "label"
            else:
                df, text_col, label_col = banking.copy(), "text", "category"
            df["brand"] = rng.choice(BRANDS, len(df))
            ds = from_frame(df, text_col=text_col, label_col=label_col, group_col="brand")
            res, secs = bias(ds, seed)
            counts = Counter(f"{f.check}: {f.severity}" for f in res.findings)
            errors += sum(1 for f in res.findings if f.severity == "error")
            flagged += len(res.stats["groups"]["skewed_groups"])
            tested += res.stats["groups"]["tested_groups"]
            tokens = [f.evidence["token"] for f in res.findings if f.check == "bias.shortcut_token"]
            desc = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none"
            if tokens:
                desc += f" (tokens: {', '.join(tokens)})"
            print(
                f"| {data} | {seed} | {desc} | {len(res.stats['groups']['skewed_groups'])} / "
                f"{res.stats['groups']['tested_groups']} | {secs:.1f} |"
            )
    print(
        f"\nbias errors on unmodified data: {errors}; groups flagged as skewed: {flagged} of {tested} tested"
    )

    from dataqa.checks.balance import BalanceCheck

    big = banking["category"].value_counts()
    sample = banking[banking["category"].isin(big[big >= 60].index)]
    sample = sample.groupby("category", group_keys=False).sample(60, random_state=0)
    dev = pd.read_csv(DATA / "sst2" / "dev.tsv", sep="\t", quoting=3)
    for name, ds in (
        (
            "Banking77 balanced sample (74 intents x 60)",
            from_frame(sample, text_col="text", label_col="category"),
        ),
        ("SST-2 dev (872 rows)", from_frame(dev, text_col="content", label_col="label")),
        ("Banking77 train as is", from_frame(banking, text_col="text", label_col="category")),
    ):
        res = BalanceCheck().run(ds, Context())
        found = Counter(f"{f.check}: {f.severity}" for f in res.findings)
        print(
            f"balance on {name}: {dict(found) or 'no findings'}; "
            f"imbalance ratio {res.stats['imbalance_ratio']}, "
            f"normalised entropy {res.stats['normalised_entropy']}"
        )


# ---- learning curve -----------------------------------------------------------------------------


def curve_extrapolation() -> None:
    from dataqa.checks.size import fit_power_law, learning_curve

    section(
        "Learning curve: does the power law fitted on a small sample predict measured accuracy?"
    )
    print(
        "| data | curve on | fitted on train sizes | predicts at n | predicted acc | measured acc (full curve) | error | seconds (small + full curve) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    banking = load_banking()
    sst2 = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    for name, df, text_col, label_col, small_n in (
        ("Banking77", banking, "text", "category", 2500),
        ("SST-2", sst2, "sentence", "label", 5000),
    ):
        texts, y = df[text_col].astype(str).tolist(), df[label_col].astype(str).to_numpy()
        t0 = time.perf_counter()
        full = learning_curve(texts, y, seed=0)
        t1 = time.perf_counter()
        small = learning_curve(texts, y, max_rows=small_n, seed=0)
        t2 = time.perf_counter()
        pts = small["points"]
        fit = fit_power_law(
            [p["train_rows"] for p in pts], [1 - p["accuracy"] for p in pts], n_now=1
        )
        sizes = f"{pts[0]['train_rows']:.0f}-{pts[-1]['train_rows']:.0f}"
        for p in full["points"][-2:]:
            n = p["train_rows"]
            pred = 1 - (fit["a"] * n ** -fit["b"] + fit["c"])
            print(
                f"| {name} | {small['config']['rows_used']:,} rows | {sizes} | {n:,.0f} | {pred:.4f} | "
                f"{p['accuracy']:.4f} | {pred - p['accuracy']:+.4f} | {t2 - t1:.0f} + {t1 - t0:.0f} |"
            )
        f = full["fit"]
        print(
            f"| {name} | full curve ({full['config']['rows_used']:,} rows, {full['config']['folds']} folds) | "
            f"{full['points'][0]['train_rows']:.0f}-{full['points'][-1]['train_rows']:.0f} | "
            f"{f['n_now']:,} -> {2 * f['n_now']:,} | {f['accuracy_at_n']:.4f} -> {f['accuracy_at_2n']:.4f} "
            f"(+{f['expected_gain_2x'] * 100:.1f} pts) | - | - | - |"
        )


def audit_timing() -> None:
    from dataqa.checks import DEFAULT_CHECKS, installed
    from dataqa.dataset import load
    from dataqa.stages.audit import audit

    section("Default audit of Banking77 train (10,003 rows): seconds per check")
    ds = load(DATA / "banking77" / "train.csv")
    start = time.perf_counter()
    report = audit(ds, seed=0)
    total = time.perf_counter() - start
    print(f"checks run: {', '.join(c for c in DEFAULT_CHECKS if installed(c))}")
    print("| check | seconds |")
    print("|---|---|")
    for name, secs in report.meta["timings_s"].items():
        print(f"| {name} | {secs:.1f} |")
    print(f"| total (incl. imports, examples) | {total:.1f} |")
    for name in ("balance", "size", "bias"):
        found = Counter(f"{f.check}: {f.severity}" for f in report.by_check(name))
        print(f"{name}: {dict(found) or 'no findings'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed per setting")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found: the shared datasets live beside the repository")
    seeds = [0] if args.quick else [0, 1, 2]
    start = time.perf_counter()
    demo_runs([7, 8, 9] if not args.quick else [7])
    sst2_exclamation(seeds, [0.8, 0.4, 0.2, 0.1])
    banking_token(seeds, [0.6, 0.3, 0.15])
    brand_confound(seeds[:2])
    false_alarms(seeds)
    curve_extrapolation()
    audit_timing()
    print(f"\nbenchmark wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
