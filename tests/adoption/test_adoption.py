"""The adoption path on generated tables: every table trains a model or stops with a clear message.

Each table goes the way `make use-data` and `dvc repro` take it (plan, new params, inferred
contract, then validate, train, evaluate and gate), in-process so hundreds of tables stay cheap;
tests/e2e/test_use_data.py runs the same path through real make and DVC. A ``PipelineError`` is
the clear line a user sees; any other exception would be a traceback, and fails the test.

`make test` runs the first HANDFUL tables (integration tier), `make test-all` ADOPTION_TABLES of
them (default 12; the rest are in the slow tier); the full run is
`ADOPTION_TABLES=200 .venv/bin/pytest -m adoption -n auto`.
"""

from __future__ import annotations

import os
import shutil
import traceback
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipeline.adapters.files import write_text
from mlpipeline.adapters.tabular import read_csv
from mlpipeline.commands.usedata import new_params, plan
from mlpipeline.config import load_yaml, parse_settings
from mlpipeline.core.contract import contract_yaml, infer_contract
from mlpipeline.core.model import make_estimator
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout
from mlpipeline.stages import evaluate, gate, train, validate
from tests.adoption.tables import ESTIMATORS, table
from tests.conftest import without_timing_rules

pytestmark = pytest.mark.adoption
COUNT = int(os.environ.get("ADOPTION_TABLES", "12"))
HANDFUL = 3


def adopt(
    frame_on_disk: pd.DataFrame,
    root: Path,
    params_template: str,
    target: str = "target",
    task: str | None = None,
    id_column: str | None = None,
    estimator_pick: int = 0,
) -> str:
    """'model' when a model and its gate verdict came out, else the error line a user would see."""
    raw = root / "data/raw/table.csv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    frame_on_disk.to_csv(raw, index=False)
    try:
        frame = read_csv(raw)
        p = plan(frame, target, task, id_column)
        params = new_params(params_template, p, "data/raw/table.csv", "data/contract.yaml")
        estimator = ESTIMATORS[p.task][estimator_pick]  # use-data picks the first; users change it
        if estimator != ESTIMATORS[p.task][0]:
            doc = yaml.safe_load(params)
            doc["model"]["estimator"] = estimator
            for key in ("max_iter", "alpha"):  # the first estimator's; class_weight stays
                doc["model"]["hyperparameters"].pop(key, None)
            params = yaml.safe_dump(doc, sort_keys=False)
        settings = parse_settings(load_yaml(params, "params.yaml"))
        write_text(root / "params.yaml", params)
        write_text(
            root / "data/contract.yaml", contract_yaml(infer_contract(frame, target, p.id_column), "t")
        )
        make_estimator(settings)  # what `make repro` checks before DVC runs
    except PipelineError as exc:
        return f"stopped in adoption: {str(exc).splitlines()[0]}"
    layout = Layout(root)
    for name, stage in (("validate", validate), ("train", train), ("evaluate", evaluate), ("gate", gate)):
        try:
            stage.run(settings, layout)
        except PipelineError as exc:
            return f"stopped in {name}: {str(exc).splitlines()[0]}"
    return "model"


def adopt_and_run(seed: int, root: Path, params_template: str) -> str:
    """The generated table of ``seed`` through ``adopt``."""
    t = table(seed)
    return adopt(t.frame, root, params_template, t.target, t.task, t.id_column, t.estimator_pick)


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(s, marks=pytest.mark.integration if s < HANDFUL else pytest.mark.slow)
        for s in range(COUNT)
    ],
)
def test_a_generated_table_trains_or_stops_with_a_clear_message(
    seed: int, tmp_path: Path, root: Path
) -> None:
    params_template = without_timing_rules((root / "tests/fixtures/sample/params.yaml").read_text())
    try:
        outcome = adopt_and_run(seed, tmp_path, params_template)
    except Exception:  # the property: nothing but PipelineError escapes
        pytest.fail(f"table seed {seed} raised a traceback:\n{traceback.format_exc()}")
    print(f"seed {seed}: {outcome}")
    # Data is refused before training or not at all: a model that trained is evaluated and judged
    # (evaluate once read the sample's contract instead of the project's, and this only printed it).
    assert not outcome.startswith(("stopped in evaluate", "stopped in gate")), outcome
    if outcome == "model":
        assert (tmp_path / "models/model.joblib").exists() and (tmp_path / "metrics/gate.json").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
