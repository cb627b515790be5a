"""The dtypes the stages hand each other: compact categoricals that scikit-learn reads cheaply."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlpipeline.adapters.files import write_parquet
from mlpipeline.adapters.tabular import read_parquet
from mlpipeline.core.frames import model_ready


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.array(["a1", "a2", "a3", "a4"], dtype="str"),
            "plan": pd.array(["pro", "basic", None, "pro"], dtype="str"),
            "seats": pd.array([1, None, 3, 4], dtype="Int64"),
            "visits": pd.array([1, 2, 3, 4], dtype="Int64"),
            "label": pd.array(["y", "n", "y", "n"], dtype="str"),
        }
    )


def test_text_columns_become_sorted_categoricals_except_the_kept_ones() -> None:
    frame = model_ready(_frame(), keep_text=["label", "id", None])
    assert list(frame["plan"].cat.categories) == ["basic", "pro"]
    assert frame["plan"].isna().tolist() == [False, False, True, False]
    assert frame["plan"].astype(object).tolist()[:2] == ["pro", "basic"]
    assert isinstance(frame["label"].dtype, pd.StringDtype)
    assert isinstance(frame["id"].dtype, pd.StringDtype)
    assert frame["seats"].dtype == "float64" and frame["visits"].dtype == "int64"


def test_a_split_reads_back_with_one_string_object_per_category(tmp_path: Path) -> None:
    written = model_ready(_frame(), keep_text=["label", "id"])
    write_parquet(tmp_path / "split.parquet", written)
    back = read_parquet(tmp_path / "split.parquet")
    pd.testing.assert_frame_equal(back, written)
    values = np.asarray(back["plan"])
    # What the one-hot encoder sees: the categories' own objects, not a new string per row.
    assert values.dtype == object
    assert len({id(v) for v in values if isinstance(v, str)}) == 2
