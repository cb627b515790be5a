"""The benchmark compares like with like: the single script does the pipeline's work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo

pytestmark = pytest.mark.slow  # benchmarks: minutes of work, run by make test-all


def test_single_script_reproduces_the_pipeline_metrics(repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "single"
    repo.python("benchmarks/single_script.py", "--out", str(out))
    for name in ("metrics", "baseline", "slices"):
        assert (out / f"{name}.json").read_text() == (repo.path / f"metrics/{name}.json").read_text(), name
    assert json.loads((out / "gate.json").read_text())["passed"] is True


def test_bench_prints_every_figure_with_its_target(repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = repo.python("benchmarks/run.py", "--reps", "1", "--scales", "20000", "--out", str(out))
    figures = json.loads(out.read_text())
    names = [row[0] for row in figures["targets"]]
    assert "no-op dvc repro / dvc status" in names and "gate-only change / dvc status" in names
    assert figures["scale"][0]["rows"] == 20000
    assert set(figures["scale"][0]["stages"]) == {"validate", "train", "evaluate", "gate"}
    assert "targets:" in done.stdout and "pipeline / single script (sample)" in done.stdout


def test_gate_bench_catches_every_regression_of_its_catalogue(repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "gate.json"
    args = ["--models", "3", "--split-seeds", "3", "--sims", "4", "--resamples", "200", "--reps", "1"]
    args += ["--latency-rows", "5", "--pool-rows", "20000"]
    done = repo.python("benchmarks/gate.py", *args, "--out", str(out))  # exits 1 when a regression is missed
    figures = json.loads(out.read_text())
    assert len(figures["detection"]) == 5 and all(d["caught"] and d["broken"] for d in figures["detection"])
    assert figures["seed_only_models"]["pairs"] == 3 and figures["split_seeds"]["pairs"] == 6
    # operating characteristics: every regression rule at 1, 2 and 3 times its tolerance
    assert [o["times_tolerance"] for o in figures["operating"]] == [1, 2, 3] * 3
    assert all(0 <= o["detected"] <= 1 and o["gate_says_detects"] > 0 for o in figures["operating"])
    # The ratio rule judged a same-model and a three-times-slower path, quiet and beside a CPU hog.
    # Which way it went is a timing, printed for docs/benchmarks.md: as a verdict here it failed
    # when the machine was busy with other work (5 rows timed), which no test may depend on.
    for condition in ("quiet", "cpu hog"):
        timing = figures["latency"][condition]
        for path in ("same_model", "three_times_slower"):
            assert timing[path]["status"] in ("pass", "fail") and timing[path]["ratio"] > 0
    assert 0 <= figures["seed_only_models"]["paired_gate_fails"] <= 1
    assert figures["cost"]["make_ci_over_status"] > 1
    assert "vs base" in done.stdout and "caught" in done.stdout


def test_serving_bench_times_http_against_in_process_and_survives_its_load_run(
    repo: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "serve.json"
    repo.python(
        "benchmarks/serve.py",
        "--single",
        "20",
        "--reps",
        "1",
        "--load-seconds",
        "1",
        "--fault-clients",
        "16",
        "--workers",
        "1",  # of the load and fault run; the throughput runs time 1 and 2 workers
        "--out",
        str(out),
    )
    figures = json.loads(out.read_text())  # the bench exits 1 on a 5xx, a dropped connection or an error
    single = figures["single_row"]
    assert single["fast_path"] and single["http_p50_ms"] > 0
    assert single["http_over_model_p50"] == round(single["http_p50_ms"] / single["model_p50_ms"], 2)
    assert figures["batch"]["rows_per_request"] == 1000 and figures["batch"]["http_rows_per_s"] > 0
    for kind in ("single_row", "rows_100"):
        runs = figures["throughput"][kind]
        assert runs["workers_1"]["requests_per_s"] > 0 and runs["workers_2"]["requests_per_s"] > 0
    faults = figures["load_and_faults"]
    # every kind of hostile request was sent and answered with its 4xx, the good ones with 200
    assert faults["answers"]["good"] == {"200": faults["answers"]["good"]["200"]}
    expected = {
        "contract": "422",
        "malformed": "400",
        "nan": "400",
        "oversized": "413",
        "too_many_rows": "413",
    }
    assert {k: list(v) for k, v in faults["answers"].items() if k != "good"} == {
        k: [v] for k, v in expected.items()
    }
    assert faults["server_errors_5xx"] == 0 and faults["dropped_connections"] == 0 and faults["healthy_after"]


def test_monitor_bench_measures_false_alarms_per_batch_size_and_the_smallest_batch_each_shift_needs(
    repo: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "monitor.json"
    args = ["--batches", "3", "--detect-batches", "3", "--scales", "1000"]
    repo.python("benchmarks/monitor.py", *args, "--out", str(out))
    figures = json.loads(out.read_text())
    assert [f["rows"] for f in figures["false_alarms"]] == [50, 100, 200, 1500]
    assert all(d["flagged"] and d["only_it"] for d in figures["detection"])
    assert all(d["smallest_batch_detected"] in (50, 100, 200, 400, 800, 1500) for d in figures["detection"])
    assert figures["command_exit_on_drift"] == 1 and figures["cost"][0]["exit"] == 0


def test_engine_bench_runs_every_stage_on_each_engine_and_reports_worker_memory(repo: Repo) -> None:
    # One Dask worker: each stage starts its own LocalCluster, and a worker's start-up (its imports)
    # is most of what a stage costs at this size; tests/e2e/test_dask.py runs two.
    args = ["--rows", "20000", "--part-rows", "5000", "--engines", "local,dask x1"]
    done = repo.python("benchmarks/engine.py", *args)
    rows = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("20,000")]
    runs = [(" ".join(r[1:-4]), r[-4]) for r in rows]
    stages = ["validate", "train", "evaluate", "gate"]
    assert runs == [("local", s) for s in stages] + [("dask x1", s) for s in stages]
    assert not any("FAILED" in r for r in rows)
    assert all(float(r[-1]) > 0 for r in rows)  # every run printed its workers' peak memory
