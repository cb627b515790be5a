"""The template's own tools, which generated projects do not get (copier.yml excludes them, and
this folder): `make detach` for the clone path, and the workflow script that tags its versions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipeline.commands.detach import ANSWERS_TEMPLATE, WORKSPACE, detach, template_only
from mlpipeline.errors import PipelineError
from tests.code.test_team_project import URLS
from tests.conftest import ROOT, tool_env


def test_detach_removes_what_copier_leaves_out_of_a_project_and_keeps_the_workspace(
    root: Path, tmp_path: Path
) -> None:
    listed = template_only(root)
    assert ANSWERS_TEMPLATE in listed and "tests/template" in listed and "copier.yml" in listed
    assert not set(listed) & WORKSPACE
    for rel in listed:  # the list is not stale: each is in the template
        assert (root / rel).exists(), rel
    (tmp_path / "copier.yml").write_text((root / "copier.yml").read_text())
    kept = [".venv/bin/python", ".git/HEAD", "src/mlpipeline/__init__.py", "src/project/features.py"]
    kept += ["tests/project/test_features.py"]  # the project's own code, and its tests
    for rel in [*listed, *kept]:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text("x")
    removed = detach(tmp_path)
    assert sorted(removed) == sorted(listed)
    assert not any((tmp_path / rel).exists() for rel in listed)
    assert all((tmp_path / rel).exists() for rel in kept)
    with pytest.raises(PipelineError, match="already detached"):
        detach(tmp_path)


@pytest.mark.integration  # git's process
def test_the_template_version_is_tagged_once_and_never_moved(tmp_path: Path) -> None:
    env = tool_env(tmp_path / "scratch")
    origin, work = tmp_path / "origin.git", tmp_path / "work"

    def run(*args: str, where: Path = work) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=where, env=env, capture_output=True, text=True, check=True)

    run("git", "init", "-q", "--bare", str(origin), where=tmp_path)
    run("git", "init", "-q", "-b", "main", str(work), where=tmp_path)
    (work / "copier.yml").write_text("_min_copier_version: '9.3'\n")
    (work / "pyproject.toml").write_text('[project]\nname = "t"\nversion = "1.2.0"\n')
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "v1.2.0")
    run("git", "remote", "add", "origin", str(origin))
    script = str(ROOT / ".github/scripts/tag-template-version.sh")

    assert "tagged and pushed v1.2.0" in run("bash", script).stdout
    assert "refs/tags/v1.2.0" in run("git", "ls-remote", "--tags", str(origin)).stdout
    first = run("git", "rev-parse", "v1.2.0^{commit}").stdout
    (work / "README.md").write_text("a fix, same version\n")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "fix")
    assert "v1.2.0 exists" in run("bash", script).stdout
    assert run("git", "rev-parse", "v1.2.0^{commit}").stdout == first  # a version is never moved
    (work / "copier.yml").unlink()  # a generated project: not the template
    assert "nothing to tag" in run("bash", script).stdout


@pytest.mark.integration  # git show: the committed lock, not the workspace's (make ci rewrites that)
def test_the_bundled_remote_holds_every_output_the_committed_lock_names() -> None:
    """A fresh clone pulls data, splits and model from data/sample_remote and trains nothing. A
    retrain on another machine (a model's bytes differ by CPU family) once re-locked the model
    without pushing it there, and main's model could no longer be restored to pair with."""
    import yaml

    in_git = {  # `cache: false` outputs are committed with the code, not pulled
        next(iter(entry))
        for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values()
        for kind in ("outs", "metrics", "plots")
        for entry in stage.get(kind, [])
        if isinstance(entry, dict) and next(iter(entry.values())).get("cache") is False
    }
    committed = subprocess.run(
        ["git", "show", "HEAD:dvc.lock"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    lock = yaml.safe_load(committed)
    missing = [
        out["path"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] not in in_git
        and not (ROOT / "data/sample_remote/files/md5" / out["md5"][:2] / out["md5"][2:]).is_file()
    ]
    assert "models/model.joblib" in [o["path"] for s in lock["stages"].values() for o in s.get("outs", [])]
    assert missing == [], (
        f"{missing}: `.venv/bin/dvc push -r sample` and `git add -f data/sample_remote/files`"
    )


@pytest.mark.parametrize(("url", "kind"), URLS.items())
def test_copier_refuses_the_remote_urls_make_remote_refuses(url: str, kind: str | None) -> None:
    """copier.yml's dvc_remote validator (Jinja, rendered here as copier renders it) and `make
    remote` accept and refuse the same URLs."""
    import re

    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment()
    env.filters["regex_search"] = lambda value, pattern: re.search(pattern, value)
    validator = yaml.safe_load((ROOT / "copier.yml").read_text())["dvc_remote"]["validator"]
    refused = env.from_string(validator).render(dvc_remote=url).strip()
    assert bool(refused) == (kind is None), refused
