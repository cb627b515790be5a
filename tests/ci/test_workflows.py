"""The GitHub workflows: valid, safe, and calling only make targets that exist and are tested."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.conftest import ROOT, VENV_BIN

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
# `make test` is what runs this suite, so the suite itself covers it.
SELF_COVERED = {"test"}


def workflow_make_targets() -> set[str]:
    targets = set()
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                targets |= set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", step.get("run", "")))
    return targets


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "retrain.yml"}


def test_workflows_match_the_github_schema() -> None:
    done = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "zizmor"), "--offline", "--min-severity", "medium", str(ROOT / ".github/workflows")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_make_target_a_workflow_calls_exists() -> None:
    missing = workflow_make_targets() - makefile_targets()
    assert not missing, f"workflows call undefined make targets: {missing}"


@pytest.mark.parametrize("target", sorted(workflow_make_targets() - SELF_COVERED))
def test_every_make_target_a_workflow_calls_is_run_by_a_test(target: str) -> None:
    pattern = re.compile(rf"""\.make\(\s*["']{re.escape(target)}["']""")
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if pattern.search(p.read_text())]
    assert tests, f"no test runs `make {target}`"


def test_jobs_declare_least_privilege() -> None:
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert workflow.get("permissions") == {}, f"{path.name}: top-level permissions must be empty"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"


def test_no_pull_request_target_and_no_expressions_in_run() -> None:
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        triggers = workflow.get(True, workflow.get("on"))  # PyYAML reads the key `on` as True
        assert "pull_request_target" not in triggers
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{path.name}: expression inside run: {step['run']}"
                if "uses" in step:
                    assert re.search(r"@[0-9a-f]{40}\b", step["uses"]), f"unpinned action {step['uses']}"


def test_pull_requests_can_compare_with_main() -> None:
    ci = (ROOT / ".github/workflows/ci.yml").read_text()
    assert "git fetch --no-tags --depth 1 origin main:refs/remotes/origin/main" in ci
    assert "make ci BASE=origin/main" in ci
    assert "GITHUB_STEP_SUMMARY" in ci
    assert "--edit-last" in ci  # one comment, updated
