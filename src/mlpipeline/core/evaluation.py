"""Every deterministic evaluation output of a model on a test split, as plain data."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from mlpipeline.config import Settings
from mlpipeline.core import metrics as m
from mlpipeline.core import plots
from mlpipeline.core.features import input_columns
from mlpipeline.core.project import derived_step
from mlpipeline.errors import PipelineError


def evaluate(
    settings: Settings,
    model: Any,
    card: dict[str, Any],
    test: pd.DataFrame,
    train_summary: dict[str, Any],
) -> dict[str, Any]:
    """Every deterministic evaluation output as plain data: metrics, baseline, slices, plots."""
    x, y = test[input_columns(card)], test[settings.data.target]
    start = time.perf_counter()
    predictions = predict(model, x, settings.task)
    batch_seconds = time.perf_counter() - start
    seen = with_derived(model, test)  # slices and the importance plot may name a derived column
    _check_slices(settings, seen.columns)
    result = figures(settings, card, y, predictions, seen[settings.evaluate.slices], train_summary)
    result["plots"]["importance"] = importance(settings, card, model, seen, y)
    return {**result, "batch_seconds": batch_seconds}  # timing: goes to the latency file only


def with_derived(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the project's derived columns added, when the model derives any."""
    derive = derived_step(model)
    return frame if derive is None else derive.transform(frame)


def predict(model: Any, x: pd.DataFrame, task: str) -> Any:
    """What every figure is computed from: class probabilities, or predicted values."""
    return model.predict_proba(x) if task == "classification" else model.predict(x)


def _check_slices(settings: Settings, columns: Any) -> None:
    missing = [c for c in settings.evaluate.slices if c not in columns]
    if missing:
        raise PipelineError(f"params.yaml: evaluate.slices names unknown column(s): {', '.join(missing)}")


def importance(settings: Settings, card: dict[str, Any], model: Any, seen: pd.DataFrame, y: pd.Series) -> Any:
    """Permutation importance of each feature on ``seen`` (the test rows, or a sample of them, as
    `with_derived` gives them); with derived features, of the model's own features (raw and
    derived, by name) after the project's step, so the plot shows what the model uses."""
    positive = card.get("positive_class")
    metric = plots.importance_metric(settings.task, positive is not None)
    if derived_step(model) is None:
        x = seen[input_columns(card)]
    else:  # the derived columns are already in `seen`: the project's step is not run again
        model, x = Pipeline(model.steps[1:]), seen[[f["name"] for f in card["features"]]]
    return plots.importance(model, x, y, settings.model.seed, metric, positive)


def figures(
    settings: Settings,
    card: dict[str, Any],
    y: pd.Series,
    predictions: Any,
    slice_columns: pd.DataFrame,
    train_summary: dict[str, Any],
) -> dict[str, Any]:
    """Metrics, baseline, slices and the curves, from the test rows' targets and predictions and
    the training target's summary (``metrics.target_summary``): what a cluster's partitions send
    back is enough."""
    _check_slices(settings, slice_columns.columns)
    task, seed = settings.task, settings.model.seed
    positive, classes = card.get("positive_class"), card.get("classes")
    if task == "classification":
        quality = m.classification_metrics(y, predictions, classes, positive)
        plot_data = plots.classification_plots(y, predictions, classes, positive, seed)
    else:
        quality = m.regression_metrics(y, predictions)
        plot_data = plots.regression_plots(y, predictions, seed)
    baseline_quality = m.baseline_quality(task, train_summary, y, positive)
    slices = m.slice_metrics(
        task,
        slice_columns,
        y,
        predictions,
        classes,
        positive,
        settings.evaluate.min_slice_size,
        settings.evaluate.fairness,
    )
    return {
        "metrics": {**quality, "rows_test": len(y)},
        "baseline": {
            **baseline_quality,
            "strategy": "prior" if task == "classification" else "mean",
        },
        "slices": slices,
        "plots": plot_data,
    }
