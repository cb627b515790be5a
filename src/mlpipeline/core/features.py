"""Which columns feed the model, and the target vector. Shared by train, evaluate and predict."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlpipeline.config import Settings
from mlpipeline.errors import PipelineError


def select_features(frame: pd.DataFrame, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Feature columns, and the columns left out with the reason for each."""
    data = settings.data
    missing = [c for c in settings.features.drop if c not in frame.columns]
    if missing:
        raise PipelineError(f"params.yaml: features.drop names unknown column(s): {', '.join(missing)}")
    left_out: dict[str, str] = {data.target: "target"}
    if data.id_column:
        left_out[data.id_column] = "id column"
    for name in settings.features.drop:
        left_out.setdefault(name, "features.drop")
    for name in (settings.split.group_column, settings.split.time_column):
        if name:
            left_out.setdefault(name, "split column")
    for name in frame.columns:
        if name in left_out:
            continue
        column = frame[name]
        if column.nunique(dropna=True) <= 1:
            left_out[name] = "constant"
        elif (
            not pd.api.types.is_numeric_dtype(column)
            and not pd.api.types.is_datetime64_any_dtype(column)
            and column.is_unique
            and len(column) > 50
        ):
            left_out[name] = "looks like an id (every value unique)"
    features = [str(c) for c in frame.columns if c not in left_out]
    if not features:
        raise PipelineError("no feature columns left after dropping the target, ids and constants")
    return features, {k: v for k, v in left_out.items() if k in frame.columns}


def positive_class(y: pd.Series, settings: Settings) -> Any:
    """The class binary metrics are about: ``data.positive_class``, else the rarer class."""
    return positive_class_of(y.value_counts().to_dict(), settings)


def positive_class_of(counts: dict[Any, int], settings: Settings) -> Any:
    """``positive_class`` from the rows per class (merged over partitions, or one table's)."""
    classes = sorted(counts, key=str)
    if len(classes) != 2:
        return None
    wanted = settings.data.positive_class
    if wanted is None:
        rarer = min(classes, key=lambda c: counts[c])
        return rarer if counts[classes[0]] != counts[classes[1]] else classes[-1]
    for value in classes:
        if str(value) == str(wanted):
            return value
    raise PipelineError(
        f"params.yaml: data.positive_class: {wanted!r} is not a class of '{settings.data.target}';"
        f" classes are: {', '.join(map(str, classes))}"
    )


def input_columns(card: dict[str, Any]) -> list[str]:
    """The raw columns a model's Pipeline reads: its features, or with the project's derived
    features every raw column it was trained with (``inputs``)."""
    return list(card.get("inputs") or [f["name"] for f in card["features"]])


def raw_features(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's features that are raw columns (not derived by the project's code)."""
    return [f for f in card["features"] if "derived" not in f]
