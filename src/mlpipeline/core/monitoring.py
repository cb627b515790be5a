"""The monitor's verdict: drift figures and (with labels) quality, judged by `monitor.rules`."""

from __future__ import annotations

from typing import Any

from mlpipeline import catalog
from mlpipeline.config import Settings
from mlpipeline.core import rules as r
from mlpipeline.core.compare import Interval

# Exit codes: automation acts on each differently (monitor.yml retrains on DRIFT only).
OK, DRIFT, CONTRACT, FAILED, TOO_SMALL = 0, 1, 2, 3, 4


def too_small(rows: int, min_rows: int) -> str:
    """Why a batch of ``rows`` cannot be judged, or "" when it can."""
    if rows >= min_rows:
        return ""
    return (
        f"{rows} rows: too small to judge (monitor.min_rows is {min_rows}); no drift measured,"
        " nothing to act on: check again when the batch has more rows"
    )


def too_few_labels(counts: dict[str, int], min_labels: int, task: str) -> str:
    """Why the batch's labels cannot judge quality, or "" when they can. ``counts``: labelled rows
    per class of the model (every class, zeros included) for classification; for regression,
    ``{"rows": n}``."""
    if not counts or sum(counts.values()) == 0:
        return "the batch has no labels"
    short = {k: n for k, n in counts.items() if n < min_labels}
    if not short:
        return ""
    per = " per class" if task == "classification" else ""
    shown = ", ".join(f"{k} {n}" for k, n in counts.items()) if task == "classification" else ""
    return (
        f"cannot tell: {sum(counts.values())} labelled row(s){f' ({shown})' if shown else ''}, fewer than"
        f" monitor.min_labels ({min_labels}{per}); quality is not judged, nothing to act on"
    )


def judge(
    settings: Settings,
    drift: dict[str, float],
    labelled: dict[str, Interval] | None,
    test_metrics: dict[str, Any],
    labelled_rows: int = 0,
    unlabelled: str = "the batch has no labels",
) -> list[r.Outcome]:
    """Every monitor rule. Quality rules need enough labels in the batch; without them
    (``labelled`` None) they are skipped, saying why (``unlabelled``).

    ``max_regression`` compares the batch's metric with the model's own test figure; its interval
    (the batch's bootstrap combined with the test figure's, as for two independent samples of
    ``labelled_rows`` and the test's rows) decides as in the gate.
    """
    task = settings.task
    current: dict[str, float | None] = {**drift, "rows_test": labelled_rows}
    intervals: dict[str, tuple[float | None, float | None]] = {}
    for name, found in (labelled or {}).items():
        current[name] = found.value
        intervals[name] = (found.low, found.high)
    out = []
    for rule in settings.monitor.rules:
        if rule.metric in catalog.quality_metrics(task) and labelled is None:
            out.append(r.Outcome(rule.metric, rule.kind, rule.bound, None, None, None, r.SKIP, unlabelled))
            continue
        out.append(r.check_rule(rule, task, current, {}, test_metrics, "", intervals=intervals))
    return out


def exit_code(outcomes: list[r.Outcome]) -> int:
    """0 when every rule holds, 1 when drift (or quality) breaks one."""
    return OK if r.verdict(outcomes) else DRIFT
