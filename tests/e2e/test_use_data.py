"""Bring your own data: `make use-data` then `dvc repro`, for every common shape, no code edits.

Each shape (multiclass, regression, 30 binary columns, and a wide skewed table with gaps,
categories, an id and a constant) costs a full `dvc repro`, then its stages once more in-process
on shuffled labels, so they are the slow tier; the refusals run
through real make in the end-to-end tier, the first pull request after adoption is integration, and
tests/adoption runs the path in-process on generated tables of every shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification

from tests.conftest import Repo, reproduce, run_stages

e2e = pytest.mark.e2e


def iris() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame["species"] = pd.Categorical.from_codes(frame.pop("target"), ["setosa", "versicolor", "virginica"])
    return frame


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})


def wide_imbalanced() -> pd.DataFrame:
    """75 numeric columns with gaps, text categories, an id, a constant; 3% positives."""
    x, y = make_classification(
        n_samples=3000, n_features=75, n_informative=12, weights=[0.97], flip_y=0, random_state=7
    )
    frame = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(75)])
    rng = np.random.default_rng(7)
    frame.loc[rng.random(len(frame)) < 0.05, "f03"] = np.nan
    frame["region"] = np.where(frame["f01"] > 0, "north", "south")
    frame.loc[rng.random(len(frame)) < 0.02, "region"] = np.nan
    frame["account"] = [f"A{i:05d}" for i in range(len(frame))]
    frame["source"] = "crm"
    frame["fraud"] = np.where(y == 1, "yes", "no")
    return frame


CASES: dict[str, tuple[Callable[[], pd.DataFrame], str, str, list[str]]] = {
    "iris: multiclass": (iris, "species", "classification", []),
    "diabetes: regression": (diabetes, "progression", "regression", []),
    "breast cancer: binary, 30 columns": (breast_cancer, "benign", "classification", []),
    "wide, imbalanced, gaps, categories, id, constant": (
        wide_imbalanced,
        "fraud",
        "classification",
        ["id column: account", "constant columns, left out of the model: source", "positive class: 'yes'"],
    ),
}
SLOW_CASES = set(CASES)  # two runs on real data sets each; the handful in tests/adoption stay fast
# The case that goes through `make use-data` and `dvc repro` for real; the others call the same
# command and stages in-process (DVC's wiring does not depend on the data set).
WIRED = "wide, imbalanced, gaps, categories, id, constant"
# What the model card must say of a case's columns, beyond its task and target.
CARDS = {
    "wide, imbalanced, gaps, categories, id, constant": {
        "left_out": {"fraud": "target", "account": "id column", "source": "constant"},
        "features": 76,
        "positive_class": "yes",
    }
}


def adopt(repo: Repo, frame: pd.DataFrame, target: str) -> tuple[Path, str]:
    source = repo.path.parent / "mydata.csv"
    frame.to_csv(source, index=False)
    done = repo.make("use-data", f"DATA={source}", f"TARGET={target}")
    return source, done.stdout


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow if c in SLOW_CASES else e2e) for c in CASES]
)
def test_use_data_then_repro_passes_and_shuffled_labels_fail(repo: Repo, case: str, command) -> None:
    make_frame, target, task, said = CASES[case]
    frame = make_frame()
    if case == WIRED:
        _, out = adopt(repo, frame, target)
    else:
        source = repo.path.parent / "mydata.csv"
        frame.to_csv(source, index=False)
        done = command(repo, "usedata", "--data", str(source), "--target", target)
        assert done.returncode == 0, done.stderr
        out = done.stdout
    assert f"task: {task} (inferred" in out
    for note in said:
        assert note in out
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert params["data"]["raw"] == "data/raw/mydata.csv" and params["task"] == task
    assert not (repo.path / "data/raw/telco_churn.csv.dvc").exists()
    bounded = [r["metric"] for r in params["gate"]["rules"] if "min" in r or "max" in r]
    assert bounded == ["model_size_mb"], "no absolute bounds on quality: they depend on the data set"

    if case == WIRED:
        repo.dvc("repro")
        assert "up to date" in repo.dvc("status").stdout
    else:
        passed, outcomes = run_stages(repo)
        assert passed, outcomes
    card = yaml.safe_load((repo.path / "models/model.json").read_text())
    assert card["task"] == task and card["target"] == target
    if case in CARDS:  # the id and the constant are left out of the features
        expected = CARDS[case]
        assert card["left_out"] == expected["left_out"]
        assert card["positive_class"] == expected["positive_class"]
        assert len(card["features"]) == expected["features"]

    raw = repo.path / "data/raw/mydata.csv"
    shuffled = pd.read_csv(raw)
    shuffled[target] = np.random.default_rng(1).permutation(shuffled[target].to_numpy())
    shuffled.to_csv(raw, index=False)
    # The same stages in-process (DVC's wiring ran above): the gate must stop shuffled labels.
    from mlpipeline.core import rules

    passed, outcomes = run_stages(repo)
    failed = [o for o in outcomes if o.status == rules.FAIL]
    assert not passed and any(o.kind == "beat_baseline_by" for o in failed), outcomes


@e2e
def test_use_data_refuses_a_missing_file_and_changes_nothing(repo: Repo) -> None:
    done = repo.make("use-data", "DATA=/nonexistent/file.csv", "TARGET=x", check=False)
    assert done.returncode != 0 and "file not found; check the DATA path" in done.stderr
    assert "Traceback" not in done.stderr
    assert repo.git("status", "--porcelain").stdout == ""


@pytest.mark.parametrize(
    ("target", "message"),
    [("nope", "TARGET 'nope' is not a column"), ("constant", "TARGET 'constant' has 1 distinct value(s)")],
    ids=["target not a column", "one-valued target"],
)
@pytest.mark.integration  # make's path to the same refusal: the missing-file test above
def test_use_data_refuses_a_target_it_cannot_learn_and_changes_nothing(
    repo: Repo, command, target: str, message: str
) -> None:
    source = repo.path.parent / "refused.csv"
    iris().assign(constant=1).to_csv(source, index=False)
    done = command(repo, "usedata", "--data", str(source), "--target", target)
    assert done.returncode != 0 and message in done.stderr
    assert repo.git("status", "--porcelain").stdout == ""


@pytest.mark.integration
def test_first_pull_request_after_use_data_skips_regressions_and_says_why(repo: Repo, command) -> None:
    repo.git("checkout", "-q", "-b", "adopt")
    source = repo.path.parent / "mydata.csv"
    diabetes().to_csv(source, index=False)
    assert command(repo, "usedata", "--data", str(source), "--target", "progression").returncode == 0
    assert reproduce(repo)
    repo.commit("adopt diabetes")
    done = command(repo, "ci_gate", "--base", "main")  # what make ci runs after dvc repro
    assert "main was trained on other data (data/raw/telco_churn.csv)" in done.stdout
    assert "gate: passed" in done.stdout


@pytest.mark.integration
def test_a_folder_of_partitions_is_adopted_and_passes_its_contract(repo: Repo, command, inside) -> None:
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import validate

    frame = pd.read_csv(repo.path / "data/raw/telco_churn.csv")
    folder = repo.path.parent / "customers"
    folder.mkdir()
    for i in range(4):
        frame.iloc[i::4].to_parquet(folder / f"part-{i}.parquet", index=False)
    done = command(repo, "usedata", "--data", str(folder), "--target", "churn")
    assert done.returncode == 0, done.stderr
    assert f"a folder of {len(frame):,} rows in partitions" in done.stdout
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert params["data"]["raw"] == "data/raw/customers" and params["task"] == "classification"
    assert (repo.path / "data/raw/customers.dvc").exists()
    assert not (repo.path / "data/raw/telco_churn.csv.dvc").exists()
    assert sorted(p.name for p in (repo.path / "data/raw/customers").iterdir()) == [
        f"part-{i}.parquet" for i in range(4)
    ]
    inside(repo)
    report = validate.run(load_settings(repo.path / "params.yaml"), Layout(repo.path))
    assert report["ok"] and report["split"]["rows_train"] + report["split"]["rows_test"] == len(frame)
