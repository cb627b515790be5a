"""Shared fixtures: the sample data, settings, and temporary git+DVC clones of this project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mlpipeline.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def sample_frame(settings: Settings) -> pd.DataFrame:
    """The bundled sample data: from the workspace, else restored from the sample remote."""
    raw = ROOT / settings.data.raw
    if not raw.exists():
        subprocess.run([str(VENV_BIN / "dvc"), "pull", "-q", f"{raw}.dvc"], cwd=ROOT, check=True)
    return pd.read_csv(raw)


def tool_env(tmp: Path, src: Path | None = None) -> dict[str, str]:
    """Environment for real git/dvc/make runs: no analytics, DVC's files inside ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp / "dvc-site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(tmp / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(tmp / "dvc-system"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp / "home"),
    )
    if src is not None:
        env["PYTHONPATH"] = str(src)
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    return env


class Repo:
    """A temporary git repository holding a copy of this project, with helpers to run tools in it."""

    def __init__(self, path: Path, scratch: Path) -> None:
        self.path = path
        self.env = tool_env(scratch, path / "src")

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run a command in the repo; on an unexpected exit code, fail with its output."""
        done = subprocess.run(
            list(args), cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(VENV_BIN / "dvc"), *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def python(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(VENV_BIN / "python"), *args, check=check)

    def make(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("make", "--no-print-directory", *args, check=check)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def edit_yaml(self, rel: str, edit: Callable[[dict], None]) -> None:
        """Load a YAML file, let ``edit`` change it, write it back."""
        import yaml

        path = self.path / rel
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def project_files() -> list[str]:
    """Files git tracks in this project, plus new ones it does not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [f for f in out if f and (ROOT / f).is_file()]


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A clone of the project, committed on main, with the sample data pulled and the pipeline run."""
    base = tmp_path_factory.mktemp("template")
    path = base / "repo"
    for rel in project_files():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)  # keep mtimes: make must see the venv as up to date
    (path / ".venv").symlink_to(VENV_BIN.parent)
    repo = Repo(path, base)
    repo.git("init", "-q", "-b", "main")
    repo.commit("template")
    repo.dvc("pull", "-q", "--allow-missing")
    repo.dvc("repro", "-q")
    if repo.git("status", "--porcelain").stdout.strip():
        repo.commit("results as reproduced here")  # tests start clean; test_reproducible checks drift
    return repo


@pytest.fixture
def repo(template_repo: Repo, tmp_path: Path) -> Repo:
    """A private copy of the template repository for one test."""
    path = tmp_path / "repo"
    shutil.copytree(template_repo.path, path, symlinks=True)
    return Repo(path, tmp_path)
