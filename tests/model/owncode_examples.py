"""Project code that goes wrong in each way the pipeline must name in one line: the tests name
these by import path (``tests.model.owncode_examples:...``), as params.yaml names a project's."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin


def fails_on_one_row(frame: pd.DataFrame) -> pd.Series:
    """Raises on any batch holding the sample's largest total charges (one customer, above
    8,680): a bug one row shows."""
    bad = frame["total_charges"] > 8680
    if bad.any():
        raise ValueError("a value this code did not expect")
    return frame["tenure"].rename("tenure_copy")


def drops_rows(frame: pd.DataFrame) -> pd.Series:
    """Filters: fewer rows than it was given."""
    return frame.loc[frame["tenure"] > 0, "tenure"].rename("positive_tenure")


def sorts_rows(frame: pd.DataFrame) -> pd.Series:
    """Same rows, another order."""
    return frame["tenure"].sort_values().rename("sorted_tenure")


def drops_the_id(frame: pd.DataFrame) -> pd.DataFrame:
    """The whole frame back, less the id column."""
    return frame.drop(columns=["customer_id"]).assign(months=frame["tenure"])


def returns_lists(frame: pd.DataFrame) -> pd.Series:
    """A column of Python lists: nothing a model can read."""
    return frame["tenure"].map(lambda v: [v, v]).rename("pairs")


def unnamed(frame: pd.DataFrame) -> pd.Series:
    """A Series without a name: no column name to give it."""
    return pd.Series(frame["tenure"].to_numpy() * 2, index=frame.index)


def keeps_the_name(frame: pd.DataFrame) -> pd.Series:
    """A new value under a raw column's name: the rename forgotten."""
    return frame["tenure"].clip(lower=1)


def overwrites(frame: pd.DataFrame) -> pd.DataFrame:
    """A new column, and a raw one replaced."""
    return pd.DataFrame({"tenure": frame["tenure"] + 1, "months": frame["tenure"]}, index=frame.index)


def returns_array(frame: pd.DataFrame) -> object:
    """A bare array: no column name, no rows to check against."""
    return frame["tenure"].to_numpy()


NOT_CALLABLE = 3


class NoProbabilities(ClassifierMixin, BaseEstimator):
    """A classifier with predict but no predict_proba."""

    def fit(self, x: object, y: object) -> NoProbabilities:
        return self

    def predict(self, x: object) -> object:
        return x


class NeedsArguments(ClassifierMixin, BaseEstimator):
    """A classifier that cannot be made without arguments."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def fit(self, x: object, y: object) -> NeedsArguments:
        return self

    def predict(self, x: object) -> object:
        return x

    def predict_proba(self, x: object) -> object:
        return x
