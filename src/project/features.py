"""Features this project derives from raw columns. Each is one of:

- a function ``frame -> Series`` (named) or ``-> DataFrame`` of new columns: one value per row,
  from that row only, in the rows' order. It runs as it is, in training and in serving, and on
  the Dask engine's partitions;
- a scikit-learn transformer class (``fit`` on the training rows, ``transform`` adding columns),
  with ``args`` from params.yaml: for what must be learned from the training rows. Not on the Dask
  engine, whose partitions cannot see each other.

Use them in params.yaml::

    features:
      derived:
        - project.features:charges_per_month
        - {path: project.features:CategoryShare, args: {column: payment_method}}

The examples below are written for the bundled sample's columns; replace them with your own.
"""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


def charges_per_month(frame: pd.DataFrame) -> pd.Series:
    """What a customer paid per month of tenure: total charges spread over the months (a first
    month counts as one), a ratio the model cannot form from either column alone."""
    months = frame["tenure"].clip(lower=1)
    return (frame["total_charges"] / months).rename("charges_per_month")


class CategoryShare(TransformerMixin, BaseEstimator):
    """How common a row's value of ``column`` was among the training rows (0 for a value never
    seen): learned in ``fit``, so it is a transformer, not a function."""

    def __init__(self, column: str = "payment_method") -> None:
        self.column = column

    def fit(self, frame: pd.DataFrame, y: object = None) -> CategoryShare:
        self.shares_ = frame[self.column].value_counts(normalize=True).to_dict()
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        share = frame[self.column].map(self.shares_).astype(float).fillna(0.0)
        return pd.DataFrame({f"{self.column}_share": share}, index=frame.index)
