"""Near-duplicate finding on SST-2 train with planted edits: dataqa.minhash vs datasketch.

    python benchmarks/bench_near_dups.py [--rows N] [--plant 2000] [--seed 0] [--sweep]

A seeded sample of sentences with >= 8 words gets one small edit each (a one-character
typo; one word dropped, inserted or swapped with its neighbour; a case/punctuation
change) and the edited copy is appended as a new row. Both methods see the same
normalised, exactly de-duplicated texts (as `DuplicateCheck` runs them), the same
shingles, `num_perm` and `threshold`, in the same run.

- recall: planted pairs found (same normalised text, or linked by a verified pair);
- precision: share of reported pairs that are correct, where a pair counts as correct
  when it is planted or when rapidfuzz `fuzz.ratio` of the two normalised texts is >= 85
  (SST-2 itself holds many natural near-duplicates: phrases and their sub-phrases);
- rows/s: distinct texts / seconds for shingling, signatures, LSH and verification
  (wall and process CPU time: the CPU figure is steadier on a shared machine).

Pairs: dataqa's verified pairs (exact Jaccard >= threshold) vs datasketch's LSH
candidates kept when their estimated Jaccard is >= threshold. "As groups" scores
dataqa's groups (what `DuplicateCheck` reports): a planted pair is found when both rows
land in one group, and precision is taken over every pair of rows inside a group.
"""

from __future__ import annotations

import argparse
import string
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dataqa.minhash import NGRAM, SHINGLE, THRESHOLD, near_duplicate_groups, near_duplicate_pairs
from dataqa.text import normalize_for_dedup

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sst2" / "train.tsv"
EDITS = ("typo", "drop", "insert", "swap", "case_punct")
RATIO_OK = 85


def load(rows: int | None, seed: int) -> pd.Series:
    if not DATA.exists():
        sys.exit(f"no data at {DATA} (see ../shared/data/README.md)")
    df = pd.read_csv(DATA, sep="\t", quoting=3)
    text = df["sentence"].fillna("").astype(str)
    if rows is not None and rows < len(text):
        text = text.sample(n=rows, random_state=seed).sort_index()
    return text.reset_index(drop=True)


def edit(sentence: str, kind: str, rng: np.random.Generator, vocab: list[str]) -> str:
    """One small edit of `kind` on a space-tokenised sentence."""
    words = sentence.split(" ")
    wordy = [i for i, w in enumerate(words) if any(c.isalpha() for c in w)]
    if not wordy:
        return sentence + " !"
    if kind == "typo":
        cand = [i for i in wordy if len(words[i]) >= 3] or wordy
        i = int(rng.choice(cand))
        w = words[i]
        j = int(rng.integers(len(w)))
        op = rng.integers(4)
        letter = string.ascii_lowercase[int(rng.integers(26))]
        if op == 0:
            w = w[:j] + letter + w[j + 1 :]
        elif op == 1 and len(w) > 1:
            w = w[:j] + w[j + 1 :]
        elif op == 2:
            w = w[:j] + letter + w[j:]
        else:
            j = min(j, len(w) - 2)
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        words[i] = w
    elif kind == "drop":
        del words[int(rng.choice(wordy))]
    elif kind == "insert":
        words.insert(int(rng.integers(len(words) + 1)), vocab[int(rng.integers(len(vocab)))])
    elif kind == "swap":
        if len(words) < 2:
            return sentence + " !"
        i = int(rng.choice([i for i in wordy if i + 1 < len(words)] or [0]))
        words[i], words[i + 1] = words[i + 1], words[i]
    else:  # case_punct
        i = int(rng.choice(wordy))
        words[i] = words[i].capitalize() if not words[i][0].isupper() else words[i].lower()
        if words[-1] in {".", "!", "?"}:
            words.pop()
        else:
            words.append("!")
    return " ".join(words)


def plant(text: pd.Series, n: int, seed: int) -> tuple[pd.Series, pd.DataFrame]:
    """Append edited copies of `n` seeded rows with >= 8 words; return texts and pairs."""
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero(text.str.split(" ").str.len().to_numpy() >= 8)
    picks = np.sort(rng.choice(eligible, size=min(n, eligible.size), replace=False))
    counts = text.str.split(" ").explode().value_counts()
    vocab = [w for w in counts.index[:2000] if w.isalpha()]
    new, pairs = [], []
    for k, src in enumerate(picks.tolist()):
        kind = EDITS[k % len(EDITS)]
        edited = edit(text.iloc[src], kind, rng, vocab)
        if edited == text.iloc[src]:
            continue
        pairs.append((src, len(text) + len(new), kind))
        new.append(edited)
    out = pd.concat([text, pd.Series(new)], ignore_index=True)
    return out, pd.DataFrame(pairs, columns=["orig", "copy", "kind"])


def shingle_sets(texts: list[str], shingle: str, ngram: int) -> list[list[bytes]]:
    """The shingles dataqa.minhash uses, as byte strings for datasketch."""
    out = []
    for t in texts:
        toks = t if shingle == "char" else t.split()
        if len(toks) < ngram:
            out.append([t.encode()])
        elif shingle == "char":
            out.append(list({t[i : i + ngram].encode() for i in range(len(t) - ngram + 1)}))
        else:
            out.append(
                list({" ".join(toks[i : i + ngram]).encode() for i in range(len(toks) - ngram + 1)})
            )
    return out


def run_datasketch(reps: pd.Series, *, threshold, num_perm, shingle, ngram, seed) -> pd.DataFrame:
    from datasketch import MinHash, MinHashLSH

    texts = reps.tolist()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sigs = []
    for i, sh in enumerate(shingle_sets(texts, shingle, ngram)):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch(sh)
        lsh.insert(i, m)
        sigs.append(m)
    left, right, sim = [], [], []
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j > i:
                s = m.jaccard(sigs[j])
                if s >= threshold:
                    left.append(i)
                    right.append(j)
                    sim.append(s)
    ids = reps.index
    return pd.DataFrame({"left": ids[left], "right": ids[right], "similarity": sim})


def evaluate(
    pairs: pd.DataFrame,
    keys: pd.Series,
    rep_of: np.ndarray,
    planted: pd.DataFrame,
    groups: pd.Series | None = None,
) -> dict:
    """Recall of planted pairs and precision of reported pairs (see the module docstring)."""
    a, b = rep_of[planted["orig"].to_numpy()], rep_of[planted["copy"].to_numpy()]
    n = np.int64(len(keys))
    planted_code = np.minimum(a, b) * n + np.maximum(a, b)
    left, right = pairs["left"].to_numpy(np.int64), pairs["right"].to_numpy(np.int64)
    code = np.minimum(left, right) * n + np.maximum(left, right)
    exact = a == b
    found = exact | np.isin(planted_code, code)
    out = {
        "planted": len(planted),
        "recall": found.mean(),
        "pairs": len(pairs),
        "by_kind": pd.Series(found).groupby(planted["kind"].to_numpy()).mean().round(3).to_dict(),
        "precision": precision(left, right, code, planted_code, keys),
    }
    if groups is not None:
        g = groups.reindex(np.arange(len(keys))).to_numpy()
        out["recall_groups"] = (exact | ((g[a] == g[b]) & ~np.isnan(g[a]))).mean()
        # every pair of rows inside a group (chains make these looser than the links)
        members = groups.groupby(groups.to_numpy()).indices
        idx = groups.index.to_numpy(np.int64)
        gl, gr = [], []
        for rows in members.values():
            i, j = np.triu_indices(rows.size, k=1)
            gl.append(idx[rows[i]])
            gr.append(idx[rows[j]])
        gl, gr = np.concatenate(gl), np.concatenate(gr)
        out["group_pairs"] = gl.size
        out["precision_groups"] = precision(
            gl, gr, np.minimum(gl, gr) * n + np.maximum(gl, gr), planted_code, keys
        )
    return out


def precision(left, right, code, planted_code, keys) -> float:
    from rapidfuzz import fuzz, process

    if left.size == 0:
        return float("nan")
    text = keys.to_numpy()
    ratio = process.cpdist(text[left].tolist(), text[right].tolist(), scorer=fuzz.ratio, workers=1)
    return float((np.isin(code, planted_code) | (ratio >= RATIO_OK)).mean())


def fmt(res: dict) -> str:
    s = (
        f"recall {res['recall']:.4f}  precision {res['precision']:.4f}  "
        f"(verified pairs {res['pairs']:,})"
    )
    if "recall_groups" in res:
        s += (
            f"\n    as groups: recall {res['recall_groups']:.4f}  precision over all "
            f"{res['group_pairs']:,} within-group pairs {res['precision_groups']:.4f}"
        )
    return s + f"\n    recall by edit: {res['by_kind']}"


def timed(fn, *args, **kw):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=None, help="subsample SST-2 train to N rows")
    ap.add_argument("--plant", type=int, default=2000, help="edited copies to plant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shingle", default=SHINGLE)
    ap.add_argument("--ngram", type=int, default=NGRAM)
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--no-datasketch", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also compare shingle/threshold settings")
    args = ap.parse_args(argv)

    text, planted = plant(load(args.rows, args.seed), args.plant, args.seed)
    keys = normalize_for_dedup(text)
    first = pd.Series(np.arange(len(keys))).groupby(keys.to_numpy()).transform("min").to_numpy()
    rep_of = first
    reps = keys[(keys != "") & (first == np.arange(len(keys)))]
    params = {
        "threshold": args.threshold,
        "num_perm": args.num_perm,
        "shingle": args.shingle,
        "ngram": args.ngram,
        "seed": 1,
    }
    print(
        f"SST-2 train: {len(text) - len(planted):,} rows + {len(planted):,} planted edited copies "
        f"(seed {args.seed}); {len(reps):,} distinct normalised texts"
    )
    print(f"settings: {params}")
    print(
        f"precision: a reported pair is correct if planted, or rapidfuzz fuzz.ratio >= {RATIO_OK} "
        "on the normalised texts"
    )

    ours, wall, cpu = timed(near_duplicate_pairs, reps, **params)
    (groups, _), g_wall, g_cpu = timed(near_duplicate_groups, reps, **params)
    res = evaluate(ours, keys, rep_of, planted, groups)
    n = len(reps)
    print(
        f"dataqa.minhash pairs : {wall:6.2f} s wall {n / wall:9,.0f} rows/s | "
        f"{cpu:6.2f} s CPU {n / cpu:9,.0f} rows/s"
    )
    print(
        f"dataqa.minhash groups: {g_wall:6.2f} s wall {n / g_wall:9,.0f} rows/s | "
        f"{g_cpu:6.2f} s CPU {n / g_cpu:9,.0f} rows/s  ({groups.nunique():,} groups, "
        f"{len(groups):,} rows)"
    )
    print("    " + fmt(res))

    if not args.no_datasketch:
        ds, ds_wall, ds_cpu = timed(run_datasketch, reps, **params)
        res_ds = evaluate(ds, keys, rep_of, planted)
        print(
            f"datasketch 2.0 pairs : {ds_wall:6.2f} s wall {n / ds_wall:9,.0f} rows/s | "
            f"{ds_cpu:6.2f} s CPU {n / ds_cpu:9,.0f} rows/s"
        )
        print("    " + fmt(res_ds))
        print(
            f"speed-up, same run (pairs vs pairs): {ds_wall / wall:.1f}x wall, "
            f"{ds_cpu / cpu:.1f}x CPU; groups vs datasketch pairs: {ds_wall / g_wall:.1f}x wall, "
            f"{ds_cpu / g_cpu:.1f}x CPU"
        )

    if args.sweep:
        print(
            "\nsweep (dataqa.minhash only): shingle ngram threshold -> recall, precision, rows in groups"
        )
        for shingle, ngram, thresholds in (
            ("word", 3, (0.8, 0.5)),
            ("word", 1, (0.8, 0.7)),
            ("char", 3, (0.8, 0.78, 0.75, 0.7)),
            ("char", 4, (0.75, 0.72)),
            ("char", 5, (0.8, 0.7, 0.5)),
        ):
            for t in thresholds:
                p = {**params, "shingle": shingle, "ngram": ngram, "threshold": t}
                pairs, el, _ = timed(near_duplicate_pairs, reps, **p)
                r = evaluate(pairs, keys, rep_of, planted)
                in_pairs = len(set(pairs["left"]) | set(pairs["right"]))
                print(
                    f"  {shingle:4} {ngram} {t:.2f}: recall {r['recall']:.4f} precision "
                    f"{r['precision']:.4f} pairs {r['pairs']:7,} rows in pairs {in_pairs:6,} "
                    f"{len(reps) / el:9,.0f} rows/s"
                )


if __name__ == "__main__":
    main()
