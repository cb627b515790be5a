"""The project's own code in the model: derived features and estimators by import path, each
mistake in one line, the fast path declining, the code's hash checked before a model is used.
In-process, on the bundled sample (the project's worked examples in src/project/)."""

from __future__ import annotations

import copy
import hashlib
import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipeline.config import Settings, parse_settings
from mlpipeline.core import metrics as m
from mlpipeline.core.fastpath import compile_model
from mlpipeline.core.features import input_columns
from mlpipeline.core.model import fit, make_estimator
from mlpipeline.core.split import split
from mlpipeline.errors import PipelineError

EXAMPLES = "tests.model.owncode_examples"
DERIVED = [
    "project.features:charges_per_month",
    {"path": "project.features:CategoryShare", "args": {"column": "payment_method"}},
]


@pytest.fixture(scope="module")
def params(sample: Path) -> dict[str, Any]:
    return yaml.safe_load((sample / "params.yaml").read_text())


def _settings(params: dict[str, Any], derived: list | None = None, **model: Any) -> Settings:
    data = copy.deepcopy(params)
    data["features"]["derived"] = derived or []
    data["model"].update(model)
    return parse_settings(data)


@pytest.fixture(scope="module")
def sample_split(sample_frame: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mlpipeline.core.frames import split_ready

    frame = split_ready(sample_frame.copy(), settings.data)
    train, test, _ = split(frame, settings.split, settings.data.target, settings.data.id_column)
    return train, test


def _bytes(model: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _sha(model: Any) -> str:
    return hashlib.sha256(_bytes(model)).hexdigest()


def _roc_auc(settings: Settings, model: Any, facts: dict, test: pd.DataFrame) -> float:
    x, y = test[input_columns(facts)], test[settings.data.target]
    return m.score(settings.task, model, x, y, facts["positive_class"])["roc_auc"]


def test_derived_features_are_the_models_first_step_named_on_the_card_and_read_raw_columns(
    params: dict, sample_split
) -> None:
    train, test = sample_split
    settings = _settings(params, DERIVED)
    model, facts = fit(settings, train)
    by_name = {f["name"]: f for f in facts["features"]}
    assert by_name["charges_per_month"]["derived"] == "project.features:charges_per_month"
    assert by_name["payment_method_share"]["derived"] == "project.features:CategoryShare"
    assert by_name["payment_method_share"]["kind"] == "numeric"
    assert "derived" not in by_name["tenure"]
    # The model reads raw columns only (the contract's); the derived ones it computes itself.
    inputs = input_columns(facts)
    assert "charges_per_month" not in inputs and {"tenure", "total_charges"} <= set(inputs)
    assert settings.data.target not in inputs
    proba = model.predict_proba(test[inputs])[:, 1]
    assert _roc_auc(settings, model, facts, test) > 0.8
    # Saved and loaded, it computes the same features: what `make serve` and the container load.
    again = joblib.load(io.BytesIO(_bytes(model)))
    assert (again.predict_proba(test[inputs])[:, 1] == proba).all()
    # The fitted transformer learned on the training rows only.
    share = model.named_steps["derive"].steps[1][1].shares_
    assert share == train["payment_method"].value_counts(normalize=True).to_dict()
    compiled, why = compile_model(model, facts)
    assert compiled is None and "project's own code" in why


def test_xgboost_by_import_path_trains_on_text_labels_seeded_and_byte_deterministic(
    params: dict, sample_split
) -> None:
    train, test = sample_split
    settings = _settings(
        params,
        ["project.features:charges_per_month"],
        estimator="xgboost:XGBClassifier",
        hyperparameters={"n_estimators": 60, "max_depth": 3, "n_jobs": 1},
    )
    built = make_estimator(settings)
    assert built.estimator.get_params()["random_state"] == settings.model.seed
    model, facts = fit(settings, train)
    target = settings.data.target
    assert sorted(model.classes_) == sorted(train[target].unique())  # the labels, not 0/1
    predicted = model.predict(test[input_columns(facts)])
    assert set(predicted) <= set(train[target].unique())
    assert _roc_auc(settings, model, facts, test) > 0.8
    assert _sha(fit(settings, train)[0]) == _sha(model)


def test_the_positive_class_is_code_one_for_the_wrapped_model_whichever_way_its_label_sorts() -> None:
    """XGBoost's scale_pos_weight weighs code 1: it must be data.positive_class ("default" sorts
    before "paid"), while classes_ and the probability columns keep scikit-learn's sorted order."""
    from sklearn.linear_model import LogisticRegression

    from mlpipeline.core.project import EncodedLabels

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = np.where(x[:, 0] > 0.8, "default", "paid")
    model = EncodedLabels(LogisticRegression(), positive="default").fit(x, y)
    assert list(model.classes_) == ["default", "paid"]
    inner = model.estimator_
    assert ((inner.predict(x) == 1) == (model.predict(x) == "default")).all()
    assert (model.predict_proba(x)[:, 0] == inner.predict_proba(x)[:, 1]).all()
    unweighted = EncodedLabels(LogisticRegression()).fit(x, y)  # no positive: codes in sorted order
    assert np.allclose(unweighted.predict_proba(x), model.predict_proba(x))


def test_a_project_model_class_takes_the_seed_and_its_hyperparameters(params: dict, sample_split) -> None:
    train, test = sample_split
    settings = _settings(
        params, estimator="project.models:BalancedForest", hyperparameters={"n_estimators": 30}
    )
    built = make_estimator(settings).estimator
    assert built.random_state == settings.model.seed and built.n_estimators == 30
    model, facts = fit(settings, train)
    assert _roc_auc(settings, model, facts, test) > 0.8
    with pytest.raises(PipelineError, match=r"model.hyperparameters.class_weights: not a parameter of"
                       r" BalancedForest; allowed: .*max_depth"):  # fmt: skip
        make_estimator(_settings(params, estimator="project.models:BalancedForest",
                                 hyperparameters={"class_weights": "x"}))  # fmt: skip


ESTIMATOR_REFUSALS = {
    "nopackage_xyz:Model": r"model.estimator: no module 'nopackage_xyz' \(declare the package in"
    r" pyproject.toml's `project` group",
    "project.models:Missing": r"model.estimator: module project.models has no 'Missing'",
    "sklearn.linear_model:Ridge": r"model.estimator: sklearn.linear_model:Ridge is a regressor;"
    r" task: classification needs a classifier",
    "sklearn.linear_model:RidgeClassifier": r"has no predict_proba, which roc_auc.*CalibratedClassifierCV",
    f"{EXAMPLES}:NoProbabilities": r"has no predict_proba",
    f"{EXAMPLES}:NeedsArguments": r"cannot be made without arguments",
    f"{EXAMPLES}:fails_on_one_row": r"fails_on_one_row has no fit, predict, get_params; a model is a"
    r" scikit-learn-compatible class",
    "xgboost": r"model.estimator: 'xgboost' is not allowed; choose one of: .* or an import path",
}


@pytest.mark.parametrize(("path", "message"), ESTIMATOR_REFUSALS.items())
def test_an_estimator_path_that_cannot_be_the_model_is_refused_in_one_line(
    params: dict, path: str, message: str
) -> None:
    with pytest.raises(PipelineError, match=message) as caught:
        make_estimator(_settings(params, estimator=path))
    assert "\n" not in str(caught.value)


DERIVED_REFUSALS = {
    "project.features:nope": r"features.derived\[0\]: module project.features has no 'nope'",
    "project.feature:x": r"features.derived\[0\]: no module 'project.feature'"
    r" \(the project's own code lives in src/project/",
    "not a path": r"features.derived\[0\].path: String should match pattern .*\(got 'not a path'\)",
    f"{EXAMPLES}:NOT_CALLABLE": r"features.derived\[0\]: .*NOT_CALLABLE is not a function or class",
    f"{EXAMPLES}:fails_on_one_row": r"features.derived\[0\] .*fails_on_one_row: computing raised"
    r" ValueError: a value this code did not expect at row \d+ \(customer_id C04611\)",
    f"{EXAMPLES}:drops_rows": r"features.derived\[0\] .*drops_rows: returned \d+ rows for \d+, or in another",
    f"{EXAMPLES}:sorts_rows": r"sorts_rows: returned \d+ rows for \d+, or in another order",
    f"{EXAMPLES}:drops_the_id": r"drops_the_id: dropped the id column customer_id: a derived feature adds",
    f"{EXAMPLES}:returns_lists": r"returns_lists: column 'pairs' holds list: a derived column holds numbers",
    f"{EXAMPLES}:unnamed": r"unnamed: returned a Series without a name",
    f"{EXAMPLES}:keeps_the_name": r"keeps_the_name: returned a Series named 'tenure', a raw column; a derived"
    r" feature adds new columns: rename it",
    f"{EXAMPLES}:overwrites": r"overwrites: returned tenure, which the frame already has; a derived feature"
    r" adds new columns",
    f"{EXAMPLES}:returns_array": r"returns_array: returned ndarray; a derived feature returns a named Series",
}


@pytest.mark.parametrize(("path", "message"), DERIVED_REFUSALS.items())
def test_a_derived_feature_that_goes_wrong_is_named_in_one_line_with_the_step_and_row(
    params: dict, sample_split, path: str, message: str
) -> None:
    train, _ = sample_split
    with pytest.raises(PipelineError, match=message) as caught:
        fit(_settings(params, [path]), train)
    assert "\n" not in str(caught.value)


def test_args_are_for_transformer_classes_and_checked_against_their_constructor(
    params: dict, sample_split
) -> None:
    train, _ = sample_split
    function = {"path": "project.features:charges_per_month", "args": {"column": "x"}}
    with pytest.raises(PipelineError, match=r"features.derived\[0\].args: .* is a function; args are for"):
        fit(_settings(params, [function]), train)
    wrong = {"path": "project.features:CategoryShare", "args": {"colum": "payment_method"}}
    with pytest.raises(
        PipelineError, match=r"features.derived\[0\].args: .*unexpected keyword argument 'colum'"
    ):
        fit(_settings(params, [wrong]), train)


def test_the_settings_check_resolves_every_import_path_before_dvc_runs_a_stage(
    params: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make repro` runs commands.settings first: a path that does not resolve stops there."""
    from mlpipeline.commands import settings as command

    data = copy.deepcopy(params)
    data["features"]["derived"] = ["project.features:charge_per_month"]  # misspelt
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineError, match=r"module project.features has no 'charge_per_month'"):
        command.main([])
    data["features"]["derived"] = ["project.features:charges_per_month"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    assert command.main([]) == 0


def test_the_dask_engine_refuses_a_fitted_transformer_before_starting_a_cluster(
    params: dict, tmp_path
) -> None:
    from mlpipeline.layout import Layout
    from mlpipeline.stages.train import fit_on_cluster

    data = copy.deepcopy(params)
    data["engine"] = {"name": "dask"}
    data["model"] = {"estimator": "lightgbm", "hyperparameters": {}}
    data["features"]["derived"] = DERIVED
    with pytest.raises(PipelineError, match=r"CategoryShare is a transformer fitted on the training rows.*"
                       r"engine.name: dask runs derived features that are functions"):  # fmt: skip
        fit_on_cluster(parse_settings(data), Layout(tmp_path))


def test_a_model_whose_project_code_changed_is_refused_with_what_to_run(
    params: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlpipeline.adapters.projectcode import check_code, code_facts

    package = tmp_path / "src" / "ownfeatures_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def ratio(frame):\n    return frame['a'].rename('r')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    # A library installed in the project's own .venv is inside the project, and still the lock's.
    library = tmp_path / ".venv/lib/python3.11/site-packages"
    (library / "ownmodels_lib").mkdir(parents=True)
    (library / "ownmodels_lib" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(library))
    settings = _settings(params, ["ownfeatures_pkg:ratio"], estimator="ownmodels_lib:Model")
    facts = code_facts(tmp_path, settings)
    assert facts is not None
    assert facts["import_paths"] == ["ownfeatures_pkg:ratio", "ownmodels_lib:Model"]
    assert list(facts["project"]) == ["ownfeatures_pkg"]  # an installed library is its lock's, not hashed
    card = {"code": facts}
    check_code(tmp_path, card, "workspace model")  # unchanged: used
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")  # not the code
    check_code(tmp_path, card, "v1.2.0 (prod)")
    (package / "__init__.py").write_text("def ratio(frame):\n    return frame['b'].rename('r')\n")
    with pytest.raises(PipelineError, match=r"workspace model was trained with other code of src/ownfeatures"
                       r"_pkg .*run `make repro`"):  # fmt: skip
        check_code(tmp_path, card, "workspace model")
    with pytest.raises(PipelineError, match=r"v1.2.0 \(prod\) was trained with other code .*"
                       r"git worktree add ../v1.2.0 model@v1.2.0"):  # fmt: skip
        check_code(tmp_path, card, "v1.2.0 (prod)")
    assert code_facts(tmp_path, _settings(params)) is None  # a model of the template's code only


def test_the_image_carries_the_package_and_the_project_code_the_card_names(tmp_path: Path) -> None:
    from mlpipeline.commands.image import code_packages

    for package in ("mlpipeline", "project", "other", "unused"):
        (tmp_path / "src" / package).mkdir(parents=True)
        (tmp_path / "src" / package / "__init__.py").write_text("")
    assert code_packages(tmp_path, {}) == ["mlpipeline", "project"]
    assert code_packages(tmp_path, {"code": {"project": {"other": "md5"}}}) == [
        "mlpipeline",
        "project",
        "other",
    ]
