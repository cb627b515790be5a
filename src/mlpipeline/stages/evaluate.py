"""Stage ``evaluate``: quality, dummy baseline, slices, plots, latency, and the reference profile
monitoring compares new data with (core/profile.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from mlpipeline.adapters.files import read_json, write_json, write_json_dir
from mlpipeline.adapters.tabular import read_parquet
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import latency, profile
from mlpipeline.core.contract import load_contract
from mlpipeline.core.evaluation import evaluate
from mlpipeline.core.rows import as_records, served_call
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Evaluate the model on the test split and write every output atomically."""
    model = joblib.load(layout.model)
    card = read_json(layout.model_card)
    test = read_parquet(layout.test)
    features = [f["name"] for f in card["features"]]
    train = read_parquet(layout.train, columns=[*features, settings.data.target])
    result = evaluate(settings, model, card, test, train[settings.data.target])
    kinds = {f["name"]: f["kind"] for f in card["features"]}
    scores = profile.model_scores(model, test[features], settings.task, card.get("positive_class"))
    reference = profile.build(train[features], kinds, scores)
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
