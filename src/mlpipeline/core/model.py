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
from mlpipeline.core.features import positive_class_of, select_features
from mlpipeline.core.project import DerivedFeatures, EncodedLabels, derived_steps, resolve
from mlpipeline.errors import PipelineError

ESTIMATORS: dict[tuple[str, str], str] = {
    ("logistic_regression", "classification"): "sklearn.linear_model:LogisticRegression",
    ("ridge", "regression"): "sklearn.linear_model:Ridge",
    ("random_forest", "classification"): "sklearn.ensemble:RandomForestClassifier",
    ("random_forest", "regression"): "sklearn.ensemble:RandomForestRegressor",
    ("hist_gradient_boosting", "classification"): "sklearn.ensemble:HistGradientBoostingClassifier",
    ("hist_gradient_boosting", "regression"): "sklearn.ensemble:HistGradientBoostingRegressor",
    # With engine.name dask it trains through LightGBM's Dask estimator (stages/train.py).
    ("lightgbm", "classification"): "lightgbm:LGBMClassifier",
    ("lightgbm", "regression"): "lightgbm:LGBMRegressor",
}
# LightGBM's settings for a quiet run whose model is the same on every run of the same data.
LIGHTGBM_DEFAULTS = {"verbose": -1, "deterministic": True, "force_row_wise": True}


# The parameter each family takes its seed by, the first one a class has.
SEED_PARAMETERS = ("random_state", "seed", "random_seed")


def estimator_class(settings: Settings) -> Any:
    """The estimator's class: a built-in name's, or the one an import path names, checked to be a
    scikit-learn-compatible model of the task (``fit``, ``predict``, ``get_params``; for a
    classifier ``predict_proba``, which every classification metric and plot but f1 needs)."""
    name, task = settings.model.estimator, settings.task
    if (name, task) in ESTIMATORS:
        module_name, class_name = ESTIMATORS[(name, task)].split(":")
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except ImportError:
            raise PipelineError(
                f"params.yaml: model.estimator: {name} needs the {module_name} package,"
                " which requirements.lock installs: run `make setup`"
            ) from None
    cls = resolve(name, "model.estimator")
    missing = [m for m in ("fit", "predict", "get_params") if not hasattr(cls, m)]
    if not isinstance(cls, type) or missing:
        lacks = f"has no {', '.join(missing)}" if missing else "is not a class"
        raise PipelineError(
            f"params.yaml: model.estimator: {name} {lacks}; a model is a scikit-learn-compatible class"
        )
    kind = getattr(cls, "_estimator_type", None) or _tagged_kind(cls)
    wanted = "classifier" if task == "classification" else "regressor"
    if kind is not None and kind != wanted:
        raise PipelineError(
            f"params.yaml: model.estimator: {name} is a {kind}; task: {task} needs a {wanted}"
        )
    if task == "classification" and not hasattr(cls, "predict_proba"):
        raise PipelineError(
            f"params.yaml: model.estimator: {name} has no predict_proba, which roc_auc, brier, log_loss and"
            " the curves need: choose a classifier that has it, or wrap this one in"
            " sklearn.calibration:CalibratedClassifierCV (in src/project/models.py)"
        )
    return cls


def _tagged_kind(cls: Any) -> str | None:
    """What scikit-learn's tags say a class is (``classifier``, ``regressor``), where it can tell."""
    try:
        tags = cls().__sklearn_tags__()
    except Exception:  # a class that needs arguments, or predates tags: not told here
        return None
    return getattr(tags, "estimator_type", None)


def make_estimator(settings: Settings) -> Any:
    """The configured estimator, seeded; unknown hyperparameters are named with the allowed ones."""
    cls = estimator_class(settings)
    class_name = cls.__name__
    lightgbm = cls.__module__.startswith("lightgbm")
    try:
        defaults = cls().get_params()
    except TypeError as exc:
        raise PipelineError(
            f"params.yaml: model.estimator: {settings.model.estimator} cannot be made without arguments"
            f" ({exc}); give it defaults, as scikit-learn's estimators have"
        ) from None
    allowed = {**defaults, **(LIGHTGBM_DEFAULTS if lightgbm else {})}
    unknown = sorted(set(settings.model.hyperparameters) - set(allowed))
    if unknown:
        raise PipelineError(
            f"params.yaml: model.hyperparameters.{unknown[0]}: not a parameter of {class_name};"
            f" allowed: {', '.join(sorted(allowed))}"
        )
    params = dict(settings.model.hyperparameters)
    seed = next((p for p in SEED_PARAMETERS if p in allowed), None)
    if seed is not None:
        params.setdefault(seed, settings.model.seed)
    if lightgbm:
        params = {**LIGHTGBM_DEFAULTS, **params}
    estimator = cls(**params)
    if ":" in settings.model.estimator and settings.task == "classification":
        estimator = EncodedLabels(estimator)  # labels as codes, answers as labels
    if not hasattr(estimator, "_parameter_constraints"):
        return estimator  # LightGBM and models named by import path check their values when they train
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


def is_lightgbm(estimator: Any) -> bool:
    """LightGBM's estimators: trees that read NaN and category codes natively."""
    return type(estimator).__module__.startswith("lightgbm")


def categories_of(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    """Each column's distinct values, sorted: the encoder's categories, the same however the rows
    are split across partitions (see ``merge_categories``)."""
    return {c: _sorted(frame[c].dropna().unique().tolist()) for c in columns}


def merge_categories(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """The union of ``categories_of`` over partitions."""
    merged: dict[str, set[Any]] = {}
    for part in parts:
        for column, values in part.items():
            merged.setdefault(column, set()).update(values)
    return {c: _sorted(list(v)) for c, v in merged.items()}


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types in a text column: any fixed order will do
        return sorted(values, key=repr)


def lightgbm_preprocess(kinds: dict[str, str], categories: dict[str, list[Any]]) -> ColumnTransformer:
    """Numbers as they are (NaN included), dates as parts, text as category codes (NaN for a
    missing or unseen value): nothing that needs every row to fit, so the same step serves a
    cluster's partitions and one process."""
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    dates = [c for c, k in kinds.items() if k == "datetime"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    encoder = OrdinalEncoder(
        categories=[np.asarray(categories[c], dtype=object) for c in categorical] or "auto",
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
    )
    return ColumnTransformer(
        [
            ("numeric", "passthrough", numeric),
            ("datetime", FunctionTransformer(date_parts, feature_names_out=date_part_names), dates),
            ("categorical", encoder, categorical),
        ],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=True,
    )


def categorical_positions(kinds: dict[str, str]) -> list[int]:
    """Where ``lightgbm_preprocess``'s category codes sit among its output columns."""
    width = sum(1 for k in kinds.values() if k == "numeric") + len(DATE_PARTS) * sum(
        1 for k in kinds.values() if k == "datetime"
    )
    return list(range(width, width + sum(1 for k in kinds.values() if k == "categorical")))


def build_pipeline(
    estimator: Any, kinds: dict[str, str], categories: dict[str, list[Any]] | None = None
) -> Pipeline:
    """Numeric columns imputed (median) and scaled, dates split into parts, text encoded, then the estimator.

    Text: one-hot with at most ``MAX_ONE_HOT`` columns per feature for most estimators (a missing
    category is a category of its own; imputing first would turn every text column into an array
    of Python strings, the largest memory cost at millions of rows). Hist gradient boosting gets
    ordinal codes and its native categorical support: as accurate, and a wide column stays one
    column (a wide-column regression took 41 s one-hot, 1.7 s native, for the same R2).
    """
    if is_lightgbm(estimator):
        return Pipeline([("preprocess", lightgbm_preprocess(kinds, categories or {})), ("model", estimator)])
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


def derived_features(settings: Settings) -> DerivedFeatures | None:
    """The project's derived-features step (``features.derived``), or None when there is none."""
    if not settings.features.derived:
        return None
    return DerivedFeatures(derived_steps(settings.features.derived), settings.data.id_column)


def fit(settings: Settings, train: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    """Fit the pipeline; return it and the facts the card records about its features and classes.

    With ``features.derived`` the pipeline starts with the project's step: it reads every raw
    column but the target (``inputs``: a derived feature may use a column the model does not) and
    adds the derived ones, which the model uses like any other.
    """
    estimator = make_estimator(settings)  # first, so a bad hyperparameter fails before any work
    derive = derived_features(settings)
    y = train[settings.data.target]
    if isinstance(estimator, EncodedLabels) and settings.task == "classification":
        estimator.set_params(positive=positive_class_of(y.value_counts().to_dict(), settings))
    inputs, frame = None, train
    if derive is not None:
        inputs = [str(c) for c in train.columns if c != settings.data.target]
        frame = derive.fit(train[inputs], y).transform(train[inputs])
    features, left_out = select_features(frame, settings)
    kinds = feature_kinds(frame[features])
    fit_params: dict[str, Any] = {}
    categories = None
    if is_lightgbm(estimator):  # the other estimators' encoders learn their categories in fit
        categories = categories_of(frame, [c for c, k in kinds.items() if k == "categorical"])
        fit_params["model__categorical_feature"] = categorical_positions(kinds)
    pipeline = build_pipeline(estimator, kinds, categories)
    if derive is not None:
        pipeline = Pipeline([("derive", derive), *pipeline.steps])
    try:
        pipeline.fit(train[inputs or features], y, **fit_params)
    except InvalidParameterError as exc:
        raise PipelineError(f"params.yaml: model.hyperparameters: {exc}") from None
    classes = pipeline.classes_ if settings.task == "classification" else None
    counts = y.value_counts().to_dict() if settings.task == "classification" else None
    facts = card_facts(settings, frame[features].dtypes, kinds, left_out, classes, counts)
    return pipeline, derived_facts(facts, derive, inputs)


def derived_facts(
    facts: dict[str, Any], derive: DerivedFeatures | None, inputs: list[str] | None
) -> dict[str, Any]:
    """The card's facts with what the project's step adds: the raw columns the pipeline reads
    (``inputs``), and for each derived feature the import path it came from."""
    if derive is None:
        return facts
    for feature in facts["features"]:
        if feature["name"] in derive.origins_:
            feature["derived"] = derive.origins_[feature["name"]]
    return {**facts, "inputs": inputs}


def card_facts(
    settings: Settings,
    dtypes: pd.Series,
    kinds: dict[str, str],
    left_out: dict[str, str],
    classes: Any = None,
    class_counts: dict[Any, int] | None = None,
) -> dict[str, Any]:
    """What the card records about the features (``dtypes``: each one's) and the classes."""
    facts: dict[str, Any] = {
        "features": [{"name": c, "kind": kinds.get(c, "unused"), "dtype": str(t)} for c, t in dtypes.items()],
        "left_out": left_out,
    }
    if settings.task == "classification":
        facts["classes"] = [_plain(c) for c in classes]
        facts["positive_class"] = _plain(positive_class_of(class_counts or {}, settings))
    return facts


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
