"""Does curating conversation data pay off? Raw vs curated SFT with the tiny causal LM.

    python benchmarks/bench_sft.py --train 600 --test 200 --seeds 3 --threads 1

Builds chat records from Banking77 (../shared/data; the script says so and exits 0 when
it is absent): a customer's query as the user turn and an assistant answer grounded in
the query's intent (a sentence naming the intent, a fixed recipe for it, and one of four
closing lines), under one system prompt. Training records come from Banking77's train
split, held-out records from its test split; training records that are exact or near
copies of a held-out record (`testset.drop_or_refuse_leaks`) are left out first and
counted, so the comparison is fair before any fault is planted.

Planted faults, at seeded records of the training set (the raw set):

- refusals: the answer replaced by "As an AI language model, I cannot ..." boilerplate;
- echoes: the answer replaced by the user's own words;
- junk duplicates: one record with a garbled answer, copied many times.

`dataqa.clean` (default policies) curates raw; then `dataqa finetune --model tiny`
trains the same tiny GPT-2 (byte-level BPE tokenizer trained on the training
conversations) on raw and on curated, `--seeds` times each, for the same number of
optimiser steps, and scores every run on the same held-out conversations (mean loss per
assistant token). Printed: what clean removed per planted kind, the held-out loss and
perplexity per set and seed, and the verdict with its two-level (seeds x conversations)
95% CI.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "banking77"
SYSTEM = "You are a bank's support assistant."
CLOSINGS = (
    "Is there anything else I can help you with?",
    "Let me know if that solves it.",
    "You can also reach us in the app's chat.",
    "I hope this helps.",
)
REFUSALS = (
    "As an AI language model, I cannot help with banking questions.",
    "I'm sorry, but I can't assist with that request.",
    "As an AI, I am not able to access your account.",
)


def answer(intent: str, query: str) -> str:
    """An answer grounded in the intent: what was asked, what to do, a closing line."""
    topic = intent.replace("_", " ")
    return (
        f"I understand this is about {topic}. To sort out {topic}, open the app, go to "
        f"Help, choose {topic} and follow the steps shown there. "
        f"{CLOSINGS[len(query) % len(CLOSINGS)]}"
    )


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": q},
                {"role": "assistant", "content": answer(c, q)},
            ]
        }
        for q, c in zip(frame["text"], frame["category"], strict=True)
    ]


def plant(train: list[dict], seed: int, refusals: float, echoes: float, junk: int) -> dict:
    """Plant the faults in place; returns kind -> planted record positions."""
    rng = random.Random(seed)
    order = list(range(len(train)))
    rng.shuffle(order)
    n_ref, n_echo = int(refusals * len(train)), int(echoes * len(train))
    truth = {"refusal": order[:n_ref], "echo": order[n_ref : n_ref + n_echo]}
    for i in truth["refusal"]:
        train[i]["messages"][2]["content"] = rng.choice(REFUSALS)
    for i in truth["echo"]:
        train[i]["messages"][2]["content"] = train[i]["messages"][1]["content"]
    if junk:
        garbled = json.loads(json.dumps(train[order[-1]]))
        garbled["messages"][2]["content"] = "xq zzv " * 12 + "qqq qqq qqq"
        start = len(train)
        train.extend(json.loads(json.dumps(garbled)) for _ in range(junk))
        truth["junk duplicate"] = list(range(start, start + junk))
    return truth


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=600, help="training records before faults")
    ap.add_argument("--test", type=int, default=200, help="held-out records")
    ap.add_argument("--refusals", type=float, default=0.3)
    ap.add_argument("--echoes", type=float, default=0.1)
    ap.add_argument("--junk", type=int, default=60, help="copies of one garbled record")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    if not (DATA / "train.csv").is_file():
        print(f"skipped: {DATA} not available (the shared datasets live beside the repo)")
        return 0
    sys.path.insert(0, str(ROOT))
    import dataqa
    from dataqa.dataset import from_frame
    from dataqa.train.testset import drop_or_refuse_leaks

    t0 = time.perf_counter()
    bank = pd.read_csv(DATA / "train.csv").dropna().sample(frac=1.0, random_state=args.seed)
    test_frame = pd.read_csv(DATA / "test.csv").dropna().sample(n=args.test, random_state=args.seed)
    test = records(test_frame)
    pool = records(bank.head(int(args.train * 1.3)))
    [kept], leaked = drop_or_refuse_leaks(
        [from_frame(pd.DataFrame(pool))],
        ["train"],
        from_frame(pd.DataFrame(test)),
        drop_leaked=True,
        near_threshold=0.78,
    )
    train = [pool[i] for i in kept.ids[: args.train]]
    truth = plant(train, args.seed, args.refusals, args.echoes, args.junk)
    work = Path(args.out or tempfile.mkdtemp(prefix="bench-sft-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = write_jsonl(train, work / "raw.jsonl")
    test_path = write_jsonl(test, work / "test.jsonl")
    result = dataqa.clean(dataqa.load(raw))
    curated = work / "curated.jsonl"
    dataqa.write_table(result.kept.frame, curated)
    removed = set(result.quarantine.index)
    print(
        f"records: {len(pool)} built, {len(leaked['train'])} left out as (near) copies of "
        f"held-out records, {len(train)} raw ({len(train) - args.junk} + {args.junk} junk "
        f"copies), {len(result.kept)} curated, {len(test)} held out"
    )
    planted = set().union(*map(set, truth.values()))
    for kind, rows in truth.items():
        hit = len(set(rows) & removed)
        print(f"  planted {kind:<15} {len(rows):>4}, quarantined by clean {hit:>4}")
    print("  (of a group of exact duplicates, clean keeps one and quarantines the rest)")
    print(f"  quarantined but not planted: {len(removed - planted)}")
    print(f"  prepared in {time.perf_counter() - t0:.1f}s")
    cmd = [
        str(Path(sys.executable).parent / "dataqa"),
        "finetune",
        "--train",
        str(raw),
        "--train",
        str(curated),
        "--test",
        str(test_path),
        "--model",
        "tiny",
        "--seeds",
        str(args.seeds),
        "--max-length",
        str(args.max_length),
        "--seed",
        str(args.seed),
        "--out-dir",
        str(work / "ft"),
        "--json",
        str(work / "ft.json"),
        "--no-cache",
        "-q",
    ] + (["--threads", str(args.threads)] if args.threads else [])
    print("$ dataqa " + " ".join(cmd[1:]).replace(str(work), "WORK"))
    t1 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode not in (0, 1):
        print(done.stdout, done.stderr)
        return done.returncode
    ft = json.loads((work / "ft.json").read_text())["stats"]["finetune"]
    print(f"fine-tuned in {time.perf_counter() - t1:.0f}s on {ft['device']}")
    for name, arm in ft["runs"].items():
        per = ", ".join(
            f"{r['test']['loss']:.4f} (ppl {r['test']['perplexity']:.1f})" for r in arm["seeds"]
        )
        print(
            f"  {name:<8} {arm['train_rows']:>5} train conversations, "
            f"{arm['train']['max_steps']} steps: loss per seed {per}"
        )
    v = ft["verdict"]
    print(f"{v['question']} {v['answer']}.")
    print(v["headline"])
    for line in v["lines"]:
        print(" ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
