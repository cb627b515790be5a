"""Build the scikit-learn Pipeline from settings: preprocessing chosen per column type + estimator."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from mlpipeline.config import Settings
from mlpipeline.core.features import positive_class, select_features
from mlpipeline.errors import PipelineError

ESTIMATORS: dict[tuple[str, str], str] = {
    ("logistic_regression", "classification"): "sklearn.linear_model:LogisticRegression",
    ("ridge", "regression"): "sklearn.linear_model:Ridge",
    ("random_forest", "classification"): "sklearn.ensemble:RandomForestClassifier",
    ("random_forest", "regression"): "sklearn.ensemble:RandomForestRegressor",
    ("hist_gradient_boosting", "classification"): "sklearn.ensemble:HistGradientBoostingClassifier",
    ("hist_gradient_boosting", "regression"): "sklearn.ensemble:HistGradientBoostingRegressor",
}


def make_estimator(settings: Settings) -> Any:
    """The configured estimator, seeded; unknown hyperparameters are named with the allowed ones."""
    module_name, class_name = ESTIMATORS[(settings.model.estimator, settings.task)].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    allowed = cls().get_params()
    unknown = sorted(set(settings.model.hyperparameters) - set(allowed))
    if unknown:
        raise PipelineError(
            f"params.yaml: model.hyperparameters.{unknown[0]}: not a parameter of {class_name};"
            f" allowed: {', '.join(sorted(allowed))}"
        )
    params = dict(settings.model.hyperparameters)
    if "random_state" in allowed:
        params.setdefault("random_state", settings.model.seed)
    estimator = cls(**params)
    try:
        # scikit-learn checks values only inside fit; checked here, `make repro` refuses a bad
        # value before DVC runs anything (commands/settings.py builds the estimator).
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise PipelineError(f"params.yaml: model.hyperparameters: {exc}") from None
    return estimator


def feature_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """'numeric' or 'categorical' per column; datetimes have no kind and stay out of the model."""
    kinds: dict[str, str] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds[str(name)] = "categorical"
        elif pd.api.types.is_numeric_dtype(dtype):
            kinds[str(name)] = "numeric"
        elif not pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[str(name)] = "categorical"
    return kinds


# Estimators that cannot take the sparse one-hot matrix.
NEEDS_DENSE = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")


def build_pipeline(estimator: Any, kinds: dict[str, str]) -> Pipeline:
    """Impute (median) and scale numeric columns, one-hot encode categorical ones, then the estimator.

    A missing category becomes a category of its own. Imputing it first would turn every text
    column into a numpy array of Python strings, the largest memory cost at millions of rows;
    the sparse one-hot output is the next largest saving.
    """
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    dense = type(estimator).__name__ in NEEDS_DENSE
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            # float32 0/1 is exact and halves the one-hot block; stacking with the float64
            # numeric block gives the same float64 matrix as before.
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=not dense, dtype=np.float32),
                categorical,
            ),
        ],
        remainder="drop",
        sparse_threshold=0.0 if dense else 0.3,
        verbose_feature_names_out=True,
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def fit(settings: Settings, train: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    """Fit the pipeline; return it and the facts the card records about its features and classes."""
    estimator = make_estimator(settings)  # first, so a bad hyperparameter fails before any work
    features, left_out = select_features(train, settings)
    kinds = feature_kinds(train[features])
    pipeline = build_pipeline(estimator, kinds)
    y = train[settings.data.target]
    try:
        pipeline.fit(train[features], y)
    except InvalidParameterError as exc:
        raise PipelineError(f"params.yaml: model.hyperparameters: {exc}") from None
    facts: dict[str, Any] = {
        "features": [
            {"name": c, "kind": kinds.get(c, "unused"), "dtype": str(train[c].dtype)} for c in features
        ],
        "left_out": left_out,
    }
    if settings.task == "classification":
        facts["classes"] = [_plain(c) for c in pipeline.classes_]
        facts["positive_class"] = _plain(positive_class(y, settings))
    return pipeline, facts


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
