"""Metric code against values worked out by hand."""

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


def test_baseline_predicts_priors() -> None:
    y = pd.Series(["a"] * 3 + ["b"])
    dummy = m.baseline("classification", pd.DataFrame(index=y.index), y)
    assert dummy.predict_proba(pd.DataFrame(index=range(2)))[0].tolist() == [0.75, 0.25]
    reg = m.baseline("regression", pd.DataFrame(index=range(3)), pd.Series([1.0, 2.0, 6.0]))
    assert reg.predict(pd.DataFrame(index=range(1)))[0] == 3.0


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
