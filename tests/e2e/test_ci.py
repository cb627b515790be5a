"""`make ci BASE=main`: a branch's model proven against main's, with real git, dvc and make."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import Repo

pytestmark = pytest.mark.e2e

ABSOLUTE = ("min", "max", "beat_baseline_by")


def weaken(params: dict) -> None:
    """Strong regularisation: a worse model. Absolute floors are loosened, as a careless branch
    might, so only the comparison with main can catch it."""
    params["model"]["hyperparameters"]["C"] = 0.002
    params["gate"]["rules"] = [
        r for r in params["gate"]["rules"] if not (r["metric"] in ("f1", "recall") and "min" in r)
    ]


def branch(repo: Repo, name: str) -> None:
    repo.git("checkout", "-q", "-b", name)


def test_unchanged_branch_passes(repo: Repo) -> None:
    branch(repo, "unchanged")
    done = repo.make("ci", "BASE=main")
    assert "gate: passed" in done.stdout
    assert "reproduces the committed dvc.lock" in done.stdout
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate passed" in report and "Base: `main`" in report
    result = json.loads((repo.path / "reports/gate.json").read_text())
    regressions = [r for r in result["rules"] if r["kind"] == "max_regression"]
    assert regressions and all(r["status"] == "pass" for r in regressions)


def test_worse_branch_fails_naming_metric_and_base(repo: Repo) -> None:
    branch(repo, "worse")
    repo.edit_yaml("params.yaml", weaken)
    repo.dvc("repro", "-q")
    repo.commit("weaker model")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "gate: FAILED (base main)" in done.stderr
    assert "f1 no worse than base by 0.02" in done.stderr
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate failed" in report and "main" in report
    assert "model.hyperparameters.C" in report  # params diff against main


def test_better_branch_passes(repo: Repo) -> None:
    repo.edit_yaml("params.yaml", weaken)
    repo.dvc("repro", "-q")
    repo.commit("main gets a weak model")

    def restore(params: dict) -> None:
        params["model"]["hyperparameters"]["C"] = 1.0

    branch(repo, "better")
    repo.edit_yaml("params.yaml", restore)
    repo.dvc("repro", "-q")
    repo.commit("stronger model")
    done = repo.make("ci", "BASE=main")
    assert "gate: passed" in done.stdout


def test_shuffled_labels_are_stopped(repo: Repo) -> None:
    branch(repo, "shuffled")
    raw = repo.path / "data/raw/telco_churn.csv"
    frame = pd.read_csv(raw)
    frame["churn"] = np.random.default_rng(0).permutation(frame["churn"].to_numpy())
    frame.to_csv(raw, index=False)
    repo.dvc("add", "-q", "data/raw/telco_churn.csv")
    repo.commit("shuffled labels")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "f1 beats baseline by 0.2" in done.stderr


def test_missing_base_is_reported_not_passed_silently(repo: Repo) -> None:
    done = repo.make("ci", "BASE=no-such-ref")
    assert "base ref 'no-such-ref' does not exist" in done.stdout
    assert "regression rules NOT checked" in done.stdout
    result = json.loads((repo.path / "reports/gate.json").read_text())
    regressions = [r for r in result["rules"] if r["kind"] == "max_regression"]
    assert regressions and all(r["status"] == "skip" for r in regressions)
    assert "does not exist" in (repo.path / "reports/gate.md").read_text()


def test_uncommitted_results_fail_the_reproducibility_check(repo: Repo) -> None:
    repo.edit_yaml("params.yaml", lambda p: p["model"]["hyperparameters"].update(C=0.5))
    repo.commit("params changed but dvc.lock not updated")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "does not reproduce the committed dvc.lock" in done.stderr
    assert "train: param params.yaml:model" in done.stderr
