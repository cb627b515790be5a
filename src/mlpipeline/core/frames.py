"""Frame shapes the stages hand each other: compact dtypes for Parquet and scikit-learn, and the
data-quality figures of a validated table."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.config import DataSettings


def plain_strings(values: pd.Index) -> pd.Index:
    """``values`` as an index of Python strings (object dtype)."""
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def model_ready(frame: pd.DataFrame, keep_text: Collection[str | None] = ()) -> pd.DataFrame:
    """Compact, plain dtypes for Parquet and sklearn, in place.

    Nullable integers become int64, or float64 where values are missing. Text columns other than
    ``keep_text`` become categoricals with sorted categories: a small code per row instead of a
    string per row, which is most of a frame's memory at millions of rows.
    """
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.Int64Dtype):
            frame[name] = frame[name].astype("float64" if frame[name].isna().any() else "int64")
        elif isinstance(dtype, pd.StringDtype) and name not in keep_text:
            codes, categories = pd.factorize(frame[name], sort=True)
            frame[name] = pd.Categorical.from_codes(codes, categories=plain_strings(categories))
    return frame


def split_ready(frame: pd.DataFrame, data: DataSettings) -> pd.DataFrame:
    """``model_ready`` as the splits store it: the target and the id stay text (a label and a
    key, not features to encode)."""
    return model_ready(frame, keep_text=[data.target, data.id_column])


def quality_figures(frame: pd.DataFrame, target: str, task: str, duplicate_share: float) -> dict[str, Any]:
    """Data-quality figures later gates can use (``duplicate_share`` from the contract check)."""
    return quality_from_counts(
        len(frame),
        {str(c): int(n) for c, n in frame.isna().sum().items()},
        frame[target].astype(str).value_counts().to_dict() if task == "classification" else None,
        duplicate_share,
    )


def quality_from_counts(
    rows: int, null_counts: dict[str, int], class_counts: dict[str, int] | None, duplicate_share: float
) -> dict[str, Any]:
    """``quality_figures`` from counts: a partitioned table's are summed over its partitions.

    ``null_counts`` has every column; ``class_counts`` is None for regression.
    """
    null_share = {c: round(n / rows, 6) if rows else 0.0 for c, n in null_counts.items()}
    figures: dict[str, Any] = {
        "rows": rows,
        "columns": len(null_counts),
        "null_share": null_share,
        "max_null_share": max(null_share.values(), default=0.0),
        "duplicate_share": round(duplicate_share, 6),
    }
    if class_counts is not None:
        total = sum(class_counts.values())
        balance = {str(k): round(class_counts[k] / total, 6) for k in sorted(class_counts, key=str)}
        figures["class_balance"] = balance
        figures["min_class_share"] = min(balance.values())
    return figures
