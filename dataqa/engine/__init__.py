"""Executors: where the stages run.

`local` (the default) is dataqa's in-process engine: `dataqa.stages.audit` and
`dataqa.stages.clean` over one pandas frame. `dask` runs the same checks over a Dask
cluster (`dataqa.engine.dask_engine`): row-wise work through the checks' own batch
functions on each partition, global work (duplicates, dataset-wide facts) through
shuffles of compact keys and reductions. Dask is the `[scale]` extra and is imported
only when `engine="dask"` is asked for.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dataqa.options import Options

ENGINES = ("local", "dask")
DASK_CHECKS = ("hygiene", "duplicates", "balance", "labels")
"""Checks the Dask engine runs; the others are listed as skipped (#17 has the plan)."""


class EngineOptions(Options):
    """Where a command runs (`--engine`, `--scheduler`, the pipeline's `engine:` key)."""

    engine: Literal["local", "dask"] = Field(
        "local", description="local: in this process; dask: on a Dask cluster."
    )
    scheduler: str | None = Field(
        None,
        description="Address of a running Dask scheduler (tcp://host:8786); default: start "
        "a local cluster sized to this machine.",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes of the local cluster (default: CPU count)."
    )
    connect_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for the scheduler before giving up."
    )

    @model_validator(mode="after")
    def _dask_only(self) -> EngineOptions:
        if self.engine == "local" and (self.scheduler or self.workers):
            raise ValueError("--scheduler and --workers need --engine dask")
        return self
