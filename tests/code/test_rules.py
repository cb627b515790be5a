"""Gate rules: every kind, both directions, and the honest handling of a missing base."""

from __future__ import annotations

import pytest

from mlpipeline.config import Rule
from mlpipeline.core.rules import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Evidence,
    check_rule,
    flatten,
    unpaired_evidence,
    verdict,
)

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


def paired(value: float, base: float, low: float, high: float) -> dict[str, Evidence]:
    return {
        "f1": Evidence(value, base, low, high, "paired"),
        "log_loss": Evidence(value, base, low, high, "paired"),
    }


@pytest.mark.parametrize(
    ("rule", "evidence", "expected"),
    [
        # higher is better: 0.05 worse, and the whole interval is below zero → fail
        ({"metric": "f1", "max_regression": 0.02}, paired(0.55, 0.60, -0.08, -0.02), FAIL),
        # 0.05 worse, but the interval includes no change → inconclusive, a warning by default
        ({"metric": "f1", "max_regression": 0.02}, paired(0.55, 0.60, -0.10, 0.01), WARN),
        (
            {"metric": "f1", "max_regression": 0.02, "on_inconclusive": "fail"},
            paired(0.55, 0.60, -0.1, 0.01),
            FAIL,
        ),
        # within the tolerance passes, whatever the interval says
        ({"metric": "f1", "max_regression": 0.02}, paired(0.59, 0.60, -0.02, -0.001), PASS),
        # lower is better: log loss up 0.1 with the interval above zero → fail; straddling → warn
        ({"metric": "log_loss", "max_regression": 0.02}, paired(0.50, 0.40, 0.05, 0.15), FAIL),
        ({"metric": "log_loss", "max_regression": 0.02}, paired(0.50, 0.40, -0.01, 0.2), WARN),
    ],
)
def test_regression_rules_judge_the_paired_interval(rule: dict, evidence: dict, expected: str) -> None:
    out = check_rule(Rule(**rule), "classification", CURRENT, BASELINE, {"f1": 0.0}, evidence=evidence)
    assert out.status == expected
    assert out.comparison == "paired" and out.value == evidence[rule["metric"]].value
    assert out.delta == pytest.approx(evidence[rule["metric"]].value - evidence[rule["metric"]].base_value)


def test_a_warning_does_not_fail_the_verdict() -> None:
    warned = check_rule(
        Rule(metric="f1", max_regression=0.02),
        "classification",
        CURRENT,
        BASELINE,
        {},
        evidence=paired(0.5, 0.6, -0.2, 0.1),
    )
    assert warned.status == WARN and verdict([warned])


def test_unpaired_interval_widens_the_branchs_own_by_sqrt2() -> None:
    ev = unpaired_evidence(0.55, 0.60, (0.50, 0.60))
    assert ev.comparison == "unpaired"
    assert ev.delta_low == pytest.approx(-0.05 - 0.05 * 2**0.5, abs=1e-6) and ev.delta_high == pytest.approx(
        -0.05 + 0.05 * 2**0.5, abs=1e-6
    )
    out = check_rule(
        Rule(metric="f1", max_regression=0.02), "classification", {"f1": 0.55}, BASELINE, {"f1": 0.60},
        intervals={"f1": (0.50, 0.60)},
    )  # fmt: skip
    assert out.status == WARN and out.comparison == "unpaired"


def test_on_inconclusive_is_refused_on_other_rules() -> None:
    with pytest.raises(ValueError, match="max_regression rules only"):
        Rule(metric="f1", min=0.5, on_inconclusive="fail")
