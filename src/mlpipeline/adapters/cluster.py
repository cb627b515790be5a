"""Where partition work runs: in this process (engine ``local``) or on a Dask cluster (``dask``).

Stages hand a module-level function and its inputs to ``mapper``; what comes back is the same list
either way, so a stage's logic does not know which engine ran it. Dask is imported only here, and
only for ``engine.name: dask``: the pipeline's own lock does not hold it (``make setup-dask`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from mlpipeline.config import EngineSettings
from mlpipeline.core.placement import classes_missing_per_worker
from mlpipeline.errors import PipelineError

Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


def worker_name() -> str:
    """The Dask worker running this, or the stage's own process."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "this process"


def peak_mb() -> float:
    """The peak resident memory of this process so far (a worker's, on a cluster), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_facts() -> dict[str, Any]:
    """Which worker did a partition's work, and its peak memory so far: for ``took_part``."""
    return {"worker": worker_name(), "peak_mb": peak_mb()}


def took_part(parts: Sequence[dict[str, Any]]) -> str:
    """How many workers did the partitions' work (each part holds its ``worker_facts``), and the
    largest one's peak memory. For stdout: which workers ran what differs run to run."""
    peaks: dict[str, float] = {}
    for part in parts:
        peaks[part["worker"]] = max(peaks.get(part["worker"], 0.0), part["peak_mb"])
    return f"{len(peaks)} worker(s) took part, peak memory per worker {max(peaks.values()):.0f} MB"


def _local_map(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [func(item) for item in items]


@contextmanager
def mapper(engine: EngineSettings) -> Iterator[tuple[Mapper, str]]:
    """A map over partitions on the configured engine, and a line saying where it runs."""
    if engine.name == "local":
        yield _local_map, "local engine (this process)"
        return
    with dask_cluster(engine) as cluster:
        yield cluster.map, cluster.where


class DaskCluster:
    """A connected Dask client, with the partition work stages hand to it."""

    def __init__(self, client: Any, where: str) -> None:
        self.client = client
        self.where = where

    def map(self, func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[func(item) for item in items]``, run on the workers."""
        # pure=False: a partition's work writes files, so the same input must run again if asked.
        return self.client.gather(self.client.map(func, list(items), pure=False))

    def fit_lightgbm(
        self,
        estimator: Any,
        parts: list[tuple[str, int]],
        encode: Callable[..., Any],
        width: int,
        categorical: list[int],
        classes: list[Any] | None = None,
    ) -> tuple[Any, int]:
        """LightGBM's Dask estimator trained on the partitions, as an ordinary local model.

        ``parts``: (file, rows) per partition; ``encode(file)`` returns that partition's
        (features as floats, target) on a worker, where the data stays. Returns the local model
        and how many workers held the training data.
        """
        import dask
        import dask.array as da
        from distributed import wait
        from lightgbm import DaskLGBMClassifier, DaskLGBMRegressor
        from sklearn.base import is_classifier

        quiet_lightgbm()
        # LightGBM's native log settings are per thread: in each worker's task thread, where it
        # trains (one per worker on a LocalCluster of engine.threads: 1).
        wait([self.client.submit(quiet_lightgbm, workers=[w], pure=False) for w in self.client.nthreads()])

        y_dtype = np.float32 if is_classifier(estimator) else float
        encoded = [(dask.delayed(encode, pure=True)(path), rows) for path, rows in parts]
        x = da.concatenate([da.from_delayed(e[0], shape=(n, width), dtype=np.float32) for e, n in encoded])
        y = da.concatenate([da.from_delayed(e[1], shape=(n,), dtype=y_dtype) for e, n in encoded])
        x, y = self.client.persist([x, y])
        wait([x, y])
        holders = {w for ws in self.client.who_has(x).values() for w in ws}
        if classes is not None:
            self.check_classes_on_every_worker(y, classes)
        cls = DaskLGBMClassifier if is_classifier(estimator) else DaskLGBMRegressor
        # n_jobs: Dask sets the threads per worker; LightGBM warns when it is passed.
        params = {k: v for k, v in estimator.get_params().items() if k != "n_jobs"}
        model = cls(client=self.client, **params)
        model.fit(x, y, categorical_feature=categorical)
        return model.to_local(), len(holders)

    def check_classes_on_every_worker(self, y: Any, classes: list[Any]) -> None:
        """Refuse, before LightGBM starts, a split whose classes are not on every worker that
        holds training rows (files cut by region or time can leave a worker one class short)."""
        from distributed import futures_of

        blocks = futures_of(y)
        found = self.client.gather([self.client.submit(np.unique, b, pure=False) for b in blocks])
        where = self.client.who_has(blocks)
        missing = classes_missing_per_worker(
            [set(f.astype(int).tolist()) for f in found], [list(where[b.key]) for b in blocks], classes
        )
        if missing:
            worker, absent = next(iter(missing.items()))
            raise PipelineError(
                f"train: Dask worker {worker} holds training rows but none of class(es)"
                f" {', '.join(map(repr, absent))}; LightGBM's Dask training needs every class on every"
                " worker: mix the classes across the partition files (files cut by region or time"
                " often are not), or use fewer workers (engine.workers)"
            )

    def worker_peak_mb(self) -> float:
        """The largest peak resident memory among the workers so far, in MB."""
        return max(self.client.run(peak_mb).values())


def quiet_lightgbm() -> None:
    """LightGBM prints its Dask set-up and each worker's network handshake ("Finding random open
    ports", "``[LightGBM] [Info] Trying to bind port ...``": ten lines a run), before any `verbose`
    parameter applies. Through a logger at its default level (warnings) they stay out of the
    stage's output: the registered logger receives LightGBM's native messages too, in the thread
    that registers it."""
    import logging

    from lightgbm import register_logger

    register_logger(logging.getLogger("lightgbm"))


@contextmanager
def dask_cluster(engine: EngineSettings) -> Iterator[DaskCluster]:
    """A client of the scheduler at ``engine.address``, or of a LocalCluster started for the stage."""
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
    try:
        yield DaskCluster(client, where)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
