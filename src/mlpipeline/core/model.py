"""Build the scikit-learn Pipeline from settings: preprocessing chosen per column type + estimator."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
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
    """'numeric', 'datetime' or 'categorical' per column."""
    kinds: dict[str, str] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds[str(name)] = "categorical"
        elif pd.api.types.is_numeric_dtype(dtype):
            kinds[str(name)] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[str(name)] = "datetime"
        else:
            kinds[str(name)] = "categorical"
    return kinds


DATE_PARTS = ("year", "month", "dayofweek", "days")


def date_parts(frame: pd.DataFrame) -> np.ndarray:
    """Year, month, day of week and days since 1970 of each date column (NaN where missing).

    A date one-hot encoded is one column per day seen, useless for a day not seen; its parts carry
    trend (days, year) and seasonality (month, weekday) to any date. Pickled with the model, so it
    stays a module-level function.
    """
    blocks = []
    for name in frame.columns:
        when = pd.to_datetime(frame[name], errors="coerce")
        days = (when - pd.Timestamp("1970-01-01")).dt.days
        blocks += [when.dt.year, when.dt.month, when.dt.dayofweek, days]
    return (
        np.column_stack([b.to_numpy(dtype=float, na_value=np.nan) for b in blocks])
        if blocks
        else np.empty((len(frame), 0))
    )


def date_part_names(_transformer: Any, columns: Any) -> np.ndarray:
    """Output names of ``date_parts``: ``<column>_<part>``."""
    return np.asarray([f"{c}_{part}" for c in columns for part in DATE_PARTS], dtype=object)


# Estimators that cannot take a sparse matrix, and that encode categories natively instead.
NATIVE_CATEGORIES = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
# One-hot columns per text feature at most: rarer categories share an "infrequent" column, so a wide
# text column (a country, a room code) cannot blow the matrix up to thousands of dense columns.
MAX_ONE_HOT = 30
# Native categorical support takes at most 255 bins per feature, one of them for missing values.
MAX_NATIVE_CATEGORIES = 254


def build_pipeline(estimator: Any, kinds: dict[str, str]) -> Pipeline:
    """Numeric columns imputed (median) and scaled, dates split into parts, text encoded, then the estimator.

    Text: one-hot with at most ``MAX_ONE_HOT`` columns per feature for most estimators (a missing
    category is a category of its own; imputing first would turn every text column into an array
    of Python strings, the largest memory cost at millions of rows). Hist gradient boosting gets
    ordinal codes and its native categorical support: as accurate, and a wide column stays one
    column (a wide-column regression took 41 s one-hot, 1.7 s native, for the same R2).
    """
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    dates = [c for c, k in kinds.items() if k == "datetime"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    native = type(estimator).__name__ in NATIVE_CATEGORIES
    if native:
        encoder: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=MAX_NATIVE_CATEGORIES,
        )
        if estimator.get_params().get("categorical_features") in (None, "from_dtype"):
            width = len(numeric) + len(DATE_PARTS) * len(dates)
            estimator.set_params(categorical_features=[False] * width + [True] * len(categorical))
    else:
        # float32 0/1 is exact and halves the one-hot block.
        encoder = OneHotEncoder(
            handle_unknown="ignore", sparse_output=True, dtype=np.float32, max_categories=MAX_ONE_HOT
        )
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "datetime",
                make_pipeline(
                    FunctionTransformer(date_parts, feature_names_out=date_part_names),
                    SimpleImputer(strategy="median", keep_empty_features=True),
                ),
                dates,
            ),
            ("categorical", encoder, categorical),
        ],
        remainder="drop",
        sparse_threshold=0.0 if native else 0.3,
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
