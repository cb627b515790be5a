"""Training on real data: better than the dummy, byte-deterministic, every task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris

from mlpipeline.config import Settings, parse_settings
from mlpipeline.core import metrics as m
from mlpipeline.core import plots
from mlpipeline.core.model import categorical_positions, categories_of, fit, merge_categories
from mlpipeline.core.split import split


def _settings(task: str, estimator: str, target: str, hyper: dict | None = None) -> Settings:
    return parse_settings(
        {
            "task": task,
            "data": {"raw": "x.csv", "contract": "c.yaml", "target": target},
            "split": {"policy": "stratified" if task == "classification" else "random"},
            "model": {"estimator": estimator, "hyperparameters": hyper or {}},
        }
    )


@pytest.fixture(scope="module")
def sample_split(sample_frame: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mlpipeline.core.frames import split_ready

    frame = split_ready(sample_frame.copy(), settings.data)
    train, test, _ = split(frame, settings.split, settings.data.target, settings.data.id_column)
    return train, test


def test_sample_model_beats_the_baseline(settings: Settings, sample_split) -> None:
    train, test = sample_split
    model, facts = fit(settings, train)
    features = [f["name"] for f in facts["features"]]
    y = test[settings.data.target]
    ours = m.score("classification", model, test[features], y, facts["positive_class"])
    summary = m.target_summary("classification", train[settings.data.target])
    floor = m.baseline_quality("classification", summary, y, facts["positive_class"])
    assert facts["positive_class"] == "Yes"
    assert ours["roc_auc"] > floor["roc_auc"] + 0.2
    assert ours["f1"] > floor["f1"] + 0.3
    assert "customer_id" not in features and "churn" not in features


@pytest.mark.integration  # a fresh interpreter
def test_training_is_byte_deterministic_across_processes(settings: Settings, sample_split, tmp_path) -> None:
    """A fresh interpreter (its own hash seed and import order: only what training needs) pickles
    the bytes this one does, with the suite's modules loaded and its own random hash seed. It is
    given no OpenBLAS kernel choice: the package pins its own (kernels.py), so on a CPU with
    AVX-512 it still trains with the kernels an AVX2 laptop uses, as this process does."""
    import io
    import os
    import subprocess
    import sys

    import joblib

    from mlpipeline.core.model import fit

    train, _ = sample_split
    train.to_parquet(tmp_path / "train.parquet")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    code = (
        # As in a stage's process (src/stage.py): the package is imported before numpy.
        "from mlpipeline.config import load_settings\nfrom mlpipeline.core.model import fit\n"
        "import io, sys, joblib, pandas as pd\n"
        "buf = io.BytesIO()\n"
        "joblib.dump(fit(load_settings(sys.argv[1]), pd.read_parquet(sys.argv[2]))[0], buf)\n"
        "sys.stdout.buffer.write(buf.getvalue())\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "params.yaml"), str(tmp_path / "train.parquet")],
        capture_output=True,
        check=True,
        env={**{k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}, "PYTHONHASHSEED": "1"},
    ).stdout
    here = io.BytesIO()
    joblib.dump(fit(settings, pd.read_parquet(tmp_path / "train.parquet"))[0], here)
    assert len(fresh) > 1000 and fresh == here.getvalue()


def test_categorical_and_plain_text_inputs_predict_the_same(settings: Settings, sample_split) -> None:
    # The pipeline trains on categoricals; a caller serving the model elsewhere passes strings.
    train, test = sample_split
    model, facts = fit(settings, train)
    x = test[[f["name"] for f in facts["features"]]]
    text = {c: "str" for c in x.columns if isinstance(x[c].dtype, pd.CategoricalDtype)}
    assert text, "the split should carry categoricals"
    np.testing.assert_array_equal(model.predict_proba(x), model.predict_proba(x.astype(text)))


def test_float32_one_hot_leaves_the_design_matrix_unchanged(settings: Settings, sample_split) -> None:
    train, _ = sample_split
    model, facts = fit(settings, train)
    x = train[[f["name"] for f in facts["features"]]]
    wide = clone(model[0]).set_params(categorical__dtype=np.float64).fit(x)
    ours = model[0].transform(x)
    assert ours.dtype == np.float64
    np.testing.assert_array_equal(ours, wide.transform(x))


@pytest.mark.parametrize(
    "estimator", ["logistic_regression", "random_forest", "hist_gradient_boosting", "lightgbm"]
)
def test_multiclass(estimator: str) -> None:
    frame = load_iris(as_frame=True).frame
    settings = _settings(
        "classification", estimator, "target", {"max_iter": 500} if "logistic" in estimator else {}
    )
    train, test, _ = split(frame, settings.split, "target")
    model, facts = fit(settings, train)
    assert facts["classes"] == [0, 1, 2] and facts["positive_class"] is None
    features = [f["name"] for f in facts["features"]]
    assert m.score("classification", model, test[features], test["target"])["f1"] > 0.8


@pytest.mark.parametrize("estimator", ["ridge", "random_forest", "hist_gradient_boosting", "lightgbm"])
def test_regression(estimator: str) -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame
    settings = _settings("regression", estimator, "target")
    train, test, _ = split(frame, settings.split, "target")
    model, facts = fit(settings, train)
    features = [f["name"] for f in facts["features"]]
    ours = m.score("regression", model, test[features], test["target"])
    floor = m.baseline_quality("regression", m.target_summary("regression", train["target"]), test["target"])
    assert ours["r2"] > 0.2 > floor["r2"]
    assert ours["mae"] < floor["mae"]


def test_constant_and_id_like_columns_are_left_out() -> None:
    frame = load_iris(as_frame=True).frame
    frame["const"] = 1
    frame["code"] = [f"row{i}" for i in range(len(frame))]
    settings = _settings("classification", "random_forest", "target")
    _, facts = fit(settings, frame)
    assert facts["left_out"]["const"] == "constant"
    assert facts["left_out"]["code"].startswith("looks like an id")
    assert {f["name"] for f in facts["features"]} == set(load_iris().feature_names)


@pytest.mark.parametrize(
    ("metric", "cells"),  # one call, and many chunks; the plot's metric and scikit-learn's default
    [("roc_auc", plots.IMPORTANCE_CELLS), ("roc_auc", 20_000), ("accuracy", 20_000)],
)
def test_batched_permutation_importance_is_scikit_learns(
    settings: Settings, sample_split, cells: int, metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importance plot permutes as permutation_importance does, predicting all copies at once."""
    from sklearn.inspection import permutation_importance

    train, test = sample_split
    model, facts = fit(settings, train)
    features = [f["name"] for f in facts["features"]]
    x, y = test[features].iloc[:500], test[settings.data.target].iloc[:500]
    monkeypatch.setattr(plots, "IMPORTANCE_CELLS", cells)
    ours = plots.permutation_means(model, x, y, seed=7, metric=metric, positive="Yes")
    theirs = permutation_importance(model, x, y, scoring=metric, n_repeats=3, random_state=7, n_jobs=1)
    np.testing.assert_allclose(ours, theirs.importances_mean, rtol=0, atol=1e-12)
    assert np.abs(ours).max() > 0.01  # the model uses some column: a real comparison


@pytest.mark.parametrize(
    ("task", "estimator", "metric"),
    [("regression", "ridge", "r2"), ("classification", "logistic_regression", "f1_macro")],
)
def test_batched_permutation_importance_is_scikit_learns_for_other_tasks(
    task: str, estimator: str, metric: str
) -> None:
    from sklearn.inspection import permutation_importance

    frame = (load_diabetes if task == "regression" else load_iris)(as_frame=True).frame
    settings = _settings(task, estimator, "target", {"max_iter": 1000} if task == "classification" else None)
    model, facts = fit(settings, frame)
    x, y = frame[[f["name"] for f in facts["features"]]], frame["target"]
    assert plots.importance_metric(task, binary=False) == metric
    ours = plots.permutation_means(model, x, y, seed=3, metric=metric)
    theirs = permutation_importance(model, x, y, scoring=metric, n_repeats=3, random_state=3, n_jobs=1)
    np.testing.assert_allclose(ours, theirs.importances_mean, rtol=0, atol=1e-12)


def test_importance_ranks_the_signal_first_on_skewed_classes() -> None:
    """5% positives: shuffling a column that carries the signal costs accuracy almost nothing (the
    model says "no" to nearly every row either way), so accuracy ranked noise alongside it; the
    plot's metric, ROC AUC, puts the signal first."""
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({f"noise_{i}": rng.normal(size=n) for i in range(6)})
    frame["rate"], frame["grade"] = rng.normal(size=n), rng.normal(size=n)
    logit = -4.2 + 0.9 * frame["rate"] + 0.7 * frame["grade"]
    frame["target"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "bad", "good")
    assert 0.02 < (frame["target"] == "bad").mean() < 0.08
    settings = _settings("classification", "logistic_regression", "target")
    model, _ = fit(settings, frame.iloc[:3000])
    test = frame.iloc[3000:]
    metric = plots.importance_metric("classification", binary=True)
    ranked = plots.importance(model, test.drop(columns="target"), test["target"], 0, metric, "bad")
    assert metric == "roc_auc" and {r["metric"] for r in ranked} == {"roc_auc"}
    assert [r["feature"] for r in ranked[:2]] == ["rate", "grade"]
    assert ranked[1]["importance"] > 3 * max(abs(r["importance"]) for r in ranked[2:])
    by_accuracy = plots.importance(model, test.drop(columns="target"), test["target"], 0, "accuracy")
    assert by_accuracy[-1]["feature"] == "rate"  # what the plot showed before: the signal last


def test_lightgbm_reads_category_codes_and_beats_the_baseline(settings: Settings, sample_split) -> None:
    from lightgbm import LGBMClassifier

    train, test = sample_split
    lightgbm = {"estimator": "lightgbm", "hyperparameters": {"n_estimators": 100}}
    boosted = settings.model_copy(update={"model": settings.model.model_copy(update=lightgbm)})
    model, facts = fit(boosted, train)
    features = [f["name"] for f in facts["features"]]
    assert isinstance(model[-1], LGBMClassifier) and facts["classes"] == ["No", "Yes"]
    # The text columns reach LightGBM as categories (codes it splits on as sets), not as numbers.
    kinds = {f["name"]: f["kind"] for f in facts["features"]}
    names = list(model[0].get_feature_names_out())
    coded = [names[i] for i in categorical_positions(kinds)]
    assert coded and all(n.startswith("categorical__") for n in coded)
    assert len(coded) == sum(k == "categorical" for k in kinds.values())
    y = test[settings.data.target]
    ours = m.score("classification", model, test[features], y, "Yes")
    assert ours["roc_auc"] > 0.8 and set(model.predict(test[features])) <= {"No", "Yes"}


def test_categories_merged_over_partitions_are_the_whole_tables(sample_split) -> None:
    train, _ = sample_split
    columns = ["contract", "payment_method", "female"]
    parts = [categories_of(train.iloc[i::5], columns) for i in range(5)]
    assert merge_categories(parts) == categories_of(train, columns)


def test_a_classifier_trained_on_class_codes_answers_as_one_trained_on_labels(sample_split) -> None:
    """What the cluster path does to LightGBM's Dask model (stages/train.relabel): the same
    probabilities, and labels, as LightGBM trained on the labels themselves."""
    from lightgbm import LGBMClassifier

    from mlpipeline.stages.train import relabel

    train, test = sample_split
    x, x_test = (f[["tenure", "monthly_charges"]].to_numpy(float) for f in (train, test))
    labels = train["churn"].to_numpy(object)
    params = {"n_estimators": 20, "verbose": -1, "random_state": 0}
    direct = LGBMClassifier(**params).fit(x, labels)
    codes = pd.Categorical(labels, categories=["No", "Yes"]).codes
    coded = relabel(LGBMClassifier(**params).fit(x, codes), ["No", "Yes"])
    assert list(coded.classes_) == list(direct.classes_) == ["No", "Yes"]
    np.testing.assert_array_equal(coded.predict_proba(x_test), direct.predict_proba(x_test))
    np.testing.assert_array_equal(coded.predict(x_test), direct.predict(x_test))
