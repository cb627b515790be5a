"""Split policies: seeded, disjoint, faithful to their promise, and stable as data grows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.config import SplitSettings
from mlpipeline.core.split import sample, split, uniform
from mlpipeline.errors import PipelineError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {
            "id": [f"c{i:05d}" for i in range(n)],
            "customer": rng.integers(0, 120, n),
            "day": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
            "x": rng.normal(size=n),
            "y": np.where(rng.random(n) < 0.1, "yes", "no"),
        }
    )


def _more_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    extra = frame.sample(n, random_state=seed, replace=True).reset_index(drop=True)
    extra["id"] = [f"new{seed}-{i}" for i in range(n)]
    extra["x"] = rng.normal(size=n)
    return extra


def test_stratified_keeps_class_shares_and_is_seeded(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="stratified", test_size=0.25, seed=3)
    train, test, policy = split(frame, settings, "y", "id")
    assert len(train) + len(test) == len(frame)
    assert set(train["id"]).isdisjoint(test["id"])
    assert abs(len(test) / len(frame) - 0.25) < 0.04
    share = (frame["y"] == "yes").mean()
    assert abs((test["y"] == "yes").mean() - share) < 0.04
    again = split(frame, settings, "y", "id")[1]
    assert test["id"].tolist() == again["id"].tolist()
    other = split(frame, SplitSettings(policy="stratified", test_size=0.25, seed=4), "y", "id")[1]
    assert test["id"].tolist() != other["id"].tolist()
    assert policy["rows_test"] == len(test) and policy["seed"] == 3
    assert policy["assignment"] == "seeded hash of id"


@pytest.mark.parametrize("policy", ["stratified", "random"])
@pytest.mark.parametrize("id_column", ["id", None])
def test_appending_or_reordering_rows_never_moves_an_existing_row(
    frame: pd.DataFrame, policy: str, id_column: str | None
) -> None:
    settings = SplitSettings(policy=policy, test_size=0.2, seed=42)
    before = set(split(frame, settings, "y", id_column)[1]["id"])
    grown = pd.concat([frame, _more_rows(frame, 500, 1)]).sample(frac=1, random_state=7)
    after = split(grown.reset_index(drop=True), settings, "y", id_column)[1]
    assert set(after["id"]) & set(frame["id"]) == before


def test_a_rare_class_gets_rows_on_both_sides(frame: pd.DataFrame) -> None:
    frame.loc[:2, "y"] = "rare"  # three rows: the hash alone may put them all on one side
    for seed in range(20):
        train, test, _ = split(frame, SplitSettings(test_size=0.2, seed=seed), "y", "id")
        assert (train["y"] == "rare").any() and (test["y"] == "rare").any()


def test_uniform_is_uniform_and_seed_dependent() -> None:
    keys = np.arange(100_000, dtype=np.uint64)
    u = uniform(keys, 1)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs((u < 0.2).mean() - 0.2) < 0.01
    assert np.corrcoef(u, uniform(keys, 2))[0, 1] < 0.02


def test_group_split_never_shares_a_group_and_is_stable(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="group", group_column="customer", test_size=0.2, seed=1)
    train, test, _ = split(frame, settings, "y", "id")
    assert set(train["customer"]).isdisjoint(test["customer"])
    assert 0.1 < len(test) / len(frame) < 0.3
    grown = pd.concat([frame, _more_rows(frame, 300, 2)], ignore_index=True)
    after = split(grown, settings, "y", "id")[1]
    assert set(after["customer"]) == set(test["customer"])


def test_time_split_tests_on_the_latest_rows(frame: pd.DataFrame) -> None:
    settings = SplitSettings(policy="time", time_column="day", test_size=0.2)
    train, test, _ = split(frame, settings, "y")
    assert pd.to_datetime(train["day"]).max() < pd.to_datetime(test["day"]).min()


def test_time_split_rejects_unparseable_dates(frame: pd.DataFrame) -> None:
    frame.loc[3, "day"] = "not a date"
    with pytest.raises(PipelineError, match="time_column"):
        split(frame, SplitSettings(policy="time", time_column="day"), "y")


def test_sample_fraction_is_seeded_and_stable(frame: pd.DataFrame) -> None:
    settings = SplitSettings(sample_fraction=0.1, seed=5)
    a, b = sample(frame, settings, "id"), sample(frame, settings, "id")
    assert 60 < len(a) < 140 and a["id"].tolist() == b["id"].tolist()
    grown = pd.concat([frame, _more_rows(frame, 500, 3)], ignore_index=True)
    assert set(sample(grown, settings, "id")["id"]) & set(frame["id"]) == set(a["id"])


def test_a_time_split_defeated_by_tied_timestamps_says_so(frame: pd.DataFrame) -> None:
    frame.loc[frame.index[-600:], "day"] = "2024-03-01 00:00:00"  # 60% of rows on the last day
    with pytest.raises(PipelineError, match=r"60% of rows share the latest time in 'day'"):
        split(frame, SplitSettings(policy="time", time_column="day", test_size=0.2), "y")


def test_a_dominant_group_is_warned_about(frame: pd.DataFrame) -> None:
    frame.loc[frame.index[:900], "customer"] = 7  # one customer holds 90% of rows
    for seed in range(10):
        _, test, policy = split(frame, SplitSettings(policy="group", group_column="customer", seed=seed), "y")
        if len(test) > 500:  # the big group landed in test
            assert "the largest group has 90% of rows" in policy["warnings"][0]
            return
    pytest.fail("the dominant group never landed in test across 10 seeds")


@pytest.mark.parametrize("id_column", [None, "account"], ids=["row values", "integer id"])
def test_a_missing_integer_in_an_appended_row_moves_no_existing_row(frame: pd.DataFrame, id_column) -> None:
    """The splits store an integer column as int64, or float64 once a value is missing: the same
    rows must keep their keys, and so their sides, whichever dtype their file got."""
    from mlpipeline.core.frames import model_ready

    frame = frame.drop(columns="id").assign(account=np.arange(len(frame)) + 10_000)
    frame["customer"] = frame["customer"].astype("Int64")
    settings = SplitSettings(policy="stratified", test_size=0.25, seed=3)
    before = model_ready(frame.copy())
    grown = frame.copy()
    grown.loc[len(grown)] = {**grown.iloc[0].to_dict(), "account": 99_999, "customer": pd.NA}
    after = model_ready(grown)
    assert before["customer"].dtype == "int64" and after["customer"].dtype == "float64"  # the trigger
    after["account"] = after["account"].astype("float64")  # ids too, as another writer may type them
    _, test_before, _ = split(before, settings, "y", id_column)
    _, test_after, _ = split(after, settings, "y", id_column)
    assert set(test_before["account"]) <= set(test_after["account"])
    assert len(test_after) - len(test_before) <= 1


def test_value_hashes_depend_on_values_not_on_the_dtype_a_reader_chose() -> None:
    from mlpipeline.core.split import value_hashes

    as_int = pd.DataFrame({"n": [1, 2, 0], "b": [True, False, True], "s": ["a", "b", "c"]})
    as_float = pd.DataFrame({"n": [1.0, 2.0, -0.0], "b": pd.array([True, False, True], dtype="boolean"),
                             "s": pd.Categorical(["a", "b", "c"])})  # fmt: skip
    assert (value_hashes(as_int) == value_hashes(as_float)).all()
    assert (value_hashes(as_int["n"]) == value_hashes(pd.Series([1, 2, 0], dtype="Int64"))).all()
    assert value_hashes(pd.Series([1.0, np.nan]))[1] == value_hashes(pd.Series([np.nan], dtype="float64"))[0]
    assert len(set(value_hashes(pd.Series([1.0, 1.5, 2.0])))) == 3  # values still tell rows apart


def test_a_worker_short_of_a_class_is_named_before_lightgbm_fits() -> None:
    from mlpipeline.core.placement import classes_missing_per_worker

    classes = ["No", "Yes"]
    # Files cut by time: the first worker got only the old rows, all of one class.
    cut = classes_missing_per_worker([{0}, {0}, {0, 1}], [["w1"], ["w1"], ["w2"]], classes)
    assert cut == {"w1": ["Yes"]}
    assert classes_missing_per_worker([{0}, {1}, {0, 1}], [["w1"], ["w1"], ["w2"]], classes) == {}
    three = classes_missing_per_worker([{2}], [["w1", "w2"]], ["a", "b", "c"])
    assert three == {"w1": ["a", "b"], "w2": ["a", "b"]}
