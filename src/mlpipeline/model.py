"""Build the scikit-learn Pipeline from settings: preprocessing chosen per column type + estimator."""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpipeline.config import Settings
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
    return cls(**params)


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


def build_pipeline(estimator: Any, kinds: dict[str, str]) -> Pipeline:
    """Impute + scale numeric columns, impute + one-hot categorical ones, then the estimator."""
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=True,
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])
