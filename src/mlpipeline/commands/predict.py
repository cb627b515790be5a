"""Predict with a registered model, trusting only what was verified.

The model is the one a stage or version points to (or the workspace's); its file comes from the
workspace when it matches that commit's dvc.lock, else from DVC (cache or remote). Its SHA-256 is
checked against the model card before unpickling, and the input must pass the data contract of
the same commit (without the target), so training-serving skew is caught at the door.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from mlpipeline.adapters.files import atomic_path, read_json
from mlpipeline.adapters.modelstore import load_verified, model_file, serving_contract
from mlpipeline.adapters.projectcode import check_code
from mlpipeline.adapters.tabular import read_csv
from mlpipeline.commands import registry
from mlpipeline.core.prediction import score
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def resolve(root: Path, stage: str | None, version: str | None) -> tuple[str, str | None, dict[str, Any]]:
    """(label, commit, card) of the model to use; commit None means the workspace's model.

    The card has the model's test metrics either way (a release records them in its card).
    """
    if stage and version:
        raise PipelineError("give STAGE or VERSION, not both")
    if stage:
        version = registry.stage_of(root, stage)
        if version is None:
            raise PipelineError(f"no version holds stage '{stage}'; `make promote VERSION=... STAGE={stage}`")
    if version:
        found = registry.find_version(root, version)
        if not found.card:
            raise PipelineError(f"{version} has no model card; it was not released with `make release`")
        label = f"{version}" + (f" ({stage})" if stage else "")
        check_code(root, found.card, label)
        return label, found.commit, found.card
    layout = Layout(root)
    if not layout.model_card.exists():
        raise PipelineError(f"{layout.model_card} not found; run `make repro`, or give STAGE or VERSION")
    # A released card carries the model's test metrics; the workspace's gets them from evaluate.
    metrics = read_json(layout.metrics) if layout.metrics.exists() else {}
    card = read_json(layout.model_card)
    check_code(root, card, "workspace model")
    return "workspace model", None, {**card, "metrics": metrics}


def run(root: Path, input_path: Path, output_path: Path, stage: str | None, version: str | None) -> str:
    """Check, load, validate, predict, write; return what was used."""
    label, commit, card = resolve(root, stage, version)
    frame = read_csv(input_path, missing_hint="check the INPUT path")
    contract = serving_contract(root, commit, card)
    with tempfile.TemporaryDirectory() as scratch:
        model = load_verified(model_file(root, commit, Path(scratch)), card)
    predictions, notes = score(model, card, contract, frame, str(input_path))
    for note in notes:
        print(f"warning: {note}")
    with atomic_path(output_path) as tmp:
        predictions.to_csv(tmp, index=False)
    return label


def main(argv: list[str] | None = None) -> int:
    """``--input in.csv --output out.csv [--stage S | --version V]``."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.predict")
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--stage")
    parser.add_argument("--version")
    args = parser.parse_args(argv)
    label = run(Path(), args.input, args.output, args.stage or None, args.version or None)
    print(f"predict: wrote {args.output} with {label}")
    return 0


if __name__ == "__main__":
    run_main(main)
