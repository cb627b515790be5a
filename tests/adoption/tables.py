"""Seeded random tables of the kinds real users bring: mixed types, nulls, dates, booleans, wide
and rare categories, constant columns, tiny and skewed classes, a few hundred to a few thousand rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Table:
    """A generated table and how it is adopted."""

    seed: int
    frame: pd.DataFrame
    estimator_pick: int  # index into ESTIMATORS[task] once the task is known
    target: str
    task: str | None  # None: let use-data infer it
    id_column: str | None


def _with_nulls(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    share = rng.choice([0.0, 0.0, 0.02, 0.2])
    return values.mask(rng.random(len(values)) < share)


def _column(kind: str, n: int, rng: np.random.Generator) -> pd.Series:
    if kind == "int":
        return _with_nulls(pd.Series(rng.integers(-50, 5000, n)), rng)
    if kind == "float":
        return _with_nulls(pd.Series(rng.lognormal(3, 1, n).round(2)), rng)
    if kind == "date":
        days = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
        return _with_nulls(pd.Series(days.strftime("%Y-%m-%d")), rng)
    if kind == "bool":
        return pd.Series(rng.random(n) < rng.uniform(0.05, 0.95))
    if kind == "wide":
        width = int(rng.integers(51, 400))
        return _with_nulls(pd.Series([f"v{i}" for i in rng.zipf(1.3, n) % width]), rng)
    if kind == "rare":  # a few common values and one seen once or twice
        values = rng.choice(["red", "green", "blue"], n).astype(object)
        values[rng.choice(n, size=int(rng.integers(1, 3)), replace=False)] = "violet"
        return _with_nulls(pd.Series(values), rng)
    if kind == "constant":
        return pd.Series(["same"] * n)
    if kind == "empty":
        return pd.Series([None] * n, dtype=object)
    if kind == "mixed":  # numbers with a few words among them, as exported spreadsheets have
        values = rng.integers(0, 100, n).astype(str).astype(object)
        values[rng.choice(n, size=3, replace=False)] = "n/a"
        return pd.Series(values)
    raise ValueError(kind)


KINDS = ("int", "float", "date", "bool", "wide", "rare", "constant", "empty", "mixed")
ESTIMATORS = {
    "classification": ("logistic_regression", "random_forest", "hist_gradient_boosting"),
    "regression": ("ridge", "random_forest", "hist_gradient_boosting"),
}


def table(seed: int) -> Table:
    """One table; the same seed always gives the same table."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(150, 3000))
    frame = pd.DataFrame(
        {f"{kind}_{i}": _column(kind, n, rng) for i, kind in enumerate(rng.choice(KINDS, 5))}
    )
    signal = pd.Series(rng.normal(size=n))
    numeric = [c for c in frame.columns if "int" in c or "float" in c]
    if numeric:
        column = frame[numeric[0]].fillna(frame[numeric[0]].median())
        signal += (column - column.mean()) / (column.std() or 1.0)
    task = rng.choice(["binary", "multiclass", "regression", "bool"])
    if task == "regression":
        frame["target"] = (signal * 10 + 100).round(3)
    elif task == "bool":
        frame["target"] = signal > signal.quantile(rng.uniform(0.5, 0.98))
    else:
        classes = 2 if task == "binary" else int(rng.integers(3, 6))
        # Skewed: the last class can be a sliver of the rows, sometimes only a handful.
        cuts = np.sort(rng.uniform(0.05, 0.999, classes - 1))
        codes = np.searchsorted(cuts, signal.rank(pct=True).to_numpy())
        frame["target"] = [f"class_{k}" for k in codes]
        if rng.random() < 0.2:  # a class with a single row
            frame.loc[int(rng.integers(0, n)), "target"] = "singleton"
    if rng.random() < 0.1:  # some rows without a label
        frame["target"] = frame["target"].mask(rng.random(n) < 0.01)
    id_column = None
    if rng.random() < 0.5:
        frame.insert(0, "row_id", [f"r{i:06d}" for i in rng.permutation(n)])
        id_column = "row_id" if rng.random() < 0.5 else None  # else use-data finds it
    given = "regression" if task == "regression" and rng.random() < 0.5 else None
    return Table(seed, frame, int(rng.integers(0, 3)), "target", given, id_column)
