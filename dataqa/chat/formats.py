"""Conversation data: which format a table is in, and each record as canonical turns.

A record stays exactly as it was read (the frame keeps every JSON value, so writing it
back gives the same JSON value); this module only *reads* records into a canonical form
the checks share:

- a **conversation**: a list of turns `{"role", "content"}` (roles `system`, `user`,
  `assistant`, `tool`; `weight` kept when the record has it), with the index of the
  turn in the record;
- a **preference pair**: the prompt turns, the chosen answer turns and the rejected
  answer turns.

Formats (detected from column names, or forced with `schema=`):

=============  ==========================================================  ============
schema          record                                                       source
=============  ==========================================================  ============
`chat`          `{"messages": [{"role", "content", "name"?, "weight"?,      OpenAI
                "tool_calls"?}]}`                                            fine-tuning
`sharegpt`      `{"conversations": [{"from": "human"|"gpt"|..., "value"}]}`  ShareGPT,
                                                                              axolotl
`alpaca`        `{"instruction", "input"?, "output", "system"?}`             Alpaca
`completion`    `{"prompt", "completion"}`                                   OpenAI legacy
`preference`    `{"prompt", "chosen", "rejected"}`; each side a string or    DPO (TRL)
                a message list
=============  ==========================================================  ============
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SCHEMAS = ("text", "chat", "sharegpt", "alpaca", "completion", "preference")
"""`text` is a classification set (a text and a label per row); the rest are records
a language model is fine-tuned on."""
ROLES = ("system", "user", "assistant", "tool")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
    "tool": "tool",
    "function_call": "assistant",
    "observation": "tool",
    "function": "tool",
}
"""ShareGPT's `from` values as chat roles (the variants axolotl and LLaMA-Factory read)."""
MESSAGE_KEYS = {
    "role",
    "content",
    "name",
    "weight",
    "tool_calls",
    "tool_call_id",
    "function_call",
    "refusal",
    "audio",
    "thinking",
}
"""Keys a message of the OpenAI chat format may carry."""
SCHEMA_COLUMNS = {
    "chat": "messages",
    "sharegpt": "conversations",
    "alpaca": "instruction",
    "completion": "prompt",
    "preference": "chosen",
}
"""The column that holds each schema's main field (the `text` role of the dataset)."""


def detect_schema(columns) -> str:
    """The schema a table's columns say it is in (`text` when none fits).

    Preference pairs win over completion (both have `prompt`), chat over ShareGPT when a
    table has both columns.
    """
    cols = {str(c).lower() for c in columns}
    if {"chosen", "rejected"} <= cols:
        return "preference"
    if "messages" in cols:
        return "chat"
    if "conversations" in cols:
        return "sharegpt"
    if {"instruction", "output"} <= cols:
        return "alpaca"
    if {"prompt", "completion"} <= cols:
        return "completion"
    return "text"


def _plain(value: Any) -> Any:
    """A list for a numpy array (Parquet hands list columns back as arrays of dicts);
    anything else as it is (JSON records are plain already: no copy)."""
    if isinstance(value, np.ndarray):
        return [v.tolist() if isinstance(v, np.ndarray) else v for v in value.tolist()]
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def message_turns(value: Any) -> list[dict] | None:
    """OpenAI-style messages as turns (None when `value` is not a list of objects)."""
    value = _plain(value)
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        return None
    turns = []
    for i, m in enumerate(value):
        turn = {"role": m.get("role"), "content": m.get("content"), "index": i}
        if "weight" in m:
            turn["weight"] = m["weight"]
        if m.get("tool_calls") or m.get("function_call"):
            turn["tool_call"] = True
        turns.append(turn)
    return turns


def sharegpt_turns(value: Any) -> list[dict] | None:
    """ShareGPT `conversations` as turns; an unknown `from` keeps its own name."""
    value = _plain(value)
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        return None
    turns = []
    for i, m in enumerate(value):
        who = m.get("from", m.get("role"))
        role = SHAREGPT_ROLES.get(str(who).lower(), who) if who is not None else None
        turns.append({"role": role, "content": m.get("value", m.get("content")), "index": i})
    return turns


def side_turns(value: Any, role: str = "assistant") -> list[dict] | None:
    """A preference side or prompt: a string is one turn of `role`, a list is messages."""
    value = _plain(value)
    if _missing(value):
        return []
    if isinstance(value, str):
        return [{"role": role, "content": value, "index": 0}]
    return message_turns(value)


def conversations(frame: pd.DataFrame, schema: str) -> pd.Series:
    """Each record of `frame` as its turns (a list of dicts), None when malformed.

    For `preference` the value is `{"prompt": turns, "chosen": turns, "rejected": turns}`.
    """
    cols = {str(c).lower(): c for c in frame.columns}

    def col(name: str) -> pd.Series:
        return frame[cols[name]] if name in cols else pd.Series(None, index=frame.index)

    if schema == "chat":
        return col("messages").map(message_turns).astype(object)
    if schema == "sharegpt":
        return col("conversations").map(sharegpt_turns).astype(object)
    if schema == "alpaca":
        out = []
        for system, instruction, extra, output in zip(
            col("system"), col("instruction"), col("input"), col("output"), strict=True
        ):
            turns = []
            if isinstance(system, str) and system.strip():
                turns.append({"role": "system", "content": system, "index": len(turns)})
            prompt = instruction if isinstance(instruction, str) else None
            if prompt is not None and isinstance(extra, str) and extra.strip():
                prompt = f"{prompt}\n\n{extra}"
            turns.append({"role": "user", "content": prompt, "index": len(turns)})
            turns.append({"role": "assistant", "content": output, "index": len(turns)})
            out.append(turns)
        return pd.Series(out, index=frame.index, dtype=object)
    if schema == "completion":
        return pd.Series(
            [
                [
                    {"role": "user", "content": p, "index": 0},
                    {"role": "assistant", "content": c, "index": 1},
                ]
                for p, c in zip(col("prompt"), col("completion"), strict=True)
            ],
            index=frame.index,
            dtype=object,
        )
    if schema == "preference":
        return pd.Series(
            [
                {
                    "prompt": side_turns(p, "user"),
                    "chosen": side_turns(c),
                    "rejected": side_turns(r),
                }
                for p, c, r in zip(col("prompt"), col("chosen"), col("rejected"), strict=True)
            ],
            index=frame.index,
            dtype=object,
        )
    raise ValueError(f"not a conversation schema: {schema!r}")


def prompt_text(turns) -> str:
    """What a record asks: its turns that are neither system nor assistant, one a line
    (a preference pair: its prompt)."""
    if isinstance(turns, dict):
        turns = turns.get("prompt")
    if not isinstance(turns, list):
        return ""
    return "\n".join(
        str(t.get("content")) for t in turns if t.get("role") not in ("system", "assistant")
    )


def render(turns: list[dict] | None) -> str:
    """One text for the generic checks (language, PII, duplicates): `role: content` lines."""
    if not turns:
        return ""
    return "\n".join(
        f"{t.get('role')}: {t.get('content') if isinstance(t.get('content'), str) else ''}"
        for t in turns
    )


def render_record(record: Any, schema: str) -> str:
    """`render` for any schema (a preference pair: prompt, then both answers)."""
    if schema == "preference":
        if not isinstance(record, dict):
            return ""
        return "\n".join(
            part
            for part in (
                render(record.get("prompt")),
                "chosen " + render(record.get("chosen")),
                "rejected " + render(record.get("rejected")),
            )
            if part.strip()
        )
    return render(record)
