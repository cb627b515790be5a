"""Read committed files at a git ref: how the gate sees the base branch's metrics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from mlpipeline.errors import PipelineError


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def ref_exists(root: Path, ref: str) -> bool:
    """True when ``ref`` names a commit in this repository."""
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def read_json_at(root: Path, ref: str, path: str) -> Any | None:
    """The JSON file ``path`` as committed at ``ref``, or None when it is not there."""
    shown = _git(root, "show", f"{ref}:{path}")
    if shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path} at {ref} is not valid JSON ({exc}); the comparison is broken") from None


def head_commit(root: Path) -> str:
    """The commit HEAD points to."""
    out = _git(root, "rev-parse", "HEAD")
    if out.returncode != 0:
        raise PipelineError(f"not a git repository with commits: {root.resolve()}")
    return out.stdout.strip()
