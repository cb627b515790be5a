"""Pure metric code: quality by task, dummy baseline, per-slice metrics and their largest gaps."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

DIGITS = 6


def _r(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), DIGITS)


def classification_metrics(
    y_true: pd.Series | np.ndarray, proba: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, float | None]:
    """Accuracy, precision, recall, f1, ROC AUC, average precision, log loss, Brier.

    Binary metrics are about ``positive``; multiclass ones are macro averages.
    """
    y = np.asarray(y_true)
    classes_arr = np.asarray(classes)
    y_pred = classes_arr[np.argmax(proba, axis=1)]
    out: dict[str, float | None] = {"accuracy": _r(float(np.mean(y == y_pred)))}
    if positive is not None:
        pos = list(classes).index(positive)
        is_pos = y == positive
        p_pos = proba[:, pos]
        out["precision"] = _r(skm.precision_score(is_pos, y_pred == positive, zero_division=0))
        out["recall"] = _r(skm.recall_score(is_pos, y_pred == positive, zero_division=0))
        out["f1"] = _r(skm.f1_score(is_pos, y_pred == positive, zero_division=0))
        both = is_pos.any() and (~is_pos).any()
        out["roc_auc"] = _r(skm.roc_auc_score(is_pos, p_pos)) if both else None
        out["average_precision"] = _r(skm.average_precision_score(is_pos, p_pos)) if both else None
        out["brier"] = _r(skm.brier_score_loss(is_pos, p_pos))
    else:
        kw: dict[str, Any] = {"average": "macro", "labels": classes, "zero_division": 0}
        out["precision"] = _r(skm.precision_score(y, y_pred, **kw))
        out["recall"] = _r(skm.recall_score(y, y_pred, **kw))
        out["f1"] = _r(skm.f1_score(y, y_pred, **kw))
        onehot = (y[:, None] == classes_arr[None, :]).astype(float)
        present = onehot.any(axis=0) & (~onehot.astype(bool)).any(axis=0)
        out["roc_auc"] = (
            _r(skm.roc_auc_score(onehot[:, present], proba[:, present], average="macro"))
            if present.sum() >= 2
            else None
        )
        out["average_precision"] = (
            _r(skm.average_precision_score(onehot[:, present], proba[:, present], average="macro"))
            if present.any()
            else None
        )
        out["brier"] = _r(float(np.mean(np.sum((proba - onehot) ** 2, axis=1))))
    out["log_loss"] = _r(log_loss(y, proba, classes))
    return out


def log_loss(y: np.ndarray, proba: np.ndarray, classes: list[Any]) -> float:
    """Mean negative log-probability of the true class (probabilities clipped at 1e-15).

    Same value as sklearn's log_loss, without re-encoding the labels on every call, which
    dominated evaluation time at millions of rows.
    """
    codes = pd.Categorical(y, categories=classes).codes
    if len(codes) == 0:
        return float("nan")
    rows = proba / proba.sum(axis=1, keepdims=True)
    # A class the model never saw (absent from training) has probability 0 for it: clipped, as
    # sklearn clips, rather than an error that would stop evaluate.
    true_p = np.where(codes >= 0, rows[np.arange(len(codes)), np.clip(codes, 0, None)], 0.0)
    return float(-np.mean(np.log(np.clip(true_p, 1e-15, 1))))


def regression_metrics(y_true: pd.Series | np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE, R² and MAPE (MAPE only where no true value is zero)."""
    y = np.asarray(y_true, dtype=float)
    out = {
        "mae": _r(skm.mean_absolute_error(y, y_pred)),
        "rmse": _r(skm.root_mean_squared_error(y, y_pred)),
        "r2": _r(skm.r2_score(y, y_pred)) if len(y) > 1 else None,
        "mape": None,
    }
    if len(y) and not np.any(y == 0):
        out["mape"] = _r(skm.mean_absolute_percentage_error(y, y_pred))
    return out


def score(task: str, model: Any, x: pd.DataFrame, y: pd.Series, positive: Any = None) -> dict[str, Any]:
    """Quality metrics of a fitted model on (x, y)."""
    if task == "classification":
        return classification_metrics(y, model.predict_proba(x), list(model.classes_), positive)
    return regression_metrics(y, model.predict(x))


def baseline(task: str, x: pd.DataFrame, y: pd.Series) -> Any:
    """The dummy model every metric has to beat: class priors, or the mean."""
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor()
    return dummy.fit(x, y)


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
