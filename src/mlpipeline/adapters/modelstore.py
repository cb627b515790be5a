"""A model file of any commit, loading it only after its SHA-256 is verified, and its contract."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import file_md5
from mlpipeline.adapters.gitref import locked_md5, text_at
from mlpipeline.config import load_yaml
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout

if TYPE_CHECKING:
    from mlpipeline.core.contract import Contract


def output_at(root: Path, path: Path, commit: str, scratch: Path) -> Path:
    """The DVC output ``path`` as of ``commit``: the workspace's file when it matches that
    commit's dvc.lock, else restored by DVC (cache, then remote) into ``scratch``."""
    rel = path.relative_to(root).as_posix()
    md5 = locked_md5(root, commit, rel)
    if md5 is not None and path.is_file() and file_md5(path) == md5:
        return path
    target = scratch / f"{commit[:12]}-{path.name}"
    if md5 is not None and md5.endswith(".dir"):  # DVC's mark of a folder: a split in parts
        dvc.copy_dir_at(root, rel, commit, target)
    elif md5 is None or not dvc.from_cache(root, md5, target):  # else the remote, through DVC
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


def contract_text(root: Path, commit: str | None, card: dict[str, Any]) -> str:
    """The YAML of the data contract the model was trained under (commit None: the workspace's)."""
    text = text_at(root, commit, card["contract"])
    if text is None:
        where = f"is not committed at {commit[:10]}" if commit else "not found"
        raise PipelineError(f"{card['contract']} {where}; the model has no contract")
    return text


def serving_contract(
    root: Path, commit: str | None, card: dict[str, Any], text: str | None = None
) -> Contract:
    """The data contract the model was trained under, from ``text`` if the caller already read it."""
    from mlpipeline.core import contract as contract_mod  # pandera: only the commands that check rows pay

    text = contract_text(root, commit, card) if text is None else text
    where = card["contract"] + (f" at {commit[:10]}" if commit else "")
    return contract_mod.parse_contract(load_yaml(text, where), card["contract"])
