"""Stage ``train``: fit the configured Pipeline on the train split; save it with its metadata card."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

from mlpipeline.adapters.files import atomic_path, file_sha256, read_json, write_json
from mlpipeline.adapters.tabular import read_parquet
from mlpipeline.config import Settings, load_settings
from mlpipeline.core.model import fit
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout

LARGE_MODEL_MB = 50
LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib", "pyarrow", "pandera", "dvc")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a loaded model depends on: pinned by the lock, so the same on
    every supported interpreter."""
    versions = {}
    for name in LIBRARIES:
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
    write_json(layout.environment, environment())
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
    return 0


if __name__ == "__main__":
    run_main(main)
