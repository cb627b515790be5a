"""Stage ``train``: fit the configured Pipeline on the train split; save it with its metadata card."""

from __future__ import annotations

import platform
import sys
from collections import Counter
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mlpipeline.adapters import cluster
from mlpipeline.adapters.files import atomic_path, file_sha256, read_json, write_json
from mlpipeline.adapters.projectcode import code_facts
from mlpipeline.adapters.tabular import (
    concat_parts,
    parquet_rows,
    partition_paths,
    read_parquet,
    read_partition,
)
from mlpipeline.config import Settings, load_settings
from mlpipeline.core.features import select_features
from mlpipeline.core.model import (
    card_facts,
    categorical_positions,
    categories_of,
    derived_facts,
    derived_features,
    feature_kinds,
    fit,
    lightgbm_preprocess,
    make_estimator,
    merge_categories,
)
from mlpipeline.core.project import fitted_steps
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout

LARGE_MODEL_MB = 50
# Rows the cluster path chooses features and their kinds on, taken evenly from the partitions.
SAMPLE_ROWS = 50_000
LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "pyarrow", "pandera", "dvc")


def library_versions(estimator: str = "") -> dict[str, str]:
    """Versions of the libraries a loaded model depends on: pinned by the lock, so the same on
    every supported interpreter. A model named by import path adds its package's distribution
    (``xgboost:XGBClassifier``: xgboost-cpu, where that is what installs the module)."""
    names = [*LIBRARIES, "lightgbm"] if estimator == "lightgbm" else list(LIBRARIES)
    if ":" in estimator:
        module = estimator.split(":")[0].split(".")[0]
        names += metadata.packages_distributions().get(module, [])
    versions = {}
    for name in dict.fromkeys(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, str]:
    """The interpreter and machine that trained the model. They legitimately differ between
    machines, so they live apart from the byte-reproducible card (see reprocheck)."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.machine()}",
    }


def partition_sample(path: str, target: str, rows: int) -> dict[str, Any]:
    """On a worker: a partition's first ``rows`` rows and its rows per class."""
    frame = read_partition(path)
    return {"sample": frame.head(rows), "classes": frame[target].value_counts().to_dict()}


def partition_categories(path: str, columns: list[str]) -> dict[str, list[Any]]:
    """On a worker: the distinct values of a partition's text features."""
    return categories_of(read_partition(path)[columns], columns)


class PartitionEncoder:
    """On a worker: one partition's features through the fitted preprocessing, and its target
    (class codes, in the order of ``classes``; numbers for regression)."""

    def __init__(
        self, preprocess: Any, features: list[str], target: str, classes: list[Any] | None, derive: Any = None
    ) -> None:
        self.preprocess, self.features, self.target, self.classes = preprocess, features, target, classes
        self.derive = derive  # the project's derived features: functions only, run per partition

    def __call__(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        frame = read_partition(path)
        if self.derive is not None:
            frame = self.derive.transform(frame)
        # float32: LightGBM bins features into at most 255 values anyway, and the workers hold every
        # training row until the fit ends, so half the bytes is half the cluster's memory.
        x = np.asarray(self.preprocess.transform(frame[self.features]), dtype=np.float32)
        y = frame[self.target]
        if self.classes is not None:
            return x, pd.Categorical(y, categories=self.classes).codes.astype(np.float32)
        return x, y.to_numpy(dtype=float)


def relabel(model: Any, classes: list[Any]) -> Any:
    """A LightGBM classifier trained on class codes 0..k-1, made to answer with the class labels.

    Each Dask worker would encode labels on its own rows, so the codes are fixed once, from every
    partition's classes; LightGBM keeps the labels in the encoder it fits in ``fit``, set here as
    that ``fit`` sets it (tests/model/test_training.py checks it against LightGBM's own).
    """
    from lightgbm.sklearn import _LGBMLabelEncoder

    model._le = _LGBMLabelEncoder().fit(np.asarray(classes, dtype=object))
    model._classes = model._le.classes_
    model._class_map = {c: i for i, c in enumerate(model._classes)}
    return model


def fit_on_cluster(settings: Settings, layout: Layout) -> tuple[Pipeline, dict[str, Any], str]:
    """LightGBM trained on the Dask cluster, the rows staying in their partitions: features and
    their kinds from an even sample, categories and classes merged from every partition."""
    estimator = make_estimator(settings)
    target = settings.data.target
    derive = derived_features(settings)
    fitted = fitted_steps(derive.steps) if derive is not None else []
    if fitted:
        raise PipelineError(
            f"params.yaml: features.derived: {fitted[0]} is a transformer fitted on the training rows,"
            " which a cluster's partitions cannot see together; engine.name: dask runs derived"
            " features that are functions (one row's value from that row)"
        )
    files = partition_paths(layout.train)
    rows = [parquet_rows(f) for f in files]
    classification = settings.task == "classification"
    with cluster.dask_cluster(settings.engine) as dask:
        per = max(1, SAMPLE_ROWS // len(files))
        found = dask.map(partial(partition_sample, target=target, rows=per), files)
        sample = concat_parts([f["sample"] for f in found])
        inputs = [str(c) for c in sample.columns if c != target]
        if derive is not None:
            sample = derive.fit(sample[inputs]).transform(sample[inputs]).assign(**{target: sample[target]})
        features, left_out = select_features(sample, settings)
        kinds = feature_kinds(sample[features])
        text = [c for c, k in kinds.items() if k == "categorical"]
        categories = merge_categories(dask.map(partial(partition_categories, columns=text), files))
        preprocess = lightgbm_preprocess(kinds, categories).fit(sample[features])
        counts = dict(sum((Counter(f["classes"]) for f in found), Counter()))
        classes = sorted(counts) if classification else None
        encode = PartitionEncoder(preprocess, features, target, classes, derive)
        width = len(preprocess.get_feature_names_out())
        model, holders = dask.fit_lightgbm(
            estimator,
            list(zip(files, rows, strict=True)),
            encode,
            width,
            categorical_positions(kinds),
            classes,
        )
        where = f"{dask.where}; {holders} worker(s) held its {sum(rows):,} rows"
        where += f", peak memory per worker {dask.worker_peak_mb():.0f} MB"
    if classification:
        model = relabel(model, classes)
    steps = [("preprocess", preprocess), ("model", model)]
    pipeline = Pipeline([("derive", derive), *steps] if derive is not None else steps)
    facts = card_facts(
        settings, sample[features].dtypes, kinds, left_out, classes, counts if classification else None
    )
    return pipeline, derived_facts(facts, derive, inputs), f"trained on the {where}"


def even_rows(path: str, rows: int) -> pd.DataFrame:
    """On a worker: every k-th row of a partition, at most ``rows`` of them (all when it has fewer)."""
    frame = read_partition(path)
    step = max(1, -(-len(frame) // rows))
    return frame.iloc[::step]


def fit_sampled(settings: Settings, layout: Layout) -> tuple[Pipeline, dict[str, Any], str]:
    """An estimator that trains in one process, on the Dask engine: on an even sample of at most
    ``engine.train_sample_rows`` rows of the train split, gathered from its partitions by the
    workers (all of them, in order, when there are fewer: the local engine's model)."""
    files = partition_paths(layout.train)
    total = sum(parquet_rows(f) for f in files)
    limit = settings.engine.train_sample_rows
    with cluster.dask_cluster(settings.engine) as dask:
        parts = dask.map(partial(even_rows, rows=max(1, limit // len(files))), files)
        where = dask.where
    frame = concat_parts(parts)
    pipeline, facts = fit(settings, frame)
    if len(frame) == total:
        return pipeline, facts, f"trained in this process on all {total:,} rows, gathered from the {where}"
    said = (
        f"trained in this process on an even sample of {len(frame):,} of the {total:,} train rows"
        f" (engine.train_sample_rows: {limit:,}; only lightgbm trains across the workers), from the {where}"
    )
    print(f"train: {settings.model.estimator}: {said}", file=sys.stderr)
    return pipeline, {**facts, "trained_on_rows": len(frame)}, said


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Train, then write the model and its card atomically."""
    validation = read_json(layout.validation)
    if settings.engine.name == "dask" and settings.model.estimator == "lightgbm":
        pipeline, facts, where = fit_on_cluster(settings, layout)
    elif settings.engine.name == "dask":
        pipeline, facts, where = fit_sampled(settings, layout)
    else:
        pipeline, facts = fit(settings, read_parquet(layout.train))
        where = "trained in this process"
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
        "libraries": library_versions(settings.model.estimator),
        "model_file": layout.model.name,
        "model_sha256": file_sha256(layout.model),
    }
    code = code_facts(layout.root, settings)
    if code is not None:  # the project's own code (or a package's model) the model runs
        card["code"] = code
    write_json(layout.model_card, card)
    write_json(layout.environment, {**environment(), "trained": where})
    size_mb = layout.model.stat().st_size / 1e6
    if size_mb > LARGE_MODEL_MB:
        print(
            f"warning: {layout.model} is {size_mb:.0f} MB; loading and serving it will be slow"
            " (a model_size_mb rule in gate.rules can refuse it)",
            file=sys.stderr,
        )
    return card


def main() -> int:
    """Run the stage from the project root."""
    layout = Layout(Path())
    card = run(load_settings(layout.params), layout)
    left = ", ".join(f"{k} ({v})" for k, v in card["left_out"].items())
    print(f"train: {card['estimator']} on {len(card['features'])} features; left out: {left}")
    print(f"train: {read_json(layout.environment)['trained']}")
    return 0


if __name__ == "__main__":
    run_main(main)
