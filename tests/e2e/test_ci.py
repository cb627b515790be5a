"""`make ci BASE=main`: a branch's model against main's on the same rows, with real git, dvc and make."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import Repo

pytestmark = pytest.mark.e2e


def weaken(params: dict) -> None:
    """Strong regularisation: a worse model. Absolute floors are loosened, as a careless branch
    might, so only the comparison with main can catch it."""
    params["model"]["hyperparameters"]["C"] = 0.002
    params["gate"]["rules"] = [
        r for r in params["gate"]["rules"] if not (r["metric"] in ("f1", "recall") and "min" in r)
    ]


def branch(repo: Repo, name: str) -> None:
    repo.git("checkout", "-q", "-b", name)


def gate_json(repo: Repo) -> dict:
    return json.loads((repo.path / "reports/gate.json").read_text())


def rules_of(result: dict, kind: str) -> list[dict]:
    return [r for r in result["rules"] if r["kind"] == kind]


def commit_change(repo: Repo, edit, message: str) -> None:
    repo.edit_yaml("params.yaml", edit)
    repo.dvc("repro", "-q")
    repo.commit(message)


def test_unchanged_branch_passes_on_every_test_row(repo: Repo) -> None:
    branch(repo, "unchanged")
    done = repo.make("ci", "BASE=main")
    assert "gate: passed" in done.stdout
    assert "reproduces the committed dvc.lock" in done.stdout
    result = gate_json(repo)
    pairing = result["pairing"]
    assert pairing["mode"] == "paired" and pairing["rows_excluded"] == 0
    assert pairing["rows_compared"] == pairing["rows_test"] > 1000
    regressions = rules_of(result, "max_regression")
    assert regressions and all(r["status"] == "pass" and r["delta"] == 0 for r in regressions)
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate passed" in report and "Base: `main`" in report and "Paired" in report


def test_worse_branch_fails_naming_metric_base_and_interval(repo: Repo) -> None:
    branch(repo, "worse")
    commit_change(repo, weaken, "weaker model")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "gate: FAILED (base main)" in done.stderr
    assert "f1 no worse than base by 0.02" in done.stderr
    f1 = next(r for r in rules_of(gate_json(repo), "max_regression") if r["metric"] == "f1")
    assert f1["status"] == "fail" and f1["comparison"] == "paired"
    assert f1["delta_low"] <= f1["delta"] <= f1["delta_high"] < 0
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate failed" in report and "main" in report and "change" in report
    assert "model.hyperparameters.C" in report  # params diff against main


def test_better_branch_passes(repo: Repo) -> None:
    commit_change(repo, weaken, "main gets a weak model")
    branch(repo, "better")
    commit_change(repo, lambda p: p["model"]["hyperparameters"].update(C=1.0), "stronger model")
    done = repo.make("ci", "BASE=main")
    assert "gate: passed" in done.stdout


def test_a_new_split_seed_with_the_same_model_passes(repo: Repo) -> None:
    """The everyday change that made the point gate fail: same settings, other test rows."""
    branch(repo, "reseed")
    commit_change(repo, lambda p: p["split"].update(seed=5), "split seed 5")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    pairing = gate_json(repo)["pairing"]
    assert pairing["mode"] == "paired" and 0 < pairing["rows_excluded"] < pairing["rows_test"]
    assert (
        f"{pairing['rows_excluded']:,} left out because the base model trained on them"
        in (repo.path / "reports/gate.md").read_text()
    )


def test_rows_appended_from_the_same_population_pass(repo: Repo) -> None:
    branch(repo, "more-rows")
    raw = repo.path / "data/raw/telco_churn.csv"
    frame = pd.read_csv(raw)
    extra = frame.sample(1000, random_state=0, replace=True).reset_index(drop=True)
    unused = sorted(set(f"C{i:05d}" for i in range(100_000)) - set(frame["customer_id"]))
    extra["customer_id"] = unused[: len(extra)]  # new customers, ids in the contract's form
    pd.concat([frame, extra]).to_csv(raw, index=False)
    repo.dvc("add", "-q", "data/raw/telco_churn.csv")
    repo.dvc("repro", "-q")
    repo.commit("1,000 more customers")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    pairing = gate_json(repo)["pairing"]
    assert pairing["rows_excluded"] == 0  # main's test rows stayed test rows; main trained on none


def test_an_absolute_breach_still_compares_with_main_and_writes_the_report(repo: Repo) -> None:
    branch(repo, "shuffled")
    raw = repo.path / "data/raw/telco_churn.csv"
    frame = pd.read_csv(raw)
    frame["churn"] = np.random.default_rng(0).permutation(frame["churn"].to_numpy())
    frame.to_csv(raw, index=False)
    repo.dvc("add", "-q", "data/raw/telco_churn.csv")
    repo.commit("shuffled labels")
    (repo.path / "reports").mkdir(exist_ok=True)
    (repo.path / "reports/gate.md").write_text("✅ Gate passed (stale)")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "f1 beats baseline by 0.2" in done.stderr and "gate: FAILED (base main)" in done.stderr
    result = gate_json(repo)
    assert result["pairing"]["mode"] == "paired"
    # Evaluated, not skipped: both models were scored on this branch's rows (and its labels, so
    # the beat-baseline rules are what catch shuffled labels).
    regressions = rules_of(result, "max_regression")
    assert regressions and all(r["status"] != "skip" and r["comparison"] == "paired" for r in regressions)
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate failed" in report and "Base: `main`" in report and "stale" not in report


def test_a_pipeline_that_stops_before_evaluate_is_reported_not_judged_on_old_figures(repo: Repo) -> None:
    branch(repo, "broken")
    # A setting only the data can refute, so DVC starts and train fails; the last run's metrics
    # stay on disk (persist), and must not be judged as this branch's.
    repo.edit_yaml("params.yaml", lambda p: p["features"].update(drop=["no_such_column"]))
    repo.commit("drop a column that is not there")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    result = gate_json(repo)
    assert "train" in result["pipeline"] and not result["passed"]
    assert all(r["status"] == "fail" and r["value"] is None for r in result["rules"])
    assert "dvc repro failed before evaluate finished" in (repo.path / "reports/gate.md").read_text()


def cached(repo: Repo, *paths: str) -> list[Path]:
    """The DVC cache files of the outputs ``paths`` as locked at HEAD."""
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    md5s = [o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] in paths]
    return [repo.path / ".dvc/cache/files/md5" / m[:2] / m[2:] for m in md5s]


def test_the_base_model_comes_from_the_remote_when_the_cache_lacks_it(repo: Repo, tmp_path: Path) -> None:
    repo.dvc("remote", "add", "-d", "scratch", str(tmp_path / "remote"))
    repo.commit("a local directory remote")
    repo.dvc("push", "-q")  # main's data, splits and model
    main_outputs = cached(repo, "models/model.joblib", "data/prepared/train.parquet")
    branch(repo, "other-model")
    commit_change(repo, lambda p: p["model"]["hyperparameters"].update(C=0.5), "C 0.5")
    for path in main_outputs:
        path.unlink()
    done = repo.make("ci", "BASE=main", check=False)
    assert "Paired: both models scored the same" in done.stdout, done.stdout + done.stderr
    assert gate_json(repo)["pairing"]["mode"] == "paired"


def test_an_unavailable_base_model_falls_back_to_unpaired_and_says_so(repo: Repo) -> None:
    (model,) = cached(repo, "models/model.joblib")
    branch(repo, "other-model")
    commit_change(repo, lambda p: p["model"]["hyperparameters"].update(C=0.5), "C 0.5")
    model.unlink()  # main's model: neither in the cache nor in the remote (never pushed)
    (repo.path / "data/sample_remote" / model.relative_to(repo.path / ".dvc/cache")).unlink()
    done = repo.make("ci", "BASE=main", check=False)
    assert "UNPAIRED" in done.stdout
    result = gate_json(repo)
    assert result["pairing"]["mode"] == "unpaired" and "models/model.joblib" in result["pairing"]["reason"]
    assert {r["comparison"] for r in rules_of(result, "max_regression")} == {"unpaired"}
    assert all(r["status"] != "skip" for r in result["rules"])


def test_a_timing_rule_against_main_times_both_models_in_the_same_run(repo: Repo) -> None:
    def timing_rule(params: dict) -> None:
        params["gate"]["rules"].append({"metric": "latency_p95_ms", "max_regression": 1000})

    branch(repo, "timing")
    commit_change(repo, timing_rule, "latency must not regress")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    timing = next(r for r in rules_of(gate_json(repo), "max_regression") if r["metric"] == "latency_p95_ms")
    assert timing["comparison"] == "same run" and timing["status"] == "pass"
    assert timing["base_value"] > 0 and timing["value"] > 0


def test_missing_base_is_reported_not_passed_silently(repo: Repo) -> None:
    done = repo.make("ci", "BASE=no-such-ref")
    assert "base ref 'no-such-ref' does not exist" in done.stdout
    assert "regression rules NOT checked" in done.stdout
    regressions = rules_of(gate_json(repo), "max_regression")
    assert regressions and all(r["status"] == "skip" for r in regressions)
    assert "does not exist" in (repo.path / "reports/gate.md").read_text()


def test_uncommitted_results_fail_the_reproducibility_check_with_a_report(repo: Repo) -> None:
    repo.edit_yaml("params.yaml", lambda p: p["model"]["hyperparameters"].update(C=0.5))
    repo.commit("params changed but dvc.lock not updated")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "does not reproduce the committed dvc.lock" in done.stderr
    assert "train: param params.yaml:model" in done.stdout
    result = gate_json(repo)
    assert any("train: param params.yaml:model" in d for d in result["reproducible"])
    assert "Reproducibility" in (repo.path / "reports/gate.md").read_text()
