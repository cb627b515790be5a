"""Timing and size of a model. These differ run to run, so they go to a file named *latency*."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd


def measure(
    model: Any, x: pd.DataFrame, single_rows: int, model_bytes: int, batch_seconds: float
) -> dict[str, float]:
    """Batch throughput (from the evaluation's own prediction of ``x``, which took
    ``batch_seconds``), single-row p50/p95 latency and the model file's size (``model_bytes``)."""
    predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    batch_s = max(batch_seconds, 1e-9)
    predict(x.iloc[:1])  # warm-up: the first single-row call pays for caches
    timings = []
    for i in range(min(single_rows, len(x))):
        row = x.iloc[i : i + 1]
        start = time.perf_counter()
        predict(row)
        timings.append((time.perf_counter() - start) * 1000)
    return {
        "throughput_rows_per_s": round(len(x) / batch_s, 1),
        "latency_p50_ms": round(float(np.percentile(timings, 50)), 3),
        "latency_p95_ms": round(float(np.percentile(timings, 95)), 3),
        "model_size_mb": round(model_bytes / 1e6, 4),
        "rows_timed": len(timings),
    }


def compare(models: dict[str, tuple[Any, pd.DataFrame]], single_rows: int) -> dict[str, dict[str, float]]:
    """Single-row p50/p95 and batch throughput of several models, each with its own input
    frame (same rows), timed in the same run.

    Rows alternate between the models, so a busy moment of the machine lands on all alike.
    """
    calls = {name: (getattr(m, "predict_proba", None) or m.predict, x) for name, (m, x) in models.items()}
    timings: dict[str, list[float]] = {name: [] for name in models}
    for call, x in calls.values():
        call(x.iloc[:1])  # warm-up
    n = min(single_rows, *(len(x) for _, x in calls.values()))
    for i in range(n):
        for name, (call, x) in calls.items():
            row = x.iloc[i : i + 1]
            start = time.perf_counter()
            call(row)
            timings[name].append((time.perf_counter() - start) * 1000)
    out = {}
    for name, (call, x) in calls.items():
        start = time.perf_counter()
        call(x)
        batch = max(time.perf_counter() - start, 1e-9)
        out[name] = {
            "throughput_rows_per_s": round(len(x) / batch, 1),
            "latency_p50_ms": round(float(np.percentile(timings[name], 50)), 3),
            "latency_p95_ms": round(float(np.percentile(timings[name], 95)), 3),
        }
    return out
