"""Shared fixtures: the sample data, settings, and temporary git+DVC clones of this project.

Everything is built from tests/fixtures/sample (the template's sample data and settings), never
from the project's current data or params: the tests judge the machinery, and `make ci` judges
the project.
"""

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
# What the environment is built from: a clone must not look newer than the shared .venv.
LOCKED_INPUTS = (
    "pyproject.toml",
    "requirements.lock",
    "requirements-dev.lock",
    "requirements-serve.lock",
    ".ci/uv-requirements.txt",
)


SAMPLE = ROOT / "tests/fixtures/sample"
SAMPLE_RAW = "data/raw/telco_churn.csv"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample() -> Path:
    """The folder of the template's sample settings: params.yaml, contract.yaml, plots.yaml."""
    return SAMPLE


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(SAMPLE / "params.yaml")


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """The bundled sample data, as the tests keep it."""
    return pd.read_csv(SAMPLE / "telco_churn.csv.gz")


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
        # Caches (uv's, pip's, the container test's base image) stay the user's: HOME is per test.
        XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
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

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the repo (``env`` adds to its environment); on an unexpected exit
        code, fail with its output."""
        done = subprocess.run(
            list(args),
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
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

    def make(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("make", "--no-print-directory", *args, check=check, timeout=900, env=env)

    def clone(self, source: str | Path, name: str) -> Repo:
        """``git clone source`` beside this repo, sharing this project's environment.

        The lock files get an old mtime, so make sees the shared .venv as up to date and never
        rebuilds it from inside a test.
        """
        dest = self.path.parent / name
        self.run("git", "clone", "-q", str(source), str(dest))
        clone = Repo(dest, self.path.parent / f"{name}-scratch")
        (dest / ".venv").symlink_to(VENV_BIN.parent)
        for rel in LOCKED_INPUTS:
            if (dest / rel).exists():
                os.utime(dest / rel, (0, 0))
        return clone

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


def _ls_files(*flags: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *flags], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    return [f for f in out if f and (ROOT / f).is_file()]


def project_files() -> list[str]:
    """Files git tracks in this project, plus new ones it does not ignore."""
    return _ls_files("--cached", "--others", "--exclude-standard")


def tracked_but_ignored() -> list[str]:
    """Files this project tracks although an ignore rule matches them (committed with add -f)."""
    return _ls_files("--cached", "--ignored", "--exclude-standard")


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """The project's code on the template's sample, reproduced, pushed to its bundled remote and
    committed on main: what a fresh copy of the template holds."""
    base = tmp_path_factory.mktemp("template")
    path = base / "repo"
    for rel in project_files():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)  # keep mtimes: make must see the venv as up to date
    (path / ".venv").symlink_to(VENV_BIN.parent)
    for rel in LOCKED_INPUTS:  # the shared .venv is up to date whatever was edited since it was built
        if (path / rel).exists():
            os.utime(path / rel, (0, 0))
    repo = Repo(path, base)
    use_sample(repo)
    repo.git("init", "-q", "-b", "main")
    repo.dvc("add", "-q", SAMPLE_RAW)
    repo.dvc("repro", "-q")
    repo.dvc("push", "-q", "-r", "sample")  # the bundled remote holds every output, as shipped
    repo.git("add", "-A")
    repo.git("add", "-f", "--", *tracked_but_ignored(), "data/sample_remote/files")
    repo.git("commit", "-q", "-m", "template on its sample")
    return repo


def use_sample(repo: Repo) -> None:
    """Put the template's sample in place of whatever data and settings the project holds."""
    import gzip

    from ruamel.yaml import YAML

    for pointer in (repo.path / "data/raw").glob("*.dvc"):
        (repo.path / "data/raw" / pointer.stem).unlink(missing_ok=True)
        pointer.unlink()
    (repo.path / "data/raw/.gitignore").unlink(missing_ok=True)
    # The shipped monitoring batch lives in the bundled remote, not in a clean checkout; tests
    # make their own batches from the sample.
    (repo.path / "data/batches.dvc").unlink(missing_ok=True)
    (repo.path / SAMPLE_RAW).write_bytes(gzip.decompress((SAMPLE / "telco_churn.csv.gz").read_bytes()))
    shutil.copy(SAMPLE / "params.yaml", repo.path / "params.yaml")
    shutil.copy(SAMPLE / "contract.yaml", repo.path / "data/contract.yaml")
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    dvc_yaml = yaml.load(repo.path / "dvc.yaml")
    dvc_yaml["plots"] = yaml.load(SAMPLE / "plots.yaml")["plots"]
    yaml.dump(dvc_yaml, repo.path / "dvc.yaml")
    config = repo.path / ".dvc/config"
    config.write_text(
        "[core]\n    analytics = false\n    autostage = false\n    remote = sample\n"
        "[plots]\n    html_template = plots_offline.html\n"
        "['remote \"sample\"']\n    url = ../data/sample_remote\n"
    )


@pytest.fixture
def repo(template_repo: Repo, tmp_path: Path) -> Repo:
    """A private copy of the template repository for one test."""
    path = tmp_path / "repo"
    shutil.copytree(template_repo.path, path, symlinks=True)
    return Repo(path, tmp_path)
