"""Stage ``evaluate``: quality, dummy baseline, slices, plots, latency, and the reference profile
monitoring compares new data with (core/profile.py)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from mlpipeline.adapters import cluster
from mlpipeline.adapters.files import read_json, write_json, write_json_dir
from mlpipeline.adapters.tabular import (
    concat_parts,
    concat_series,
    partition_paths,
    read_parquet,
    read_partition,
)
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import latency, profile
from mlpipeline.core.contract import load_contract
from mlpipeline.core.evaluation import evaluate, figures, importance, predict
from mlpipeline.core.features import input_columns, raw_features
from mlpipeline.core.metrics import merge_summaries, target_summary
from mlpipeline.core.rows import as_records, served_call
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout

# Test rows (and train rows) the cluster path profiles, times and permutes, taken evenly from the
# partitions; every figure of quality uses every row.
SAMPLE_ROWS = 50_000


class PartitionPredictions:
    """On a worker: one partition's predictions, with what the figures need besides (target,
    slice columns) and its first rows as its share of the sample.

    The target (of a classifier) and the slice columns travel as categoricals: a byte or two a
    row in the stage's process, which holds every test row's, where Python objects took eight
    and more."""

    def __init__(self, model: Any, features: list[str], target: str, slices: list[str], task: str, rows: int):
        self.model, self.features, self.target, self.slices = model, features, target, slices
        self.task, self.rows = task, rows

    def __call__(self, path: str) -> dict[str, Any]:
        frame = read_partition(path)
        y = frame[self.target]
        return {
            "y": y.astype("category") if self.task == "classification" else y,
            "predictions": predict(self.model, frame[self.features], self.task),
            "slices": frame[self.slices].astype("category"),
            "sample": frame.head(self.rows),
            **cluster.worker_facts(),
        }


def train_share(path: str, columns: list[str], target: str, task: str, rows: int) -> dict[str, Any]:
    """On a worker: one train partition's target summary (for the baseline) and first rows (the
    profile)."""
    frame = read_partition(path)
    return {"summary": target_summary(task, frame[target]), "sample": frame[columns].head(rows)}


def evaluate_on_cluster(
    settings: Settings, layout: Layout, model: Any, card: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Each partition predicted where it lives; the figures from what comes back (a target and a
    prediction per row, the slice columns), importance and the profile on an even sample.
    Returns the evaluation and the test and train samples."""
    features, raw = input_columns(card), [f["name"] for f in raw_features(card)]
    target = settings.data.target
    tests, trains = partition_paths(layout.test), partition_paths(layout.train)
    with cluster.dask_cluster(settings.engine) as dask:
        per = max(1, SAMPLE_ROWS // len(tests))
        parts = dask.map(
            PartitionPredictions(model, features, target, settings.evaluate.slices, settings.task, per), tests
        )
        print(
            f"evaluate: {len(tests)} partition(s) predicted on the {dask.where}; {cluster.took_part(parts)}"
        )
        rows = max(1, SAMPLE_ROWS // len(trains))
        task = settings.task
        shares = dask.map(partial(train_share, columns=raw, target=target, task=task, rows=rows), trains)
    slices = pd.DataFrame(
        {c: concat_series([p["slices"][c] for p in parts]) for c in settings.evaluate.slices}
    )
    result = figures(
        settings,
        card,
        concat_series([p.pop("y") for p in parts]),
        np.concatenate([p.pop("predictions") for p in parts]),
        slices,
        merge_summaries([s["summary"] for s in shares]),
    )
    test_sample = concat_parts([p["sample"] for p in parts])
    result["plots"]["importance"] = importance(
        settings, card, model, test_sample[features], test_sample[target]
    )
    start = time.perf_counter()
    predict(model, test_sample[features], settings.task)
    result["batch_seconds"] = time.perf_counter() - start
    return result, test_sample, concat_parts([s["sample"] for s in shares])


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Evaluate the model on the test split and write every output atomically."""
    model = joblib.load(layout.model)
    card = read_json(layout.model_card)
    # The model reads its inputs; the profile describes the raw features (what a batch brings).
    features, kinds = input_columns(card), {f["name"]: f["kind"] for f in raw_features(card)}
    if settings.engine.name == "dask":
        result, test, train = evaluate_on_cluster(settings, layout, model, card)
    else:
        test = read_parquet(layout.test)
        train = read_parquet(layout.train, columns=[*kinds, settings.data.target])
        summary = target_summary(settings.task, train[settings.data.target])
        result = evaluate(settings, model, card, test, summary)
    scores = profile.model_scores(model, test[features], settings.task, card.get("positive_class"))
    reference = profile.build(train[list(kinds)], kinds, scores)
    contract = load_contract(layout.root / settings.data.contract, settings.data.target)

    result["latency"] = latency.measure(
        served_call(model, card, contract),  # the path `make serve` answers a request on
        as_records(test.drop(columns=[settings.data.target])),
        settings.evaluate.latency_rows,
        layout.model.stat().st_size,
        result["batch_seconds"],
    )
    # Everything is computed before the first write, so a failure leaves the last run's files.
    write_json(layout.metrics, result["metrics"])
    write_json(layout.baseline, result["baseline"])
    write_json(layout.slices, result["slices"])
    write_json_dir(layout.plots, {f"{name}.json": records for name, records in result["plots"].items()})
    write_json(layout.latency, result["latency"])
    write_json(layout.profile, reference)
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
