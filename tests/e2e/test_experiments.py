"""A hyperparameter sweep as DVC users run it: `dvc exp run --queue -S ...` and `dvc queue start -j 2`,
on real DVC queue workers. Every experiment keeps its own metrics and gate verdict, the ones that
break a rule included; `make experiments` shows them first."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, Repo

pytestmark = pytest.mark.slow  # two queue workers training side by side: about a minute


def wait_for_queue(repo: Repo, seconds: float = 600) -> str:
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        status = repo.dvc("queue", "status").stdout
        if "Running" not in status and "Queued" not in status:
            return status
        if "Queued" in status and "0 active, 0 idle" in status and time.monotonic() - started > 30:
            raise AssertionError(f"queued experiments and no worker left to run them:\n{status}")
        time.sleep(3)
    raise AssertionError(f"the queue did not finish in {seconds} s:\n{status}")


def test_a_queued_sweep_keeps_every_experiments_metrics_and_verdict(repo: Repo) -> None:
    # As the README runs it: .venv/bin/dvc with the environment not activated (not on PATH). The
    # queue's workers start `dvc` by name; they used to die on FileNotFoundError: 'dvc'.
    outside = os.pathsep.join(p for p in repo.env["PATH"].split(os.pathsep) if Path(p) != VENV_BIN)
    repo.env["PATH"] = outside
    assert shutil.which("dvc", path=outside) is None
    for c in ("0.001", "0.5"):  # 0.001 underfits: f1 misses its floor of 0.55
        repo.dvc("exp", "run", "--queue", "-S", f"model.hyperparameters.C={c}")
    started = repo.dvc("queue", "start", "-j", "2")
    assert "Started '2' new experiments task queue workers" in started.stdout
    status = wait_for_queue(repo)
    assert status.count("Success") == 2 and "Failed" not in status, status
    shown = repo.make("experiments").stdout
    rows = {line.split()[-1]: line.split() for line in shown.splitlines()[1:]}
    header = shown.splitlines()[0].split()
    assert header[:4] == ["experiment", "rev", "state", "gate"] and "f1" in header
    f1 = header.index("f1")
    underfit, fine = rows["0.001"], rows["0.5"]
    assert underfit[3] == "FAILED" and fine[3] == "passed"
    assert float(underfit[f1]) < 0.55 < float(fine[f1])  # each its own figures, not the workspace's
    assert (repo.path / "params.yaml").read_text().count("C: 1.0") == 1  # the workspace is untouched
