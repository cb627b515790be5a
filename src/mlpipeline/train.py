"""Stage ``train``: fit the configured Pipeline on the train split; save it with its metadata card."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.utils._param_validation import InvalidParameterError

from mlpipeline.config import Settings, load_settings
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.features import positive_class, select_features
from mlpipeline.io import atomic_path, file_sha256, read_json, write_json
from mlpipeline.layout import Layout
from mlpipeline.model import build_pipeline, feature_kinds, make_estimator
from mlpipeline.tabular import read_parquet

LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "pyarrow", "pandera", "dvc")


def fit(settings: Settings, train: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    """Fit the pipeline; return it and the facts the card records about its features and classes."""
    estimator = make_estimator(settings)  # first, so a bad hyperparameter fails before any work
    features, left_out = select_features(train, settings)
    kinds = feature_kinds(train[features])
    pipeline = build_pipeline(estimator, kinds)
    y = train[settings.data.target]
    try:
        pipeline.fit(train[features], y)
    except InvalidParameterError as exc:
        raise PipelineError(f"params.yaml: model.hyperparameters: {exc}") from None
    facts: dict[str, Any] = {
        "features": [
            {"name": c, "kind": kinds.get(c, "unused"), "dtype": str(train[c].dtype)} for c in features
        ],
        "left_out": left_out,
    }
    if settings.task == "classification":
        facts["classes"] = [_plain(c) for c in pipeline.classes_]
        facts["positive_class"] = _plain(positive_class(y, settings))
    return pipeline, facts


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def library_versions() -> dict[str, str]:
    """Versions of the libraries a loaded model depends on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Train, then write the model and its card atomically."""
    train = read_parquet(layout.train)
    validation = read_json(layout.validation)
    pipeline, facts = fit(settings, train)
    with atomic_path(layout.model) as tmp:
        joblib.dump(pipeline, tmp)
    card = {
        "task": settings.task,
        "target": settings.data.target,
        "id_column": settings.data.id_column,
        "estimator": settings.model.estimator,
        "hyperparameters": settings.model.hyperparameters,
        "seed": settings.model.seed,
        **facts,
        "split": validation["split"],
        "data": {"source": validation["source"], **validation["hashes"]},
        "contract": validation["contract"],
        "libraries": library_versions(),
        "model_file": layout.model.name,
        "model_sha256": file_sha256(layout.model),
    }
    write_json(layout.model_card, card)
    return card


def main() -> int:
    """Run the stage from the project root."""
    layout = Layout(Path())
    card = run(load_settings(layout.params), layout)
    left = ", ".join(f"{k} ({v})" for k, v in card["left_out"].items())
    print(f"train: {card['estimator']} on {len(card['features'])} features; left out: {left}")
    return 0


if __name__ == "__main__":
    run_main(main)
