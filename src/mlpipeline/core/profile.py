"""The reference profile: what the model learned from, summarised so later batches can be compared.

Per feature, a list of bins and the share of rows in each. Numbers (and dates, as days since
1970) get the training split's deciles as edges; text and booleans get their categories (the most
common ones; the rest pooled in an "(other)" bin, or, when every category is listed, an
"(unseen)" bin that training left empty). The last bin of every feature is its nulls. The model's
scores on the test split are binned like a number. Rounded, so the file is byte-reproducible.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

BINS = 10
MAX_CATEGORIES = 50
NULL, OTHER, UNSEEN = "(null)", "(other)", "(unseen)"


def as_numbers(values: pd.Series) -> pd.Series:
    """Numbers as floats; dates as days since 1970 (what the model's date parts grow with)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
    return pd.to_numeric(values, errors="coerce").astype(float)


def _edges(values: pd.Series) -> list[float]:
    present = as_numbers(values).dropna()
    if present.empty:
        return []
    inner = np.unique(np.round(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1]), 6))
    return [float(e) for e in inner]


def bin_labels(profile: dict[str, Any]) -> list[str]:
    """A readable name per bin, nulls last."""
    if profile["kind"] == "categorical":
        return [*profile["categories"], NULL]
    bounds = [-np.inf, *profile["edges"], np.inf]
    return [f"({lo:.6g}, {hi:.6g}]" for lo, hi in itertools.pairwise(bounds)] + [NULL]


def counts(values: pd.Series, profile: dict[str, Any]) -> np.ndarray:
    """Rows of ``values`` in each bin of ``profile`` (nulls last)."""
    if profile["kind"] != "categorical":
        numbers = as_numbers(values)
        where = np.searchsorted(
            np.asarray(profile["edges"], dtype=float), numbers.dropna().to_numpy(), side="left"
        )
        found = np.bincount(where, minlength=len(profile["edges"]) + 1)
        return np.append(found, int(numbers.isna().sum()))
    # Count first, then name: str() on each distinct value, not on each of a million rows.
    tally = values.value_counts(dropna=True)
    tally = tally.groupby(tally.index.map(str)).sum()
    categories = profile["categories"]
    named = [c for c in categories if c not in (OTHER, UNSEEN)]
    found = [int(tally.get(c, 0)) for c in named]
    found.append(int(tally[~tally.index.isin(named)].sum()))  # the (other) or (unseen) bin
    return np.asarray([*found, int(values.isna().sum())])


def feature_profile(values: pd.Series, kind: str) -> dict[str, Any]:
    """One feature's bins and the training split's share in each."""
    if kind in ("numeric", "datetime"):
        profile: dict[str, Any] = {"kind": kind, "edges": _edges(values)}
    else:
        text = values.dropna().astype(str)
        tally = sorted(text.value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
        named = [k for k, _ in tally[:MAX_CATEGORIES]]
        profile = {
            "kind": "categorical",
            "categories": [*named, OTHER if len(tally) > MAX_CATEGORIES else UNSEEN],
        }
    found = counts(values, profile)
    profile["shares"] = [round(float(v), 6) for v in found / max(found.sum(), 1)]
    return profile


def model_scores(model: Any, x: pd.DataFrame, task: str, positive: Any) -> pd.Series:
    """The score monitored: the positive class's probability (binary), the top class's (more
    classes), or the prediction (regression)."""
    if task != "classification":
        return pd.Series(model.predict(x), index=x.index, dtype=float)
    proba = model.predict_proba(x)
    classes = list(model.classes_)
    binary = len(classes) == 2 and positive in classes
    return pd.Series(proba[:, classes.index(positive)] if binary else proba.max(axis=1), index=x.index)


def build(train: pd.DataFrame, kinds: dict[str, str], test_scores: pd.Series) -> dict[str, Any]:
    """The profile of the training split's features and of the test split's scores."""
    return {
        "rows": len(train),
        "features": {name: feature_profile(train[name], kind) for name, kind in kinds.items()},
        "score": feature_profile(test_scores, "numeric"),
        "score_rows": len(test_scores),
    }
