"""Timing and size of a model. These differ run to run, so they go to a file named *latency*."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.core.threads import threads_for


def _predictor(model: Any) -> Any:
    return model.predict_proba if hasattr(model, "predict_proba") else model.predict


def _row_timings(calls: dict[str, tuple[Any, pd.DataFrame]], single_rows: int) -> dict[str, list[float]]:
    """Milliseconds per single-row call of each predictor on its own frame, rows taken in turn.

    Alternating rows between the predictors puts a busy moment of the machine on all alike; the
    first call of each warms its caches and is not counted.
    """
    timings: dict[str, list[float]] = {name: [] for name in calls}
    with threads_for(1):  # as prediction scores a single row
        for call, x in calls.values():
            call(x.iloc[:1])
        for i in range(min(single_rows, *(len(x) for _, x in calls.values()))):
            for name, (call, x) in calls.items():
                row = x.iloc[i : i + 1]
                start = time.perf_counter()
                call(row)
                timings[name].append((time.perf_counter() - start) * 1000)
    return timings


def _figures(rows: int, batch_seconds: float, timings: list[float]) -> dict[str, float]:
    return {
        "throughput_rows_per_s": round(rows / max(batch_seconds, 1e-9), 1),
        "latency_p50_ms": round(float(np.percentile(timings, 50)), 3),
        "latency_p95_ms": round(float(np.percentile(timings, 95)), 3),
    }


def measure(
    model: Any, x: pd.DataFrame, single_rows: int, model_bytes: int, batch_seconds: float
) -> dict[str, float]:
    """Batch throughput (from the evaluation's own prediction of ``x``, which took
    ``batch_seconds``), single-row p50/p95 latency and the model file's size (``model_bytes``)."""
    timings = _row_timings({"model": (_predictor(model), x)}, single_rows)["model"]
    return {
        **_figures(len(x), batch_seconds, timings),
        "model_size_mb": round(model_bytes / 1e6, 4),
        "rows_timed": len(timings),
    }


def compare(models: dict[str, tuple[Any, pd.DataFrame]], single_rows: int) -> dict[str, dict[str, float]]:
    """Single-row p50/p95 and batch throughput of several models, each with its own input
    frame (same rows), timed in the same run."""
    calls = {name: (_predictor(m), x) for name, (m, x) in models.items()}
    timings = _row_timings(calls, single_rows)
    out = {}
    for name, (call, x) in calls.items():
        start = time.perf_counter()
        call(x)
        out[name] = _figures(len(x), time.perf_counter() - start, timings[name])
    return out
