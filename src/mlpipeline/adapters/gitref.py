"""Read committed files at a git ref: how the gate sees the base branch's metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlpipeline.adapters import processes
from mlpipeline.config import load_yaml
from mlpipeline.errors import PipelineError


def ref_exists(root: Path, ref: str) -> bool:
    """True when ``ref`` names a commit in this repository."""
    return processes.run(root, "git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def show(root: Path, ref: str, path: str) -> str | None:
    """The text of ``path`` as committed at ``ref``, or None when it is not there."""
    shown = processes.run(root, "git", "show", f"{ref}:{path}")
    return shown.stdout if shown.returncode == 0 else None


def text_at(root: Path, commit: str | None, path: str) -> str | None:
    """``path`` as committed at ``commit`` (None: as it is in the workspace), or None when absent."""
    if commit is None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.exists() else None
    return show(root, commit, path)


def read_json_at(root: Path, ref: str, path: str) -> Any | None:
    """The JSON file ``path`` as committed at ``ref``, or None when it is not there."""
    text = show(root, ref, path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path} at {ref} is not valid JSON ({exc}); the comparison is broken") from None


def locked_md5(root: Path, ref: str, path: str) -> str | None:
    """The MD5 that dvc.lock at ``ref`` records for the stage output ``path``, if any."""
    text = show(root, ref, "dvc.lock")
    lock = load_yaml(text, f"dvc.lock at {ref}") if text else None
    stages = (lock or {}).get("stages", {}).values()
    return next((o["md5"] for s in stages for o in s.get("outs", []) if o["path"] == path), None)


def commit_of(root: Path, ref: str) -> str:
    """The full commit hash ``ref`` names."""
    return processes.output(root, "git", "rev-parse", f"{ref}^{{commit}}").strip()


def uncommitted(root: Path) -> list[str]:
    """Tracked files whose working copy differs from HEAD (staged or not), as git names them."""
    found = processes.output(root, "git", "status", "--porcelain", "--untracked-files=no", "-z")
    # Each entry is "XY path"; a rename adds its old path as a separate NUL-terminated field.
    entries = [e for e in found.split("\0") if e]
    paths, skip = [], False
    for entry in entries:
        if skip:
            skip = False
            continue
        paths.append(entry[3:])
        skip = entry[0] in "RC"
    return paths


def committed_lock(root: Path) -> dict[str, Any]:
    """dvc.lock as committed at HEAD."""
    text = show(root, "HEAD", "dvc.lock")
    if text is None:
        raise PipelineError("dvc.lock is not committed at HEAD; run `make repro` and commit dvc.lock")
    return load_yaml(text, "dvc.lock at HEAD") or {}
