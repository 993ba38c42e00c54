"""Token counts of conversations, with the user's tokenizer or a labelled estimate.

What fine-tuning sees is tokens, not characters: the length distribution that picks
`max_seq_len`, the records it truncates, the assistant answers truncation cuts, and the
records with **no trainable token left** once the prompt is masked (assistant-only
loss), zero-weight turns are skipped and the sequence is cut - found today only when a
trainer crashes or silently learns nothing.

Without a tokenizer the count is an estimate: one token per four characters, OpenAI's
rule of thumb for English ("Counting tokens", OpenAI cookbook), labelled as such in
every finding. With one (`tokenizer=` a local folder or a hub name), each turn is
counted with it, inside its chat template when it has one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataqa.errors import DataQAError

CHARS_PER_TOKEN = 4.0
"""English averages about four characters a token in GPT-style BPE vocabularies."""
TEMPLATE_OVERHEAD = 4
"""Tokens an estimate adds per turn for the chat template's role markers."""


@dataclass
class TurnTokens:
    """Per record: the token span of each turn, and what training would learn from.

    Attributes
    ----------
    total : int
        Tokens of the whole record as the trainer sees it.
    spans : list of (role, start, end, trainable)
        Each turn's token positions; `trainable` for assistant turns whose weight is
        not 0 (assistant-only loss).
    """

    total: int
    spans: list[tuple[str, int, int, bool]]

    def trainable_within(self, max_len: int) -> int:
        """Trainable tokens left when the sequence is cut at `max_len`."""
        return sum(max(0, min(end, max_len) - start) for _, start, end, ok in self.spans if ok)

    def cut_answers(self, max_len: int) -> int:
        """Assistant turns that start before `max_len` but end after it."""
        return sum(1 for role, start, end, ok in self.spans if ok and start < max_len < end)

    def by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for role, start, end, _ in self.spans:
            out[str(role)] = out.get(str(role), 0) + end - start
        return out


def _trainable(turn: dict) -> bool:
    return turn.get("role") == "assistant" and turn.get("weight", 1) not in (0, 0.0, False)


def estimate(turns: list[dict]) -> TurnTokens:
    """Token spans from character counts (`CHARS_PER_TOKEN`) plus template markers."""
    spans, pos = [], 0
    for t in turns:
        content = t.get("content") if isinstance(t.get("content"), str) else ""
        n = math.ceil(len(content) / CHARS_PER_TOKEN) + TEMPLATE_OVERHEAD
        spans.append((t.get("role"), pos, pos + n, _trainable(t)))
        pos += n
    return TurnTokens(pos, spans)


def load_tokenizer(name: str):
    """A `transformers` tokenizer from a local folder or a hub name (never remote code).

    Raises
    ------
    DataQAError
        The folder does not exist, or nothing loads from it.
    """
    from pathlib import Path

    looks_local = name.startswith(("/", ".", "~")) or name.count("/") != 1
    if looks_local and not Path(name).expanduser().exists():
        raise DataQAError(
            f"no tokenizer at {name!r}",
            hint="give a local folder with tokenizer files, or a hub name like org/model",
        )
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    except Exception as err:  # transformers raises many types for a bad folder or name
        raise DataQAError(
            f"could not load the tokenizer {name!r} ({type(err).__name__}: {err})",
            hint="give a local folder with tokenizer files (tokenizer.json or vocab), or a "
            "hub name when online",
        ) from None


def with_tokenizer(turns: list[dict], tok) -> TurnTokens:
    """Token spans from a real tokenizer: cumulative chat-template renderings when it has a
    template (each turn's span is the growth of the rendered prefix), else each turn's
    `role: content` line.

    Raises
    ------
    DataQAError
        The chat template fails to render this record.
    """
    messages = [
        {
            "role": t.get("role"),
            "content": t.get("content") if isinstance(t.get("content"), str) else "",
        }
        for t in turns
    ]
    spans = []
    if getattr(tok, "chat_template", None):
        prev = 0
        for k, t in enumerate(turns):
            try:
                ids = tok.apply_chat_template(messages[: k + 1], tokenize=True)
            except Exception as err:  # jinja errors, role alternation rules...
                raise DataQAError(
                    f"the tokenizer's chat template does not render this conversation "
                    f"({type(err).__name__}: {err})",
                    hint="fix the record, or audit without --tokenizer for an estimate",
                ) from None
            n = len(ids["input_ids"] if isinstance(ids, dict) else ids)
            spans.append((t.get("role"), prev, max(n, prev), _trainable(t)))
            prev = max(n, prev)
        return TurnTokens(prev, spans)
    pos = 0
    for t, m in zip(turns, messages, strict=True):
        n = len(tok(f"{m['role']}: {m['content']}\n", add_special_tokens=False)["input_ids"])
        spans.append((t.get("role"), pos, pos + n, _trainable(t)))
        pos += n
    return TurnTokens(pos, spans)


def count_tokens(records: pd.Series, tokenizer=None) -> pd.Series:
    """`TurnTokens` per record (None for a malformed record)."""
    out = []
    for turns in records:
        if not isinstance(turns, list):
            out.append(None)
        elif tokenizer is None:
            out.append(estimate(turns))
        else:
            out.append(with_tokenizer(turns, tokenizer))
    return pd.Series(out, index=records.index, dtype=object)


def percentiles(values: np.ndarray) -> dict:
    if values.size == 0:
        return {}
    q = np.percentile(values, [50, 90, 95, 99, 100])
    return {k: int(v) for k, v in zip(("p50", "p90", "p95", "p99", "max"), q, strict=True)}
