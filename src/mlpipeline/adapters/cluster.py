"""Where partition work runs: in this process (engine ``local``) or on a Dask cluster (``dask``).

Stages hand a module-level function and its inputs to ``mapper``; what comes back is the same list
either way, so a stage's logic does not know which engine ran it. Dask is imported only here, and
only for ``engine.name: dask``: the pipeline's own lock does not hold it (``make setup-dask`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mlpipeline.config import EngineSettings
from mlpipeline.errors import PipelineError

Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


def _local_map(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [func(item) for item in items]


@contextmanager
def mapper(engine: EngineSettings) -> Iterator[tuple[Mapper, str]]:
    """A map over partitions on the configured engine, and a line saying where it runs."""
    if engine.name == "local":
        yield _local_map, "local engine (this process)"
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise PipelineError(
            "params.yaml: engine.name: dask needs the Dask packages; run `make setup-dask`"
            " (or set engine.name: local)"
        ) from None
    cluster = None
    if engine.address:
        try:
            client = Client(engine.address, timeout="10s")
        except OSError as exc:
            raise PipelineError(
                f"params.yaml: engine.address: no Dask scheduler answers at {engine.address} ({exc});"
                " start one (`dask scheduler`, then `dask worker <address>`), or leave engine.address"
                " empty for a local cluster"
            ) from None
        where = f"Dask scheduler {engine.address}"
    else:
        # Processes, not threads: pandas and pandera hold the GIL for much of a partition's checks.
        cluster = LocalCluster(
            n_workers=engine.workers,
            threads_per_worker=engine.threads,
            memory_limit=engine.memory,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
        where = (
            f"Dask LocalCluster ({engine.workers} workers x {engine.threads} thread(s), {engine.memory} each)"
        )

    def _dask_map(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        # pure=False: a partition's work writes files, so the same input must run again if asked.
        return client.gather(client.map(func, list(items), pure=False))

    try:
        yield _dask_map, where
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
