"""The project's own code through the loop: a derived feature and XGBoost from params.yaml to the
stages' outputs, a release, `make predict`, and DVC's lineage; a release whose code has changed
since is refused, and a feature that raises loses nothing. Stages and commands in-process in a
copy of the sample project, DVC for real (`make ci` against a main without the feature, `make
serve`, the container and `copier update` run in the slow tier: tests/template)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlpipeline.errors import PipelineError
from tests.conftest import Repo, reproduce, run_stages

integration = pytest.mark.integration
FEATURES = "src/project/features.py"


def own_code(params: dict) -> None:
    """The worked examples of src/project/ and XGBoost, weighted for the rarer class."""
    params["features"]["derived"] = [
        "project.features:charges_per_month",
        {"path": "project.features:CategoryShare", "args": {"column": "payment_method"}},
    ]
    params["model"]["estimator"] = "xgboost:XGBClassifier"
    params["model"]["hyperparameters"] = {"n_estimators": 80, "max_depth": 3, "scale_pos_weight": 2.0}
    params["evaluate"]["slices"].append("payment_method_share")  # a derived column, sliced


@integration
def test_a_feature_and_xgboost_run_from_params_to_a_release_that_refuses_other_code(
    repo: Repo, command, tmp_path
) -> None:
    repo.edit_yaml("params.yaml", own_code)
    assert reproduce(repo)  # the sample's gate passes
    card = json.loads((repo.path / "models/model.json").read_text())
    derived = {f["name"]: f.get("derived") for f in card["features"]}
    assert derived["charges_per_month"] == "project.features:charges_per_month"
    assert card["code"]["import_paths"][-1] == "xgboost:XGBClassifier"
    assert list(card["code"]["project"]) == ["project"]  # the project's own package, hashed
    assert "xgboost-cpu" in card["libraries"]  # the estimator's distribution, pinned by the lock
    importance = json.loads((repo.path / "metrics/plots/importance.json").read_text())
    assert "charges_per_month" in json.dumps(importance)
    slices = json.loads((repo.path / "metrics/slices.json").read_text())
    assert "payment_method_share" in json.dumps(slices)
    repo.commit("a derived feature and XGBoost")
    released = command(repo, "registry", "release", "--notes", "own code")
    assert released.returncode == 0, released.stderr
    version = released.stdout.split("registered model ")[1].split()[0]

    rows = tmp_path / "rows.csv"
    sample = pd.read_csv(repo.path / "data/raw/telco_churn.csv").head(40)
    sample.drop(columns=["churn"]).to_csv(rows, index=False)

    def predict(version: str = ""):
        out = tmp_path / "out.csv"
        return command(repo, "predict", "--input", str(rows), "--output", str(out), "--version", version)

    assert predict(version).returncode == 0
    expected = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    expected["warnings"] = expected["warnings"].fillna("")
    assert len(expected) == 40
    # The service computes the same features: the same answers as `make predict`, said once.
    from fastapi.testclient import TestClient

    from mlpipeline.adapters.http import create_app
    from mlpipeline.commands.serve import from_registry
    from mlpipeline.core.rows import RowPath
    from tests.serving import checks

    served, _, _ = from_registry(repo.path, None, version, tmp_path)
    app = create_app(served, path=RowPath(served))
    assert app.state.said.startswith("fast path off: the model runs the project's own code")
    served_rows = sample.drop(columns=["churn"]).astype(object).where(sample.notna(), None)
    with TestClient(app) as client:
        checks.check_predictions_match(client, served_rows.to_dict(orient="records"), expected)

    # Editing the project's code re-runs the stages that run it, and nothing else.
    with (repo.path / FEATURES).open("a") as f:
        f.write("\n# edited after the release\n")
    stale = json.loads(repo.dvc("status", "--json").stdout)
    assert set(stale) == {"train", "evaluate"}, stale
    # A release, or the workspace's model, never predicts with other code than it was trained with.
    refused = predict(version)
    assert refused.returncode == 1
    assert f"{version} was trained with other code of src/project" in refused.stderr
    assert f"git worktree add ../{version} model@{version}" in refused.stderr
    assert "workspace model was trained with other code" in predict().stderr


@integration
def test_a_feature_that_raises_stops_train_with_one_line_and_keeps_the_last_model(repo: Repo) -> None:
    model, card = (repo.path / "models/model.joblib"), (repo.path / "models/model.json")
    before = model.read_bytes(), card.read_bytes()
    repo.edit_yaml(
        "params.yaml",
        lambda p: p["features"].__setitem__("derived", ["tests.model.owncode_examples:fails_on_one_row"]),
    )
    with pytest.raises(PipelineError, match=r"fails_on_one_row: computing raised ValueError: .* at row \d+"):
        run_stages(repo)
    assert (model.read_bytes(), card.read_bytes()) == before
