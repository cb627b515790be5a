"""Every deterministic evaluation output of a model on a test split, as plain data."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from mlpipeline.config import Settings
from mlpipeline.core import metrics as m
from mlpipeline.core import plots
from mlpipeline.errors import PipelineError


def evaluate(
    settings: Settings,
    model: Any,
    card: dict[str, Any],
    test: pd.DataFrame,
    train_target: pd.Series,
) -> dict[str, Any]:
    """Every deterministic evaluation output as plain data: metrics, baseline, slices, plots."""
    target, task, seed = settings.data.target, settings.task, settings.model.seed
    features = [f["name"] for f in card["features"]]
    x, y = test[features], test[target]
    positive, classes = card.get("positive_class"), card.get("classes")
    missing = [c for c in settings.evaluate.slices if c not in test.columns]
    if missing:
        raise PipelineError(f"params.yaml: evaluate.slices names unknown column(s): {', '.join(missing)}")
    start = time.perf_counter()
    predictions = model.predict_proba(x) if task == "classification" else model.predict(x)
    batch_seconds = time.perf_counter() - start
    if task == "classification":
        quality = m.classification_metrics(y, predictions, classes, positive)
        plot_data = plots.classification_plots(y, predictions, classes, positive, seed)
    else:
        quality = m.regression_metrics(y, predictions)
        plot_data = plots.regression_plots(y, predictions, seed)
    metric = plots.importance_metric(task, positive is not None)
    plot_data["importance"] = plots.importance(model, x, y, seed, metric, positive)
    dummy = m.baseline(task, pd.DataFrame(index=train_target.index), train_target)
    baseline_quality = m.score(task, dummy, pd.DataFrame(index=y.index), y, positive)
    slices = m.slice_metrics(
        task,
        test[settings.evaluate.slices],
        y,
        predictions,
        classes,
        positive,
        settings.evaluate.min_slice_size,
        settings.evaluate.fairness,
    )
    return {
        "metrics": {**quality, "rows_test": len(test)},
        "baseline": {
            **baseline_quality,
            "strategy": "prior" if task == "classification" else "mean",
        },
        "slices": slices,
        "plots": plot_data,
        "batch_seconds": batch_seconds,  # timing: goes to the latency file only
    }
