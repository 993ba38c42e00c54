"""Conversation data: recall and precision per fault kind on planted records, and speed.

    python benchmarks/bench_conversations.py [--rows 5000] [--seed 0] [--scale 200000]

Builds a chat set from real text: Banking77 queries as user turns, each answered by an
assistant turn grounded in its intent (a sentence naming the intent, the customer's own
words echoed in a clause, and one of several closing lines), plus SST-2 sentences as
"classify the sentiment" instructions answered with the label. Then plants every fault
kind the audit knows at seeded rows, runs `dataqa.audit` (hygiene, duplicates,
conversations; no model) and scores each kind:

- recall: planted rows the kind found;
- precision: rows the kind flagged that were planted - except for duplicates and prompt
  conflicts, whose natural cases in real text count as right when an independent test
  agrees (rapidfuzz ratio >= 85 of the rendered records for near duplicates, the same
  normalised prompt with different answers for conflicts).

`--scale N` also times a full audit of N conversations (the planted set resampled).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CLOSINGS = [
    "Is there anything else I can help you with?",
    "Let me know if that solves it.",
    "You can also reach us in the app's chat.",
    "I hope this helps.",
]
BENCHMARK = [
    "The committee met on a rainy Tuesday in March to decide which of the three bridges "
    "across the river would be repaired first and at what cost to the town.",
    "Photosynthesis converts light energy into chemical energy stored in glucose, releasing "
    "oxygen as a by-product of splitting water molecules in the chloroplast.",
    "In 1887 the observatory recorded a comet whose tail stretched across a quarter of the "
    "night sky for eleven consecutive nights before it faded from view.",
]


def build(rows: int, seed: int) -> tuple[list[dict], dict[str, set]]:
    rng = np.random.default_rng(seed)
    bank = pd.read_csv(DATA / "banking77" / "train.csv").dropna()
    sst = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3).dropna()
    sst = sst[sst["sentence"].str.split().str.len() >= 6]
    records = []
    bank_order = rng.permutation(len(bank))  # no query twice (Banking77 has 10k)
    sst_order = rng.permutation(len(sst))
    for i in range(rows):
        if i % 3:
            r = bank.iloc[int(bank_order[i % len(bank)])]
            intent = r["category"].replace("_", " ")
            answer = (
                f'I understand you are asking about {intent}. You wrote: "{r["text"]}". '
                f"Here is what to do for {intent}: open the app, go to the help section and "
                f"choose {intent}. {CLOSINGS[len(r['text']) % len(CLOSINGS)]}"
            )
            records.append(
                {
                    "messages": [
                        {"role": "system", "content": "You are a bank's support assistant."},
                        {"role": "user", "content": r["text"]},
                        {"role": "assistant", "content": answer},
                    ]
                }
            )
        else:
            r = sst.iloc[int(sst_order[i % len(sst)])]
            label = "positive" if r["label"] == 1 else "negative"
            records.append(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": f"Classify the sentiment of this review: {r['sentence']}",
                        },
                        {
                            "role": "assistant",
                            "content": f'The review "{r["sentence"]}" is {label}.',
                        },
                    ]
                }
            )
    truth: dict[str, set] = {}
    free = list(rng.permutation(rows))

    def take(kind: str, n: int) -> list[int]:
        out = [int(free.pop()) for _ in range(n)]
        truth.setdefault(kind, set()).update(out)
        return out

    n = max(rows // 100, 5)
    for i in take("conversations.format", n):
        records[i] = (
            {"messages": records[i]["messages"][1]["content"]}
            if i % 2
            else {"messages": [records[i]["messages"][-1], "not a message"]}
        )
    for i in take("conversations.unknown_role", n):
        records[i]["messages"][-2]["role"] = "customer"
    for i in take("conversations.empty_turn", n):
        records[i]["messages"][-1]["content"] = "  "
    for i in take("conversations.no_assistant", n):
        records[i]["messages"] = records[i]["messages"][:-1]
    for i in take("conversations.refusal", n):
        records[i]["messages"][-1]["content"] = (
            "As an AI language model, I cannot help with banking requests. "
            + records[i]["messages"][-1]["content"]
        )
    for i in take("conversations.echo", n):
        records[i]["messages"][-1]["content"] = records[i]["messages"][-2]["content"]
    for i in take("conversations.no_trainable_tokens", n):
        records[i]["messages"][-2]["content"] = "please read " * 1200
    for i in take("conversations.truncated_answer", n):
        records[i]["messages"][-1]["content"] = "step by step " * 900
    for i in take("conversations.contamination", n):
        records[i]["messages"][-1]["content"] += " " + BENCHMARK[i % len(BENCHMARK)]
    sources = [int(s) for s in free[:n]]
    free = free[n:]
    for k, i in enumerate(take("duplicates.exact", n)):
        records[i] = json.loads(json.dumps(records[sources[k]]))
        truth["duplicates.exact"].add(sources[k])
    sources = [int(s) for s in free[:n]]
    free = free[n:]
    for k, i in enumerate(take("duplicates.near", n)):
        rec = json.loads(json.dumps(records[sources[k]]))
        words = rec["messages"][-1]["content"].split()
        words[len(words) // 2] = words[len(words) // 2] + "s"
        rec["messages"][-1]["content"] = " ".join(words)
        records[i] = rec
        truth["duplicates.near"].add(sources[k])
    sources = [int(s) for s in free[:n]]
    free = free[n:]
    for k, i in enumerate(take("conversations.prompt_conflict", n)):
        rec = json.loads(json.dumps(records[sources[k]]))
        rec["messages"][-1]["content"] = "A completely different reply that says something else."
        records[i] = rec
        truth["conversations.prompt_conflict"].add(sources[k])
    return records, truth


def score(report, truth: dict[str, set], records: list[dict]) -> list[dict]:
    from rapidfuzz import fuzz

    from dataqa.chat import conversations, render

    rendered = [render(t) for t in conversations(pd.DataFrame(records), "chat")]
    flagged: dict[str, set] = {}
    groups: dict[str, list] = {}
    for f in report.findings:
        flagged.setdefault(f.check, set()).update(f.row_ids)
        groups.setdefault(f.check, []).append(f.row_ids)
    out = []
    for kind, planted in sorted(truth.items()):
        got = flagged.get(kind, set())
        if kind in ("duplicates.near", "duplicates.exact", "conversations.prompt_conflict"):
            # natural cases count as right when an independent test agrees
            right = set()
            for g in groups.get(kind, []):
                if kind == "conversations.prompt_conflict" or all(
                    fuzz.ratio(rendered[g[0]], rendered[r]) >= 85 for r in g[1:]
                ):
                    right.update(g)
            right |= planted & got
        else:
            right = planted & got
        out.append(
            {
                "kind": kind,
                "planted": len(planted),
                "flagged": len(got),
                "recall": round(len(planted & got) / max(len(planted), 1), 3),
                "precision": round(len(right & got) / max(len(got), 1), 3),
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=0, help="also time an audit of N records")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"no data at {DATA}")
    import dataqa
    from dataqa.dataset import load

    records, truth = build(args.rows, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        bench = Path(tmp) / "bench.jsonl"
        bench.write_text("".join(json.dumps({"text": t}) + "\n" for t in BENCHMARK))
        ds = load(path)
        t0 = time.perf_counter()
        report = dataqa.audit(
            ds,
            checks=["hygiene", "duplicates", "conversations"],
            options={"conversations": {"benchmark": str(bench), "max_seq_len": 1024}},
        )
        print(
            f"{args.rows:,} conversations (seed {args.seed}), audit {time.perf_counter() - t0:.1f} s"
        )
        print(f"{'kind':34} {'planted':>8} {'flagged':>8} {'recall':>7} {'precision':>9}")
        for row in score(report, truth, records):
            print(
                f"{row['kind']:34} {row['planted']:>8} {row['flagged']:>8} {row['recall']:>7} {row['precision']:>9}"
            )
        if args.scale:
            rng = np.random.default_rng(args.seed)
            big = [records[int(i)] for i in rng.integers(0, len(records), size=args.scale)]
            path.write_text("".join(json.dumps(r) + "\n" for r in big))
            t0 = time.perf_counter()
            ds = load(path)
            t1 = time.perf_counter()
            report = dataqa.audit(ds, checks=["hygiene", "duplicates", "conversations"])
            t2 = time.perf_counter()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"scale: {args.scale:,} conversations: load {t1 - t0:.1f} s, audit {t2 - t1:.1f} s "
                f"({args.scale / (t2 - t1):,.0f} records/s), timings {report.meta['timings_s']}, "
                f"peak RSS {rss:,.0f} MiB"
            )


if __name__ == "__main__":
    main()
