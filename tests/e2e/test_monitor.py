"""`make monitor` on the sample: a quiet batch, a drifted one, a broken one, a served one.

`make monitor` and `make serve LOG=...` run for real; the verdicts and exit codes of other batches
come from the monitor's ``main()`` in-process (integration).
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from mlpipeline.adapters.servinglog import RowLog
from mlpipeline.core.rows import Scored
from tests.conftest import Repo
from tests.serving import checks

e2e, integration = pytest.mark.e2e, pytest.mark.integration


def _batch(repo: Repo, path: Path, seed: int, change=None, rows: int = 1500) -> Path:
    frame = pd.read_csv(repo.path / "data/raw/telco_churn.csv").sample(rows, random_state=seed)
    if change:
        change(frame)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def monitor(command):
    """The monitor command in-process: (exit code, reports/monitor.json or {})."""

    def run(repo: Repo, *args: str) -> tuple[int, dict]:
        done = command(repo, "monitor", *args)
        report = repo.path / "reports/monitor.json"
        return done.returncode, json.loads(report.read_text()) if report.exists() else {}

    return run


@e2e
def test_a_batch_like_the_training_data_passes_and_every_report_is_written(
    repo: Repo, tmp_path: Path
) -> None:
    batch = _batch(repo, tmp_path / "batch.csv", seed=1)
    done = repo.make("monitor", f"INPUT={batch}")
    assert "all rules hold" in done.stdout
    report = json.loads((repo.path / "reports/monitor.json").read_text())
    assert report["status"] == "ok" and report["figures"]["drifted_features"] == 0
    assert report["labelled_rows"] == 1500 and "roc_auc" in report["quality"]  # the batch had labels
    assert "## Monitor: ✅" in (repo.path / "reports/monitor.md").read_text()
    page = (repo.path / "reports/monitor.html").read_text()
    assert "vegaEmbed" in page and "<script src=" not in page  # opens offline: Vega is inlined


@integration
def test_drift_a_broken_contract_and_a_missing_file_each_have_their_exit_code(
    repo: Repo, tmp_path: Path, monitor, command
) -> None:
    def scale(frame: pd.DataFrame) -> None:
        frame["monthly_charges"] *= 1.5

    code, report = monitor(repo, "--input", str(_batch(repo, tmp_path / "scaled.csv", 2, scale)))
    assert code == 1 and report["status"] == "drift"
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["monthly_charges"]
    assert 'id="drift0"' in (repo.path / "reports/monitor.html").read_text()  # its chart

    def corrupt(frame: pd.DataFrame) -> None:
        frame["tenure"] = frame["tenure"].astype(object)
        frame.loc[frame.index[:7], "tenure"] = "soon"

    code, report = monitor(repo, "--input", str(_batch(repo, tmp_path / "broken.csv", 3, corrupt)))
    assert code == 2 and report["status"] == "contract"
    assert [(f["column"], f["count"]) for f in report["failures"]] == [("tenure", 7)]
    tiny = tmp_path / "tiny.csv"
    pd.read_csv(repo.path / "data/raw/telco_churn.csv").head(5).to_csv(tiny, index=False)
    code, report = monitor(repo, "--input", str(tiny))  # 5 rows once reported a PSI of 7.2: DRIFT
    assert code == 4 and report["status"] == "too_small" and "figures" not in report
    assert "5 rows: too small to judge (monitor.min_rows is 50)" in report["reason"]
    assert "too small to judge" in (repo.path / "reports/monitor.md").read_text()
    done = command(repo, "monitor", "--input", str(tmp_path / "nope.csv"))
    assert (
        done.returncode == 3 and "nope.csv: file not found" in done.stderr and "Traceback" not in done.stderr
    )


@integration
def test_rows_outside_the_contract_are_counted_and_said(repo: Repo, tmp_path: Path, monitor, command) -> None:
    """Scored with warnings (serving.out_of_contract: warn), and said: how many rows, which rule."""

    def beyond(frame: pd.DataFrame) -> None:
        frame.loc[frame.index[:104], "tenure"] = 150  # the contract's maximum is 120

    batch = _batch(repo, tmp_path / "beyond.csv", 4, beyond)
    done = command(repo, "monitor", "--input", str(batch))
    assert "104 row(s) outside the contract (tenure: " in done.stdout, done.stdout
    report = json.loads((repo.path / "reports/monitor.json").read_text())
    (counted,) = report["outside_contract"]
    assert (counted["column"], counted["rows"], counted["rule"]) == ("tenure", 104, "above max 120")
    _, quiet = monitor(repo, "--input", str(_batch(repo, tmp_path / "quiet.csv", 5)))
    assert quiet["outside_contract"] == []


@integration
def test_a_handful_of_labels_is_cannot_tell_never_a_retrain(repo: Repo, tmp_path: Path, monitor) -> None:
    """500 rows, 3 of them labelled and all of one class: ROC AUC has no value there, and the
    quality rule once failed on it, so monitor.yml retrained on three labels."""

    def few_labels(frame: pd.DataFrame) -> None:
        frame["churn"] = None
        frame.loc[frame.index[:3], "churn"] = "No"

    batch = _batch(repo, tmp_path / "few.csv", 6, few_labels, rows=500)
    code, report = monitor(repo, "--input", str(batch))
    assert code == 0 and report["status"] == "ok" and report["quality_judged"] is False
    assert report["labelled_rows"] == 3 and report["labels"] == {"No": 3, "Yes": 0}
    (quality,) = [r for r in report["rules"] if r["metric"] == "roc_auc"]
    assert quality["status"] == "skip" and quality["note"].startswith("cannot tell: 3 labelled row(s)")
    assert "monitor.min_labels (60 per class)" in quality["note"]


@integration
def test_a_released_version_is_monitored_with_its_own_profile(
    repo: Repo, tmp_path: Path, monitor, command
) -> None:
    command(repo, "registry", "release", "--notes", "first")
    code, report = monitor(repo, "--input", str(_batch(repo, tmp_path / "b.csv", 4)), "--version", "v1.0.0")
    assert code == 0 and report["model"] == "v1.0.0"


@e2e
def test_rows_served_with_a_log_are_monitored(repo: Repo, tmp_path: Path, monitor) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "served.jsonl"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"PORT={port}", f"LOG={log}"],
        cwd=repo.path, env=repo.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import httpx

        rows = (
            pd.read_csv(repo.path / "data/raw/telco_churn.csv")
            .sample(300, random_state=5)
            .drop(columns="churn")
        )
        records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            checks.wait_healthy(client, 60, lambda: f"make serve exited with {server.poll()}")
            for i in range(0, 300, 100):
                assert client.post("/predict", json={"rows": records[i : i + 100]}).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 300 and {"_prediction", "_served_at", "_version"} <= set(logged[0])
    code, report = monitor(repo, "--input", str(log))
    assert code == 0 and report["rows"] == 300 and report["labelled_rows"] == 0


@pytest.mark.fast
def test_the_serving_log_rotates_and_keeps_its_last_files(tmp_path: Path) -> None:
    log = RowLog(tmp_path / "served.jsonl", max_bytes=2000, keep=2)
    rows = [{"x": x, "note": "a" * 40} for x in range(10)]
    for i in range(12):
        scored = Scored(["prediction"], [{"prediction": i}] * 10, [])
        log(rows, scored, {"version": "v1", "time": float(i)})
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["served.jsonl", "served.jsonl.1", "served.jsonl.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    newest = [
        json.loads(line)["_prediction"] for line in (tmp_path / "served.jsonl").read_text().splitlines()
    ]
    assert newest[-1] == 11
    # Only the contract's columns: a field a client sent of its own is not written to disk.
    kept = RowLog(tmp_path / "kept.jsonl", columns=["x"])
    kept([{"x": 1, "token": "secret"}], Scored(["prediction"], [{"prediction": 0}], []), {"time": 0.0})
    assert "secret" not in (tmp_path / "kept.jsonl").read_text()
