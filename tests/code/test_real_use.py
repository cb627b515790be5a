"""What a week of real use found: each case once failed with a traceback or a wrong answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.commands.usedata import plan
from mlpipeline.config import parse_settings
from mlpipeline.core.contract import ColumnSpec, class_failures
from mlpipeline.core.model import fit
from mlpipeline.core.prediction import fill_absent_features, predict_frame
from mlpipeline.errors import PipelineError


def _settings(**data: object) -> object:
    return parse_settings(
        {
            "task": "classification",
            "data": {"raw": "x.csv", "contract": "c.yaml", "target": "left", **data},
            "model": {"estimator": "logistic_regression"},
        }
    )


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "dept": rng.choice(["a", "b"], n), "left": x + rng.normal(size=n) > 0.5})


def test_a_boolean_targets_positive_class_stays_boolean_and_trains() -> None:
    settings = _settings(positive_class=True)
    assert settings.data.positive_class is True
    model, facts = fit(settings, _frame())
    assert facts["positive_class"] is True and facts["classes"] == [False, True]
    assert model.predict_proba(_frame(5)[["x", "dept"]]).shape == (5, 2)


def test_a_one_class_target_is_refused_naming_the_absent_classes() -> None:
    target = pd.Series(["No"] * 50, name="churn")
    failures, absent = class_failures(target, ColumnSpec(dtype="string", allowed=["No", "Yes"]))
    assert absent == ["Yes"]
    assert [(f.column, f.check, f.examples) for f in failures] == [
        ("churn", "at least 2 classes (absent: Yes)", ["No"])
    ]
    assert class_failures(pd.Series(["No", "Yes"], name="churn"), ColumnSpec(dtype="string"))[0] == []


def test_an_id_must_hold_one_value_per_row() -> None:
    frame = pd.DataFrame({"age": [30, 41, 30] * 30, "left": ["y", "n", "n"] * 30})
    with pytest.raises(PipelineError, match=r"ID 'age' is not an id: 2 distinct value\(s\) in 90 rows"):
        plan(frame, "left", None, "age")


def test_an_optional_feature_absent_at_predict_time_is_imputed_with_a_warning() -> None:
    settings = _settings()
    model, facts = fit(settings, _frame())
    card = {"features": facts["features"], "task": "classification", "id_column": None}
    rows = _frame(4).drop(columns=["dept", "left"])
    assert fill_absent_features(rows, card) == ["dept"]
    out = predict_frame(model, card, rows)
    assert list(out.columns) == ["prediction", "proba_False", "proba_True"] and out.notna().all().all()
