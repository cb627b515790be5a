"""Metric code against values worked out by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.core import metrics as m


def test_binary_metrics_by_hand() -> None:
    y = pd.Series(["n", "y", "y", "n"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])  # predicts n, y, n, y
    out = m.classification_metrics(y, proba, ["n", "y"], "y")
    assert out["accuracy"] == 0.5
    assert out["precision"] == 0.5 and out["recall"] == 0.5 and out["f1"] == 0.5
    assert out["roc_auc"] == 0.75  # pairs (pos, neg): (.8>.1), (.8>.7), (.4>.1), (.4<.7)
    assert out["brier"] == pytest.approx(np.mean([0.01, 0.04, 0.36, 0.49]), abs=1e-6)


def test_multiclass_uses_macro_average() -> None:
    y = pd.Series([0, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]])
    out = m.classification_metrics(y, proba, [0, 1, 2], None)
    # class 0: f1 1; class 1: p .5 r 1 → 2/3; class 2: p 1 r .5 → 2/3
    assert out["f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3, abs=1e-6)
    assert out["accuracy"] == 0.75
    assert out["log_loss"] > 0


def test_regression_metrics_and_undefined_mape() -> None:
    out = m.regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0]))
    assert out["mae"] == 1.0
    assert out["rmse"] == pytest.approx(np.sqrt(5 / 3), abs=1e-6)
    assert out["mape"] == pytest.approx((0 + 0.5 + 0.5) / 3, abs=1e-6)
    assert m.regression_metrics(np.array([0.0, 1.0]), np.array([0.0, 1.0]))["mape"] is None


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_baseline_from_a_summary_scores_as_scikit_learns_dummy_and_partitions_add_up(task: str) -> None:
    """Class priors (or the mean) from the training target's summary: the figures scikit-learn's
    dummy model gets on the same test rows, whether the summary is the whole table's or merged
    from its partitions' (categorical partitions among them, as a cluster's workers send)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    rng = np.random.default_rng(0)
    if task == "classification":
        train = pd.Series(rng.choice(["a", "b", "c"], 500, p=[0.6, 0.3, 0.1]))
        test, positive = pd.Series(rng.choice(["a", "b", "c"], 200)), "b"
        dummy = DummyClassifier(strategy="prior")
    else:
        train, test, positive = pd.Series(rng.normal(5, 2, 500)), pd.Series(rng.normal(5, 2, 200)), None
        dummy = DummyRegressor()
    x_train, x_test = pd.DataFrame(index=train.index), pd.DataFrame(index=test.index)
    expected = m.score(task, dummy.fit(x_train, train), x_test, test, positive)
    whole = m.target_summary(task, train)
    assert m.baseline_quality(task, whole, test, positive) == expected
    parts = [train[:100], train[100:350].astype("category"), train[350:]]
    merged = m.merge_summaries([m.target_summary(task, p) for p in parts])
    if task == "classification":
        assert merged == whole
    assert m.baseline_quality(task, merged, test, positive) == expected


def test_slice_gap_ignores_small_groups() -> None:
    groups = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4 + ["c"]})
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 100.0])
    pred = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 5.0, 0.0])
    out = m.slice_metrics("regression", groups, y, pred, None, None, min_size=2)
    assert out["by"]["g"]["c"]["n"] == 1
    assert out["gaps"]["mae"] == {"value": 1.0, "column": "g", "highest": "b", "lowest": "a"}


def test_gaps_only_over_fairness_columns() -> None:
    groups = pd.DataFrame({"fair": ["a", "a", "b", "b"], "business": ["x", "y", "x", "y"]})
    y = pd.Series([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 8.0])  # group b (fair) and y (business) err
    out = m.slice_metrics("regression", groups, y, pred, None, None, min_size=1, gap_columns=["fair"])
    assert set(out["by"]) == {"fair", "business"}
    assert out["gaps"]["mae"]["column"] == "fair" and out["gaps"]["mae"]["value"] == 2.0


def test_a_test_class_the_model_never_saw_costs_log_loss_instead_of_an_error() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    y = np.array(["a", "b", "c"], dtype=object)  # "c" was absent from training
    out = m.classification_metrics(y, proba, ["a", "b"], None)
    assert out["log_loss"] == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(1e-15)) / 3, rel=1e-6)
    assert out["accuracy"] == pytest.approx(2 / 3, abs=1e-6)


def _binary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.3, "Yes", "No").astype(object)
    score = np.round(1 / (1 + np.exp(-((y == "Yes") + rng.normal(size=n)))), 2)  # ties, as real ones have
    return y, np.column_stack([1 - score, score])


def _sklearn_binary(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    is_pos, p = y == "Yes", proba[:, 1]
    predicted = p > 0.5
    return {
        "accuracy": skm.accuracy_score(is_pos, predicted),
        "precision": skm.precision_score(is_pos, predicted, zero_division=0),
        "recall": skm.recall_score(is_pos, predicted),
        "f1": skm.f1_score(is_pos, predicted),
        "roc_auc": skm.roc_auc_score(is_pos, p),
        "average_precision": skm.average_precision_score(is_pos, p),
        "brier": skm.brier_score_loss(is_pos, p),
        "log_loss": skm.log_loss(is_pos, p),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_metrics_equal_sklearns_on_the_rows_and_on_a_resample(seed: int) -> None:
    from mlpipeline.core.compare import resample_weights

    y, proba = _binary(700, seed)
    assert m.classification_metrics(y, proba, ["No", "Yes"], "Yes") == pytest.approx(
        _sklearn_binary(y, proba), abs=1e-6
    )
    # A resample's counts weigh rows as repeating them would: the bootstrap scores what sklearn would.
    weights = next(resample_weights(len(y), 1, seed=9))
    rows = np.repeat(np.arange(len(y)), weights[0].astype(int))
    fns = m.classification_functions(y, proba, ["No", "Yes"], "Yes")
    on_weights = {k: float(f(weights)[0]) for k, f in fns.items()}
    assert on_weights == pytest.approx(_sklearn_binary(y[rows], proba[rows]), abs=1e-9)


def test_multiclass_metrics_equal_sklearns_macro_averages() -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(3)
    names = np.array(["a", "b", "c"], dtype=object)
    y = rng.choice(names, size=600, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(600, 3)) + 1.5 * (y[:, None] == names[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = names[proba.argmax(axis=1)]
    onehot = (y[:, None] == names[None, :]).astype(int)
    kw = {"average": "macro", "labels": list(names), "zero_division": 0}
    assert m.classification_metrics(y, proba, list(names), None) == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y, predicted),
            "precision": skm.precision_score(y, predicted, **kw),
            "recall": skm.recall_score(y, predicted, **kw),
            "f1": skm.f1_score(y, predicted, **kw),
            "roc_auc": skm.roc_auc_score(onehot, proba, average="macro"),
            "average_precision": skm.average_precision_score(onehot, proba, average="macro"),
            "brier": float(np.mean(((proba - onehot) ** 2).sum(axis=1))),
            "log_loss": skm.log_loss(y, proba, labels=list(names)),
        },
        abs=1e-6,
    )


@pytest.mark.parametrize("offset", [0.0, 1e4, 1e8])
def test_regression_metrics_equal_sklearns_far_from_zero(offset: float) -> None:
    """The one-pass sum of squares gave R² 0.94 for sklearn's 0.75 at an offset of 1e8."""
    from sklearn import metrics as skm

    from mlpipeline.core.compare import own_intervals

    rng = np.random.default_rng(4)
    y = offset + rng.normal(0, 1, 2000)
    predicted = y + rng.normal(0, 0.5, 2000)
    found = m.regression_metrics(y, predicted)
    assert found["r2"] == pytest.approx(skm.r2_score(y, predicted), abs=2e-6)
    assert found["mae"] == pytest.approx(skm.mean_absolute_error(y, predicted), abs=1e-6)
    assert found["rmse"] == pytest.approx(skm.root_mean_squared_error(y, predicted), abs=1e-6)
    r2 = own_intervals("regression", y, predicted, None, None, resamples=200)["r2"]
    assert r2.low is not None and r2.low <= r2.value <= r2.high < 1
