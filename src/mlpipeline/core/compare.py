"""Champion against challenger on the same rows, with a paired bootstrap interval for every metric.

Each metric is written as a function of per-row weights, so one matrix of bootstrap counts
(resamples x rows) scores every model on exactly the same resamples at once: the difference of
two models is then paired, which is what makes it tight. The functions are ``core.metrics``' own:
with weights of one per row they give the figures evaluate writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpipeline.core.metrics import MetricFn, Weights, functions, point

RESAMPLES = 1000
LEVEL = 0.95
# Resamples drawn at once: bounds memory at (chunk x rows) floats whatever the test set's size.
_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    value: float | None
    low: float | None
    high: float | None
    se: float | None = None  # the bootstrap samples' standard deviation


def resample_weights(n: int, resamples: int, seed: int) -> Iterator[Weights]:
    """Bootstrap counts, ``resamples`` rows of ``n`` in all, yielded in memory-bounded chunks."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CELLS_PER_CHUNK // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        picks = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(picks.ravel(), minlength=size * n).reshape(size, n).astype(float)
        done += size


def bootstrap(
    models: dict[str, dict[str, MetricFn]], n: int, resamples: int = RESAMPLES, seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """Every model's every metric on the same ``resamples`` bootstrap resamples of ``n`` rows."""
    out: dict[str, dict[str, list[np.ndarray]]] = {m: {k: [] for k in fns} for m, fns in models.items()}
    for w in resample_weights(n, resamples, seed):
        for name, fns in models.items():
            for metric, fn in fns.items():
                out[name][metric].append(fn(w))
    return {m: {k: np.concatenate(v) for k, v in metrics.items()} for m, metrics in out.items()}


def interval(value: float | None, samples: np.ndarray, level: float = LEVEL) -> Interval:
    """``value`` with the percentile interval of its bootstrap ``samples``."""
    finite = samples[np.isfinite(samples)]
    if value is None or not np.isfinite(value) or len(finite) < 0.9 * len(samples):
        return Interval(_r(value), None, None)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(_r(value), _r(float(low)), _r(float(high)), _r(float(np.std(finite))))


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


@dataclass(frozen=True)
class Paired:
    """Two models on the same rows: each one's metric, and the difference (branch - base)."""

    branch: Interval
    base: Interval
    delta: Interval


def paired(
    task: str,
    y: np.ndarray,
    branch: np.ndarray,
    base: np.ndarray,
    classes: Any,
    positive: Any,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Paired]:
    """Branch and base predictions of the same rows ``y``, compared metric by metric."""
    n = len(y)
    fns = {
        "branch": functions(task, y, branch, classes, positive),
        "base": functions(task, y, base, classes, positive),
    }
    shared = [k for k in fns["branch"] if k in fns["base"]]
    points = {m: point(f, n) for m, f in fns.items()}
    samples = bootstrap(fns, n, resamples, seed)
    out = {}
    for k in shared:
        b, a = points["branch"][k], points["base"][k]
        out[k] = Paired(
            interval(b, samples["branch"][k]),
            interval(a, samples["base"][k]),
            interval(b - a, samples["branch"][k] - samples["base"][k]),
        )
    return out


def own_intervals(
    task: str,
    y: np.ndarray,
    predictions: np.ndarray,
    classes: Any,
    positive: Any,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """One model's metrics with their bootstrap intervals (for absolute rules)."""
    fns = functions(task, y, predictions, classes, positive)
    points = point(fns, len(y))
    samples = bootstrap({"model": fns}, len(y), resamples, seed)["model"]
    return {k: interval(points[k], samples[k]) for k in fns}


# Past this many rows, a batch's intervals come from a seeded subsample, narrowed by sqrt(m/n).
MAX_BOOTSTRAP_ROWS = 50_000


def large_sample_intervals(
    task: str,
    y: np.ndarray,
    predictions: np.ndarray,
    classes: Any,
    positive: Any,
    max_rows: int = MAX_BOOTSTRAP_ROWS,
    seed: int = 0,
) -> dict[str, Interval]:
    """``own_intervals`` for any number of rows, in bounded time.

    The bootstrap costs rows times resamples; a million labelled rows took minutes. Standard errors
    shrink as 1/sqrt(n), so the interval of a ``max_rows`` subsample, re-centred on the full data's
    point estimate and narrowed by sqrt(max_rows / n), estimates the full interval.
    """
    n = len(y)
    if n <= max_rows:
        return own_intervals(task, y, predictions, classes, positive, seed=seed)
    points = point(functions(task, y, predictions, classes, positive), n)
    rows = _subsample(n, max_rows, seed)
    sub = own_intervals(task, y[rows], predictions[rows], classes, positive, seed=seed)
    shrink = (max_rows / n) ** 0.5
    return {name: _narrowed(points[name], found, shrink) for name, found in sub.items()}


def large_sample_paired(
    task: str,
    y: np.ndarray,
    branch: np.ndarray,
    base: np.ndarray,
    classes: Any,
    positive: Any,
    max_rows: int = MAX_BOOTSTRAP_ROWS,
    seed: int = 0,
) -> dict[str, Paired]:
    """``paired`` for any number of rows, in bounded time, as ``large_sample_intervals`` does it:
    both models' figures and their difference from every row, each interval from one subsample
    of the rows (the same for both models, so the difference stays paired), narrowed."""
    n = len(y)
    if n <= max_rows:
        return paired(task, y, branch, base, classes, positive, seed=seed)
    ours = point(functions(task, y, branch, classes, positive), n)
    theirs = point(functions(task, y, base, classes, positive), n)
    rows = _subsample(n, max_rows, seed)
    sub = paired(task, y[rows], branch[rows], base[rows], classes, positive, seed=seed)
    shrink = (max_rows / n) ** 0.5
    return {
        k: Paired(
            _narrowed(ours[k], found.branch, shrink),
            _narrowed(theirs[k], found.base, shrink),
            _narrowed(ours[k] - theirs[k], found.delta, shrink),
        )
        for k, found in sub.items()
    }


def _subsample(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _narrowed(value: float, found: Interval, shrink: float) -> Interval:
    """``found`` (a subsample's interval) re-centred on ``value`` (every row's) and narrowed."""
    if found.value is None or found.low is None or found.high is None or not np.isfinite(value):
        return Interval(_r(value) if np.isfinite(value) else None, None, None)
    low = value - (found.value - found.low) * shrink
    high = value + (found.high - found.value) * shrink
    se = None if found.se is None else found.se * shrink
    return Interval(_r(value), _r(low), _r(high), _r(se))


def unseen(test_keys: np.ndarray, train_keys: np.ndarray) -> np.ndarray:
    """Mask of test rows whose key is not among the rows a model trained on."""
    return ~np.isin(test_keys, train_keys)


def align_proba(proba: np.ndarray, classes: list[Any], wanted: list[Any]) -> np.ndarray | None:
    """``proba``'s columns reordered to ``wanted`` classes; None when the class sets differ."""
    if sorted(map(str, classes)) != sorted(map(str, wanted)):
        return None
    index = {str(c): i for i, c in enumerate(classes)}
    return proba[:, [index[str(c)] for c in wanted]]


# Below this share of shared columns, two models were trained on different data sets.
MIN_SHARED_COLUMNS = 0.5


def other_data(base_card: dict[str, Any], branch_card: dict[str, Any]) -> str:
    """Why the base model was trained on other data than the branch's, or "" when it was not.

    Decided by what the data is, not a name: the task, the target, and the columns each model
    drew its features from (features and the ones it left out). A refreshed file, a dropped or
    added feature keep most columns; an adopted data set with the same target name shares few.
    """

    def columns(card: dict[str, Any]) -> set[str]:
        return {f["name"] for f in card.get("features", [])} | set(card.get("left_out") or {})

    if base_card.get("task") != branch_card.get("task"):
        return f"it is a {base_card.get('task')} model, this branch a {branch_card.get('task')} one"
    if base_card.get("target") != branch_card.get("target"):
        return f"it predicts '{base_card.get('target')}', this branch '{branch_card.get('target')}'"
    base, here = columns(base_card), columns(branch_card)
    shared = len(base & here) / max(len(base | here), 1)
    if shared < MIN_SHARED_COLUMNS:
        return (
            f"its data shares {len(base & here)} of {len(base | here)} columns with this branch's"
            f" ({shared:.0%}, below {MIN_SHARED_COLUMNS:.0%})"
        )
    return ""
