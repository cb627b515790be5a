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
