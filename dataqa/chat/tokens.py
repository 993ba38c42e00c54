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
        not 0 (assistant-only loss). Role `template` marks a chat template's or the
        plain rendering's role markers (never trainable).
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


def _messages(turns: list[dict]) -> list[dict]:
    return [
        {
            "role": t.get("role"),
            "content": t.get("content") if isinstance(t.get("content"), str) else "",
        }
        for t in turns
    ]


def _ids(out) -> list[int]:
    return list(out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out)


def encode_turns(turns: list[dict], tok) -> tuple[list[int], TurnTokens]:
    """The token ids a trainer sees for one conversation, and each turn's span in them.

    With a chat template, the ids are the template's rendering of the whole conversation
    and each turn's span is the growth of the rendered prefix; an assistant turn's
    trainable span starts after the template's header for it (the prefix rendered with
    `add_generation_prompt=True`), so the role markers are not learned - the assistant
    tokens a template's `{% generation %}` block would mark. Without a template, each turn
    is `role: ` (a `template` span) then its content; an assistant's content ends with
    the end-of-sequence token (learned: the model must learn to stop), other turns with a
    newline; the whole starts with the beginning-of-sequence token when the tokenizer
    has one. Spans of role `template` are markers, never trainable.

    Returns
    -------
    (list of int, TurnTokens)
        The ids (uncut) and the spans; `TurnTokens.total == len(ids)`.

    Raises
    ------
    DataQAError
        The chat template fails to render this conversation.
    """
    messages = _messages(turns)
    if getattr(tok, "chat_template", None):
        return _templated(turns, messages, tok)
    ids: list[int] = []
    spans: list[tuple[str, int, int, bool]] = []
    if getattr(tok, "bos_token_id", None) is not None:
        ids.append(tok.bos_token_id)
    eos = getattr(tok, "eos_token_id", None)
    for t, m in zip(turns, messages, strict=True):
        head = tok(f"{m['role']}: ", add_special_tokens=False)["input_ids"]
        spans.append(("template", len(ids), len(ids) + len(head), False))
        ids += head
        train = _trainable(t)
        if m["role"] == "assistant" and eos is not None:
            body = tok(m["content"], add_special_tokens=False)["input_ids"] + [eos]
        else:
            body = tok(m["content"] + "\n", add_special_tokens=False)["input_ids"]
        spans.append((t.get("role"), len(ids), len(ids) + len(body), train))
        ids += body
    return ids, TurnTokens(len(ids), spans)


def _templated(turns: list[dict], messages: list[dict], tok) -> tuple[list[int], TurnTokens]:
    def render(upto: int, prompt: bool = False) -> list[int]:
        if upto == 0 and not prompt:
            return []
        try:
            return _ids(
                tok.apply_chat_template(
                    messages[:upto], tokenize=True, add_generation_prompt=prompt
                )
            )
        except Exception as err:  # jinja errors, role alternation rules...
            raise DataQAError(
                f"the tokenizer's chat template does not render this conversation "
                f"({type(err).__name__}: {err})",
                hint="fix the record, or audit without --tokenizer for an estimate",
            ) from None

    ids = render(len(messages))
    spans: list[tuple[str, int, int, bool]] = []
    prev = 0
    for k, t in enumerate(turns):
        end = max(len(render(k + 1)) if k + 1 < len(messages) else len(ids), prev)
        start = prev
        if t.get("role") == "assistant" and k > 0:
            start = min(max(len(render(k, prompt=True)), prev), end)
            if start > prev:
                spans.append(("template", prev, start, False))
        spans.append((t.get("role"), start, end, _trainable(t)))
        prev = end
    return ids, TurnTokens(max(prev, len(ids)), spans)


def with_tokenizer(turns: list[dict], tok) -> TurnTokens:
    """Token spans from a real tokenizer, exactly as the trainer sees them (`encode_turns`).

    Raises
    ------
    DataQAError
        The chat template fails to render this record.
    """
    return encode_turns(turns, tok)[1]


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
