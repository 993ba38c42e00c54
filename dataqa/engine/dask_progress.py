"""Progress of the Dask executor: a bar per stage on stderr, as the local engine's.

A bar counts a stage's tasks as they finish on the cluster (`distributed.as_completed`);
like every dataqa bar (`dataqa.progress.bar`) it is drawn only when stderr is a terminal
and progress is on (not under -q), so JSON on stdout and logs stay clean.
"""

from __future__ import annotations

from typing import Any


def gather(client, futures: list, desc: str, progress: bool) -> list:
    """The results of `futures`, in order, with a bar `desc` while they complete."""
    from distributed import as_completed

    from dataqa.progress import bar

    for _ in bar(as_completed(futures), desc=desc, total=len(futures), enabled=progress):
        pass
    return client.gather(futures)


def compute(client, tasks: list, desc: str, progress: bool) -> list[Any]:
    """`dask.compute(*tasks)` for a list of delayed tasks, with a bar `desc`."""
    return gather(client, client.compute(list(tasks)), desc, progress)


def wait(collections: list, desc: str, progress: bool) -> None:
    """Wait for persisted Dask collections, with a bar `desc` over their tasks."""
    from distributed import as_completed, futures_of

    from dataqa.progress import bar

    futures = futures_of(collections)
    for _ in bar(as_completed(futures), desc=desc, total=len(futures), enabled=progress):
        pass
