"""The template's tests judge its machinery, not the project's current data or model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from tests.conftest import VENV_BIN, Repo

pytestmark = pytest.mark.slow  # a pytest run inside an adopted project: make test-all


def test_the_suite_passes_after_the_project_adopts_other_data(repo: Repo, tmp_path: Path) -> None:
    iris = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    iris["species"] = iris["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    iris.to_csv(tmp_path / "iris.csv", index=False)
    repo.make("use-data", f"DATA={tmp_path / 'iris.csv'}", "TARGET=species")
    repo.dvc("repro", "-q")
    repo.commit("adopt iris")
    assert "churn" not in (repo.path / "params.yaml").read_text()
    # A slice of the suite that builds its own projects: it must not notice the adoption.
    done = repo.run(
        str(VENV_BIN / "pytest"),
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/code/test_config.py",
        "tests/data/test_contract.py",
        "tests/e2e/test_registry.py::test_model_card_answers_what_is_this",
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert pd.read_csv(repo.path / "data/raw/iris.csv").shape == (150, 5)
