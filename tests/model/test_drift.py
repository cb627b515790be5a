"""Drift against the reference profile: quiet on the model's own kind of data, loud on each shift,
naming the column that moved and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.config import Settings
from mlpipeline.core import drift, profile
from mlpipeline.core.frames import split_ready
from mlpipeline.core.model import feature_kinds, fit
from mlpipeline.core.split import split

BATCH = 1500


@pytest.fixture(scope="module")
def trained(settings: Settings, sample_frame: pd.DataFrame) -> dict:
    """The sample split and trained as the pipeline does, and the profile evaluate would write."""
    frame = split_ready(sample_frame.copy(), settings.data)
    train, test, _ = split(frame, settings.split, settings.data.target, settings.data.id_column)
    model, facts = fit(settings, train)
    features = [f["name"] for f in facts["features"]]
    scores = profile.model_scores(model, test[features], "classification", facts["positive_class"])
    reference = profile.build(train[features], feature_kinds(train[features]), scores)
    return {"frame": frame, "model": model, "features": features, "profile": reference, "facts": facts}


def judge(trained: dict, batch: pd.DataFrame) -> tuple[list[drift.Shift], drift.Shift]:
    x = batch[trained["features"]]
    scores = profile.model_scores(trained["model"], x, "classification", trained["facts"]["positive_class"])
    return drift.shifts(x, trained["profile"], scores, psi_threshold=0.2, alpha=0.01)


def drifted(shifts: list[drift.Shift]) -> list[str]:
    return sorted(s.name for s in shifts if s.drifted)


def test_the_profile_is_byte_reproducible(trained: dict, settings: Settings) -> None:
    train = trained["frame"].sample(frac=0.8, random_state=0)
    features = trained["features"]
    again = profile.build(train[features], feature_kinds(train[features]), pd.Series([0.1, 0.5, 0.9]))
    assert again == profile.build(train[features], feature_kinds(train[features]), pd.Series([0.1, 0.5, 0.9]))
    for name, p in trained["profile"]["features"].items():
        assert abs(sum(p["shares"]) - 1) < 1e-4, name
        assert len(p["shares"]) == len(profile.bin_labels(p)), name


def test_batches_of_the_same_rows_raise_no_alarm(trained: dict) -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        batch = trained["frame"].iloc[rng.choice(len(trained["frame"]), BATCH, replace=False)]
        shifts, score = judge(trained, batch)
        assert drifted(shifts) == [] and not score.drifted


@pytest.mark.parametrize(
    ("shift", "column"),
    [
        ("scaled", "monthly_charges"),
        ("share moved", "contract"),
        ("nulls injected", "tenure"),
        ("new category", "payment_method"),
    ],
)
def test_each_shift_is_flagged_naming_its_column_and_nothing_else(
    trained: dict, shift: str, column: str
) -> None:
    batch = trained["frame"].sample(BATCH, random_state=11).copy()
    if shift == "scaled":
        batch[column] = batch[column] * 1.5
    elif shift == "share moved":
        batch[column] = batch[column].astype(object)
        batch.loc[batch.index[: BATCH // 3], column] = "Two year"
    elif shift == "nulls injected":
        batch[column] = batch[column].astype(float)
        batch.loc[batch.index[: BATCH // 4], column] = np.nan
    else:
        batch[column] = batch[column].astype(object)
        batch.loc[batch.index[: BATCH // 5], column] = "Cryptocurrency"
    shifts, _ = judge(trained, batch)
    assert drifted(shifts) == [column]
    moved = next(s for s in shifts if s.name == column)
    if shift == "nulls injected":
        assert moved.null_share == pytest.approx(0.25, abs=1e-6) and moved.null_share_reference == 0
    if shift == "new category":
        assert moved.unseen_share == pytest.approx(0.2, abs=1e-6)
    figures = drift.figures(shifts, judge(trained, batch)[1])
    assert figures["drifted_features"] == 1 and figures["max_psi"] == moved.psi


def test_psi_and_the_false_discovery_correction() -> None:
    same = np.array([2500.0, 2500.0, 5000.0])
    assert drift.psi(same, same) == 0
    # many rows: the textbook PSI, less a bias of (bins - 1) x (1/n + 1/m)
    moved = np.array([5000.0, 2500.0, 2500.0])
    expected = 2 * 0.25 * np.log(2) - 2 * (1 / 10_000 + 1 / 10_000)
    assert drift.psi(same, moved) == pytest.approx(expected, rel=1e-3)
    p = [0.01, 0.04, 0.03, 0.5]
    # By hand: sorted 0.01, 0.03, 0.04, 0.5 times m/rank = 0.04, 0.06, 0.0533, 0.5; then the running
    # minimum from the largest down: 0.04, 0.0533, 0.0533, 0.5; back in the input's order.
    assert drift.benjamini_hochberg(p) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_a_bin_training_left_empty_is_judged_by_its_count_not_an_epsilon() -> None:
    """One null in 100 rows where training had none gave p = 5e-22 against an epsilon share; as
    a two-sample question it is a 1-in-57 chance. Four nulls is evidence."""
    training = np.array([2000.0, 1800.0, 1806.0, 0.0])  # the last bin: nulls
    one = drift.two_sample_p(training, np.array([36.0, 31.0, 32.0, 1.0]))
    four = drift.two_sample_p(training, np.array([34.0, 31.0, 31.0, 4.0]))
    assert one > 0.01 and four < 0.001
    assert drift.two_sample_p(training, np.array([36.0, 31.0, 32.0, 1.0])) == one  # seeded


def test_the_chi_square_test_holds_where_every_bin_is_well_filled() -> None:
    from scipy import stats

    training, batch = np.array([500.0, 300.0, 200.0]), np.array([60.0, 25.0, 15.0])
    table = np.vstack([training, batch])
    assert drift.two_sample_p(training, batch) == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9
    )


def test_small_batches_of_the_same_population_stay_quiet_and_their_psi_near_zero(trained: dict) -> None:
    """Uncorrected, 50-row batches of the model's own kind of data raised score PSI > 0.2 in 30%
    of batches; the corrected PSI and the two-sample test keep them under 5% at every size."""
    rng = np.random.default_rng(3)
    for size in (50, 200):
        alarms, score_psi = 0, []
        for _ in range(40):
            batch = trained["frame"].iloc[rng.choice(len(trained["frame"]), size, replace=False)]
            shifts, score = judge(trained, batch)
            alarms += bool(drifted(shifts)) or score.drifted or score.psi > 0.2
            score_psi.append(score.psi)
        assert alarms <= 2, size  # 5% of 40
        assert np.mean(score_psi) < 0.05, size


def test_quality_needs_enough_labels_of_every_class() -> None:
    from mlpipeline.core.monitoring import too_few_labels

    assert too_few_labels({}, 60, "classification") == "the batch has no labels"
    assert too_few_labels({"No": 0, "Yes": 0}, 60, "classification") == "the batch has no labels"
    one_class = too_few_labels({"No": 500, "Yes": 0}, 60, "classification")
    assert one_class.startswith("cannot tell: 500 labelled row(s) (No 500, Yes 0)")
    assert too_few_labels({"No": 500, "Yes": 60}, 60, "classification") == ""
    assert "monitor.min_labels (60)" in too_few_labels({"rows": 59}, 60, "regression")
    assert too_few_labels({"rows": 60}, 60, "regression") == ""
