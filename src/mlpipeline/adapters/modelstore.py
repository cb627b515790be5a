"""A model file of any commit, and loading it only after its SHA-256 is verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import file_md5, file_sha256
from mlpipeline.adapters.gitref import locked_md5
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout


def model_file(root: Path, commit: str | None, scratch: Path) -> Path:
    """The model file of ``commit`` (None: the workspace's): the workspace's when it matches that
    commit's dvc.lock, else restored by DVC into ``scratch``."""
    layout = Layout(root)
    rel = layout.model.relative_to(root).as_posix()
    if commit is None:
        return layout.model
    md5 = locked_md5(root, commit, rel)
    if md5 is not None and layout.model.exists() and file_md5(layout.model) == md5:
        return layout.model
    target = scratch / "model.joblib"
    target.write_bytes(dvc.read_bytes_at(root, rel, commit))
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
