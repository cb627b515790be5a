"""Gate rules: every kind, both directions, and the honest handling of a missing base."""

from __future__ import annotations

import pytest

from mlpipeline.config import Rule
from mlpipeline.core.rules import (
    BETTER,
    CANNOT_TELL,
    FAIL,
    NO_CHANGE,
    PASS,
    SKIP,
    WARN,
    WORSE,
    WORSE_WITHIN,
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
        ({"metric": "f1", "max_regression": 0.02}, {"f1": 0.65}, FAIL),  # dropped 0.05, no interval
        ({"metric": "f1", "max_regression": 0.02, "on_inconclusive": "warn"}, {"f1": 0.65}, WARN),
        ({"metric": "f1", "max_regression": 0.02}, {"f1": 0.61}, PASS),  # within: nothing says otherwise
        ({"metric": "log_loss", "max_regression": 0.02}, {"log_loss": 0.30}, FAIL),  # rose 0.10
        ({"metric": "log_loss", "max_regression": 0.02}, {"log_loss": 0.39}, PASS),  # rose 0.01
    ],
)
def test_without_any_interval_the_point_decides_as_cannot_tell_does(
    rule: dict, base: dict, expected: str
) -> None:
    """No interval is "cannot tell": never a pass nobody can back, never stricter than evidence."""
    out = check_rule(Rule(**rule), "classification", CURRENT, BASELINE, base)
    assert (out.status, out.finding) == (expected, CANNOT_TELL)


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


F1 = {"metric": "f1", "max_regression": 0.02}
LOSS = {"metric": "log_loss", "max_regression": 0.02}


# The README's decision table, row by row, in both directions (f1: higher is better; log loss: lower).
@pytest.mark.parametrize(
    ("rule", "evidence", "expected"),
    [
        (F1, paired(0.65, 0.60, 0.01, 0.09), (PASS, BETTER)),
        (LOSS, paired(0.35, 0.40, -0.09, -0.01), (PASS, BETTER)),
        (F1, paired(0.59, 0.60, -0.015, 0.005), (PASS, NO_CHANGE)),
        (LOSS, paired(0.41, 0.40, -0.005, 0.015), (PASS, NO_CHANGE)),
        (F1, paired(0.59, 0.60, -0.019, -0.001), (PASS, WORSE_WITHIN)),
        (F1, paired(0.55, 0.60, -0.08, -0.02), (FAIL, WORSE)),
        (LOSS, paired(0.50, 0.40, 0.05, 0.15), (FAIL, WORSE)),
        # past the tolerance, the interval includes no change: fails, unless on_inconclusive: warn
        (F1, paired(0.55, 0.60, -0.10, 0.01), (FAIL, CANNOT_TELL)),
        ({**F1, "on_inconclusive": "warn"}, paired(0.55, 0.60, -0.10, 0.01), (WARN, CANNOT_TELL)),
        (LOSS, paired(0.50, 0.40, -0.01, 0.2), (FAIL, CANNOT_TELL)),
        # within the tolerance, the interval reaching past it: the change is what the rows saw
        # (the rule's line says when they cannot resolve the tolerance; see the power test)
        (F1, paired(0.59, 0.60, -0.05, 0.03), (PASS, NO_CHANGE)),
        (F1, paired(0.59, 0.60, -0.04, -0.001), (PASS, WORSE_WITHIN)),
    ],
)
def test_regression_rules_follow_the_decision_table(rule: dict, evidence: dict, expected: tuple) -> None:
    out = check_rule(Rule(**rule), "classification", CURRENT, BASELINE, {"f1": 0.0}, evidence=evidence)
    assert (out.status, out.finding) == expected
    assert out.finding in out.note
    assert out.comparison == "paired" and out.value == evidence[rule["metric"]].value
    assert out.delta == pytest.approx(evidence[rule["metric"]].value - evidence[rule["metric"]].base_value)


def test_fewer_valid_resamples_never_give_a_stricter_verdict() -> None:
    """An interval lost to undefined resamples (few positives) leaves the point beside the
    tolerance as the only evidence: whatever the interval would have said, no interval is never
    a fail where an interval would pass, nor a fail where `warn` was asked."""
    rank = {PASS: 0, WARN: 1, FAIL: 2}
    for on in ("warn", "fail"):
        rule = Rule(metric="f1", max_regression=0.02, on_inconclusive=on)
        for value in (0.50, 0.57, 0.59, 0.60, 0.65):
            none = check_rule(
                rule, "classification", CURRENT, BASELINE, {}, evidence=paired(value, 0.6, None, None)
            )
            for low, high in ((-0.2, -0.1), (-0.2, 0.1), (-0.01, 0.01), (0.01, 0.1)):
                if not low <= value - 0.6 <= high:
                    continue
                some = check_rule(
                    rule, "classification", CURRENT, BASELINE, {}, evidence=paired(value, 0.6, low, high)
                )
                assert rank[none.status] <= max(rank[some.status], rank[WARN]), (on, value, low, high)
            assert none.status != FAIL or (value - 0.6 < -0.02 and on == "fail")


def test_a_warning_does_not_fail_the_verdict() -> None:
    warned = check_rule(
        Rule(metric="f1", max_regression=0.02, on_inconclusive="warn"),
        "classification",
        CURRENT,
        BASELINE,
        {},
        evidence=paired(0.5, 0.6, -0.2, 0.1),
    )
    assert warned.status == WARN and verdict([warned])


@pytest.mark.parametrize("on", ["fail", "warn"])
def test_the_stated_chance_of_failing_a_true_regression_is_what_the_rule_does(on: str) -> None:
    """The report says how often a rule fails a true regression of its tolerance and of twice it;
    drawing estimates around a true regression (normal, at the stated standard error, with the
    interval it implies) and judging each with the rule itself must give those rates."""
    import numpy as np

    from mlpipeline.core.rules import Z_INTERVAL, decision_power

    rule = Rule(metric="f1", max_regression=0.02, on_inconclusive=on)
    se = 0.012
    rng = np.random.default_rng(7)
    for times, stated in zip((1, 2), decision_power(0.02, se, on == "warn")[:2], strict=False):
        change = rng.normal(-times * 0.02, se, 4000)
        half = Z_INTERVAL * se
        failed = [
            check_rule(
                rule, "classification", CURRENT, BASELINE, {},
                evidence={"f1": Evidence(0.6 + c, 0.6, c - half, c + half, "paired", se, 1000)},
            ).status == FAIL
            for c in change
        ]  # fmt: skip
        assert np.mean(failed) == pytest.approx(stated, abs=0.025), (times, stated)
    if on == "fail":  # the tolerance is the indifference point, whatever the rows
        assert decision_power(0.02, se, False)[0] == pytest.approx(0.5)


def test_a_rule_whose_rows_cannot_stop_twice_its_tolerance_says_how_many_would() -> None:
    from mlpipeline.core.rules import decision_power

    rule = Rule(metric="f1", max_regression=0.02)
    blind = Evidence(0.59, 0.60, -0.05, 0.03, "paired", se=0.02, rows=1000)
    out = check_rule(rule, "classification", CURRENT, BASELINE, {}, evidence={"f1": blind})
    assert out.fails_at_tolerance == 0.5 and out.fails_at_twice == pytest.approx(0.8413, abs=1e-3)
    assert out.rows_needed is None  # 84% at twice the tolerance: enough
    noisy = Evidence(0.59, 0.60, -0.09, 0.07, "paired", se=0.04, rows=1000)
    out = check_rule(rule, "classification", CURRENT, BASELINE, {}, evidence={"f1": noisy})
    assert out.fails_at_twice < 0.8 and f"about {out.rows_needed:,} rows would fail twice" in out.note
    # The rows it names do what it says: at that many rows (se shrinking as 1/sqrt(rows)), 80%.
    scaled = 0.04 * (1000 / out.rows_needed) ** 0.5
    assert decision_power(0.02, scaled, False)[1] == pytest.approx(0.8, abs=0.01)
    assert out.detectable == pytest.approx(0.02 + 0.8416 * 0.04, abs=1e-4)  # fails 80% of these


def test_unpaired_interval_combines_both_sides_half_widths() -> None:
    # equal row counts: sqrt(2) times the branch's half-width
    ev = unpaired_evidence(0.55, 0.60, (0.50, 0.60), rows=1000, base_rows=1000)
    assert ev.comparison == "unpaired"
    assert (ev.delta_low, ev.delta_high) == pytest.approx(
        (-0.05 - 0.05 * 2**0.5, -0.05 + 0.05 * 2**0.5), abs=1e-6
    )
    # a large batch against a small test set: the test figure's uncertainty dominates
    big = unpaired_evidence(0.55, 0.60, (0.549, 0.551), rows=100_000, base_rows=1_000)
    half = 0.001 * (1 + 100) ** 0.5
    assert (big.delta_low, big.delta_high) == pytest.approx((-0.05 - half, -0.05 + half), abs=1e-6)
    # a difference of two figures in 0..1 stays within -1..1
    tiny = unpaired_evidence(0.2, 0.84, (0.0, 1.0), rows=5, base_rows=5, unit_range=True)
    assert -1 <= tiny.delta_low <= tiny.delta_high <= 1
    out = check_rule(
        Rule(metric="f1", max_regression=0.02), "classification", {"f1": 0.55, "rows_test": 10}, BASELINE,
        {"f1": 0.60, "rows_test": 10}, intervals={"f1": (0.50, 0.60)},
    )  # fmt: skip
    assert (out.status, out.finding, out.comparison) == (FAIL, CANNOT_TELL, "unpaired")


def test_on_inconclusive_is_refused_on_other_rules() -> None:
    with pytest.raises(ValueError, match="max_regression rules only"):
        Rule(metric="f1", min=0.5, on_inconclusive="fail")
