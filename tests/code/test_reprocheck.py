"""The reproducibility check compares lock files, ignoring timing files only."""

from __future__ import annotations

import copy

from mlpipeline.core.lockdiff import differences

LOCK = {
    "stages": {
        "evaluate": {
            "cmd": "python -m mlpipeline.stages.evaluate",
            "deps": [{"path": "models/model.joblib", "md5": "a"}],
            "params": {"params.yaml": {"evaluate": {"latency_rows": 200}}},
            "outs": [
                {"path": "metrics/metrics.json", "md5": "m1"},
                {"path": "metrics/latency.json", "md5": "t1"},
            ],
        }
    }
}


def test_identical_locks_have_no_differences() -> None:
    assert differences(LOCK, copy.deepcopy(LOCK)) == []


def test_latency_files_are_ignored() -> None:
    other = copy.deepcopy(LOCK)
    other["stages"]["evaluate"]["outs"][1]["md5"] = "t2"
    assert differences(LOCK, other) == []


def test_changed_output_and_param_are_named() -> None:
    other = copy.deepcopy(LOCK)
    other["stages"]["evaluate"]["outs"][0]["md5"] = "m2"
    other["stages"]["evaluate"]["params"]["params.yaml"]["evaluate"]["latency_rows"] = 100
    found = differences(LOCK, other)
    assert any("out metrics/metrics.json" in f and "'m1'" in f and "'m2'" in f for f in found)
    assert any("param params.yaml:evaluate" in f for f in found)


def test_missing_stage_is_named() -> None:
    assert differences(LOCK, {"stages": {}}) == ["stage 'evaluate' is only in the committed lock"]
