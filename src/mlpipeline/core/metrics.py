"""Pure metric code: quality by task, dummy baseline, per-slice metrics and their largest gaps.

Every quality metric has one implementation, written as a function of per-row weights: a row of
ones gives the ordinary figure, a row of bootstrap counts one resample of it. The point figures
in metrics.json and every resample the gate's intervals come from are the same arithmetic, held
to scikit-learn's by the tests (large offsets included).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

DIGITS = 6

Weights = np.ndarray  # (resamples, rows) counts; one row of ones is the point estimate
MetricFn = Callable[[Weights], np.ndarray]


def _r(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), DIGITS)


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


def class_codes(y: Any, classes: list[Any]) -> np.ndarray:
    """Each row's position in ``classes``, -1 for a label outside them: the arithmetic compares
    small integers, not Python objects, and a categorical target is read through its codes."""
    return np.asarray(pd.Categorical(y, categories=classes).codes)


def classification_functions(
    y: np.ndarray, proba: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, MetricFn]:
    """Accuracy, precision, recall, f1, ROC AUC, average precision, log loss and Brier as
    functions of row weights. Binary figures are about ``positive``; multiclass ones are macro
    averages (ROC AUC and average precision over the classes present and absent in the rows)."""
    codes = class_codes(y, classes)
    predicted = np.argmax(proba, axis=1)
    onehot = codes[:, None] == np.arange(len(classes))[None, :]
    rows = proba / proba.sum(axis=1, keepdims=True)
    true_p = np.where(onehot.any(axis=1), (rows * onehot).sum(axis=1), 0.0)
    loss = -np.log(np.clip(true_p, 1e-15, 1))
    correct = (predicted == codes).astype(float)

    def mean_of(values: np.ndarray) -> MetricFn:
        return lambda w: _ratio(w @ values, w.sum(axis=1))

    fns: dict[str, MetricFn] = {"accuracy": mean_of(correct), "log_loss": mean_of(loss)}
    if positive is not None:
        index = list(classes).index(positive)
        is_pos = codes == index
        p_pos = proba[:, index]
        tp, fp, fn = (m.astype(float) for m in _counts(predicted == index, is_pos))
        fns["precision"] = lambda w: _ratio(w @ tp, w @ (tp + fp))
        fns["recall"] = lambda w: _ratio(w @ tp, w @ (tp + fn))
        fns["f1"] = lambda w: _ratio(2 * (w @ tp), w @ (2 * tp + fp + fn))
        fns["roc_auc"] = _auc(p_pos, is_pos)
        fns["average_precision"] = _average_precision(p_pos, is_pos)
        fns["brier"] = mean_of((p_pos - is_pos) ** 2)
        return fns
    per_class = [_counts(predicted == i, codes == i) for i in range(len(classes))]
    tps = np.stack([c[0] for c in per_class], axis=1).astype(float)
    fps = np.stack([c[1] for c in per_class], axis=1).astype(float)
    fns_ = np.stack([c[2] for c in per_class], axis=1).astype(float)
    fns["precision"] = lambda w: _ratio(w @ tps, w @ (tps + fps)).mean(axis=1)
    fns["recall"] = lambda w: _ratio(w @ tps, w @ (tps + fns_)).mean(axis=1)
    fns["f1"] = lambda w: _ratio(2 * (w @ tps), w @ (2 * tps + fps + fns_)).mean(axis=1)
    present = [i for i in range(len(classes)) if onehot[:, i].any() and not onehot[:, i].all()]
    aucs = [_auc(proba[:, i], onehot[:, i]) for i in present]
    aps = [_average_precision(proba[:, i], onehot[:, i]) for i in present]
    if len(present) >= 2:
        fns["roc_auc"] = lambda w: np.nanmean(np.stack([f(w) for f in aucs]), axis=0)
    if present:
        fns["average_precision"] = lambda w: np.nanmean(np.stack([f(w) for f in aps]), axis=0)
    fns["brier"] = mean_of(((proba - onehot) ** 2).sum(axis=1))
    return fns


def regression_functions(y: np.ndarray, predicted: np.ndarray) -> dict[str, MetricFn]:
    """MAE, RMSE, R² and MAPE (MAPE only where no true value is zero) as functions of row weights."""
    y = np.asarray(y, dtype=float)
    err = y - np.asarray(predicted, dtype=float)
    # Centred first: the one-pass sum of squares w@y² - n·mean² cancels catastrophically when the
    # values sit far from zero (y = 1e8 + noise gave R² 0.94 for sklearn's 0.75).
    centred = y - (y.mean() if len(y) else 0.0)

    def r2(w: Weights) -> np.ndarray:
        n = w.sum(axis=1)
        shift = _ratio(w @ centred, n)
        total = w @ (centred**2) - n * shift**2
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
    """The metric functions of ``task`` for one model's predictions (probabilities or values)."""
    if task == "classification":
        return classification_functions(y, predictions, list(classes), positive)
    return regression_functions(y, predictions)


def point(fns: dict[str, MetricFn], n: int) -> dict[str, float]:
    """Each metric with every row weighted once (NaN where it is undefined)."""
    ones = np.ones((1, n))
    return {k: float(fn(ones)[0]) for k, fn in fns.items()}


def classification_metrics(
    y_true: pd.Series | np.ndarray, proba: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, float | None]:
    """The classification figures of ``classification_functions``, rounded; None where undefined
    (e.g. ROC AUC of rows of one class)."""
    fns = classification_functions(y_true, np.asarray(proba, dtype=float), list(classes), positive)
    found = {k: _r(v) for k, v in point(fns, len(y_true)).items()}
    names = ["accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "brier", "log_loss"]
    return {k: found.get(k) for k in names}


def regression_metrics(y_true: pd.Series | np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE, R² and MAPE, rounded; None where undefined (R² of constant values, MAPE where
    a true value is zero)."""
    y = np.asarray(y_true, dtype=float)
    found = {k: _r(v) for k, v in point(regression_functions(y, y_pred), len(y)).items()}
    return {k: found.get(k) for k in ("mae", "rmse", "r2", "mape")}


def score(task: str, model: Any, x: pd.DataFrame, y: pd.Series, positive: Any = None) -> dict[str, Any]:
    """Quality metrics of a fitted model on (x, y)."""
    if task == "classification":
        return classification_metrics(y, model.predict_proba(x), list(model.classes_), positive)
    return regression_metrics(y, model.predict(x))


def target_summary(task: str, y: pd.Series | np.ndarray) -> dict[str, Any]:
    """What the dummy baseline needs of the training target, in a form that partitions' summaries
    add up to the whole table's (``merge_summaries``): each class's count, or the values' sum and
    count."""
    if task == "classification":
        counts = pd.Series(y).value_counts(sort=False)
        return {"counts": {k: int(v) for k, v in counts.items() if v > 0}}
    values = np.asarray(y, dtype=float)
    return {"sums": [float(values.sum())], "count": len(values)}


def merge_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of the partitions' rows together."""
    if "counts" in parts[0]:
        total: Counter[Any] = Counter()
        for part in parts:
            total.update(part["counts"])
        return {"counts": dict(total)}
    return {"sums": [s for part in parts for s in part["sums"]], "count": sum(p["count"] for p in parts)}


def baseline_quality(
    task: str, summary: dict[str, Any], y: pd.Series, positive: Any = None
) -> dict[str, Any]:
    """The quality, on ``y``, of the dummy model every metric has to beat: the training target's
    class priors for every row (scikit-learn's ``DummyClassifier(strategy="prior")``), or its mean
    (``DummyRegressor``). From a summary, so a cluster needs no training row in one process."""
    if task == "classification":
        classes = sorted(summary["counts"])
        counts = np.array([summary["counts"][c] for c in classes])
        return classification_metrics(y, np.ones((len(y), 1)) * (counts / counts.sum()), classes, positive)
    # fsum: one partition's sum gives numpy's mean exactly; many give the correctly rounded total.
    return regression_metrics(y, np.full(len(y), math.fsum(summary["sums"]) / summary["count"]))


def slice_metrics(
    task: str,
    groups: pd.DataFrame,
    y: pd.Series,
    predictions: np.ndarray,
    classes: list[Any] | None,
    positive: Any,
    min_size: int,
    gap_columns: list[str] | None = None,
) -> dict[str, Any]:
    """Metrics per value of each slice column, and the largest gap between large-enough groups
    of the ``gap_columns`` (default: every slice column).

    ``predictions`` are class probabilities (classification) or values (regression).
    """
    y = y.reset_index(drop=True)
    by: dict[str, Any] = {}
    gaps: dict[str, dict[str, Any]] = {}
    for column in groups.columns:
        values = groups[column].reset_index(drop=True)
        per_group: dict[str, Any] = {}
        for value in sorted(values.dropna().unique().tolist(), key=str):
            mask = (values == value).to_numpy()
            if task == "classification":
                m = classification_metrics(y[mask], predictions[mask], list(classes or []), positive)
            else:
                m = regression_metrics(y[mask], predictions[mask])
            per_group[str(value)] = {"n": int(mask.sum()), **m}
        by[str(column)] = per_group
        if gap_columns and column not in gap_columns:
            continue
        for metric in next(iter(per_group.values()), {}):
            if metric == "n":
                continue
            usable = {
                g: v[metric] for g, v in per_group.items() if v["n"] >= min_size and v[metric] is not None
            }
            if len(usable) < 2:
                continue
            gap = max(usable.values()) - min(usable.values())
            if metric not in gaps or gap > gaps[metric]["value"]:
                gaps[metric] = {
                    "value": _r(gap),
                    "column": str(column),
                    "highest": max(usable, key=usable.__getitem__),
                    "lowest": min(usable, key=usable.__getitem__),
                }
    return {
        "by": by,
        "gaps": gaps,
        "gap_columns": list(gap_columns or groups.columns),
        "min_slice_size": min_size,
    }
