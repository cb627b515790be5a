"""Release, promote, roll back and predict: the registry flow on real git tags, DVC and GTO.

One test runs the whole flow through real `make`; the others check what the registry and predict
commands decide, with their ``main()`` in-process on the same kind of repository (integration).
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import VENV_BIN, Repo, build_once, copy_project, reproduce

integration = pytest.mark.integration


def write_input(repo: Repo, name: str = "incoming.csv", rows: int = 25, **changes: object) -> Path:
    frame = pd.read_csv(repo.path / "data/raw/telco_churn.csv").head(rows)
    for column, value in changes.items():
        if value is None:
            frame = frame.drop(columns=[column])
        else:
            frame[column] = value
    path = repo.path.parent / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def registry(command):
    """`make release|promote|rollback ...` as their recipes call the registry, in-process."""

    def run(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
        return command(repo, "registry", *args)

    return run


@pytest.fixture
def predicted(command):
    """`make predict INPUT=... OUTPUT=... [VERSION=...]`, in-process."""

    def run(repo: Repo, out: str, version: str = "", rows: Path | None = None, stage: str = ""):
        rows = rows or write_input(repo)
        output = str(repo.path.parent / out)
        args = ["--input", str(rows), "--output", output, "--stage", stage, "--version", version]
        return command(repo, "predict", *args)

    return run


def second_version(repo: Repo) -> None:
    """New data at a new commit: the last 1,500 customers are gone."""
    raw = repo.path / "data/raw/telco_churn.csv"
    frame = pd.read_csv(raw)
    frame.head(len(frame) - 1500).to_csv(raw, index=False)
    repo.dvc("add", "-q", "data/raw/telco_churn.csv")
    assert reproduce(repo)
    repo.commit("fewer customers")


@pytest.fixture(scope="session")
def built_released(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project with v1.0.0 released, then a ``second_version`` committed on main, built
    once per session: the tests about a release after a release share its `dvc repro`."""

    def build(path: Path, scratch: Path) -> None:
        copy_project(built_template, path)
        repo = Repo(path, scratch)
        repo.python("-m", "mlpipeline.commands.registry", "release", "--notes", "first model")
        second_version(repo)

    return build_once(tmp_path_factory, "released", build)


@pytest.fixture
def released(built_released: Path, tmp_path: Path) -> Repo:
    """A private copy of ``built_released`` for one test: v1.0.0 released, another model at HEAD."""
    copy_project(built_released, tmp_path / "repo")
    return Repo(tmp_path / "repo", tmp_path)


@pytest.mark.e2e
def test_two_releases_promote_rollback_and_predict_byte_for_byte(released: Repo, registry, predicted) -> None:
    """Each registry target once through real make; the repeats of a target, and predict (real
    `make predict` runs in test_publish and the service tests), run in-process."""
    repo = released  # v1.0.0 released ("first model"), then trained on fewer customers
    assert "registered model v1.1.0" in repo.make("release", "NOTES=trained on fewer rows").stdout

    repo.make("promote", "VERSION=v1.0.0", "STAGE=prod")
    assert predicted(repo, "first.csv", stage="prod").returncode == 0
    registry(repo, "promote", "--version", "v1.1.0", "--stage", "prod")
    assert predicted(repo, "second.csv", stage="prod").returncode == 0
    first, second = (repo.path.parent / n for n in ("first.csv", "second.csv"))
    assert first.read_bytes() != second.read_bytes()

    done = repo.make("rollback", "STAGE=prod")
    assert "prod is v1.0.0 again (was v1.1.0)" in done.stdout
    assert predicted(repo, "rolled_back.csv", stage="prod").returncode == 0
    assert (repo.path.parent / "rolled_back.csv").read_bytes() == first.read_bytes()
    # Every GTO view agrees, including the one that lists all versions ever put in a stage.
    shown = repo.run(str(VENV_BIN / "gto"), "show", "model", "--vs", "-1", "--plain").stdout
    prod_rows = [line for line in shown.splitlines() if " prod " in f" {line} "]
    assert len(prod_rows) == 1 and "v1.0.0" in prod_rows[0]
    # What rollback.yml reads to move the image tag with the stage.
    which = [registry(repo, "which", "--stage", stage).stdout for stage in ("prod", "staging")]
    assert [w.strip() for w in which] == ["v1.0.0", ""]

    models = repo.make("models").stdout
    lines = {line.split()[0]: line for line in models.splitlines()[1:]}
    assert set(lines) == {"v1.0.0", "v1.1.0"}
    assert "prod" in lines["v1.0.0"] and "prod" not in lines["v1.1.0"]
    assert "first model" in lines["v1.0.0"] and "f1 0." in lines["v1.1.0"]

    out = pd.read_csv(first)
    assert list(out.columns) == ["customer_id", "prediction", "proba_No", "proba_Yes", "warnings"]
    assert len(out) == 25 and out["customer_id"].iloc[0] == "C00001"


@integration
def test_model_card_answers_what_is_this(repo: Repo, registry) -> None:
    registry(repo, "release", "--notes", "card check")
    head = repo.git("rev-parse", "HEAD").stdout.strip()
    message = repo.git("tag", "-l", "--format=%(contents)", "model@v1.0.0").stdout
    card = json.loads(message.split("```json model-card", 1)[1].split("```", 1)[0])
    assert card["training_commit"] == head
    assert card["notes"] == "card check"
    assert card["data"]["raw_md5"] and card["data"]["train_md5"] and card["data"]["test_md5"]
    assert card["split"]["policy"] == "stratified" and card["hyperparameters"]["C"] == 1.0
    assert card["metrics"]["f1"] > 0.5 and card["gate"]["passed"] is True
    # Every rule, each with its result: the first version has nothing to compare with, so its
    # regression rules are recorded as skipped, never counted as passed.
    statuses = {(r["metric"], r["kind"]): r["status"] for r in card["gate"]["rules"]}
    assert statuses[("f1", "max_regression")] == "skip" and statuses[("f1", "min")] == "pass"
    assert card["gate"]["base"] is None and card["gate"]["forced"] is None
    assert card["split"]["assignment"] == "seeded hash of customer_id"
    assert "3 skip" in message and "no earlier version to compare with" in message
    assert {f["name"] for f in card["features"]} >= {"tenure", "contract"}
    assert len(card["model_sha256"]) == 64 and "scikit-learn" in card["libraries"]
    assert message.startswith("# model v1.0.0") and "| f1 |" in message


@integration
def test_release_of_an_unchanged_model_is_a_no_op(repo: Repo, registry) -> None:
    registry(repo, "release")
    repo.git("commit", "-q", "--allow-empty", "-m", "docs only")
    assert "nothing to release" in registry(repo, "release").stdout
    assert repo.git("tag", "-l", "model@*").stdout.split() == ["model@v1.0.0"]


@integration
def test_release_refuses_a_dirty_tree(repo: Repo, registry) -> None:
    (repo.path / "README.md").write_text("edited\n")
    done = registry(repo, "release")
    assert done.returncode != 0 and "working tree is not clean (README.md)" in done.stderr
    assert repo.git("tag", "-l", "model@*").stdout == ""


@integration
def test_release_refuses_a_failed_gate(repo: Repo, registry) -> None:
    repo.edit_yaml("params.yaml", lambda p: p["gate"]["rules"].append({"metric": "f1", "min": 0.95}))
    assert repo.dvc("repro", check=False).returncode != 0
    repo.commit("gate fails")
    done = registry(repo, "release")
    assert done.returncode != 0 and "committed gate verdict failed (f1 min)" in done.stderr


@integration
def test_release_judges_the_model_against_the_latest_version_on_the_same_rows(
    other_model_repo: Repo, registry
) -> None:
    repo = other_model_repo
    repo.git("checkout", "-q", "main")
    repo.dvc("checkout", "-q")
    registry(repo, "release")
    # Then main moves on to a much weaker model whose absolute floors were loosened.
    repo.git("merge", "-q", "--ff-only", "other-model")
    repo.dvc("checkout", "-q")
    done = registry(repo, "release")
    assert done.returncode != 0
    assert "full gate against model@v1.0.0 failed (f1 no worse than base by 0.03" in done.stderr
    assert repo.git("tag", "-l", "model@*").stdout.split() == ["model@v1.0.0"]


@integration
def test_release_refuses_when_the_last_versions_model_cannot_be_restored(released: Repo, registry) -> None:
    """As on a CI runner with a fresh cache and no remote credentials: the gate could only compare
    recorded figures, which the release refuses unless told why."""
    repo = released  # v1.0.0 released, another model committed since
    shutil.rmtree(repo.path / ".dvc/cache")
    repo.dvc("remote", "modify", "--local", "sample", "url", str(repo.path.parent / "unreachable"))
    done = registry(repo, "release")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "model@v1.0.0's model could not be restored" in line and "ALLOW_UNPAIRED" in line
    assert repo.git("tag", "-l", "model@*").stdout.split() == ["model@v1.0.0"]
    registry(repo, "release", "--allow-unpaired", "remote moved; figures checked by hand")
    message = repo.git("tag", "-l", "--format=%(contents)", "model@v1.1.0").stdout
    card = json.loads(message.split("```json model-card", 1)[1].split("```", 1)[0])
    assert card["gate"]["unpaired_allowed"] == "remote moved; figures checked by hand"
    assert card["gate"]["pairing"]["mode"] == "unpaired"


@integration
def test_release_off_the_base_branch_needs_a_reason_which_the_card_keeps(
    other_model_repo: Repo, registry
) -> None:
    repo = other_model_repo  # a branch with a model of its own
    done = registry(repo, "release")
    assert done.returncode != 0 and "HEAD is not on main (gate.base" in done.stderr
    assert repo.git("tag", "-l", "model@*").stdout == ""
    registry(repo, "release", "--force-reason", "hotfix approved by the on-call lead")
    message = repo.git("tag", "-l", "--format=%(contents)", "model@v1.0.0").stdout
    card = json.loads(message.split("```json model-card", 1)[1].split("```", 1)[0])
    assert card["gate"]["forced"] == "hotfix approved by the on-call lead"
    assert "released off the base branch: hotfix approved" in message


@integration
def test_registry_tags_are_pushed_where_git_pushes(repo: Repo, registry, tmp_path: Path) -> None:
    """CI gives git a push URL with the job's token and leaves origin's URL bare; GTO's own push
    (dulwich) read only origin's URL, so on GitHub the tag went nowhere. Tags go by git now."""
    pushed = tmp_path / "pushed.git"
    repo.git("init", "-q", "--bare", str(pushed))
    repo.git("remote", "add", "origin", str(tmp_path / "fetch-only-and-absent.git"))
    repo.git("remote", "set-url", "--push", "origin", str(pushed))
    registry(repo, "release", "--push")
    registry(repo, "promote", "--version", "v1.0.0", "--stage", "prod", "--push")
    there = repo.git("ls-remote", "--tags", str(pushed)).stdout
    assert "refs/tags/model@v1.0.0" in there and "refs/tags/model#prod#1" in there

    repo.git("remote", "set-url", "--push", "origin", str(tmp_path / "absent.git"))
    done = registry(repo, "promote", "--version", "v1.0.0", "--stage", "staging", "--push")
    assert done.returncode != 0
    assert "model#staging#2 made here, but `git push origin` refused" in done.stderr
    assert "push with: git push origin model#staging#2" in done.stderr


@integration
def test_promote_refuses_a_version_without_a_passing_gate(repo: Repo, registry) -> None:
    repo.run(str(VENV_BIN / "gto"), "register", "model", "HEAD", "--version", "v9.0.0", "-m", "by hand")
    done = registry(repo, "promote", "--version", "v9.0.0", "--stage", "prod")
    assert done.returncode != 0 and "no passing gate verdict" in done.stderr
    done = registry(repo, "promote", "--version", "v1.0.0", "--stage", "prod")
    assert "version 'v1.0.0' is not registered; versions: v9.0.0" in done.stderr


@integration
def test_rollback_with_no_earlier_version_is_refused(repo: Repo, registry) -> None:
    registry(repo, "release")
    registry(repo, "promote", "--version", "v1.0.0", "--stage", "prod")
    done = registry(repo, "rollback", "--stage", "prod")
    assert done.returncode != 0 and "only version that held 'prod'" in done.stderr


@integration
def test_tampered_workspace_model_is_refused(repo: Repo, predicted) -> None:
    model = repo.path / "models/model.joblib"
    model.chmod(stat.S_IWUSR | stat.S_IRUSR)
    model.write_bytes(model.read_bytes() + b"\0")
    done = predicted(repo, "out.csv")
    assert done.returncode != 0 and "does not match the model card" in done.stderr
    assert not (repo.path.parent / "out.csv").exists()


@integration
def test_tampered_cached_version_is_refused(released: Repo, predicted) -> None:
    repo = released  # the workspace holds another model, so v1.0.0 comes from the cache
    lock = yaml.safe_load(repo.git("show", "model@v1.0.0:dvc.lock").stdout)
    (md5,) = [o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"]
    cached = repo.path / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(stat.S_IWUSR | stat.S_IRUSR)
    cached.write_bytes(cached.read_bytes()[:-1] + b"\1")
    done = predicted(repo, "out.csv", version="v1.0.0")
    assert done.returncode != 0 and "refusing to load" in done.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tenure": None}, ["tenure", "missing column"]),
        ({"monthly_charges": "lots"}, ["monthly_charges", "type float"]),
    ],
    ids=["missing column", "wrong type"],
)
@integration
def test_predict_input_must_keep_the_training_contract(
    repo: Repo, predicted, change: dict, named: list[str]
) -> None:
    done = predicted(repo, "bad_out.csv", rows=write_input(repo, "bad.csv", **change))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert all(word in done.stderr for word in named), done.stderr
    assert "no predictions written" in done.stderr


@integration
def test_a_category_outside_the_contract_is_predicted_with_a_warning(repo: Repo, predicted) -> None:
    out = repo.path.parent / "odd_out.csv"
    done = predicted(repo, "odd_out.csv", rows=write_input(repo, "odd.csv", contract="Lifetime"))
    assert done.returncode == 0, done.stderr
    assert "outside the data contract were predicted" in done.stdout
    warned = pd.read_csv(out, keep_default_na=False)["warnings"]
    assert warned.str.startswith("contract=Lifetime: not an allowed value").all()
