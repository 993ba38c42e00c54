"""Conversations: format, roles, tokens, answers and pairs of the records an LLM is tuned on.

Runs on conversation data (`Roles.schema` chat, sharegpt, alpaca, completion,
preference; see `dataqa.chat.formats`). Findings point at records, and at the turn
where it matters (`evidence.turns`: row id -> turn index). The generic checks run on
the same data too: hygiene and duplicates read each record rendered as `role: content`
lines, so exact and near duplicates over whole conversations, PII, language and
encoding are found there.

- **format and roles**, with parity to OpenAI's fine-tuning data checks (cookbook
  "Data preparation and analysis for chat model fine-tuning"): not a list of messages,
  a message that is not an object, missing `role` or `content`, unknown keys, unknown
  roles, empty or non-string content, no assistant turn; plus a conversation that ends
  on the user, consecutive turns of one role and a system prompt that is not first;
- **tokens** (`dataqa.chat.tokens`): per record and role with the user's tokenizer (or
  a labelled estimate), the length distribution, records over `max_seq_len`, assistant
  answers truncation cuts, and records with no trainable token left; tokens and cost
  for `epochs` passes;
- **answers**: refusals and "As an AI language model" boilerplate, answers that only
  repeat the prompt, one prompt with conflicting answers;
- **contamination** against a benchmark file (13-gram overlap, `dataqa.chat.contamination`);
- **preference pairs**: chosen equal or nearly equal to rejected, an empty side, ties,
  and the length bias between chosen and rejected (reported like a surface cue: a
  reward model learns "longer wins").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from dataqa.chat.formats import MESSAGE_KEYS, ROLES, SHAREGPT_ROLES
from dataqa.chat.tokens import count_tokens, load_tokenizer, percentiles
from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Kind, NoFix, Quarantine, Review
from dataqa.options import Options
from dataqa.text import normalize_for_dedup

REFUSAL_RE = re.compile(
    r"(?i)\bas an ai(?: language model| assistant| model)?\b|\bas a large language model\b"
    r"|\bi(?:'m| am) (?:sorry|afraid),? but (?:i|as an)\b.{0,40}\b(?:can(?:no|')t|unable|not able)"
    r"|\bi (?:cannot|can't|am unable to|am not able to) (?:assist|help|provide|comply|fulfil)"
    r"|\bi don't have (?:personal )?(?:opinions|feelings|the ability)\b"
    r"|\bmy (?:knowledge cutoff|training data)\b"
)
"""Refusals and AI boilerplate in assistant turns (the strings ShareGPT and Alpaca
cleaning scripts remove, e.g. "As an AI language model ...")."""


class ConversationOptions(Options):
    """Options of the conversations check."""

    tokenizer: str | None = Field(
        None,
        description="A local tokenizer folder or hub name; its chat template is applied. "
        "Default: an estimate of 4 characters a token (OpenAI's rule of thumb).",
    )
    max_seq_len: int = Field(
        2048, ge=16, description="The trainer's maximum sequence length, in tokens."
    )
    epochs: float = Field(3.0, gt=0, description="Epochs, for the token and cost estimate.")
    price_per_mtok: float | None = Field(
        None, ge=0, description="Training price per million tokens, for a cost estimate."
    )
    benchmark: str | None = Field(
        None, description="A benchmark file (any format dataqa reads) to check against."
    )
    contamination_ngram: int = Field(
        13, ge=5, le=50, description="Words a shared run needs to count (13: GPT-3)."
    )
    echo_similarity: float = Field(
        0.95, gt=0, le=1, description="An answer this similar to its prompt only repeats it."
    )
    pair_similarity: float = Field(
        0.95, gt=0, le=1, description="Chosen and rejected this similar are one answer."
    )
    length_bias_share: float = Field(
        0.65,
        gt=0.5,
        lt=1,
        description="Share of pairs whose chosen answer is longer that counts as a bias.",
    )


def _k(name, severity, fix, summary, policy="keep", rows=True) -> Kind:
    return Kind(f"conversations.{name}", severity, fix, summary, policy, rows=rows)


KINDS = (
    _k("format", "error", Quarantine, "a record or message that is not the format", "quarantine"),
    _k(
        "null_keys",
        "warning",
        Review,
        "messages carry unknown keys set to null (a table export's union of fields)",
    ),
    _k("unknown_role", "error", Quarantine, "a role the format does not have", "quarantine"),
    _k("empty_turn", "error", Quarantine, "a turn with no content", "quarantine"),
    _k("no_assistant", "error", Quarantine, "no assistant turn: nothing to learn", "quarantine"),
    _k("ends_on_user", "warning", Review, "the conversation ends on the user"),
    _k("consecutive_roles", "warning", Review, "two turns of one role in a row"),
    _k("system_placement", "warning", Review, "a system prompt that is not first"),
    _k("over_max_len", "warning", Review, "longer than max_seq_len tokens: truncated"),
    _k("truncated_answer", "warning", Quarantine, "an answer cut by max_seq_len", "quarantine"),
    _k(
        "no_trainable_tokens",
        "error",
        Quarantine,
        "no assistant token left to learn from",
        "quarantine",
    ),
    _k("refusal", "warning", Quarantine, "refusals and AI boilerplate in answers", "quarantine"),
    _k("echo", "warning", Quarantine, "an answer that only repeats the prompt", "quarantine"),
    _k("prompt_conflict", "info", Review, "one prompt, different answers"),
    _k("contamination", "error", Quarantine, "text shared with the benchmark", "quarantine"),
    _k(
        "pair_identical", "error", Quarantine, "chosen and rejected (nearly) the same", "quarantine"
    ),
    _k("pair_empty", "error", Quarantine, "an empty chosen or rejected side", "quarantine"),
    _k("pair_tie", "warning", Quarantine, "chosen and rejected scored the same", "quarantine"),
    _k("length_bias", "warning", NoFix, "chosen answers longer than rejected ones", rows=False),
)


class ConversationCheck(Check):
    name = "conversations"
    Options = ConversationOptions
    kinds = KINDS

    def not_applicable(self, ds: Dataset) -> str | None:
        if ds.roles.schema == "text":
            return (
                "not conversation data (a text per row); if it is, name its format with "
                "--schema chat|sharegpt|alpaca|completion|preference"
            )
        return None

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        schema = ds.roles.schema
        if schema == "text":
            return CheckResult(skipped="not conversation data (a text per row)")
        records = ds.records
        out: list[Finding] = []
        stats: dict[str, Any] = {"schema": schema, "records": len(ds)}
        if schema == "preference":
            turns = records.map(_pair_turns)
            out += self._pairs(ds, records, stats)
        else:
            turns = records
            out += self._format(ds, stats)
        out += self._roles(ds, turns, schema)
        out += self._tokens(ds, turns, stats)
        out += self._answers(ds, turns, stats)
        if p["benchmark"]:
            out += self._contamination(ds, turns, stats)
        stats["charts"] = _charts(stats)
        return CheckResult(out, stats)

    # ---- format -----------------------------------------------------------------------

    def _format(self, ds: Dataset, stats: dict) -> list[Finding]:
        """Record-level format errors, from the raw column (OpenAI's checks, one per row)."""
        schema, col = ds.roles.schema, ds.frame[ds.roles.text]
        problems: dict = {}
        for rid, value in col.items():
            why = _format_problem(value, schema)
            if why:
                problems[rid] = why
        stats["format_errors"] = dict(Counter(w for w, _ in problems.values()))
        out = self._null_keys(col, problems) if schema == "chat" else []
        if not problems:
            return out
        return out + [
            self.finding(
                "format",
                f"{len(problems)} records are not valid {schema} records "
                f"({_top(Counter(w for w, _ in problems.values()))})",
                list(problems),
                evidence={
                    "values": {str(r): w for r, (w, _) in problems.items()},
                    "turns": {str(r): t for r, (_, t) in problems.items() if t is not None},
                },
            )
        ]

    def _null_keys(self, col: pd.Series, problems: dict) -> list[Finding]:
        """Messages whose only unknown keys are null: what pandas, Parquet and `datasets`
        write when messages of different shapes share one table. Not a broken record (the
        values are absent, not wrong), but OpenAI's uploader rejects unknown keys."""
        from dataqa.chat.formats import _plain

        hits: dict = {}
        for rid, value in col.items():
            if rid in problems:
                continue
            value = _plain(value)
            for i, m in enumerate(value if isinstance(value, list) else []):
                null = sorted(k for k in set(m) - MESSAGE_KEYS if m[k] is None)
                if null:
                    hits[rid] = (null, i)
                    break
        if not hits:
            return []
        keys = sorted({k for ks, _ in hits.values() for k in ks})
        return [
            self.finding(
                "null_keys",
                f"{len(hits)} records have messages with unknown keys set to null ({keys[:5]}), "
                "as a table export writes them; trainers that read messages ignore them, but "
                "OpenAI's uploader rejects unknown keys: drop them before uploading there",
                list(hits),
                evidence={
                    "keys": keys,
                    "turns": {str(r): t for r, (_, t) in hits.items()},
                },
            )
        ]

    def _roles(self, ds: Dataset, turns: pd.Series, schema: str) -> list[Finding]:
        hits: dict[str, dict] = {
            k: {}
            for k in (
                "unknown_role",
                "empty_turn",
                "no_assistant",
                "ends_on_user",
                "consecutive_roles",
                "system_placement",
            )
        }
        for rid, ts in turns.items():
            if not isinstance(ts, list):
                continue
            roles = [t.get("role") for t in ts]
            for t in ts:
                if t.get("role") not in ROLES:
                    hits["unknown_role"].setdefault(rid, (t["index"], str(t.get("role"))))
                c = t.get("content")
                if (
                    t.get("role") != "system"
                    and not t.get("tool_call")
                    and (c is None or (isinstance(c, str) and not c.strip()))
                ):
                    hits["empty_turn"].setdefault(rid, (t["index"], t.get("role")))
            if "assistant" not in roles:
                hits["no_assistant"][rid] = (None, None)
            elif roles and roles[-1] == "user":
                hits["ends_on_user"][rid] = (ts[-1]["index"], None)
            for a, b in zip(ts, ts[1:], strict=False):
                if a.get("role") == b.get("role") and a.get("role") in ("user", "assistant"):
                    hits["consecutive_roles"].setdefault(rid, (b["index"], a.get("role")))
            for t in ts[1:]:
                if t.get("role") == "system":
                    hits["system_placement"].setdefault(rid, (t["index"], None))
        messages = {
            "unknown_role": "{n} records have a turn with a role the format does not have",
            "empty_turn": "{n} records have a user or assistant turn with no content",
            "no_assistant": "{n} records have no assistant turn: nothing to learn from",
            "ends_on_user": "{n} conversations end on a user turn (it is never answered)",
            "consecutive_roles": "{n} conversations have two turns of one role in a row",
            "system_placement": "{n} conversations have a system prompt that is not the first turn",
        }
        out = []
        for kind, rows in hits.items():
            if rows:
                evidence = {"turns": {str(r): t for r, (t, _) in rows.items() if t is not None}}
                values = {str(r): v for r, (_, v) in rows.items() if v is not None}
                if values:
                    evidence["values"] = values
                out.append(
                    self.finding(
                        kind, messages[kind].format(n=len(rows)), list(rows), evidence=evidence
                    )
                )
        return out

    # ---- tokens -----------------------------------------------------------------------

    def _tokens(self, ds: Dataset, turns: pd.Series, stats: dict) -> list[Finding]:
        p = self.params
        tok = load_tokenizer(p["tokenizer"]) if p["tokenizer"] else None
        counts = count_tokens(turns, tok)
        ok = counts.map(lambda c: c is not None).to_numpy()
        totals = np.array([c.total for c in counts[ok]], dtype=np.int64)
        limit = p["max_seq_len"]
        roles: Counter = Counter()
        for c in counts[ok]:
            roles.update(c.by_role())
        trained = sum(min(c.total, limit) for c in counts[ok])
        stats["tokens"] = {
            "counted_with": p["tokenizer"] or "estimate (4 characters a token)",
            "max_seq_len": limit,
            "total": int(totals.sum()),
            "by_role": dict(roles),
            "per_record": percentiles(totals),
            "share_over_max_len": round(float((totals > limit).mean()), 4) if totals.size else 0,
            "histogram": _histogram(totals),
            "training_tokens": int(trained * p["epochs"]),
            "epochs": p["epochs"],
        }
        if p["price_per_mtok"] is not None:
            stats["tokens"]["cost"] = round(trained * p["epochs"] / 1e6 * p["price_per_mtok"], 2)
        label = "" if tok is not None else " (estimated tokens)"
        over, cut, none = [], {}, []
        for rid, c in counts.items():
            if c is None:
                continue
            if c.total > limit:
                over.append(rid)
            n_cut = c.cut_answers(limit)
            if n_cut:
                cut[rid] = n_cut
            if c.trainable_within(limit) == 0 and any(s[0] == "assistant" for s in c.spans):
                none.append(rid)
        out = []
        if over:
            out.append(
                self.finding(
                    "over_max_len",
                    f"{len(over)} records are longer than max_seq_len={limit} "
                    f"tokens{label} and will be truncated",
                    over,
                    evidence={"values": {str(r): counts[r].total for r in over[:500]}},
                )
            )
        if cut:
            out.append(
                self.finding(
                    "truncated_answer",
                    f"{len(cut)} records have an assistant answer that "
                    f"max_seq_len={limit} cuts off{label}: the model learns to stop mid-answer",
                    list(cut),
                )
            )
        if none:
            out.append(
                self.finding(
                    "no_trainable_tokens",
                    f"{len(none)} records keep no trainable token once the "
                    f"prompt is masked, zero-weight turns skipped and the sequence cut at {limit}"
                    f"{label}",
                    none,
                )
            )
        return out

    # ---- answers ----------------------------------------------------------------------

    def _answers(self, ds: Dataset, turns: pd.Series, stats: dict) -> list[Finding]:
        p = self.params
        refusals, echoes, prompts, answers = {}, [], {}, {}
        from rapidfuzz import fuzz

        said: list[tuple] = []  # (row, turn, answer): refusals are screened in one pass
        for rid, ts in turns.items():
            if not isinstance(ts, list):
                continue
            last_user = None
            for t in ts:
                c = t.get("content") if isinstance(t.get("content"), str) else ""
                if t.get("role") == "user":
                    last_user = c
                elif t.get("role") == "assistant" and c:
                    said.append((rid, t["index"], c))
                    if (
                        last_user
                        and rid not in echoes
                        and (
                            fuzz.ratio(c.strip().lower(), last_user.strip().lower()) / 100
                            >= p["echo_similarity"]
                        )
                    ):
                        echoes.append(rid)
            first_answer = next((i for i, t in enumerate(ts) if t.get("role") == "assistant"), None)
            if first_answer:
                prompts[rid] = "\n".join(
                    str(t.get("content")) for t in ts[:first_answer] if t.get("role") != "system"
                )
                answers[rid] = str(ts[first_answer].get("content"))
        if said:
            import pyarrow as pa
            import pyarrow.compute as pc

            texts = pa.array([c for _, _, c in said], type=pa.large_string())
            hit = pc.match_substring_regex(texts, REFUSAL_RE.pattern).to_numpy(zero_copy_only=False)
            for k in np.flatnonzero(hit):
                rid, turn, c = said[k]
                if rid not in refusals:
                    refusals[rid] = (turn, REFUSAL_RE.search(c).group(0))
        out = []
        if refusals:
            out.append(
                self.finding(
                    "refusal",
                    f"{len(refusals)} records have an answer that refuses or speaks as an AI model",
                    list(refusals),
                    evidence={
                        "values": {str(r): m for r, (_, m) in refusals.items()},
                        "turns": {str(r): t for r, (t, _) in refusals.items()},
                    },
                )
            )
        if echoes:
            out.append(
                self.finding(
                    "echo",
                    f"{len(echoes)} records have an answer that only repeats the prompt",
                    echoes,
                )
            )
        out += self._conflicts(prompts, answers, stats)
        return out

    def _conflicts(self, prompts: dict, answers: dict, stats: dict) -> list[Finding]:
        """One prompt (normalised) answered differently (normalised) in several records."""
        if not prompts:
            return []
        ids = list(prompts)
        pk = normalize_for_dedup(pd.Series([prompts[i] for i in ids], index=ids))
        ak = normalize_for_dedup(pd.Series([answers[i] for i in ids], index=ids))
        frame = pd.DataFrame({"p": pk, "a": ak})
        frame = frame[frame["p"] != ""]
        from rapidfuzz import fuzz

        by_prompt = frame.groupby("p", sort=False)
        n_answers = by_prompt["a"].nunique()
        members = {k: v for k, v in by_prompt.groups.items() if n_answers[k] > 1}

        def differ(rows) -> bool:  # answers that are near-copies of each other agree
            answers = frame.loc[rows, "a"].unique()
            return any(fuzz.ratio(answers[0], a) < 90 for a in answers[1:])

        conflicted = [k for k, rows in members.items() if differ(rows)]
        stats["prompts"] = {
            "distinct": int(frame["p"].nunique()),
            "repeated": int((frame["p"].value_counts() > 1).sum()),
            "with_conflicting_answers": len(conflicted),
        }
        out = []
        for key in conflicted[:500]:
            rows = list(members[key])
            out.append(
                self.finding(
                    "prompt_conflict",
                    f"{len(rows)} records share a prompt and answer it "
                    f"{frame.loc[rows, 'a'].nunique()} different ways",
                    rows,
                    evidence={"prompt": str(prompts[rows[0]])[:300]},
                )
            )
        return out

    # ---- contamination ------------------------------------------------------------------

    def _contamination(self, ds: Dataset, turns: pd.Series, stats: dict) -> list[Finding]:
        from dataqa.chat.contamination import contaminated
        from dataqa.chat.formats import render_record
        from dataqa.dataset import load

        bench = load(self.params["benchmark"])
        bench_text = (
            bench.text
            if bench.roles.schema == "text"
            else pd.Series([render_record(r, bench.roles.schema) for r in bench.records])
        )
        texts = pd.Series(
            [
                "\n".join(str(t.get("content")) for t in ts) if isinstance(ts, list) else ""
                for ts in turns
            ],
            index=turns.index,
        )
        hits = contaminated(texts, bench_text, self.params["contamination_ngram"])
        stats["contamination"] = {
            "benchmark": self.params["benchmark"],
            "benchmark_rows": len(bench),
            "rows": len(hits),
        }
        if hits.empty:
            return []
        return [
            self.finding(
                "contamination",
                f"{len(hits)} records share a run of "
                f"{self.params['contamination_ngram']} words with the benchmark "
                f"{self.params['benchmark']}",
                list(hits.index),
                evidence={"values": {str(r): s for r, s in hits["span"].items()}},
            )
        ]

    # ---- preference pairs ----------------------------------------------------------------

    def _pairs(self, ds: Dataset, records: pd.Series, stats: dict) -> list[Finding]:
        from rapidfuzz import fuzz

        p = self.params
        same, empty, lens = [], [], []
        for rid, rec in records.items():
            if not isinstance(rec, dict):
                continue
            chosen, rejected = _side_text(rec.get("chosen")), _side_text(rec.get("rejected"))
            if chosen is None or rejected is None or not chosen.strip() or not rejected.strip():
                empty.append(rid)
                continue
            if fuzz.ratio(chosen, rejected) / 100 >= p["pair_similarity"]:
                same.append(rid)
            lens.append((len(chosen), len(rejected)))
        out = []
        if empty:
            out.append(
                self.finding(
                    "pair_empty", f"{len(empty)} pairs have an empty chosen or rejected side", empty
                )
            )
        if same:
            out.append(
                self.finding(
                    "pair_identical",
                    f"{len(same)} pairs have a chosen answer "
                    "(nearly) equal to the rejected one: nothing to prefer",
                    same,
                )
            )
        out += self._ties(ds)
        if lens:
            out += self._length_bias(np.array(lens), stats)
        return out

    def _ties(self, ds: Dataset) -> list[Finding]:
        cols = {str(c).lower(): c for c in ds.frame.columns}
        pairs = [
            ("score_chosen", "score_rejected"),
            ("chosen_score", "rejected_score"),
            ("chosen_rating", "rejected_rating"),
        ]
        for a, b in pairs:
            if a in cols and b in cols:
                sa = pd.to_numeric(ds.frame[cols[a]], errors="coerce")
                sb = pd.to_numeric(ds.frame[cols[b]], errors="coerce")
                tie = (sa == sb) & sa.notna()
                if tie.any():
                    return [
                        self.finding(
                            "pair_tie",
                            f"{int(tie.sum())} pairs score chosen and "
                            f"rejected the same ({a} = {b})",
                            list(ds.ids[tie.to_numpy()]),
                        )
                    ]
        return []

    def _length_bias(self, lens: np.ndarray, stats: dict) -> list[Finding]:
        """Is "longer wins" a rule of this data? Share of pairs whose chosen side is longer,
        with a two-sided binomial test against 0.5 (ties left out)."""
        from scipy.stats import binomtest

        longer = int((lens[:, 0] > lens[:, 1]).sum())
        shorter = int((lens[:, 0] < lens[:, 1]).sum())
        n = longer + shorter
        share = longer / n if n else 0.5
        pval = float(binomtest(longer, n, 0.5).pvalue) if n else 1.0
        stats["length_bias"] = {
            "pairs": n,
            "chosen_longer": longer,
            "share_chosen_longer": round(share, 4),
            "p_value": pval,
            "median_chars_chosen": float(np.median(lens[:, 0])),
            "median_chars_rejected": float(np.median(lens[:, 1])),
        }
        threshold = self.params["length_bias_share"]
        if n >= 20 and pval < 0.01 and (share >= threshold or share <= 1 - threshold):
            side = "longer" if share >= 0.5 else "shorter"
            return [
                self.finding(
                    "length_bias",
                    f"the chosen answer is {side} than the rejected one in "
                    f"{max(share, 1 - share):.0%} of {n} pairs (binomial p = {pval:.1e}): a reward "
                    f"model learns '{side} wins' rather than 'better wins'",
                    [],
                    evidence=stats["length_bias"],
                )
            ]
        return []


def _pair_turns(rec: Any) -> list[dict] | None:
    if not isinstance(rec, dict) or rec.get("prompt") is None or rec.get("chosen") is None:
        return None
    return list(rec["prompt"]) + list(rec["chosen"])


def _side_text(turns: Any) -> str | None:
    if turns is None:
        return None
    return "\n".join(str(t.get("content") or "") for t in turns if t.get("role") != "user")


def _format_problem(value: Any, schema: str) -> tuple[str, int | None] | None:
    """(problem, turn index) of a raw record's main field, or None when it is well formed."""
    from dataqa.chat.formats import _missing, _plain

    value = _plain(value)
    if _missing(value):
        return ("missing field", None)
    if schema in ("chat", "sharegpt"):
        if not isinstance(value, list):
            return (f"a {type(value).__name__}, not a list of messages", None)
        if not value:
            return ("no messages", None)
        for i, m in enumerate(value):
            if not isinstance(m, dict):
                return (f"message {i} is a {type(m).__name__}, not an object", i)
            if schema == "chat":
                if "role" not in m:
                    return (f"message {i} has no 'role'", i)
                if "content" not in m and not m.get("tool_calls") and not m.get("function_call"):
                    return (f"message {i} has no 'content'", i)
                extra = {k for k in set(m) - MESSAGE_KEYS if m[k] is not None}
                if extra:  # null-valued ones are `null_keys`, a warning
                    return (f"message {i} has unknown keys {sorted(extra)}", i)
                c = m.get("content")
                if c is not None and not isinstance(c, str | list):
                    return (f"message {i} content is a {type(c).__name__}", i)
            else:
                if "from" not in m and "role" not in m:
                    return (f"message {i} has no 'from'", i)
                if str(m.get("from", m.get("role"))).lower() not in SHAREGPT_ROLES:
                    return (f"message {i} comes from {m.get('from')!r}", i)
                if not isinstance(m.get("value", m.get("content")), str):
                    return (f"message {i} has no string 'value'", i)
        return None
    if not isinstance(value, str):
        return (f"a {type(value).__name__}, not text", None)
    return None


def _top(counter: Counter, n: int = 3) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counter.most_common(n))


def _histogram(values: np.ndarray, bins: int = 20) -> dict:
    if values.size == 0:
        return {"edges": [], "counts": []}
    hi = max(float(np.percentile(values, 99)), 1.0)
    counts, edges = np.histogram(np.clip(values, 0, hi), bins=bins, range=(0, hi))
    return {"edges": edges.round(1).tolist(), "counts": counts.tolist()}


def _charts(stats: dict) -> list[dict]:
    tokens = stats.get("tokens") or {}
    charts = []
    if tokens.get("histogram", {}).get("counts"):
        charts.append(
            {
                "id": "conversations-tokens",
                "type": "histogram",
                "title": f"Tokens per record ({tokens['counted_with']}; max_seq_len "
                f"{tokens['max_seq_len']})",
                "x_label": "tokens (99th percentile and above in the last bin)",
                "y_label": "records",
                "data": tokens["histogram"],
            }
        )
    if tokens.get("by_role"):
        charts.append(
            {
                "id": "conversations-roles",
                "type": "bar",
                "title": "Tokens by role",
                "x_label": "role",
                "y_label": "tokens",
                "data": {
                    "labels": list(tokens["by_role"]),
                    "values": list(tokens["by_role"].values()),
                },
            }
        )
    return charts
