"""Skewed classes: from 1% positives to 50%, use-data's defaults train a model the default gate
passes on real labels, and the same gate stops the same table with its labels shuffled.

A loan book with 5.2% positives once failed its first `make repro`: the unweighted logistic
regression predicted no positive row (f1 0). Each case here is the whole adoption path in-process
(plan, params, contract, validate, train, evaluate, gate), as tests/adoption/test_adoption.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipeline.adapters.tabular import read_csv
from mlpipeline.commands.usedata import new_params, plan
from mlpipeline.core.report import one_class_hint
from tests.adoption.test_adoption import adopt
from tests.conftest import without_timing_rules

pytestmark = pytest.mark.adoption
ROWS = 12_000  # at 1%, ~24 positives in the test split: enough for ROC AUC to tell signal from none


def loan_book(prevalence: float, seed: int = 0) -> pd.DataFrame:
    """A table shaped like a loan book: a rate and a grade carry the risk, the rest is noise; exactly
    ``prevalence`` of the rows are "default" (the highest risk scores, noise included)."""
    rng = np.random.default_rng(seed)
    rate = rng.normal(13, 4, ROWS).round(2)
    grade = np.clip((rate - 5) // 3, 0, 6).astype(int)
    risk = 0.35 * rate + 0.4 * grade + rng.logistic(size=ROWS)
    frame = pd.DataFrame(
        {
            "loan_id": [f"L{i:06d}" for i in rng.permutation(ROWS)],
            "int_rate": rate,
            "sub_grade": np.array(list("ABCDEFG"))[grade],
            "income": rng.lognormal(10.8, 0.5, ROWS).round(0),
            "purpose": rng.choice(["car", "home", "debt", "other"], ROWS),
            "term_months": rng.choice([36, 60], ROWS),
        }
    )
    defaults = risk >= np.quantile(risk, 1 - prevalence)
    frame["status"] = np.where(defaults, "default", "paid")
    return frame


@pytest.mark.parametrize(
    "prevalence",
    [
        pytest.param(0.01, marks=pytest.mark.integration),
        pytest.param(0.052, marks=pytest.mark.integration),
        pytest.param(0.2, marks=pytest.mark.integration),
        pytest.param(0.5, marks=pytest.mark.integration),
    ],
)
def test_default_gate_passes_real_labels_and_stops_shuffled_ones(
    prevalence: float, tmp_path: Path, root: Path
) -> None:
    params_template = without_timing_rules((root / "tests/fixtures/sample/params.yaml").read_text())
    frame = loan_book(prevalence)

    real = tmp_path / "real"
    assert adopt(frame, real, params_template, target="status") == "model"
    gate = json.loads((real / "metrics/gate.json").read_text())
    assert gate["passed"], f"{prevalence:.1%} positives: {gate['rules']}"
    metrics = json.loads((real / "metrics/metrics.json").read_text())
    assert metrics["recall"] > 0.5  # the rare class is found, not merely out-scored by a dummy

    shuffled = tmp_path / "shuffled"
    noise = frame.assign(status=np.random.default_rng(1).permutation(frame["status"].to_numpy()))
    assert adopt(noise, shuffled, params_template, target="status") == "model"
    stopped = json.loads((shuffled / "metrics/gate.json").read_text())
    assert not stopped["passed"]
    failed = {r["metric"] for r in stopped["rules"] if r["status"] == "fail"}
    assert "roc_auc" in failed, stopped["rules"]


def test_use_data_weights_skewed_classes_and_says_so(tmp_path: Path, root: Path) -> None:
    """5.2% positives: balanced class weights and an f1 margin that prevalence allows, each said;
    even classes keep the unweighted default and margin."""
    template = without_timing_rules((root / "tests/fixtures/sample/params.yaml").read_text())
    chosen = {}
    for prevalence in (0.052, 0.45):
        path = tmp_path / f"loans_{prevalence}.csv"
        loan_book(prevalence).to_csv(path, index=False)
        p = plan(read_csv(path), "status", None, None)
        params = yaml.safe_load(new_params(template, p, "data/raw/loans.csv", "data/contract.yaml"))
        f1 = next(r for r in params["gate"]["rules"] if r.get("metric") == "f1" and "beat_baseline_by" in r)
        chosen[prevalence] = (
            params["model"]["hyperparameters"].get("class_weight"),
            f1["beat_baseline_by"],
            p.notes,
        )
    weight, margin, notes = chosen[0.052]
    assert (weight, margin) == ("balanced", 0.05)
    assert any("class_weight: balanced" in n and "5.2%" in n for n in notes)
    assert any("f1 must beat the dummy by 0.05" in n for n in notes)
    weight, margin, notes = chosen[0.45]
    assert (weight, margin) == (None, 0.1)
    assert not any("class_weight" in n for n in notes)


def test_a_model_that_never_predicts_the_positive_class_is_named_with_what_to_try() -> None:
    none_found = {"recall": 0.0, "precision": 0.0, "f1": 0.0}
    first = one_class_hint(none_found, "default", {"max_iter": 1000})
    assert first is not None and "'default'" in first and "class_weight: balanced" in first
    weighted = one_class_hint(none_found, "default", {"class_weight": "balanced"})
    assert weighted is not None and "hist_gradient_boosting" in weighted
    assert first is not None and "scale_pos_weight" in first  # XGBoost's, for a model by import path
    xgboost_weighted = one_class_hint(none_found, "default", {"scale_pos_weight": 3.0})
    assert xgboost_weighted is not None and "hist_gradient_boosting" in xgboost_weighted
    assert one_class_hint({"recall": 0.4}, "default", {}) is None
    unnamed = one_class_hint({"recall": 0.0}, None, {})  # data.positive_class left to training
    assert unnamed is not None and "no row of the positive class" in unnamed
    assert one_class_hint({"r2": 0.0}, None, {}) is None
