"""Stage ``evaluate``: quality, dummy baseline, slices, plots, and latency of the trained model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from mlpipeline import latency, plots
from mlpipeline import metrics as m
from mlpipeline.config import Settings, load_settings
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.io import read_json, write_json
from mlpipeline.layout import Layout
from mlpipeline.tabular import read_parquet


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
    plot_data["importance"] = plots.importance(model, x, y, seed)
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


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Evaluate the model on the test split and write every output atomically."""
    model = joblib.load(layout.model)
    card = read_json(layout.model_card)
    test = read_parquet(layout.test)
    train_target = read_parquet(layout.train, columns=[settings.data.target])[settings.data.target]
    result = evaluate(settings, model, card, test, train_target)
    write_json(layout.metrics, result["metrics"])
    write_json(layout.baseline, result["baseline"])
    write_json(layout.slices, result["slices"])
    for name, records in result["plots"].items():
        write_json(layout.plots / f"{name}.json", records)
    features = [f["name"] for f in card["features"]]
    timing = latency.measure(
        model, test[features], settings.evaluate.latency_rows, layout.model, result["batch_seconds"]
    )
    write_json(layout.latency, timing)
    result["latency"] = timing
    return result


def main() -> int:
    """Run the stage from the project root."""
    layout = Layout(Path())
    result = run(load_settings(layout.params), layout)
    shown = ", ".join(f"{k}={v}" for k, v in result["metrics"].items() if v is not None and k != "rows_test")
    print(f"evaluate: {shown}")
    print(
        f"evaluate: latency p95 {result['latency']['latency_p95_ms']} ms,"
        f" {result['latency']['throughput_rows_per_s']:.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
