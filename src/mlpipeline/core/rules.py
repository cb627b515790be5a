"""Pure gate logic: flatten the pipeline's figures into one namespace and check each rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlpipeline import catalog
from mlpipeline.config import Rule

PASS, FAIL, SKIP, WARN = "pass", "fail", "skip", "warn"
SQRT2 = 2**0.5


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


def unpaired_evidence(
    value: float | None, base_value: float | None, own: tuple[float | None, float | None] | None
) -> Evidence:
    """Recorded figures of two different test sets: the difference's interval is approximated
    as independent, sqrt(2) times the branch's own half-width either side."""
    if value is None or base_value is None or own is None or None in own:
        return Evidence(value, base_value, None, None, "unpaired")
    half = (own[1] - own[0]) / 2 * SQRT2
    delta = value - base_value
    return Evidence(value, base_value, round(delta - half, 6), round(delta + half, 6), "unpaired")


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
            value, base.get(rule.metric), (low, high) if low is not None else None
        )
        return _regression(rule, higher, found, low, high)
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
        threshold = floor + rule.bound if higher else floor - rule.bound
        ok = value >= threshold if higher else value <= threshold
    return outcome(round(threshold, 6), PASS if ok else FAIL)


def _regression(rule: Rule, higher: bool, ev: Evidence, low: float | None, high: float | None) -> Outcome:
    """Worse than the base by more than the tolerance fails when the difference's interval
    excludes no change; when it does not, the result is inconclusive: a warning, or a failure
    where the rule says ``on_inconclusive: fail``. Without an interval (timing), the point decides."""

    def outcome(threshold: float | None, status: str, note: str = "", delta: float | None = None) -> Outcome:
        return Outcome(
            rule.metric, rule.kind, rule.bound, ev.value, threshold, ev.base_value, status, note,
            low, high, delta, ev.delta_low, ev.delta_high, ev.comparison,
        )  # fmt: skip

    if ev.value is None:
        return outcome(None, FAIL, f"{rule.metric} was not measured")
    if ev.base_value is None:
        return outcome(None, FAIL, f"the base has no {rule.metric}: the comparison is broken")
    threshold = round(ev.base_value - rule.bound if higher else ev.base_value + rule.bound, 6)
    delta = round(ev.value - ev.base_value, 6)
    beyond = ev.value < threshold if higher else ev.value > threshold
    if not beyond:
        return outcome(threshold, PASS, delta=delta)
    if ev.delta_low is None or ev.delta_high is None:
        return outcome(threshold, FAIL, delta=delta)
    certain = ev.delta_high < 0 if higher else ev.delta_low > 0
    if certain:
        return outcome(threshold, FAIL, "worse, and the interval excludes no change", delta)
    note = "worse than the tolerance, but the interval includes no change"
    return outcome(threshold, FAIL if rule.on_inconclusive == "fail" else WARN, note, delta)


def describe(outcome: Outcome) -> str:
    """A rule in words, e.g. 'f1 >= 0.55' or 'roc_auc >= base - 0.01'."""
    op = {"min": ">=", "max": "<="}
    if outcome.kind in op:
        return f"{outcome.metric} {op[outcome.kind]} {outcome.bound:g}"
    if outcome.kind == "beat_baseline_by":
        return f"{outcome.metric} beats baseline by {outcome.bound:g}"
    return f"{outcome.metric} no worse than base by {outcome.bound:g}"


def verdict(outcomes: list[Outcome]) -> bool:
    """True when no rule failed (warnings and skips do not fail the gate)."""
    return all(o.status != FAIL for o in outcomes)
