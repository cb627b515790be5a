"""The benchmark compares like with like: the single script does the pipeline's work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo

pytestmark = pytest.mark.e2e


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
