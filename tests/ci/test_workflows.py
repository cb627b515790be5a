"""The GitHub workflows: valid, safe, and calling only make targets that exist and are tested."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, VENV_BIN, tool_env

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


@pytest.mark.integration  # check-jsonschema's process
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


@pytest.mark.integration  # zizmor's process
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
                if "uses" in step and not step["uses"].startswith("./"):  # ./: this repository's own
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
        if job["permissions"].get("contents") != "write" or "steps" not in job:
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


def test_pull_requests_test_the_oldest_python_and_nightly_every_supported_one() -> None:
    supported = re.search(r"^SUPPORTED := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)[1].split()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={supported[0]},<3.{int(supported[-1].split(".")[1]) + 1}"' in pyproject
    pull_request = [j for w, n, j in jobs() if w == "ci.yml" and n in ("check", "e2e")]
    for job in pull_request:
        setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
        assert setup["with"]["python-version"] == supported[0]
    # The template's own nightly suite; a generated project (no copier.yml) gets health.yml alone.
    nightly = [j for w, n, j in jobs() if w == "nightly.yml"]
    assert len(nightly) == int((ROOT / "copier.yml").exists())
    for job in nightly:
        assert job["strategy"]["matrix"]["python"] == supported
        assert any(step.get("run") == "bash .ci/run" for step in job["steps"])
    (health,) = [j for w, n, j in jobs() if w == "health.yml"]
    runs = [step.get("run") for step in health["steps"]]
    assert runs.index("make repro") < runs.index("make reprocheck") < runs.index("make doctor")


def test_every_job_has_a_time_limit() -> None:
    """A hung step (a lock, a prompt, a server that never answers) must not hold a runner for GitHub's
    default of six hours. (A job that calls a reusable workflow cannot set one: its jobs do.)"""
    for workflow, name, job in jobs():
        if "uses" in job:
            continue
        assert 0 < job.get("timeout-minutes", 0) <= 120, f"{workflow}:{name} has no timeout-minutes"


REMOTE_TARGETS = r"\bmake (repro|ci|push|release|monitor|retrain|refresh-data)\b|release-on-main"


def test_every_job_that_reads_the_dvc_remote_gets_its_credentials_first() -> None:
    """One definition (.github/actions/dvc-credentials) for every remote kind, before the first
    command that pulls or pushes; no step carries credentials of its own."""
    action = yaml.safe_load((ROOT / ".github/actions/dvc-credentials/action.yml").read_text())
    kinds = set(action["inputs"])
    for workflow, name, job in jobs():
        steps = job.get("steps", [])
        for step in steps:
            assert "AWS_SECRET_ACCESS_KEY" not in yaml.safe_dump(step.get("env", {})), f"{workflow}:{name}"
        reads = [i for i, s in enumerate(steps) if re.search(REMOTE_TARGETS, s.get("run", ""))]
        if not reads:
            continue
        given = [i for i, s in enumerate(steps) if s.get("uses") == "./.github/actions/dvc-credentials"]
        assert given and given[0] < reads[0], f"{workflow}:{name} reads the remote without credentials"
        assert set(steps[given[0]]["with"]) == kinds, f"{workflow}:{name} passes some remote kinds only"


@pytest.mark.integration  # dvc's and git's processes
def test_the_credentials_reach_each_remote_kind_in_the_form_dvc_reads(tmp_path: Path) -> None:
    """.github/scripts/dvc-credentials.sh on a real DVC repository with a remote of every kind."""
    given = ("AWS_", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_", "DVC_SSH_")
    env = {k: v for k, v in tool_env(tmp_path).items() if not k.startswith(given)}  # none of the caller's
    env |= {"DVC": str(VENV_BIN / "dvc"), "RUNNER_TEMP": str(tmp_path / "runner")}
    repo = tmp_path / "r"
    repo.mkdir()

    def run(*args: str, extra: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            list(args), cwd=repo, env={**env, **(extra or {})}, capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr

    run("git", "init", "-q")
    run(str(VENV_BIN / "dvc"), "init", "-q")
    remotes = {"s3": "s3://bucket/dvc", "gs": "gs://bucket/dvc", "az": "azure://box/dvc",
               "ssh": "ssh://me@host/srv/dvc", "local": str(tmp_path / "store")}  # fmt: skip
    # What `dvc remote add` writes, for each kind at once (five dvc processes cost seconds here).
    with (repo / ".dvc/config").open("a") as config:
        config.writelines(f"['remote \"{name}\"']\n    url = {url}\n" for name, url in remotes.items())
    assert run(str(VENV_BIN / "dvc"), "remote", "list").split()[::2] == list(remotes)
    script = str(ROOT / ".github/scripts/dvc-credentials.sh")
    said = run("bash", script)
    assert "no credentials given" in said and not (repo / ".dvc/config.local").exists()
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s3-secret-value",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON": '{"type": "service_account", "private_key": "gcs-secret"}',
        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=azure-secret",
        "DVC_SSH_PRIVATE_KEY": "-----BEGIN KEY-----ssh-secret",
    }
    said = run("bash", script, extra=secrets)
    assert not any(v in said for v in secrets.values())  # names in the log, never values
    local = run(str(VENV_BIN / "dvc"), "config", "--local", "--list")
    assert (
        "remote.s3.access_key_id=AKIAEXAMPLE" in local
        and "remote.s3.secret_access_key=s3-secret-value" in local
    )
    assert "remote.az.connection_string=AccountName=a;AccountKey=azure-secret" in local
    key_files = {
        name: Path(re.search(rf"remote\.{name}\.{option}=(.+)", local)[1])
        for name, option in (("gs", "credentialpath"), ("ssh", "keyfile"))
    }
    assert key_files["gs"].read_text() == secrets["GOOGLE_APPLICATION_CREDENTIALS_JSON"]
    assert key_files["ssh"].read_text() == secrets["DVC_SSH_PRIVATE_KEY"]
    for path in key_files.values():
        assert path.stat().st_mode & 0o777 == 0o600 and repo not in path.parents
    assert "remote.local." not in local
    assert ".dvc/config.local" not in run("git", "status", "--porcelain", "--untracked-files=all")


@pytest.mark.integration  # git's process
def test_the_bot_may_push_to_origin_and_nothing_else_changes(tmp_path: Path) -> None:
    env = {**tool_env(tmp_path), "GH_TOKEN": "ghs_token", "SERVER": "https://github.com", "REPOSITORY": "o/r"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], env=env, check=True)
    subprocess.run(
        ["git", "remote", "add", "origin", "https://github.com/o/r.git"], cwd=tmp_path, env=env, check=True
    )
    subprocess.run(["bash", str(ROOT / ".github/scripts/push-as-bot.sh")], cwd=tmp_path, env=env, check=True)

    def get(key: str) -> str:
        return subprocess.run(
            ["git", "config", key], cwd=tmp_path, env=env, capture_output=True, text=True
        ).stdout.strip()

    assert get("remote.origin.pushurl") == "https://x-access-token:ghs_token@github.com/o/r.git"
    assert get("remote.origin.url") == "https://github.com/o/r.git"  # fetches stay anonymous
    assert get("user.name") == "github-actions[bot]"


def test_pull_requests_run_the_gate_before_any_test_and_the_end_to_end_tier_only_on_machinery() -> None:
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    runs = [step.get("run", "") for step in ci["jobs"]["check"]["steps"]]
    gate = next(i for i, run in enumerate(runs) if run.startswith("make ci "))
    tests = [i for i, run in enumerate(runs) if run.startswith("make test")]
    assert tests and gate < min(tests)  # a worse model is the first red step
    assert runs[tests[0]] == 'make test MARK="fast or integration"'
    e2e = ci["jobs"]["e2e"]
    assert e2e["needs"] == "changes" and e2e["if"] == "needs.changes.outputs.machinery == 'true'"
    assert [s["run"] for s in e2e["steps"] if "make test" in s.get("run", "")] == ["make test MARK=e2e"]
    assert set(ci["jobs"]["publish"]["needs"]) == {"check", "e2e"}  # main releases after every tier ran


def test_prod_waits_for_a_reviewer_and_delivery_starts_from_a_release_or_a_version_tag() -> None:
    """Who may put a model in prod is GitHub's environment protection, so every job that does
    must run in the `production` environment. cd.yml must not fire on stage tags (model#prod#N),
    and ci.yml's release must call it: its tag, pushed with GITHUB_TOKEN, starts no workflow."""
    cd = yaml.safe_load((ROOT / ".github/workflows/cd.yml").read_text())
    assert cd[True]["push"] == {"tags": ["model@v*"]}
    assert cd[True]["workflow_call"]["inputs"]["version"]["required"] is True
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    deliver = ci["jobs"]["deliver"]
    assert deliver["uses"] == "./.github/workflows/cd.yml" and deliver["needs"] == "publish"
    assert deliver["with"]["version"] == "${{ needs.publish.outputs.version }}"
    assert set(deliver["secrets"]) == set(cd[True]["workflow_call"]["secrets"])  # every remote kind
    # A called workflow's jobs get at most what the calling job grants.
    wanted = {k: v for job in cd["jobs"].values() for k, v in job["permissions"].items() if v == "write"}
    assert all(deliver["permissions"].get(k) == "write" for k in wanted), wanted
    for workflow, name, job in jobs():
        runs = " ".join(step.get("run", "") for step in job.get("steps", []))
        if re.search(r"STAGE=prod|make rollback", runs):
            assert job.get("environment") == "production", f"{workflow}:{name} changes prod unprotected"
    assert cd["jobs"]["promote"]["needs"] == ["image", "staging"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("changed", "machinery"),
    [
        (["params.yaml", "data/raw/telco_churn.csv.dvc", "README.md"], "false"),
        (["params.yaml", "src/mlpipeline/core/split.py"], "true"),
        (["tests/code/test_split.py"], "true"),
        (["requirements-dev.lock"], "true"),
        (["dvc.yaml"], "true"),
        (["copier.yml"], "true"),  # the template's generation: its tests are end-to-end
        ([".copier/render.py"], "true"),
        (["docs/src/notes.md"], "false"),  # a folder named src/ below the top is not the package
        ([], "false"),
    ],
)
def test_the_end_to_end_tier_runs_when_the_machinery_changes(
    tmp_path: Path, changed: list[str], machinery: str
) -> None:
    """.github/scripts/machinery-changed.sh on a real repository: base, then a branch's commit."""
    env = tool_env(tmp_path)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path / "r", env=env, check=True, capture_output=True)

    (tmp_path / "r").mkdir()
    git("init", "-q", "-b", "main")
    (tmp_path / "r/seed").write_text("0")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "change")
    for rel in changed:
        (tmp_path / "r" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "r" / rel).write_text("changed")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", "the change")
    done = subprocess.run(
        ["bash", str(ROOT / ".github/scripts/machinery-changed.sh"), "main"],
        cwd=tmp_path / "r", env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout == f"machinery={machinery}\n"


def _full_run_event(event: str, label: str = "full-run", fork: bool = False) -> dict:
    repository = "team/model"
    contexts: dict = {"github": {"event_name": event, "repository": repository, "event": {}}}
    if event == "pull_request":
        head = "someone/model" if fork else repository
        contexts["github"]["event"] = {
            "action": "labeled",
            "label": {"name": label},
            "pull_request": {"head": {"repo": {"full_name": head}}, "labels": [{"name": "full-run"}]},
        }
    return contexts


def test_a_full_run_needs_a_maintainers_label_on_this_commit_and_never_runs_a_fork() -> None:
    """The full run may go to a self-hosted runner beside a cluster: only a label given now (not a
    later push under an old one) and only a branch of this repository start it."""
    from tests.ci.expressions import evaluate

    workflow = yaml.safe_load((ROOT / ".github/workflows/full-run.yml").read_text())
    assert workflow[True]["pull_request"]["types"] == ["labeled"]  # pushes to a labelled PR do not run
    condition = workflow["jobs"]["full"]["if"]
    assert evaluate(condition, _full_run_event("pull_request")) is True
    assert evaluate(condition, _full_run_event("pull_request", fork=True)) is False
    assert evaluate(condition, _full_run_event("pull_request", label="docs")) is False
    assert evaluate(condition, _full_run_event("push")) is True  # main after a merge
    assert evaluate(condition, _full_run_event("workflow_dispatch")) is True
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    comment = ci["jobs"]["comment"]["if"]  # the evaluator reads the other jobs' conditions too
    assert evaluate(comment, _full_run_event("push")) is False  # comments are for pull requests
    assert evaluate(comment, _full_run_event("pull_request")) is True
    assert evaluate(comment, _full_run_event("pull_request", fork=True)) is False


def test_the_site_is_checked_on_every_pull_request_and_published_only_from_main_where_pages_is_on() -> None:
    from tests.ci.expressions import evaluate

    workflow = yaml.safe_load((ROOT / ".github/workflows/docs.yml").read_text())
    assert {"pull_request", "push"} <= set(workflow[True])
    assert workflow[True]["push"]["branches"] == ["main"]
    assert "if" not in workflow["jobs"]["build"]  # the strict build runs on every event
    deploy = workflow["jobs"]["deploy"]["if"]

    def event(name: str, pages: bool) -> dict:
        return {"github": {"event_name": name, "event": {"repository": {"has_pages": pages}}}}

    assert evaluate(deploy, event("push", True)) is True
    assert evaluate(deploy, event("workflow_dispatch", True)) is True
    assert evaluate(deploy, event("pull_request", True)) is False  # a pull request never publishes
    assert evaluate(deploy, event("push", False)) is False  # Pages off: the build still checks
