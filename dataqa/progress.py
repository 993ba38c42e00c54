"""Progress output: tqdm bars on a terminal, stage timings through `logging`.

Library code never prints: a stage's start and end go to the "dataqa" logger at INFO
(the CLI shows them on stderr unless -q; a notebook shows nothing unless asked).
"""

from __future__ import annotations

import logging
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
    """Log `desc ...` and `desc done in 1.2s` (logger "dataqa", INFO) around a step."""
    if not enabled:
        yield
        return
    start = time.perf_counter()
    log.info("%s ...", desc)
    yield
    log.info("%s done in %.1fs", desc, time.perf_counter() - start)


log = logging.getLogger("dataqa")
