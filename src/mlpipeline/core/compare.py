"""Champion against challenger on the same rows, with a paired bootstrap interval for every metric.

Each metric is written as a function of per-row weights, so one matrix of bootstrap counts
(resamples x rows) scores every model on exactly the same resamples at once: the difference of
two models is then paired, which is what makes it tight. With weights of one per row the same
functions give the ordinary point metrics (the tests hold them to ``core.metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
# Resamples drawn at once: bounds memory at (chunk x rows) floats whatever the test set's size.
_CELLS_PER_CHUNK = 4_000_000

Weights = np.ndarray  # (resamples, rows) counts; one row of ones is the point estimate
MetricFn = Callable[[Weights], np.ndarray]


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    value: float | None
    low: float | None
    high: float | None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _grouped(w: Weights, order: np.ndarray, starts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sum of weights of ``mask`` rows per group of tied scores, groups in ``order``."""
    return np.add.reduceat((w * mask)[:, order], starts, axis=1)


def _ties(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order by ascending score, and where each run of equal scores starts in that order."""
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    return order, np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])


def _auc(score: np.ndarray, is_pos: np.ndarray) -> MetricFn:
    order, starts = _ties(score)

    def auc(w: Weights) -> np.ndarray:
        pos = _grouped(w, order, starts, is_pos)
        neg = _grouped(w, order, starts, ~is_pos)
        below = np.cumsum(neg, axis=1) - neg
        total = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, (pos * (below + 0.5 * neg)).sum(axis=1) / total, np.nan)

    return auc


def _average_precision(score: np.ndarray, is_pos: np.ndarray) -> MetricFn:
    order, starts = _ties(-score)  # thresholds from the highest score down

    def ap(w: Weights) -> np.ndarray:
        pos = _grouped(w, order, starts, is_pos)
        neg = _grouped(w, order, starts, ~is_pos)
        tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        total = pos.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, (pos * _ratio(tp, tp + fp)).sum(axis=1) / total, np.nan)

    return ap


def _counts(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return predicted & actual, predicted & ~actual, ~predicted & actual


def classification_functions(
    y: np.ndarray, proba: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, MetricFn]:
    """Weighted versions of ``core.metrics.classification_metrics``' figures."""
    classes_arr = np.asarray(classes, dtype=object)
    y = np.asarray(y, dtype=object)
    y_pred = classes_arr[np.argmax(proba, axis=1)]
    onehot = y[:, None] == classes_arr[None, :]
    rows = proba / proba.sum(axis=1, keepdims=True)
    true_p = np.where(onehot.any(axis=1), (rows * onehot).sum(axis=1), 0.0)
    loss = -np.log(np.clip(true_p, 1e-15, 1))
    correct = (y_pred == y).astype(float)

    def mean_of(values: np.ndarray) -> MetricFn:
        return lambda w: _ratio(w @ values, w.sum(axis=1))

    fns: dict[str, MetricFn] = {"accuracy": mean_of(correct), "log_loss": mean_of(loss)}
    if positive is not None:
        is_pos = y == positive
        p_pos = proba[:, list(classes).index(positive)]
        tp, fp, fn = (m.astype(float) for m in _counts(y_pred == positive, is_pos))
        fns["precision"] = lambda w: _ratio(w @ tp, w @ (tp + fp))
        fns["recall"] = lambda w: _ratio(w @ tp, w @ (tp + fn))
        fns["f1"] = lambda w: _ratio(2 * (w @ tp), w @ (2 * tp + fp + fn))
        fns["roc_auc"] = _auc(p_pos, is_pos)
        fns["average_precision"] = _average_precision(p_pos, is_pos)
        fns["brier"] = mean_of((p_pos - is_pos) ** 2)
        return fns
    per_class = [_counts(y_pred == c, y == c) for c in classes_arr]
    tps = np.stack([c[0] for c in per_class], axis=1).astype(float)
    fps = np.stack([c[1] for c in per_class], axis=1).astype(float)
    fns_ = np.stack([c[2] for c in per_class], axis=1).astype(float)
    fns["precision"] = lambda w: _ratio(w @ tps, w @ (tps + fps)).mean(axis=1)
    fns["recall"] = lambda w: _ratio(w @ tps, w @ (tps + fns_)).mean(axis=1)
    fns["f1"] = lambda w: _ratio(2 * (w @ tps), w @ (2 * tps + fps + fns_)).mean(axis=1)
    present = [i for i in range(len(classes_arr)) if onehot[:, i].any() and not onehot[:, i].all()]
    aucs = [_auc(proba[:, i], onehot[:, i]) for i in present]
    aps = [_average_precision(proba[:, i], onehot[:, i]) for i in present]
    if len(present) >= 2:
        fns["roc_auc"] = lambda w: np.nanmean(np.stack([f(w) for f in aucs]), axis=0)
    if present:
        fns["average_precision"] = lambda w: np.nanmean(np.stack([f(w) for f in aps]), axis=0)
    fns["brier"] = mean_of(((proba - onehot) ** 2).sum(axis=1))
    return fns


def regression_functions(y: np.ndarray, predicted: np.ndarray) -> dict[str, MetricFn]:
    """Weighted versions of ``core.metrics.regression_metrics``' figures."""
    y = np.asarray(y, dtype=float)
    err = y - np.asarray(predicted, dtype=float)

    def r2(w: Weights) -> np.ndarray:
        n = w.sum(axis=1)
        mean = _ratio(w @ y, n)
        total = w @ (y**2) - n * mean**2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, 1 - (w @ (err**2)) / total, np.nan)

    fns: dict[str, MetricFn] = {
        "mae": lambda w: _ratio(w @ np.abs(err), w.sum(axis=1)),
        "rmse": lambda w: np.sqrt(_ratio(w @ (err**2), w.sum(axis=1))),
        "r2": r2,
    }
    if len(y) and not np.any(y == 0):
        fns["mape"] = lambda w: _ratio(w @ np.abs(err / y), w.sum(axis=1))
    return fns


def functions(task: str, y: np.ndarray, predictions: np.ndarray, classes: Any, positive: Any) -> dict:
    """The weighted metric functions of ``task`` for one model's predictions."""
    if task == "classification":
        return classification_functions(y, predictions, list(classes), positive)
    return regression_functions(y, predictions)


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


def point(fns: dict[str, MetricFn], n: int) -> dict[str, float]:
    """Each metric with every row weighted once."""
    ones = np.ones((1, n))
    return {k: float(fn(ones)[0]) for k, fn in fns.items()}


def interval(value: float | None, samples: np.ndarray, level: float = LEVEL) -> Interval:
    """``value`` with the percentile interval of its bootstrap ``samples``."""
    finite = samples[np.isfinite(samples)]
    if value is None or not np.isfinite(value) or len(finite) < 0.9 * len(samples):
        return Interval(_r(value), None, None)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(_r(value), _r(float(low)), _r(float(high)))


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
    rows = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
    sub = own_intervals(task, y[rows], predictions[rows], classes, positive, seed=seed)
    shrink = (max_rows / n) ** 0.5
    out = {}
    for name, found in sub.items():
        value = points[name]
        if found.value is None or found.low is None or found.high is None or not np.isfinite(value):
            out[name] = Interval(_r(value) if np.isfinite(value) else None, None, None)
            continue
        low = value - (found.value - found.low) * shrink
        high = value + (found.high - found.value) * shrink
        out[name] = Interval(_r(value), _r(low), _r(high))
    return out


def unseen(test_keys: np.ndarray, train_keys: np.ndarray) -> np.ndarray:
    """Mask of test rows whose key is not among the rows a model trained on."""
    return ~np.isin(test_keys, train_keys)


def align_proba(proba: np.ndarray, classes: list[Any], wanted: list[Any]) -> np.ndarray | None:
    """``proba``'s columns reordered to ``wanted`` classes; None when the class sets differ."""
    if sorted(map(str, classes)) != sorted(map(str, wanted)):
        return None
    index = {str(c): i for i, c in enumerate(classes)}
    return proba[:, [index[str(c)] for c in wanted]]
