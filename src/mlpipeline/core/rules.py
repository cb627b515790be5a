"""Pure gate logic: flatten the pipeline's figures into one namespace and check each rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlpipeline import catalog
from mlpipeline.config import Rule

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class Outcome:
    """The verdict on one rule."""

    metric: str
    kind: str
    bound: float
    value: float | None
    threshold: float | None  # the number the value was compared with
    base_value: float | None
    status: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
) -> Outcome:
    """Check one rule. ``base`` is None when no base comparison is possible (``base_note`` says why)."""
    figure = catalog.figures(task)[rule.metric]
    higher = figure.better == catalog.HIGHER
    value = current.get(rule.metric)
    base_value = base.get(rule.metric) if base is not None else None

    def outcome(threshold: float | None, status: str, note: str = "") -> Outcome:
        return Outcome(rule.metric, rule.kind, rule.bound, value, threshold, base_value, status, note)

    if rule.kind == "max_regression" and base is None:
        return outcome(None, SKIP, base_note or "no base to compare with")
    if value is None:
        return outcome(None, FAIL, f"{rule.metric} was not measured")
    if rule.kind == "min":
        threshold, ok = rule.bound, value >= rule.bound
    elif rule.kind == "max":
        threshold, ok = rule.bound, value <= rule.bound
    elif rule.kind == "beat_baseline_by":
        floor = baseline.get(rule.metric)
        if floor is None:
            return outcome(None, FAIL, f"the baseline has no {rule.metric}")
        threshold = floor + rule.bound if higher else floor - rule.bound
        ok = value >= threshold if higher else value <= threshold
    else:
        if base_value is None:
            return outcome(None, FAIL, f"the base has no {rule.metric}: the comparison is broken")
        threshold = base_value - rule.bound if higher else base_value + rule.bound
        ok = value >= threshold if higher else value <= threshold
    threshold = round(threshold, 6)
    return outcome(threshold, PASS if ok else FAIL)


def describe(outcome: Outcome) -> str:
    """A rule in words, e.g. 'f1 >= 0.55' or 'roc_auc >= base - 0.01'."""
    op = {"min": ">=", "max": "<="}
    if outcome.kind in op:
        return f"{outcome.metric} {op[outcome.kind]} {outcome.bound:g}"
    if outcome.kind == "beat_baseline_by":
        return f"{outcome.metric} beats baseline by {outcome.bound:g}"
    return f"{outcome.metric} no worse than base by {outcome.bound:g}"


def verdict(outcomes: list[Outcome]) -> bool:
    """True when no rule failed."""
    return all(o.status != FAIL for o in outcomes)
