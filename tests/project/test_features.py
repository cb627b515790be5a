"""The project's own features and models (src/project/): tested here like any code of yours.
They are written for the bundled sample's columns; keep these tests beside your own features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from project.features import CategoryShare, charges_per_month
from project.models import BalancedForest


def test_charges_per_month_spreads_total_charges_over_the_months_a_first_month_as_one() -> None:
    frame = pd.DataFrame({"tenure": [0, 1, 10], "total_charges": [20.0, 30.0, 1000.0]})
    out = charges_per_month(frame)
    assert out.name == "charges_per_month"
    assert out.tolist() == [20.0, 30.0, 100.0]


def test_category_share_is_learned_on_the_training_rows_and_zero_for_a_value_never_seen() -> None:
    train = pd.DataFrame({"payment_method": ["card", "card", "card", "cash"]})
    share = CategoryShare("payment_method").fit(train)
    out = share.transform(pd.DataFrame({"payment_method": ["cash", "card", "cheque"]}))
    assert out["payment_method_share"].tolist() == [0.25, 0.75, 0.0]


def test_the_balanced_forest_weighs_the_rarer_class_and_keeps_its_parameters() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = np.where(x[:, 0] + rng.normal(0, 0.5, 400) > 1.4, "yes", "no")  # about 10% yes
    model = BalancedForest(n_estimators=20, random_state=0).fit(x, y)
    assert model.get_params()["n_estimators"] == 20 and model.class_weight == "balanced_subsample"
    assert model.predict_proba(x).shape == (400, 2)
    with pytest.raises(ValueError):
        BalancedForest(max_depth=-1).fit(x, y)  # scikit-learn's own checks still apply
