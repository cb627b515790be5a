"""Plot data for `dvc plots`: plain records, valid JSON (no Infinity), bounded in size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_curve,
    r2_score,
    roc_auc_score,
    roc_curve,
)

from mlpipeline.core.metrics import class_codes

MAX_POINTS = 200
MAX_ROWS = 10_000  # per-row plots (confusion, scatter) use at most this many test rows
IMPORTANCE_ROWS = 2_000
IMPORTANCE_REPEATS = 3
IMPORTANCE_CELLS = 5_000_000  # permuted copies predicted at once: bounds memory on wide tables


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
    idx = _rows(len(y), seed)
    actual = pd.Series(y).iloc[idx]  # only the drawn rows become Python objects
    predicted = np.asarray(classes)[np.argmax(proba[idx], axis=1)]
    plots = {
        "confusion": [{"actual": str(a), "predicted": str(p)} for a, p in zip(actual, predicted, strict=True)]
    }
    if positive is None:
        return plots
    index = list(classes).index(positive)
    is_pos = class_codes(y, classes) == index
    p_pos = proba[:, index]
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


def importance_metric(task: str, binary: bool) -> str:
    """The metric the importance plot is measured in: the task's threshold-free primary one.

    Accuracy (permutation_importance's default) barely moves on skewed classes, where a model that
    always says "no" is already 95% right, so it ranked the columns that carry the signal last.
    """
    if task == "regression":
        return "r2"
    return "roc_auc" if binary else "f1_macro"


IMPORTANCE_LABELS = {"roc_auc": "ROC AUC", "f1_macro": "macro f1", "r2": "R2", "accuracy": "accuracy"}


def importance_title(metric: str) -> str:
    """The importance plot's title in dvc.yaml: it says which metric the bars are in."""
    return f"Feature importance ({IMPORTANCE_LABELS[metric]} lost when shuffled)"


def importance(
    model: Any, x: pd.DataFrame, y: pd.Series, seed: int, metric: str, positive: Any = None
) -> list[dict[str, Any]]:
    """Permutation importance per input column in ``metric`` (what shuffling the column costs),
    on a seeded sample of the test set."""
    idx = _rows(len(x), seed, IMPORTANCE_ROWS)
    sample = x.iloc[idx].reset_index(drop=True)
    means = permutation_means(model, sample, y.iloc[idx], seed, metric, positive=positive)
    frame = pd.DataFrame({"feature": x.columns, "importance": means, "metric": metric})
    frame = frame.sort_values(["importance", "feature"], ascending=[False, True])
    return frame.round(6).to_dict("records")


def _scorer(model: Any, metric: str, truth: np.ndarray, positive: Any) -> tuple[Any, Any]:
    """(what to ask the model for, how to score an answer) for ``metric``; ROC AUC is about
    ``positive`` (default the second class, as scikit-learn's scorer)."""
    if metric == "r2":
        return model.predict, lambda answer: r2_score(truth, answer)
    if metric == "f1_macro":
        return model.predict, lambda answer: f1_score(truth, answer, average="macro", labels=model.classes_)
    if metric == "accuracy":
        return model.predict, lambda answer: accuracy_score(truth, answer)
    column = list(model.classes_).index(positive) if positive is not None else 1
    is_pos = truth == model.classes_[column]

    def score(answer: np.ndarray) -> float:
        # A sample holding one class has no ROC AUC; no column can be said to matter then.
        return roc_auc_score(is_pos, answer[:, column]) if 0 < is_pos.sum() < len(is_pos) else 0.0

    return model.predict_proba, score


def permutation_means(
    model: Any,
    x: pd.DataFrame,
    y: pd.Series,
    seed: int,
    metric: str = "accuracy",
    repeats: int = IMPORTANCE_REPEATS,
    positive: Any = None,
) -> np.ndarray:
    """scikit-learn's ``permutation_importance(model, x, y, n_repeats=repeats, random_state=seed,
    scoring=metric)`` ``.importances_mean`` (``roc_auc`` about ``positive``, default the second class).

    The same permutations, drawn the same way; but every permuted copy is predicted in one call
    (in chunks of at most ``IMPORTANCE_CELLS`` cells) instead of one call per column and repeat,
    whose fixed cost made this most of the evaluate stage. A test compares both.
    """
    truth = np.asarray(y)
    answer_of, score = _scorer(model, metric, truth, positive)
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    baseline = score(answer_of(x))
    per_chunk = max(1, IMPORTANCE_CELLS // max(x.size * repeats, 1))
    means = []
    for start in range(0, x.shape[1], per_chunk):
        columns = range(start, min(start + per_chunk, x.shape[1]))
        copies = [copy for j in columns for copy in _permuted(x, j, column_seed, repeats)]
        answers = answer_of(pd.concat(copies, ignore_index=True))
        blocks = answers.reshape(len(copies), len(x), *answers.shape[1:])
        for k in range(len(columns)):
            permuted = [score(blocks[k * repeats + r]) for r in range(repeats)]
            means.append(float(np.mean(baseline - np.array(permuted))))
    return np.array(means)


def _permuted(x: pd.DataFrame, j: int, seed: int, repeats: int) -> list[pd.DataFrame]:
    """``repeats`` copies of ``x`` with column ``j`` shuffled as scikit-learn shuffles it: one
    generator per column, each repeat shuffling the index again and the column with it."""
    random_state = np.random.RandomState(seed)
    order = np.arange(len(x))
    values = x.iloc[:, j]
    copies = []
    for _ in range(repeats):
        random_state.shuffle(order)
        values = values.iloc[order].set_axis(x.index)
        copy = x.copy()
        copy[x.columns[j]] = values
        copies.append(copy)
    return copies


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
