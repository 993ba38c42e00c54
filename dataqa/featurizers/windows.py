"""Bounded views of long documents: head + tail windows and fixed-size chunks.

Long multi-paragraph texts (reviews, articles, manual pages) make per-row cost grow with
length. Each featuriser bounds it with one of these:

- `head_tail(text, head, tail)`: the first `head` and last `tail` characters. For review
  and article classification the start and the end carry most of the signal (Sun et al.,
  "How to Fine-Tune BERT for Text Classification?", 2019: head 128 + tail 382 tokens beat
  head-only, tail-only and pooled chunks on IMDb).
- `head_tail_ids(ids, keep)`: the same on a token id list.
- `chunk_ids(ids, size, max_chunks)`: consecutive chunks of `size` tokens; past
  `max_chunks`, the first half and the last half of the chunks are kept, so an encoder can
  embed a document chunk by chunk and pool the chunk embeddings at bounded cost.
"""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = " \u2026 "


def head_tail(text: str, head: int, tail: int) -> str:
    """`text` unchanged when it has at most head + tail characters, else its first `head`
    and last `tail` characters joined by an ellipsis (cut at whitespace when one is near)."""
    if len(text) <= head + tail:
        return text
    start = text[:head]
    cut = start.rfind(" ", int(head * 0.9))
    start = start[:cut] if cut > 0 else start
    end = text[len(text) - tail :] if tail > 0 else ""
    cut = end.find(" ", 0, max(1, int(tail * 0.1)))
    end = end[cut + 1 :] if cut >= 0 else end
    return start + SEPARATOR + end if end else start


def head_tail_ids(ids: Sequence[int], keep: int, head_share: float = 0.25) -> list[int]:
    """At most `keep` ids: all of them, or the first `head_share` of `keep` plus the rest
    from the end (Sun et al. 2019's best split was a quarter head, three quarters tail)."""
    ids = list(ids)
    if len(ids) <= keep:
        return ids
    head = max(1, int(round(keep * head_share)))
    return ids[:head] + ids[len(ids) - (keep - head) :]


def chunk_ids(ids: Sequence[int], size: int, max_chunks: int) -> list[list[int]]:
    """Consecutive chunks of `size` ids (the last may be shorter; none when `ids` is
    empty); more than `max_chunks` -> the first max_chunks // 2 and the last
    max_chunks - max_chunks // 2."""
    ids = list(ids)
    chunks = [ids[s : s + size] for s in range(0, len(ids), size)]
    if len(chunks) > max_chunks:
        first = max_chunks // 2
        chunks = chunks[:first] + chunks[len(chunks) - (max_chunks - first) :]
    return chunks
