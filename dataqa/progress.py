"""Progress output: tqdm bars and stage timers on a terminal, silence when piped."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def interactive() -> bool:
    return sys.stderr.isatty()


def bar(
    iterable: Iterable, *, desc: str, total: int | None = None, enabled: bool = True
) -> Iterable:
    """A tqdm bar on stderr when it is a terminal; the bare iterable otherwise."""
    if not (enabled and interactive()):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr)


@contextmanager
def stage(desc: str, *, enabled: bool = True) -> Iterator[None]:
    """Print `desc ... 1.2s` on stderr around a step when progress is on."""
    if not enabled:
        yield
        return
    start = time.perf_counter()
    print(f"{desc} ...", file=sys.stderr, flush=True)
    yield
    print(f"{desc} done in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
