"""Pure gate logic: flatten the pipeline's figures into one namespace and check each rule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mlpipeline import catalog
from mlpipeline.config import Rule

PASS, FAIL, SKIP, WARN = "pass", "fail", "skip", "warn"

# What a regression rule's evidence shows, in words (docs/explanation/gate.md: the decision table).
BETTER = "better"
NO_CHANGE = "no detectable change"
WORSE_WITHIN = "worse, within the tolerance"
WORSE = "worse beyond the tolerance"
CANNOT_TELL = "cannot tell"
TIMED = "same run"  # both models timed in one run, without an interval
# The 95% interval's half-width, and 80% power, in standard errors.
Z_INTERVAL, Z_POWER = 1.959964, 0.841621


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def decision_power(bound: float, se: float, lenient: bool) -> tuple[float, float, float]:
    """How a regression rule decides at standard error ``se``: the chance it fails a true
    regression of ``bound`` and of twice it, and the regression it fails 80% of the time.

    It fails when the change is past the tolerance (``lenient``, ``on_inconclusive: warn``: and
    the interval excludes no change too), so with the estimate normal around the true change, a
    regression exactly at the tolerance fails half the time, whatever the rows: the tolerance is
    where the gate is indifferent, and twice it is what it reliably stops.
    """
    edge = max(bound, Z_INTERVAL * se) if lenient else bound
    return (
        _normal_cdf((bound - edge) / se),
        _normal_cdf((2 * bound - edge) / se),
        edge + Z_POWER * se,
    )


def rows_for_twice(bound: float, se: float, rows: int, lenient: bool) -> int | None:
    """Rows at which a regression of twice ``bound`` fails 80% of the time, when ``rows`` (at
    standard error ``se``) fail it less often; None when they already do."""
    if decision_power(bound, se, lenient)[1] >= 0.8:
        return None
    # se shrinks as 1/sqrt(rows); the target se solves 2*bound - edge(se) = Z_POWER * se.
    target = 2 * bound / (Z_INTERVAL + Z_POWER) if lenient else bound / Z_POWER
    if lenient and Z_INTERVAL * target < bound:
        target = bound / Z_POWER
    return math.ceil(rows * (se / target) ** 2)


@dataclass(frozen=True)
class Outcome:
    """The verdict on one rule, with the evidence it was judged on."""

    metric: str
    kind: str
    bound: float
    value: float | None
    threshold: float | None  # the number the value was compared with
    base_value: float | None
    status: str
    note: str = ""
    low: float | None = None  # the value's interval
    high: float | None = None
    delta: float | None = None  # regression rules: value - base
    delta_low: float | None = None
    delta_high: float | None = None
    comparison: str = ""  # regression rules: paired, unpaired, or same-run (timing)
    finding: str = ""  # regression rules: BETTER, NO_CHANGE, WORSE_WITHIN, WORSE or CANNOT_TELL
    # Regression rules, as decisions at these rows' standard error: how often the rule fails a true
    # regression of its tolerance and of twice it, the regression it fails 80% of the time, and
    # the rows that would fail twice the tolerance 80% of the time, when these rows do not.
    fails_at_tolerance: float | None = None
    fails_at_twice: float | None = None
    detectable: float | None = None
    rows_needed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """What a regression rule compares: both models' figures and the difference's interval."""

    value: float | None
    base_value: float | None
    delta_low: float | None
    delta_high: float | None
    comparison: str
    se: float | None = None  # the difference's standard error (bootstrap spread)
    rows: int | None = None  # rows the difference was measured on


def unpaired_evidence(
    value: float | None,
    base_value: float | None,
    own: tuple[float | None, float | None] | None,
    rows: float | None = None,
    base_rows: float | None = None,
    unit_range: bool = False,
) -> Evidence:
    """Recorded figures of two different row sets: independent errors, so the difference's
    half-width combines both sides' (sqrt of the sum of squares). Only the branch's interval is
    at hand; the base's half-width is the branch's scaled by sqrt(rows / base_rows), the same
    spread per row (equal sizes give sqrt(2) times the branch's). Clipped to what a difference
    of figures in 0..1 can be."""
    if value is None or base_value is None or own is None or own[0] is None or own[1] is None:
        return Evidence(value, base_value, None, None, "unpaired")
    own_half = (own[1] - own[0]) / 2
    scale = (rows / base_rows) ** 0.5 if rows and base_rows else 1.0
    half = own_half * (1 + scale**2) ** 0.5
    delta = value - base_value
    low, high = delta - half, delta + half
    if unit_range:
        low, high = max(low, -1.0), min(high, 1.0)
    se = half / Z_INTERVAL
    return Evidence(
        value, base_value, round(low, 6), round(high, 6), "unpaired", se, int(rows) if rows else None
    )


def flatten(
    metrics: dict[str, Any],
    slices: dict[str, Any] | None = None,
    validation: dict[str, Any] | None = None,
    latency: dict[str, Any] | None = None,
) -> dict[str, float | None]:
    """One flat mapping of every figure a rule may name (see ``catalog``)."""
    out: dict[str, float | None] = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    for name, gap in (slices or {}).get("gaps", {}).items():
        out[f"gap.{name}"] = gap["value"]
    quality = (validation or {}).get("quality", {})
    for key in ("rows", "duplicate_share", "max_null_share", "min_class_share"):
        if key in quality:
            out[f"data.{key}"] = quality[key]
    out.update({k: v for k, v in (latency or {}).items() if catalog.is_latency(k)})
    return out


def check_rule(
    rule: Rule,
    task: str,
    current: dict[str, float | None],
    baseline: dict[str, float | None],
    base: dict[str, float | None] | None,
    base_note: str = "",
    *,
    intervals: dict[str, tuple[float | None, float | None]] | None = None,
    evidence: dict[str, Evidence] | None = None,
) -> Outcome:
    """Check one rule. ``base`` is None when no base comparison is possible (``base_note`` says why).

    ``intervals`` are the branch's own intervals, shown beside every rule; ``evidence`` is what
    regression rules judge (paired figures on shared rows), else the recorded figures are
    compared, unpaired.
    """
    figure = {**catalog.figures(task), **catalog.monitor_figures(task)}[rule.metric]
    higher = figure.better == catalog.HIGHER
    low, high = (intervals or {}).get(rule.metric, (None, None))
    value = current.get(rule.metric)
    if rule.kind == "max_regression" and base is not None:
        found = (evidence or {}).get(rule.metric) or unpaired_evidence(
            value,
            base.get(rule.metric),
            (low, high),
            current.get("rows_test"),
            base.get("rows_test"),
            figure.unit_range,
        )
        return _regression(rule, higher, found, low, high)
    if rule.kind == "beat_baseline_by":
        base_value = baseline.get(rule.metric)
    else:
        base_value = base.get(rule.metric) if base is not None else None

    def outcome(threshold: float | None, status: str, note: str = "") -> Outcome:
        return Outcome(
            rule.metric, rule.kind, rule.bound, value, threshold, base_value, status, note, low, high
        )

    if rule.kind == "max_regression":
        return outcome(None, SKIP, base_note or "no base to compare with")
    if value is None:
        return outcome(None, FAIL, f"{rule.metric} was not measured")
    if rule.kind == "min":
        threshold, ok = rule.bound, value >= rule.bound
    elif rule.kind == "max":
        threshold, ok = rule.bound, value <= rule.bound
    else:
        floor = baseline.get(rule.metric)
        if floor is None:
            return outcome(None, FAIL, f"the baseline has no {rule.metric}")
        note = ""
        if figure.no_skill is not None and higher and floor < figure.no_skill:
            note = (
                f"the dummy's {rule.metric} {floor:.4g} is below no skill ({figure.no_skill:g}), which a"
                f" margin over it need not beat: counted from {figure.no_skill:g}"
            )
            floor = figure.no_skill
        threshold = floor + rule.bound if higher else floor - rule.bound
        ok = value >= threshold if higher else value <= threshold
        return outcome(round(threshold, 6), PASS if ok else FAIL, note)
    return outcome(round(threshold, 6), PASS if ok else FAIL)


def _regression(rule: Rule, higher: bool, ev: Evidence, low: float | None, high: float | None) -> Outcome:
    """The decision table of docs/explanation/gate.md. With ``gain`` the change in the better direction
    and ``t`` the tolerance: better when the whole interval is above zero; within -t, no
    detectable change (the interval includes zero) or worse within the tolerance (it does not);
    past -t, worse beyond the tolerance when the interval excludes zero (fails), else the rows
    cannot tell, which fails unless ``on_inconclusive: warn``. No interval at all (too few valid
    resamples) is cannot tell, judged by the point alone as that row is: less evidence never gives
    a stricter verdict than more."""
    if ev.value is None:
        return _outcome(rule, ev, low, high, None, FAIL, f"{rule.metric} was not measured")
    if ev.base_value is None:
        return _outcome(
            rule, ev, low, high, None, FAIL, f"the base has no {rule.metric}: the comparison is broken"
        )
    delta = round(ev.value - ev.base_value, 6)
    sign = 1 if higher else -1
    if catalog.is_latency(rule.metric):
        # Timings are judged as a ratio: both models timed interleaved in one run slow down
        # together when the machine is busy, so their ratio holds where milliseconds do not.
        factor = 1 + rule.bound
        threshold = round(ev.base_value / factor if higher else ev.base_value * factor, 6)
        past = ev.value < threshold if higher else ev.value > threshold
        finding = WORSE if past else (BETTER if sign * delta > 0 else NO_CHANGE)
        return _outcome(rule, ev, low, high, threshold, FAIL if past else PASS, finding, delta, finding)
    threshold = round(ev.base_value - rule.bound if higher else ev.base_value + rule.bound, 6)
    gain = sign * delta
    bounds = None
    if ev.delta_low is not None and ev.delta_high is not None:
        bounds = sorted((sign * ev.delta_low, sign * ev.delta_high))
    past = gain < -rule.bound
    inconclusive = WARN if rule.on_inconclusive == "warn" else FAIL
    if bounds is None:
        finding, status = CANNOT_TELL, inconclusive if past else PASS
    elif bounds[0] > 0:
        finding, status = BETTER, PASS
    elif not past:
        finding, status = (WORSE_WITHIN if bounds[1] < 0 else NO_CHANGE), PASS
    elif bounds[1] < 0:
        finding, status = WORSE, FAIL
    else:
        finding, status = CANNOT_TELL, inconclusive
    power = None
    if ev.se and rule.bound > 0:
        lenient = rule.on_inconclusive == "warn"
        at_t, at_2t, stops = decision_power(rule.bound, ev.se, lenient)
        needed = rows_for_twice(rule.bound, ev.se, ev.rows, lenient) if ev.rows else None
        power = (round(at_t, 4), round(at_2t, 4), round(stops, 6), needed)
    note = _finding_note(finding, past, rule.bound, power)
    return _outcome(rule, ev, low, high, threshold, status, note, delta, finding, power)


def _finding_note(finding: str, past: bool, bound: float, power: tuple | None) -> str:
    """The verdict in words, and, when these rows stop twice the tolerance less than 80% of the
    time, how many rows would."""
    if finding == CANNOT_TELL:
        where = "past" if past else "within"
        note = f"cannot tell: the change is {where} the tolerance, and the interval includes no change"
    else:
        note = finding
    if power is not None and power[3] is not None and finding not in (BETTER, WORSE):
        at_t, at_2t, stops, needed = power
        note += (
            f"; a true regression of {bound:g} fails {at_t:.0%} of the time here and of {2 * bound:g}"
            f" only {at_2t:.0%}; one of {stops:.3g} fails 80%: about {needed:,} rows would fail twice"
            " the tolerance 80% of the time"
        )
    return note


def _outcome(
    rule: Rule,
    ev: Evidence,
    low: float | None,
    high: float | None,
    threshold: float | None,
    status: str,
    note: str,
    delta: float | None = None,
    finding: str = "",
    power: tuple | None = None,
) -> Outcome:
    at_t, at_2t, stops, needed = power or (None, None, None, None)
    return Outcome(
        rule.metric, rule.kind, rule.bound, ev.value, threshold, ev.base_value, status, note,
        low, high, delta, ev.delta_low, ev.delta_high, ev.comparison, finding, at_t, at_2t, stops, needed,
    )  # fmt: skip


def describe(outcome: Outcome) -> str:
    """A rule in words, e.g. 'f1 >= 0.55' or 'roc_auc >= base - 0.01'."""
    op = {"min": ">=", "max": "<="}
    if outcome.kind in op:
        return f"{outcome.metric} {op[outcome.kind]} {outcome.bound:g}"
    if outcome.kind == "beat_baseline_by":
        return f"{outcome.metric} beats baseline by {outcome.bound:g}"
    if catalog.is_latency(outcome.metric):
        return f"{outcome.metric} no worse than base by {outcome.bound:.0%}"
    return f"{outcome.metric} no worse than base by {outcome.bound:g}"


def verdict(outcomes: list[Outcome]) -> bool:
    """True when no rule failed (warnings and skips do not fail the gate)."""
    return all(o.status != FAIL for o in outcomes)
