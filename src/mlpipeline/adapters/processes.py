"""Running git, dvc, gto and container engines from the package: one way, failures made clear."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlpipeline.errors import PipelineError

FROM_PATH = ("git", "docker", "podman")


def executable(name: str) -> str:
    """git and container engines from PATH; dvc and gto from this environment, so they match
    the locked versions."""
    return name if name in FROM_PATH else str(Path(sys.executable).parent / name)


def run(root: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a tool in ``root`` and return what it did, whatever its exit code."""
    return subprocess.run([executable(name), *args], cwd=root, capture_output=True, text=True, check=False)


def output(root: Path, name: str, *args: str) -> str:
    """Run a tool in ``root``; its output, or a ``PipelineError`` saying what it refused."""
    done = run(root, name, *args)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().replace("❌ ", "")
        raise PipelineError(f"{name} {' '.join(args[:2])}: {message}")
    return done.stdout
