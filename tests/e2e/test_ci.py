"""`make ci BASE=main`: a branch's model against main's on the same rows, with real git and dvc.

The wiring (make ci's pull, repro, exit codes, FULL=1) runs through real `make`; what the gate
decides about a branch is checked with the gate's ``main()`` in-process on the same repositories
(the integration tier), after the branch's own `dvc repro`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Repo, reproduce, weaken

e2e, integration = pytest.mark.e2e, pytest.mark.integration


def branch(repo: Repo, name: str) -> None:
    repo.git("checkout", "-q", "-b", name)


def gate_json(repo: Repo) -> dict:
    return json.loads((repo.path / "reports/gate.json").read_text())


def rules_of(result: dict, kind: str) -> list[dict]:
    return [r for r in result["rules"] if r["kind"] == kind]


def commit_change(repo: Repo, edit, message: str) -> None:
    repo.edit_yaml("params.yaml", edit)
    assert reproduce(repo)
    repo.commit(message)


@pytest.fixture
def gate(command):
    """What `make ci BASE=...` runs after `dvc repro`, in-process: (exit code, stdout, stderr)."""

    def run(repo: Repo, base: str = "main", repro_exit: int = 0) -> tuple[int, str, str]:
        done = command(repo, "ci_gate", "--base", base, "--repro-exit", str(repro_exit))
        return done.returncode, done.stdout, done.stderr

    return run


@integration
def test_unchanged_branch_passes_on_every_test_row(repo: Repo, gate, command) -> None:
    branch(repo, "unchanged")
    before = command(repo, "summary", "--markdown").stdout  # CI's job summary: metrics until the gate ran
    assert before.startswith("```") and "gate: PASSED" in before
    code, out, err = gate(repo)
    assert code == 0, out + err
    after = command(repo, "summary", "--markdown").stdout
    assert after.startswith("<!-- mlpipeline-gate-report -->") and "Gate passed" in after
    assert "gate: passed" in out
    assert "reproduces the committed dvc.lock" in out
    result = gate_json(repo)
    pairing = result["pairing"]
    assert pairing["mode"] == "paired" and pairing["rows_excluded"] == 0
    assert pairing["rows_compared"] == pairing["rows_test"] > 1000
    regressions = rules_of(result, "max_regression")
    assert regressions and all(r["status"] == "pass" and r["delta"] == 0 for r in regressions)
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate passed" in report and "Base: `main`" in report and "Paired" in report


@e2e
def test_worse_branch_fails_naming_metric_base_and_interval_and_an_unreproduced_lock(repo: Repo) -> None:
    """A weaker model committed without `dvc repro`: make ci reproduces it, and the gate names both
    the regression against main and the committed dvc.lock that the pipeline no longer matches."""
    branch(repo, "worse")
    repo.edit_yaml("params.yaml", weaken)
    repo.commit("weaker model, dvc.lock not updated")
    done = repo.make("ci", "BASE=main", check=False)
    assert done.returncode != 0
    assert "gate: FAILED (base main)" in done.stderr
    assert "f1 no worse than base by 0.03" in done.stderr
    f1 = next(r for r in rules_of(gate_json(repo), "max_regression") if r["metric"] == "f1")
    assert f1["status"] == "fail" and f1["comparison"] == "paired"
    assert f1["delta_low"] <= f1["delta"] <= f1["delta_high"] < 0
    assert f1["finding"] == "worse beyond the tolerance" and 0 < f1["detectable"] < 0.1
    report = (repo.path / "reports/gate.md").read_text()
    assert "❌ FAIL: worse beyond the tolerance" in report and "| fails t / 2t |" in report
    assert "Gate failed" in report and "main" in report and "change" in report
    assert "model.hyperparameters.C" in report  # params diff against main
    assert "does not reproduce the committed dvc.lock" in done.stderr
    # What went wrong and what to run: the changed param, the routine, the files to commit.
    assert (
        "dvc.lock was committed before these changed: gate.rules, model.hyperparameters.C (1.0 → 0.002)."
        in done.stdout
    )
    assert "git add dvc.lock metrics models && git commit), `make push`, then run `make ci`" in done.stdout
    assert any("train: param params.yaml:model" in d for d in gate_json(repo)["reproducible"])
    assert "Reproducibility" in report
    summary = repo.make("summary-md").stdout  # CI's job summary: the gate's report once it has run
    assert summary.startswith("<!-- mlpipeline-gate-report -->") and "Gate failed" in summary


@integration
def test_better_branch_passes(other_model_repo: Repo, gate) -> None:
    repo = other_model_repo  # branch other-model holds a weaker model than main's
    # main's stronger model, judged against the weaker one as its base: its outputs from the cache.
    repo.git("checkout", "-q", "-b", "better", "main")
    repo.dvc("checkout", "-q")
    code, out, _ = gate(repo, base="other-model")
    assert code == 0 and "gate: passed" in out
    findings = {r["metric"]: r["finding"] for r in rules_of(gate_json(repo), "max_regression")}
    assert findings["f1"] == "better" and "[better]" in out


@integration
def test_a_new_split_seed_with_the_same_model_passes(repo: Repo, gate) -> None:
    """The everyday change that made the point gate fail: same settings, other test rows."""
    branch(repo, "reseed")
    commit_change(repo, lambda p: p["split"].update(seed=5), "split seed 5")
    code, out, err = gate(repo)
    assert code == 0, out + err
    pairing = gate_json(repo)["pairing"]
    assert pairing["mode"] == "paired" and 0 < pairing["rows_excluded"] < pairing["rows_test"]
    assert (
        f"{pairing['rows_excluded']:,} left out because the base model trained on them"
        in (repo.path / "reports/gate.md").read_text()
    )
    # Without an id column, rows are known by all their values (the base's split is read for the
    # columns both share, no more): the same rows are left out.
    repo.edit_yaml("params.yaml", lambda p: p["data"].update(id_column=None))
    code, out, err = gate(repo)
    assert code == 0, out + err
    assert gate_json(repo)["pairing"] == pairing


@pytest.mark.slow  # a repro on 8,000 rows; the reseed test above covers pairing on other rows
def test_rows_appended_from_the_same_population_pass(repo: Repo, gate) -> None:
    branch(repo, "more-rows")
    raw = repo.path / "data/raw/telco_churn.csv"
    frame = pd.read_csv(raw)
    extra = frame.sample(1000, random_state=0, replace=True).reset_index(drop=True)
    unused = sorted(set(f"C{i:05d}" for i in range(100_000)) - set(frame["customer_id"]))
    extra["customer_id"] = unused[: len(extra)]  # new customers, ids in the contract's form
    pd.concat([frame, extra]).to_csv(raw, index=False)
    repo.dvc("add", "-q", "data/raw/telco_churn.csv")
    assert reproduce(repo)  # the stages in-process, then dvc commit: what dvc repro records
    repo.commit("1,000 more customers")
    code, out, err = gate(repo)
    assert code == 0, out + err
    pairing = gate_json(repo)["pairing"]
    assert pairing["rows_excluded"] == 0  # main's test rows stayed test rows; main trained on none


@integration
def test_an_absolute_breach_still_compares_with_main_and_writes_the_report(repo: Repo, gate) -> None:
    branch(repo, "breach")
    repo.edit_yaml("params.yaml", lambda p: p["gate"]["rules"].append({"metric": "f1", "min": 0.95}))
    repo.commit("a floor the model cannot reach")
    (repo.path / "reports").mkdir(exist_ok=True)
    (repo.path / "reports/gate.md").write_text("✅ Gate passed (stale)")
    repro = repo.dvc("repro", "-q", check=False)  # the gate stage stops it: evaluate has run
    code, _, err = gate(repo, repro_exit=repro.returncode)
    assert repro.returncode != 0 and code != 0
    assert "f1 >= 0.95" in err and "gate: FAILED (base main)" in err
    result = gate_json(repo)
    assert result["pairing"]["mode"] == "paired"
    # Compared, not skipped: both models were scored on this branch's test rows.
    regressions = rules_of(result, "max_regression")
    assert regressions and all(r["status"] != "skip" and r["comparison"] == "paired" for r in regressions)
    report = (repo.path / "reports/gate.md").read_text()
    assert "Gate failed" in report and "Base: `main`" in report and "stale" not in report


@integration
def test_a_pipeline_that_stops_before_evaluate_is_reported_not_judged_on_old_figures(
    repo: Repo, gate
) -> None:
    """What make ci's gate does after a `dvc repro` that failed at train (the exit code make
    passes; `make ci`'s own path runs in the test above): the last run's metrics stay on disk
    (persist), and must not be judged as this branch's."""
    branch(repo, "broken")
    repo.edit_yaml("params.yaml", lambda p: p["features"].update(drop=["no_such_column"]))
    repo.commit("drop a column that is not there")  # train is now out of date, as repro left it
    code, _, _ = gate(repo, repro_exit=255)
    assert code != 0
    result = gate_json(repo)
    assert "train" in result["pipeline"] and not result["passed"]
    assert all(r["status"] == "fail" and r["value"] is None for r in result["rules"])
    assert "dvc repro failed before evaluate finished" in (repo.path / "reports/gate.md").read_text()


def cached(repo: Repo, *paths: str, at: str = "HEAD") -> list[Path]:
    """The DVC cache files of the outputs ``paths`` as locked at the commit ``at``."""
    lock = yaml.safe_load(repo.git("show", f"{at}:dvc.lock").stdout)
    md5s = [o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] in paths]
    return [repo.path / ".dvc/cache/files/md5" / m[:2] / m[2:] for m in md5s]


@integration
def test_the_base_model_comes_from_the_remote_when_the_cache_lacks_it(
    other_model_repo: Repo, tmp_path: Path, gate
) -> None:
    repo = other_model_repo  # on a branch with its own model
    repo.dvc("remote", "add", "-d", "scratch", str(tmp_path / "remote"))
    repo.commit("a local directory remote")
    repo.dvc("push", "-q", "--all-branches")  # main's data, splits and model too
    main_outputs = cached(repo, "models/model.joblib", "data/prepared/train.parquet", at="main")
    for path in main_outputs:
        path.unlink()
    _, out, err = gate(repo)
    assert "Paired: both models scored the same" in out, out + err
    assert gate_json(repo)["pairing"]["mode"] == "paired"


@integration
def test_a_base_output_is_copied_from_the_cache_only_when_it_is_intact(repo: Repo, tmp_path: Path) -> None:
    """The paired gate takes main's files straight from the DVC cache by their locked MD5; a cache
    file that is not what its name says is not used (DVC's own restore, which also reaches the
    remote, is the fallback)."""
    from mlpipeline.adapters import dvc

    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib")
    (cached_model,) = cached(repo, "models/model.joblib")
    assert dvc.from_cache(repo.path, md5, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == (repo.path / "models/model.joblib").read_bytes()
    cached_model.chmod(0o644)
    cached_model.write_bytes(b"not the model")
    assert not dvc.from_cache(repo.path, md5, tmp_path / "again") and not (tmp_path / "again").exists()
    cached_model.unlink()
    assert not dvc.from_cache(repo.path, md5, tmp_path / "again")


@integration
def test_an_unavailable_base_model_falls_back_to_unpaired_and_says_so(other_model_repo: Repo, gate) -> None:
    repo = other_model_repo
    (model,) = cached(repo, "models/model.joblib", at="main")
    model.unlink()  # main's model: neither in the cache nor in the remote (never pushed)
    (repo.path / "data/sample_remote" / model.relative_to(repo.path / ".dvc/cache")).unlink()
    _, out, _ = gate(repo)
    assert "UNPAIRED" in out
    result = gate_json(repo)
    assert result["pairing"]["mode"] == "unpaired" and "models/model.joblib" in result["pairing"]["reason"]
    assert {r["comparison"] for r in rules_of(result, "max_regression")} == {"unpaired"}
    assert all(r["status"] != "skip" for r in result["rules"])


@integration
def test_a_timing_rule_against_main_times_both_models_in_the_same_run(repo: Repo, gate) -> None:
    def timing_rule(params: dict) -> None:
        params["gate"]["rules"].append({"metric": "latency_p95_ms", "max_regression": 1000})

    branch(repo, "timing")
    commit_change(repo, timing_rule, "latency must not regress")
    code, out, err = gate(repo)
    assert code == 0, out + err
    timing = next(r for r in rules_of(gate_json(repo), "max_regression") if r["metric"] == "latency_p95_ms")
    assert timing["comparison"] == "same run" and timing["status"] == "pass"
    assert timing["base_value"] > 0 and timing["value"] > 0


@integration
def test_a_base_that_does_not_exist_fails_in_one_line_before_anything_runs(repo: Repo, gate, command) -> None:
    """A typo in BASE is not "nothing to compare with": make ci's preflight refuses it before
    pulling, and the gate itself refuses it too, with the report saying why."""
    done = command(repo, "ci_preflight", "--base", "no-such-ref")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "base ref 'no-such-ref' does not exist here" in done.stderr
    code, out, err = gate(repo, base="no-such-ref")
    assert code == 1 and "base ref 'no-such-ref' does not exist" in err
    assert "gate: passed" not in out
    result = gate_json(repo)
    assert not result["passed"] and "does not exist" in result["refused"]
    assert "Gate failed" in (repo.path / "reports/gate.md").read_text()


@integration
def test_uncommitted_changes_to_inputs_are_named_in_one_line_and_outputs_are_not(repo: Repo, command) -> None:
    assert command(repo, "ci_preflight", "--base", "main").returncode == 0
    (repo.path / "metrics/metrics.json").write_text("{}")  # an output: repro rewrites it
    assert command(repo, "ci_preflight", "--base", "main").returncode == 0
    repo.edit_yaml("params.yaml", lambda p: p["model"]["hyperparameters"].update(C=0.5))
    done = command(repo, "ci_preflight", "--base", "main")
    assert done.returncode == 1
    assert (
        done.stderr
        == "make ci: uncommitted changes to params.yaml: commit or stash them, then run make ci again\n"
    )


def smoke(params: dict) -> None:
    """Pull requests train on half the rows; a half sample's model may miss the sample's absolute
    floors, and this test is about rows."""
    params["split"]["sample_fraction"] = 0.5
    params["gate"]["rules"] = [r for r in params["gate"]["rules"] if "min" not in r]


@pytest.mark.slow  # two repros and make ci FULL=1: what full-run.yml runs on approval
def test_a_sampled_pull_request_says_so_and_the_full_run_judges_every_row(repo: Repo, command) -> None:
    """Large data in CI, on a small scale: main and the pull request train on a 50% sample; the full
    run (`make ci FULL=1`, what full-run.yml runs) trains on every row and the same gate judges it
    against main's sample model, on rows that model never saw."""
    commit_change(repo, smoke, "smoke mode: half the rows")
    branch(repo, "pull-request")

    sampled = command(repo, "ci_gate", "--base", "main")  # what make ci runs after dvc repro
    assert sampled.returncode == 0, sampled.stdout + sampled.stderr
    assert "rows: a 50% sample of rows (split.sample_fraction: 0.5)" in sampled.stdout
    assert "**Rows:** a 50% sample of rows" in (repo.path / "reports/gate.md").read_text()
    assert gate_json(repo)["reproducible"] == []  # the committed lock is the sample run's
    assert rows_split(repo) < 4000

    committed = (repo.path / "params.yaml").read_bytes()
    full = repo.make("ci", "BASE=main", "FULL=1", check=False)
    assert full.returncode == 0, full.stdout + full.stderr
    assert rows_split(repo) == 7043
    assert (repo.path / "params.yaml").read_bytes() == committed  # DVC's -S is not left behind
    result = gate_json(repo)
    assert result["full_run"] is True and result["reproducible"] is None
    assert result["rows"].startswith("full run: every row")
    # Sample and split are independent seeded hashes: main's sample model trained on none of the
    # full run's test rows, so every one of them is compared.
    assert result["pairing"]["mode"] == "paired" and result["pairing"]["rows_excluded"] == 0
    assert result["pairing"]["rows_compared"] > 1000
    assert "reproducibility: not checked" not in full.stdout


@pytest.mark.slow
def test_retrain_uses_every_row_despite_the_smoke_fraction(repo: Repo) -> None:
    """What the scheduled retrain runs (retrain.yml): every row, whatever the smoke fraction."""
    commit_change(repo, smoke, "smoke mode: half the rows")
    assert rows_split(repo) < 4000
    committed = (repo.path / "params.yaml").read_bytes()
    done = repo.make("retrain")
    assert rows_split(repo) == 7043
    assert "gate: PASSED" in done.stdout
    # a committed retrain must not end the project's smoke mode
    assert (repo.path / "params.yaml").read_bytes() == committed


def rows_split(repo: Repo) -> int:
    """How many rows the last validate kept, train and test together."""
    split = json.loads((repo.path / "metrics/validation.json").read_text())["split"]
    return split["rows_train"] + split["rows_test"]
