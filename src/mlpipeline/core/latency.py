"""Timing and size of a model. These differ run to run, so they go to a file named *latency*."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlpipeline.core.threads import threads_for

# Each row is timed this many times and its fastest time kept: a busy machine (another job, a
# CPU hog, two experiments side by side) adds time to some runs, never takes it away, so the
# minimum is the figure load moves least. It is still the row's whole path, not a best case.
REPEATS = 3

# A callable and its inputs: a frame, or a list of rows as a client sends them (core/rows.as_records).
Call = Callable[[Any], Any]


def _row_timings(calls: dict[str, tuple[Call, Any]], single_rows: int) -> dict[str, list[float]]:
    """Milliseconds per single-row call of each callable on its own frame, rows taken in turn.

    Alternating rows between the callables puts a busy moment of the machine on all alike; the
    first call of each warms its caches and is not counted.
    """
    timings: dict[str, list[float]] = {name: [] for name in calls}
    with threads_for(1):  # as prediction scores a single row
        for call, x in calls.values():
            call(x[:1])
        for i in range(min(single_rows, *(len(x) for _, x in calls.values()))):
            for name, (call, x) in calls.items():
                row = x[i : i + 1]
                best = float("inf")
                for _ in range(REPEATS):
                    start = time.perf_counter()
                    call(row)
                    best = min(best, time.perf_counter() - start)
                timings[name].append(best * 1000)
    return timings


def _figures(rows: int, batch_seconds: float, timings: list[float]) -> dict[str, float]:
    return {
        "throughput_rows_per_s": round(rows / max(batch_seconds, 1e-9), 1),
        "latency_p50_ms": round(float(np.percentile(timings, 50)), 3),
        "latency_p95_ms": round(float(np.percentile(timings, 95)), 3),
    }


def measure(
    call: Call, frame: Any, single_rows: int, model_bytes: int, batch_seconds: float
) -> dict[str, float]:
    """Batch throughput (from the evaluation's own prediction of the frame, which took
    ``batch_seconds``), single-row p50/p95 latency of ``call`` (the path a served row takes:
    contract check, then the model) and the model file's size (``model_bytes``)."""
    timings = _row_timings({"model": (call, frame)}, single_rows)["model"]
    return {
        **_figures(len(frame), batch_seconds, timings),
        "model_size_mb": round(model_bytes / 1e6, 4),
        "rows_timed": len(timings),
    }


def compare(calls: dict[str, tuple[Call, Any]], single_rows: int) -> dict[str, dict[str, float]]:
    """Single-row p50/p95 and batch throughput of several callables, each with its own input
    frame (same rows), timed interleaved in the same run."""
    timings = _row_timings(calls, single_rows)
    out = {}
    for name, (call, x) in calls.items():
        start = time.perf_counter()
        call(x)
        out[name] = _figures(len(x), time.perf_counter() - start, timings[name])
    return out
