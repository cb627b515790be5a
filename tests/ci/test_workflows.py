"""The GitHub workflows: valid, safe, and calling only make targets that exist and are tested."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.conftest import ROOT, VENV_BIN

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
# `make test` is what runs this suite (after `make setup-dev`), so the suite itself covers them.
SELF_COVERED = {"test", "setup-dev"}
UV_PIN = ".ci/uv-requirements.txt"


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
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "retrain.yml", "cd.yml", "rollback.yml"}


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


def jobs() -> list[tuple[str, str, dict]]:
    return [
        (path.name, name, job)
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
    ]


def test_every_job_that_runs_make_first_installs_the_hash_pinned_uv() -> None:
    for workflow, name, job in jobs():
        runs = [step.get("run", "") for step in job.get("steps", [])]
        first_make = next((i for i, run in enumerate(runs) if re.search(r"\bmake ", run)), None)
        if first_make is None:
            continue
        installs = [i for i, run in enumerate(runs) if "--require-hashes" in run and UV_PIN in run]
        assert installs and installs[0] < first_make, f"{workflow}:{name} runs make before installing uv"


def test_write_tokens_reach_only_the_step_that_writes() -> None:
    """In jobs that may write to the repository, checkout keeps no credentials and only the last
    step sees a token: everything before it (installing, running the project) cannot push."""
    for workflow, name, job in jobs():
        if job["permissions"].get("contents") != "write":
            continue
        steps = job["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["persist-credentials"] is False, f"{workflow}:{name}"
        with_token = [i for i, s in enumerate(steps) if "token" in yaml.safe_dump(s.get("env", {})).lower()]
        assert with_token == [len(steps) - 1], f"{workflow}:{name}: token in steps {with_token}"


def test_the_job_that_opens_the_retrain_pull_request_runs_no_project_code() -> None:
    (job,) = [j for w, n, j in jobs() if w == "retrain.yml" and j["permissions"].get("pull-requests")]
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make " not in runs and "python" not in runs
    assert job["if"] == "needs.retrain.outputs.changed == 'true'"  # no pull request when nothing changed


def test_pull_requests_test_the_oldest_and_newest_supported_python() -> None:
    supported = re.search(r"^SUPPORTED := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)[1].split()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={supported[0]},<3.{int(supported[-1].split(".")[1]) + 1}"' in pyproject
    (check,) = [j for w, n, j in jobs() if w == "ci.yml" and n == "check"]
    assert check["strategy"]["matrix"]["python"] == [supported[0], supported[-1]]


def test_prod_waits_for_a_reviewer_and_delivery_starts_only_from_version_tags() -> None:
    """Who may put a model in prod is GitHub's environment protection, so every job that does
    must run in the `production` environment; cd.yml must not fire on stage tags (model#prod#N)."""
    cd = yaml.safe_load((ROOT / ".github/workflows/cd.yml").read_text())
    assert cd[True] == {"push": {"tags": ["model@v*"]}}
    for workflow, name, job in jobs():
        runs = " ".join(step.get("run", "") for step in job.get("steps", []))
        if re.search(r"STAGE=prod|make rollback", runs):
            assert job.get("environment") == "production", f"{workflow}:{name} changes prod unprotected"
    assert cd["jobs"]["promote"]["needs"] == ["image", "staging"]
