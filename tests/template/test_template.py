"""The copier template: generate, run, update; all from a local clone at a tagged commit.

The template is the hermetic sample project (tests/conftest.py's template_repo) tagged v1.0.0.
Generated projects share this suite's .venv (a symlink, as clones do); make in them, a freshly
generated project's files all newer than the venv, never rebuilds it (tests/conftest.py dates the
venv's set-up stamps ahead for the session).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import VENV_BIN, Repo, tool_env

# Generating and reproducing whole projects is the slow tier; the one-line refusals of
# `make new-project` are end-to-end and cheap.
slow, e2e = pytest.mark.slow, pytest.mark.e2e


@pytest.fixture(scope="module")
def template(template_repo: Repo, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A clone of the template with its first version tagged."""
    # A folder of its own each time: the module's tiers run apart, so this may be built twice.
    clone = template_repo.clone(template_repo.path, "template-src", into=tmp_path_factory.mktemp("template"))
    clone.git("tag", "v1.0.0")
    return clone


def copier(template: Repo, dest: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`copier copy` from the template's clone into ``dest``, sharing this suite's .venv."""
    dest.mkdir(parents=True, exist_ok=True)
    if not (dest / ".venv").exists():
        (dest / ".venv").symlink_to(VENV_BIN.parent)
    env = tool_env(dest.parent / f"{dest.name}-scratch", dest / "src")
    done = subprocess.run(
        [str(VENV_BIN / "copier"), "copy", "--trust", "--defaults", *args, str(template.path), str(dest)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if check and done.returncode != 0:
        pytest.fail(f"copier copy exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def edit(path: Path, old: str, new: str) -> None:
    """A hand edit: one text replaced, the rest of the file as it was."""
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def project(dest: Path) -> Repo:
    repo = Repo(dest, dest.parent / f"{dest.name}-scratch")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "start from the template")
    return repo


@slow
def test_defaults_give_a_project_whose_pipeline_and_tests_pass_after_it_adopts_other_data(
    template: Repo, tmp_path: Path
) -> None:
    dest = tmp_path / "my-model"
    made = template.make("new-project", f"DEST={dest}", "DEFAULTS=1")
    assert f"new-project: {dest} is ready" in made.stdout
    assert (dest / "README.md").read_text().startswith("# My model\n")
    assert 'name = "my-model"' in (dest / "pyproject.toml").read_text()
    params = yaml.safe_load((dest / "params.yaml").read_text())
    assert params["registry"]["owner"] == "data-science team"
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1.0.0" and answers["project_slug"] == "my-model"
    assert not (dest / "copier.yml").exists() and not (dest / "tests/template").exists()
    assert not (dest / ".copier").exists() and not (dest / "benchmarks").exists()
    assert Repo(dest, tmp_path).git("status", "--porcelain").stdout == ""  # committed by new-project
    (dest / ".venv").symlink_to(VENV_BIN.parent)
    repo = Repo(dest, tmp_path / "my-model-scratch")
    done = repo.make("repro")
    assert "gate: PASSED" in done.stdout
    # The project adopts data of its own; the machinery's tests come along and still pass there:
    # they judge the machinery on the template's sample, not the project's data or model.
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    iris["species"] = iris["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    iris.to_csv(tmp_path / "iris.csv", index=False)
    repo.make("use-data", f"DATA={tmp_path / 'iris.csv'}", "TARGET=species")
    repo.dvc("repro", "-q")
    repo.commit("adopt iris")
    assert "churn" not in (dest / "params.yaml").read_text()
    # Its own documentation site: a home page about this project, none of the template's story.
    repo.make("docs")
    home = (dest / "build/site/index.html").read_text()
    assert "My model" in home and "species" in home and "data/raw/iris.csv" in home
    assert "No release yet" in home
    assert not (dest / "build/site/tutorial").exists()
    # The guides' links to the figures resolve to a page saying where the template's are.
    figures = (dest / "build/site/benchmarks/index.html").read_text()
    assert "metrics/latency.json" in figures and "Measured on" not in figures
    # The tests that read the project's own files (its README and site, params, workflows,
    # Makefile, checklist), in their logic tier. The whole suite there: TEMPLATE_FULL=1.
    subset = ["-m", "fast", "tests/code/test_docs_reference.py", "tests/code/test_team_project.py"]
    subset += ["tests/code/test_config.py", "tests/ci/test_workflows.py"]
    subset = [] if os.environ.get("TEMPLATE_FULL") == "1" else subset
    tested = repo.run(str(VENV_BIN / "pytest"), "-p", "no:cacheprovider", *subset, check=False, timeout=1800)
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    assert " passed" in tested.stdout and " failed" not in tested.stdout
    assert pd.read_csv(dest / "data/raw/iris.csv").shape == (150, 5)


@slow
def test_copier_update_brings_template_changes_and_keeps_the_projects_own(
    template: Repo, tmp_path: Path
) -> None:
    dest = tmp_path / "updated"
    copier(template, dest)
    repo = project(dest)
    # The project's own changes: a hyperparameter, a tightened contract, and one line the template
    # will also change (the conflict).
    edit(dest / "params.yaml", "    C: 1.0\n", "    C: 0.5\n")
    contract = dest / "data/contract.yaml"
    edit(contract, "max: 120}", "max: 100}")
    workflow = dest / ".github/workflows/retrain.yml"
    edit(workflow, 'cron: "17 3 * * 1"', 'cron: "0 6 * * 1"')
    # The project's own code: a feature of its own, in the file the template's example came in.
    features = dest / "src/project/features.py"
    ours = (
        features.read_text() + "\n\ndef tenure_years(frame):\n    return (frame['tenure'] / 12).rename('y')\n"
    )
    features.write_text(ours)
    repo.commit("our own settings and a feature")
    # The template's next version: a new default rule, and a different schedule for retraining.
    size_rule = "    - {metric: model_size_mb, max: 100}"
    edit(template.path / "params.yaml", size_rule, "    - {metric: accuracy, min: 0.7}\n" + size_rule)
    edit(template.path / ".github/workflows/retrain.yml", 'cron: "17 3 * * 1"', 'cron: "30 2 * * 2"')
    # ... and a rewritten example in the project's own files, which the project never receives.
    edit(template.path / "src/project/features.py", "def charges_per_month(", "def charges_per_tenure_month(")
    edit(template.path / "tests/project/test_features.py", "def test_", "def test_renamed_")
    template.commit("template: an accuracy floor, retrain on Tuesdays, examples renamed")
    template.git("tag", "v1.1.0")

    env = tool_env(tmp_path / "update-scratch", dest / "src")
    done = subprocess.run(
        [str(VENV_BIN / "copier"), "update", "--trust", "--defaults", "--vcs-ref", "v1.1.0"],
        cwd=dest, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    params = yaml.safe_load((dest / "params.yaml").read_text())
    assert {"metric": "accuracy", "min": 0.7} in params["gate"]["rules"]  # the template's change arrived
    assert params["model"]["hyperparameters"]["C"] == 0.5  # the project's change survived
    assert "max: 100}" in contract.read_text()
    merged = workflow.read_text()
    assert (
        "<<<<<<<" in merged and '"0 6 * * 1"' in merged and '"30 2 * * 2"' in merged
    )  # shown, not overwritten
    assert yaml.safe_load((dest / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    # The project's own code is as the project left it: not overwritten, not merged into.
    assert features.read_text() == ours
    assert "def test_renamed_" not in (dest / "tests/project/test_features.py").read_text()


@pytest.mark.integration  # make new-project's recipe, in-process; the next test runs it through make
@pytest.mark.parametrize(
    ("answers", "said"),
    [
        ("task=guess data_file=x.csv target=y", "Invalid choice"),
        ("dvc_remote=s3:/bucket", "dvc_remote 's3:/bucket': expected s3://bucket/path"),
        ("project_slug=MyModel", "project_slug 'MyModel'"),
    ],
    ids=["unknown task", "malformed remote", "bad slug"],
)
def test_bad_answers_are_refused_with_one_line(
    template: Repo, tmp_path: Path, answers: str, said: str, command
) -> None:
    dest = tmp_path / "bad"
    args = ["--dest", str(dest), "--data", "", "--target", "", "--answers", answers, "--ref", ""]
    done = command(template, "newproject", *args, "--defaults")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error: new-project:")]
    assert said in line, done.stderr
    assert not dest.exists()  # nothing half-made is left


@e2e
def test_a_target_that_is_not_a_column_is_refused_with_one_line(template: Repo, tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    pd.DataFrame({"a": range(60), "b": [0, 1] * 30}).to_csv(csv, index=False)
    dest = tmp_path / "bad"
    dest.mkdir()
    (dest / ".venv").symlink_to(VENV_BIN.parent)
    done = template.make(
        "new-project", f"DEST={dest}", "DEFAULTS=1", f"DATA={csv}", "TARGET=label", check=False
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if "TARGET 'label' is not a column" in line], (
        done.stderr
    )
    assert "holds what was generated before it stopped" in done.stderr  # DEST existed: said, not hidden


@slow
def test_a_project_made_without_a_terminal_is_its_own_and_updates_from_a_teammates_clone(
    template: Repo, tmp_path: Path, s3_endpoint: str
) -> None:
    """Generated with its own data and an S3 remote (a real S3 API on loopback): pushed before the
    first commit, so a teammate's clone trains nothing, the documented routine passes `make ci`,
    and the clone takes the template's next version."""
    from tests.adoption.test_prevalence import loan_book
    from tests.e2e.test_s3_remote import CREDENTIALS, make_bucket

    # The template published where teammates and CI reach it (a URL, as GitHub is); a clone of
    # its own, as other tests of this module commit to the shared one.
    template = template.clone(template.path, "published-src", into=tmp_path)
    published = tmp_path / "template.git"
    template.git("clone", "-q", "--bare", str(template.path), str(published))
    template.git("remote", "set-url", "origin", f"file://{published}")
    csv = tmp_path / "loans.csv"
    loan_book(0.052).to_csv(csv, index=False)
    dest = tmp_path / "lending"
    dest.mkdir()
    (dest / ".venv").symlink_to(VENV_BIN.parent)
    make_bucket(s3_endpoint, "risk-team")
    remote = f"dvc_remote=s3://risk-team/lending dvc_endpoint={s3_endpoint}"
    done = subprocess.run(
        ["make", "--no-print-directory", "new-project", f"DEST={dest}", f"DATA={csv}", "TARGET=status",
         f"ANSWERS=project_name=Lending club owner=risk team {remote}"],
        cwd=template.path, env={**template.env, **CREDENTIALS}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no terminal to ask on" in done.stdout
    assert "this machine can write to 'storage' (s3://risk-team/lending)" in done.stdout
    assert "is ready, its data and model on s3://risk-team/lending" in done.stdout.splitlines()[-1]
    # Nothing of the sample came along: its data, batches, remote, lock or figures.
    for rel in ("data/sample_remote", "data/batches.dvc", "data/raw/telco_churn.csv.dvc"):
        assert not (dest / rel).exists(), rel
    assert "sample" not in (dest / ".dvc/config").read_text()
    assert "\x1b[" not in done.stdout + done.stderr  # no colour codes in piped output
    assert (dest / "README.md").read_text().startswith("# Lending club\n")
    text = (dest / ".copier-answers.yml").read_text()
    answers = yaml.safe_load(text)
    assert answers["_src_path"] == f"file://{published}" and answers["data_file"] == "data/raw/loans.csv"
    assert str(template.path) not in text and str(csv) not in text  # no path of this machine's
    # The first commit is the adopted data's pipeline, reproduced: not the sample's outputs.
    repo = Repo(dest, tmp_path / "lending-scratch")
    assert (
        repo.git("log", "-1", "--format=%s").stdout.strip()
        == "Start from the mlpipeline template on loans.csv"
    )
    assert repo.git("status", "--porcelain").stdout == ""
    metrics = json.loads((dest / "metrics/metrics.json").read_text())
    assert 0.18 < metrics["rows_test"] / len(pd.read_csv(csv)) < 0.22  # this data's test split
    lock = yaml.safe_load((dest / "dvc.lock").read_text())
    assert "data/raw/loans.csv" in [d["path"] for d in lock["stages"]["validate"]["deps"]]
    assert (
        yaml.safe_load((dest / "params.yaml").read_text())["model"]["hyperparameters"]["class_weight"]
        == "balanced"
    )

    # A teammate's clone, on another path, pulls everything and trains nothing.
    shared = tmp_path / "lending.git"
    repo.git("clone", "-q", "--bare", str(dest), str(shared))
    teammate = repo.clone(shared, "teammate", into=tmp_path / "elsewhere")
    teammate.env.update(CREDENTIALS)
    pulled = teammate.make("repro")
    assert "Stage 'train' didn't change, skipping" in pulled.stdout and "Running stage" not in pulled.stdout
    # The routine, on week two's change: a feature of the team's own in src/project/ and a model
    # from a package (XGBoost, in the lock's `project` group). Edit, make repro, commit, make push,
    # make ci against a main without them.
    teammate.git("checkout", "-q", "-b", "own-feature")
    with (teammate.path / "src/project/features.py").open("a") as f:
        f.write("\n\ndef rate_over_term(frame):\n    return (frame['int_rate'] / frame['term_months'])")
        f.write(".rename('rate_over_term')\n")
    edit(teammate.path / "params.yaml", "  derived: []", '  derived: ["project.features:rate_over_term"]')
    params = yaml.safe_load((teammate.path / "params.yaml").read_text())
    xgboost = {"n_estimators": 100, "max_depth": 2, "scale_pos_weight": 18.0}  # 5.2% defaults
    params["model"].update(estimator="xgboost:XGBClassifier", hyperparameters=xgboost)
    (teammate.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = teammate.make("repro").stdout
    assert "next: commit what the pipeline changed" in done and "Stage 'validate' didn't change" in done
    card = json.loads((teammate.path / "models/model.json").read_text())
    assert card["code"]["import_paths"] == ["project.features:rate_over_term", "xgboost:XGBClassifier"]
    teammate.commit("rate over term, XGBoost")
    teammate.make("push")
    judged = teammate.make("ci", "BASE=main")
    assert "gate: reproducibility: the pipeline reproduces the committed dvc.lock" in judged.stdout
    assert teammate.git("status", "--porcelain").stdout == ""  # make ci left the tree as it found it
    teammate.git("checkout", "-q", "main")
    # The teammate takes the template's next version.
    (template.path / "docs/upgrading.md").write_text("# Upgrading\n")
    template.commit("template: an upgrading guide")
    template.git("tag", "v9.0.0")
    template.git("push", "-q", "--tags", "origin", "HEAD:main")
    env = tool_env(tmp_path / "teammate-scratch", teammate.path / "src")
    updated = subprocess.run(
        [str(VENV_BIN / "copier"), "update", "--trust", "--defaults", "--vcs-ref", "v9.0.0"],
        cwd=teammate.path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (teammate.path / "docs/upgrading.md").read_text() == "# Upgrading\n"
    assert yaml.safe_load((teammate.path / ".copier-answers.yml").read_text())["_commit"] == "v9.0.0"


@pytest.mark.integration  # make new-project's recipe, in-process
def test_a_template_without_version_tags_says_the_project_follows_a_commit(
    template_repo: Repo, tmp_path: Path, command
) -> None:
    untagged = template_repo.clone(template_repo.path, "untagged", into=tmp_path)
    args = [
        "--dest",
        str(tmp_path / "x"),
        "--data",
        "",
        "--target",
        "",
        "--answers",
        "task=guess",
        "--ref",
        "",
    ]
    done = command(untagged, "newproject", *args, "--defaults")
    head = untagged.git("rev-parse", "--short", "HEAD").stdout.strip()
    assert f"the template has no vX.Y.Z tag, so the project follows commit {head}" in done.stdout
