"""Split policies: seeded, disjoint, and faithful to their promise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.config import SplitSettings
from mlpipeline.core.split import sample, split
from mlpipeline.errors import PipelineError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "customer": rng.integers(0, 120, n),
            "day": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
            "y": np.where(rng.random(n) < 0.1, "yes", "no"),
        }
    )


def test_stratified_keeps_class_shares_and_is_seeded(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="stratified", test_size=0.25, seed=3)
    train, test, policy = split(frame, settings, "y")
    assert len(train) + len(test) == len(frame)
    assert set(train["id"]).isdisjoint(test["id"])
    share = (frame["y"] == "yes").mean()
    assert abs((test["y"] == "yes").mean() - share) < 0.01
    again = split(frame, settings, "y")[1]
    assert test["id"].tolist() == again["id"].tolist()
    other = split(frame, SplitSettings(policy="stratified", test_size=0.25, seed=4), "y")[1]
    assert test["id"].tolist() != other["id"].tolist()
    assert policy["rows_test"] == len(test) and policy["seed"] == 3


def test_group_split_never_shares_a_group(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="group", group_column="customer", test_size=0.2, seed=1)
    train, test, _ = split(frame, settings, "y")
    assert set(train["customer"]).isdisjoint(test["customer"])
    assert 0.15 < len(test) / len(frame) < 0.3


def test_time_split_tests_on_the_latest_rows(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="time", time_column="day", test_size=0.2)
    train, test, _ = split(frame, settings, "y")
    assert pd.to_datetime(train["day"]).max() < pd.to_datetime(test["day"]).min()


def test_time_split_rejects_unparseable_dates(frame: pd.DataFrame) -> None:
    frame.loc[3, "day"] = "not a date"
    with pytest.raises(PipelineError, match="time_column"):
        split(frame, SplitSettings(policy="time", time_column="day"), "y")


def test_sample_fraction_is_seeded(frame: pd.DataFrame) -> None:
    settings = SplitSettings(sample_fraction=0.1, seed=5)
    a, b = sample(frame, settings), sample(frame, settings)
    assert len(a) == 100 and a["id"].tolist() == b["id"].tolist()
