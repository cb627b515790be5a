"""The workspace follows git: after `git checkout` of another branch, data, model and metrics are
that commit's (dvc.lock's), with no manual step, once `make setup` has run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipeline.commands import githooks
from tests.conftest import Repo

integration = pytest.mark.integration


def locked_model_md5(repo: Repo) -> str:
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"]
    return out["md5"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@integration
def test_after_make_setup_a_branch_switch_brings_that_commits_model_and_metrics(
    other_model_repo: Repo,
) -> None:
    repo = other_model_repo  # on branch other-model, whose model differs from main's
    model, metrics = repo.path / "models/model.joblib", repo.path / "metrics/metrics.json"
    repo.make("setup")
    assert githooks.MARK in (repo.path / ".git/hooks/post-checkout").read_text()
    ours = md5(model)

    repo.git("checkout", "-q", "main")
    assert md5(model) == locked_model_md5(repo) != ours
    committed = json.loads(repo.git("show", "main:metrics/metrics.json").stdout)
    assert json.loads(metrics.read_text()) == committed
    repo.git("checkout", "-q", "other-model")
    assert md5(model) == locked_model_md5(repo) == ours
    assert repo.dvc("status", "-q", check=False).returncode == 0

    # A merge moves HEAD without a checkout: the post-merge hook follows it too.
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "other-model")
    assert md5(model) == locked_model_md5(repo) == ours

    repo.make("setup")  # again: the hooks are not rewritten or doubled
    for name, text in githooks.HOOKS.items():
        assert (repo.path / f".git/hooks/{name}").read_text() == text


@integration
def test_someone_elses_hook_is_left_alone_and_the_message_says_what_to_add(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    hook = tmp_path / ".git/hooks/post-checkout"
    hook.write_text("#!/bin/sh\necho theirs\n")
    said = githooks.install(tmp_path)
    assert hook.read_text() == "#!/bin/sh\necho theirs\n"
    assert "left as it is" in said and ".venv/bin/dvc checkout" in said
    assert (tmp_path / ".git/hooks/post-merge").read_text() == githooks.HOOKS["post-merge"]  # ours
    assert githooks.install(tmp_path / "nowhere-near-git").startswith("not a git repository")
