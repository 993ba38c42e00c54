"""Conversations as training rows for a causal LM, with assistant-only loss.

Supervised fine-tuning on conversations learns the assistant's answers, not the user's
questions or the system prompt: every position whose token is not part of an assistant
turn gets the label -100, which the loss ignores (PyTorch's `ignore_index`; TRL's
`assistant_only_loss`, axolotl's `train_on_inputs: false`). Turns with `weight` 0 (the
OpenAI fine-tuning format) are masked too. The ids and each turn's span come from
`dataqa.chat.tokens.encode_turns` - the same function the conversations check counts
tokens with, so the audit's "no trainable token left" and the trainer agree - and the
sequence is cut at `max_length`. A causal LM predicts token t from the tokens before it,
so the first position is never learned: a row needs a trainable label after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dataqa.errors import DataQAError

IGNORE_INDEX = -100
"""The label PyTorch's cross-entropy and transformers' causal-LM loss skip."""


def sft_turns(record, schema: str) -> list[dict] | None:
    """The turns a model is fine-tuned on: the conversation, or prompt + chosen answer of a
    preference pair (SFT on the preferred answers); None for a malformed record."""
    if schema == "preference":
        if not isinstance(record, dict):
            return None
        prompt, chosen = record.get("prompt"), record.get("chosen")
        if not isinstance(prompt, list) or not isinstance(chosen, list):
            return None
        return prompt + chosen
    return record if isinstance(record, list) else None


def encode_conversation(turns: list[dict], tokenizer, max_length: int) -> dict:
    """One training row: `input_ids`, `attention_mask` and `labels`, cut at `max_length`.

    `labels[i]` is `input_ids[i]` inside a trainable span (an assistant turn whose
    weight is not 0, `encode_turns`), else `IGNORE_INDEX`.

    Raises
    ------
    DataQAError
        The tokenizer's chat template fails to render the conversation.
    """
    from dataqa.chat.tokens import encode_turns

    ids, tokens = encode_turns(turns, tokenizer)
    labels = [IGNORE_INDEX] * len(ids)
    for _, start, end, trainable in tokens.spans:
        if trainable:
            labels[start:end] = ids[start:end]
    ids, labels = ids[:max_length], labels[:max_length]
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def trainable_tokens(row: dict) -> int:
    """Positions whose label the loss learns (the first position predicts nothing)."""
    return sum(1 for y in row["labels"][1:] if y != IGNORE_INDEX)


@dataclass
class Encoded:
    """The training rows of one set, and the records left out (row id -> why)."""

    ids: list = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    dropped: dict = field(default_factory=dict)

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for why in self.dropped.values():
            out[why] = out.get(why, 0) + 1
        return out


def encode_records(
    records: pd.Series, schema: str, tokenizer, max_length: int, *, name: str, path: str
) -> Encoded:
    """Encode every record of a set; records that are not conversations, or that keep no
    trainable token after templating, masking and truncation, are left out and named.

    Raises
    ------
    DataQAError
        The chat template fails on a record (naming the set, file and record).
    """
    out = Encoded()
    for rid, record in records.items():
        turns = sft_turns(record, schema)
        if turns is None:
            out.dropped[rid] = "not a valid conversation record"
            continue
        try:
            row = encode_conversation(turns, tokenizer, max_length)
        except DataQAError as err:
            raise DataQAError(
                f"in the {name} set, {err.problem}",
                path=path,
                row=rid,
                hint="fix or remove that record (dataqa audit lists format problems), or "
                "give --tokenizer a tokenizer whose template renders it",
            ) from None
        if trainable_tokens(row) == 0:
            out.dropped[rid] = (
                f"no trainable token (no assistant token within {max_length} tokens, or "
                "every assistant turn has weight 0)"
            )
            continue
        out.ids.append(rid)
        out.rows.append(row)
    return out
