"""Synthetic conversations with a learnable answer, and planted faults, for the SFT tests.

A user asks to do something (an action) to a named thing (a made-up word); the assistant
answers with a fixed recipe for that action that names the thing again. The recipe is
learnable from the action word and the name is copied from the prompt, so a small causal
LM trained on clean records predicts held-out answers well. Names are distinct made-up
words, so no two conversations are near duplicates of each other.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ACTIONS = {
    "activate": "open Settings, choose Devices and press Start",
    "archive": "open Files, pick Storage and press Move",
    "rename": "open Details, type the new title and press Save",
    "share": "open People, add an address and press Send",
    "delete": "open Files, pick Trash and press Remove",
    "export": "open Reports, pick a format and press Download",
}
ASKS = (
    "How do I {a} {n}?",
    "Please tell me how to {a} {n}.",
    "What are the steps to {a} {n}?",
)
REFUSALS = (
    "As an AI language model, I cannot help with that request.",
    "I'm sorry, but I can't assist with that.",
    "As an AI, I am not able to do this for you.",
)
SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")


def _names(k: int, rng: random.Random) -> list[str]:
    seen: set[str] = set()
    while len(seen) < k:
        seen.add("".join(rng.choice(SYLLABLES) for _ in range(5)).capitalize())
    return sorted(seen)


def conversations(n: int, seed: int, *, refusals: float = 0.0, system: bool = True) -> list[dict]:
    """`n` chat records (`{"messages": [...]}`); a `refusals` share answer with a refusal."""
    rng = random.Random(seed)
    out = []
    for name in _names(n, rng):
        action = rng.choice(sorted(ACTIONS))
        question = rng.choice(ASKS).format(a=action, n=name)
        answer = f"To {action} {name}, {ACTIONS[action]}. Then {name} is done."
        if rng.random() < refusals:
            answer = rng.choice(REFUSALS)
        turns = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        if system:
            turns.insert(0, {"role": "system", "content": "You help with the app."})
        out.append({"messages": turns})
    rng.shuffle(out)
    return out


def write_jsonl(records: list[dict], path: Path) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
