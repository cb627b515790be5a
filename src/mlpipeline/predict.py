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

import joblib
import numpy as np
import pandas as pd
import yaml

from mlpipeline import contract as contract_mod
from mlpipeline import registry
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.gitref import locked_md5
from mlpipeline.io import atomic_path, file_md5, file_sha256, read_json
from mlpipeline.layout import Layout
from mlpipeline.tabular import read_csv


def resolve(root: Path, stage: str | None, version: str | None) -> tuple[str, str | None, dict[str, Any]]:
    """(label, commit, card) of the model to use; commit None means the workspace's model."""
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
        return f"{version}" + (f" ({stage})" if stage else ""), found.commit, found.card
    layout = Layout(root)
    if not layout.model_card.exists():
        raise PipelineError(f"{layout.model_card} not found; run `make repro`, or give STAGE or VERSION")
    return "workspace model", None, read_json(layout.model_card)


def model_file(root: Path, commit: str | None, scratch: Path) -> Path:
    """The model file of ``commit``: the workspace's if it is the same, else restored by DVC."""
    layout = Layout(root)
    rel = layout.model.relative_to(root).as_posix()
    if commit is None:
        return layout.model
    md5 = locked_md5(root, commit, rel)
    if md5 is not None and layout.model.exists() and file_md5(layout.model) == md5:
        return layout.model
    import dvc.api
    from dvc.exceptions import DvcException

    target = scratch / "model.joblib"
    try:
        with dvc.api.open(rel, repo=str(root), rev=commit, mode="rb") as src:
            target.write_bytes(src.read())
    except (DvcException, FileNotFoundError) as exc:
        raise PipelineError(
            f"cannot restore {rel} of commit {commit[:10]}: not in the DVC cache or remote ({exc});"
            " `dvc push` it from where it was trained"
        ) from None
    return target


def load_verified(path: Path, card: dict[str, Any]) -> Any:
    """Unpickle ``path`` only if its SHA-256 is the one the model card recorded."""
    actual = file_sha256(path)
    if actual != card["model_sha256"]:
        raise PipelineError(
            f"{path}: SHA-256 {actual[:16]}… does not match the model card ({card['model_sha256'][:16]}…);"
            " refusing to load a file that is not the released model"
        )
    return joblib.load(path)


def serving_contract(root: Path, commit: str | None, card: dict[str, Any]) -> contract_mod.Contract:
    """The data contract the model was trained under."""
    if commit is None:
        return contract_mod.load_contract(root / card["contract"])
    text = registry.git(root, "show", f"{commit}:{card['contract']}")
    return contract_mod.Contract.model_validate(yaml.safe_load(text))


def predict_frame(model: Any, card: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities), beside the ids."""
    features = [f["name"] for f in card["features"]]
    out = pd.DataFrame(index=frame.index)
    if card.get("id_column") and card["id_column"] in frame.columns:
        out[card["id_column"]] = frame[card["id_column"]]
    x = frame[features]
    if card["task"] == "classification":
        proba = model.predict_proba(x)
        out["prediction"] = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
        for i, cls in enumerate(model.classes_):
            out[f"proba_{cls}"] = proba[:, i].round(6)
    else:
        out["prediction"] = model.predict(x).round(6)
    return out


def run(root: Path, input_path: Path, output_path: Path, stage: str | None, version: str | None) -> str:
    """Check, load, validate, predict, write; return what was used."""
    label, commit, card = resolve(root, stage, version)
    frame = read_csv(input_path, missing_hint="check the INPUT path")
    frame = frame.drop(columns=[card["target"]], errors="ignore")
    contract = serving_contract(root, commit, card)
    validated, failures, _ = contract_mod.check(frame, contract, card["target"], with_target=False)
    if failures:
        raise PipelineError(
            contract_mod.format_failures(failures, str(input_path)).replace(
                "nothing downstream ran", "no predictions written"
            )
        )
    from mlpipeline.validate import model_ready

    with tempfile.TemporaryDirectory() as scratch:
        model = load_verified(model_file(root, commit, Path(scratch)), card)
    predictions = predict_frame(model, card, model_ready(validated, keep_text=[card["id_column"]]))
    with atomic_path(output_path) as tmp:
        predictions.to_csv(tmp, index=False)
    return label


def main(argv: list[str] | None = None) -> int:
    """``--input in.csv --output out.csv [--stage S | --version V]``."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.predict")
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
