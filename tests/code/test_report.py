"""Report pieces that are pure text: the gate's diff tables and which rows a run used."""

from __future__ import annotations

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
