"""Plot data for `dvc plots`: plain records, valid JSON (no Infinity), bounded in size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import precision_recall_curve, roc_curve

MAX_POINTS = 200
MAX_ROWS = 10_000  # per-row plots (confusion, scatter) use at most this many test rows
IMPORTANCE_ROWS = 2_000


def _thin(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> list[dict[str, Any]]:
    if len(frame) > max_points:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_points).round().astype(int)]
    return frame.round(6).to_dict("records")


def _rows(n: int, seed: int, limit: int = MAX_ROWS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def classification_plots(
    y: pd.Series, proba: np.ndarray, classes: list[Any], positive: Any, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Confusion matrix rows; ROC, precision-recall and calibration curves for binary tasks."""
    y_arr = np.asarray(y)
    predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
    idx = _rows(len(y_arr), seed)
    plots = {
        "confusion": [
            {"actual": str(a), "predicted": str(p)} for a, p in zip(y_arr[idx], predicted[idx], strict=True)
        ]
    }
    if positive is None:
        return plots
    is_pos = y_arr == positive
    p_pos = proba[:, list(classes).index(positive)]
    if is_pos.any() and (~is_pos).any():
        fpr, tpr, _ = roc_curve(is_pos, p_pos)
        plots["roc"] = _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr}))
        precision, recall, _ = precision_recall_curve(is_pos, p_pos)
        plots["precision_recall"] = _thin(pd.DataFrame({"recall": recall, "precision": precision}))
    frac, mean_pred = calibration_curve(is_pos, p_pos, n_bins=10, strategy="quantile")
    plots["calibration"] = _thin(pd.DataFrame({"mean_predicted": mean_pred, "fraction_positive": frac}))
    return plots


def regression_plots(y: pd.Series, predicted: np.ndarray, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Predicted against actual, and residuals against predicted."""
    idx = _rows(len(y), seed)
    actual = np.asarray(y, dtype=float)[idx]
    pred = np.asarray(predicted, dtype=float)[idx]
    frame = pd.DataFrame({"actual": actual, "predicted": pred, "residual": actual - pred}).round(6)
    return {
        "predicted_vs_actual": frame[["actual", "predicted"]].to_dict("records"),
        "residuals": frame[["predicted", "residual"]].to_dict("records"),
    }


def importance(model: Any, x: pd.DataFrame, y: pd.Series, seed: int) -> list[dict[str, Any]]:
    """Permutation importance per input column, on a seeded sample of the test set."""
    idx = _rows(len(x), seed, IMPORTANCE_ROWS)
    result = permutation_importance(model, x.iloc[idx], y.iloc[idx], n_repeats=3, random_state=seed, n_jobs=1)
    frame = pd.DataFrame({"feature": x.columns, "importance": result.importances_mean})
    frame = frame.sort_values(["importance", "feature"], ascending=[False, True])
    return frame.round(6).to_dict("records")


def drift_chart(name: str, bins: list[str], reference: list[float], batch: list[float]) -> dict[str, Any]:
    """A Vega-Lite bar chart of one feature's shares per bin: training beside the batch."""
    values = [
        {"bin": b, "order": i, "rows": who, "share": share}
        for i, b in enumerate(bins)
        for who, share in (("training", reference[i]), ("batch", batch[i]))
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": name,
        "data": {"values": values},
        "mark": "bar",
        "width": 360,
        "encoding": {
            "y": {"field": "bin", "type": "nominal", "sort": {"field": "order"}, "title": None},
            "yOffset": {"field": "rows"},
            "x": {"field": "share", "type": "quantitative", "axis": {"format": "%"}},
            "color": {"field": "rows", "type": "nominal", "title": None},
        },
    }
