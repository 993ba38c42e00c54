"""A tiny seedable random generator for the few draws one augmented row needs.

Seeding `random.Random` costs ~10 µs (Mersenne Twister state set-up), more than the
whole synonym replacement of a short sentence; splitmix64 seeds for free and is plenty
random for picking words. Every row gets its own generator from its own seed, so a row
can be regenerated alone from the `dataqa_seed` stored with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
MASK = (1 << 64) - 1


class RowRandom:
    """splitmix64 with the handful of `random.Random` methods augmentation uses."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def _next(self) -> int:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1)."""
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def randrange(self, n: int) -> int:
        """An int in [0, n); the modulo bias is below 1e-15 for the n used here."""
        return self._next() % n

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self._next() % len(seq)]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """k distinct items, in random order (a partial Fisher-Yates shuffle)."""
        pool = list(seq)
        n = len(pool)
        if not 0 <= k <= n:
            raise ValueError("sample larger than population")
        for i in range(k):
            j = i + self._next() % (n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
