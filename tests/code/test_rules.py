"""Gate rules: every kind, both directions, and the honest handling of a missing base."""

from __future__ import annotations

import pytest

from mlpipeline.config import Rule
from mlpipeline.core.rules import FAIL, PASS, SKIP, check_rule, flatten, verdict

CURRENT = {"f1": 0.60, "log_loss": 0.40, "latency_p95_ms": 12.0, "data.rows": 500}
BASELINE = {"f1": 0.30, "log_loss": 0.58}


def status(rule: dict, base: dict | None = None, current: dict | None = None) -> str:
    return check_rule(Rule(**rule), "classification", current or CURRENT, BASELINE, base).status


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"metric": "f1", "min": 0.55}, PASS),
        ({"metric": "f1", "min": 0.65}, FAIL),
        ({"metric": "latency_p95_ms", "max": 10}, FAIL),
        ({"metric": "latency_p95_ms", "max": 15}, PASS),
        ({"metric": "data.rows", "min": 1000}, FAIL),
        ({"metric": "f1", "beat_baseline_by": 0.2}, PASS),  # higher is better: 0.6 >= 0.3 + 0.2
        ({"metric": "f1", "beat_baseline_by": 0.35}, FAIL),
        ({"metric": "log_loss", "beat_baseline_by": 0.1}, PASS),  # lower is better: 0.4 <= 0.58 - 0.1
        ({"metric": "log_loss", "beat_baseline_by": 0.2}, FAIL),
    ],
)
def test_absolute_and_baseline_rules(rule: dict, expected: str) -> None:
    assert status(rule) == expected


@pytest.mark.parametrize(
    ("rule", "base", "expected"),
    [
        ({"metric": "f1", "max_regression": 0.02}, {"f1": 0.61}, PASS),  # dropped 0.01
        ({"metric": "f1", "max_regression": 0.02}, {"f1": 0.65}, FAIL),  # dropped 0.05
        ({"metric": "f1", "max_regression": 0.0}, {"f1": 0.60}, PASS),  # unchanged
        ({"metric": "log_loss", "max_regression": 0.02}, {"log_loss": 0.39}, PASS),  # rose 0.01
        ({"metric": "log_loss", "max_regression": 0.02}, {"log_loss": 0.30}, FAIL),  # rose 0.10
        ({"metric": "log_loss", "max_regression": 0.0}, {"log_loss": 0.50}, PASS),  # improved
    ],
)
def test_regression_rules_both_directions(rule: dict, base: dict, expected: str) -> None:
    assert status(rule, base) == expected


def test_regression_without_base_is_skipped_with_reason() -> None:
    out = check_rule(
        Rule(metric="f1", max_regression=0.01), "classification", CURRENT, BASELINE, None, "no main"
    )
    assert out.status == SKIP and out.note == "no main"


def test_base_without_the_metric_fails_instead_of_passing() -> None:
    assert status({"metric": "f1", "max_regression": 0.01}, base={"accuracy": 0.9}) == FAIL


def test_unmeasured_metric_fails() -> None:
    assert status({"metric": "f1", "min": 0.1}, current={"f1": None}) == FAIL


def test_flatten_names_every_source() -> None:
    flat = flatten(
        {"f1": 0.5},
        {"gaps": {"f1": {"value": 0.1}}},
        {"quality": {"rows": 10, "max_null_share": 0.2}},
        {"latency_p95_ms": 3.0, "rows_timed": 5},
    )
    assert flat == {
        "f1": 0.5,
        "gap.f1": 0.1,
        "data.rows": 10,
        "data.max_null_share": 0.2,
        "latency_p95_ms": 3.0,
    }


def test_verdict_ignores_skips() -> None:
    passed = check_rule(Rule(metric="f1", min=0.1), "classification", CURRENT, BASELINE, None)
    skipped = check_rule(Rule(metric="f1", max_regression=0.1), "classification", CURRENT, BASELINE, None)
    failed = check_rule(Rule(metric="f1", min=0.9), "classification", CURRENT, BASELINE, None)
    assert verdict([passed, skipped]) and not verdict([passed, skipped, failed])
