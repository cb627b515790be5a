"""Make targets that CI calls, each run for real in a temporary clone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo

pytestmark = pytest.mark.e2e


def test_setup_is_skipped_when_up_to_date(repo: Repo) -> None:
    for target in ("setup", "setup-dev"):
        done = repo.make(target)
        assert "uv " not in done.stdout
        assert "Nothing to be done" in done.stdout or done.stdout.strip() == ""


def test_setup_refuses_an_unsupported_python_in_one_line(repo: Repo, tmp_path: Path) -> None:
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)' \"$@\"\n")
    fake.chmod(0o755)
    (repo.path / ".venv").unlink()  # a new machine: no environment yet (the shared one is not touched)
    done = repo.make("setup", f"PYTHON={fake}", check=False)
    assert done.returncode != 0
    assert f"error: '{fake}' is not Python 3.11 3.12 3.13" in done.stderr
    assert not (repo.path / ".venv").exists()


def test_lint_passes_on_the_template(repo: Repo) -> None:
    done = repo.make("lint")
    assert "All checks passed" in done.stdout


def test_lint_fails_on_badly_formatted_code(repo: Repo) -> None:
    path = repo.path / "src/mlpipeline/adapters/files.py"
    path.write_text(path.read_text() + "\nx=[1,\n2]\n")
    assert repo.make("lint", check=False).returncode != 0


def test_help_lists_public_targets(repo: Repo) -> None:
    listed = repo.make("help").stdout
    for target in ("setup", "repro", "test", "lint", "ci", "push", "retrain", "detach"):
        assert f"make {target} " in listed
    # Every description starts in one column, the longest target's included.
    starts = {len(line) - len(line.split(None, 2)[2]) for line in listed.splitlines() if line.strip()}
    assert len(starts) == 1, listed


def test_push_sends_every_output(other_model_repo: Repo, tmp_path: Path) -> None:
    repo = other_model_repo  # outputs the bundled remote has never seen
    remote = tmp_path / "remote"
    repo.dvc("remote", "add", "-d", "-f", "scratch", str(remote))
    repo.make("push")
    assert (remote / "files/md5").is_dir()
    assert "Cache and remote 'scratch' are in sync" in repo.dvc("status", "-c").stdout
    # Stages with persistent outputs (a failed stage keeps the last good ones) have no run-cache.
    assert not (remote / "runs").exists()
