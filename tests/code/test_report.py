"""Report pieces that are pure text: the gate's diff tables and which rows a run used."""

from __future__ import annotations

import pytest

from mlpipeline.commands.ci_gate import rows_line
from mlpipeline.core.report import diff_table, verdict_lines


def test_a_diff_table_shows_each_change_with_the_base_ref_as_a_column() -> None:
    rows = [
        ("metrics/latency.json", "throughput_rows_per_s", 43869.4, 59391.0, 15521.6),
        ("params.yaml", "model.estimator", "logistic_regression", "random_forest", None),
        ("params.yaml", "split.stratify", True, None, None),
    ]
    lines = diff_table(rows, "Param", "origin/main").splitlines()
    assert lines[0] == "| Path | Param | origin/main | workspace | Change |"
    assert lines[2] == "| metrics/latency.json | throughput_rows_per_s | 43869.4 | 59391 | 15521.6 |"
    assert lines[3] == "| params.yaml | model.estimator | logistic_regression | random_forest | – |"
    assert lines[4] == "| params.yaml | split.stratify | True | – | – |"  # a bool is not a number
    assert diff_table([], "Metric", "main") == "(no changes)"


def test_the_rows_a_run_used_are_said_only_when_not_every_row() -> None:
    assert rows_line(1.0, full_run=False) == ""
    sampled = rows_line(0.1, full_run=False)
    assert sampled.startswith("a 10% sample of rows (split.sample_fraction: 0.1)") and "FULL=1" in sampled
    assert rows_line(0.1, full_run=True).startswith("full run: every row")


def test_a_full_run_is_not_reported_as_an_unchecked_lock() -> None:
    document = {"pairing": {"mode": "none"}, "base": "main", "note": "", "reproducible": None}
    full = verdict_lines({**document, "full_run": True, "rows": rows_line(0.5, full_run=True)})
    assert full[1].startswith("rows: full run: every row")
    assert not any("reproducibility" in line for line in full)
    assert "reproducibility: not checked (dvc repro did not finish)" in verdict_lines(document)


def _figures(root, gate_passed: bool) -> None:
    import json

    (root / "metrics").mkdir()
    (root / "metrics/metrics.json").write_text(json.dumps({"f1": 0.6, "rows_test": 10}))
    (root / "metrics/baseline.json").write_text(json.dumps({"f1": 0.0}))
    (root / "metrics/gate.json").write_text(json.dumps({"passed": gate_passed, "rules": []}))


@pytest.mark.parametrize(("repro_exit", "gate_passed", "code"), [(0, True, 0), (0, False, 1), (1, False, 1)])
def test_the_summary_after_repro_always_prints_and_exits_non_zero_on_a_failed_gate(
    tmp_path, monkeypatch, capsys, repro_exit: int, gate_passed: bool, code: int
) -> None:
    """`make repro`, `make retrain`: the figures whatever happened; inside an experiment the gate
    stage records a breach without failing, so the summary's exit code carries it."""
    from mlpipeline.commands import summary

    _figures(tmp_path, gate_passed)
    monkeypatch.chdir(tmp_path)
    assert summary.main(["--after-repro", str(repro_exit)]) == code
    shown = capsys.readouterr().out
    assert "f1" in shown and ("gate: PASSED" if gate_passed else "gate: FAILED") in shown


def test_the_summary_after_a_repro_that_stopped_early_says_so(tmp_path, monkeypatch, capsys) -> None:
    from mlpipeline.commands import summary

    monkeypatch.chdir(tmp_path)
    assert summary.main(["--after-repro", "255"]) == 255
    assert "before evaluate wrote any figures" in capsys.readouterr().out
    _figures(tmp_path, True)  # figures of an earlier run, then a stage failed before the gate
    assert summary.main(["--after-repro", "255"]) == 255
    shown = capsys.readouterr().out
    assert "the figures below are from the last run that did" in shown
    assert "gate: NOT RUN this time" in shown and "PASSED" not in shown  # never a pass after an error
