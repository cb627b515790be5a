"""A model file of any commit, and loading it only after its SHA-256 is verified."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import joblib

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import file_md5
from mlpipeline.adapters.gitref import locked_md5
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout


def output_at(root: Path, path: Path, commit: str, scratch: Path) -> Path:
    """The DVC output ``path`` as of ``commit``: the workspace's file when it matches that
    commit's dvc.lock, else restored by DVC (cache, then remote) into ``scratch``."""
    rel = path.relative_to(root).as_posix()
    md5 = locked_md5(root, commit, rel)
    if md5 is not None and path.exists() and file_md5(path) == md5:
        return path
    target = scratch / f"{commit[:12]}-{path.name}"
    target.write_bytes(dvc.read_bytes_at(root, rel, commit))
    return target


def model_file(root: Path, commit: str | None, scratch: Path) -> Path:
    """The model file of ``commit`` (None: the workspace's)."""
    layout = Layout(root)
    return layout.model if commit is None else output_at(root, layout.model, commit, scratch)


def load_verified(path: Path, card: dict[str, Any]) -> Any:
    """Unpickle ``path`` only if its SHA-256 is the one the model card recorded.

    The file is read once: the bytes that were checked are the bytes that are loaded.
    """
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != card["model_sha256"]:
        raise PipelineError(
            f"{path}: SHA-256 {actual[:16]}… does not match the model card ({card['model_sha256'][:16]}…);"
            " refusing to load a file that is not the released model"
        )
    return joblib.load(io.BytesIO(data))
