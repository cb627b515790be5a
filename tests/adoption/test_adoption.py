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

import pytest

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

pytestmark = pytest.mark.adoption
COUNT = int(os.environ.get("ADOPTION_TABLES", "12"))
HANDFUL = 3


def adopt_and_run(seed: int, root: Path, params_template: str) -> str:
    """'model' when a model and its gate verdict came out, else the error line a user would see."""
    t = table(seed)
    raw = root / "data/raw/table.csv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    t.frame.to_csv(raw, index=False)
    try:
        frame = read_csv(raw)
        p = plan(frame, t.target, t.task, t.id_column)
        params = new_params(params_template, p, "data/raw/table.csv", "data/contract.yaml")
        estimator = ESTIMATORS[p.task][t.estimator_pick]  # use-data picks the first; users change it
        params = params.replace(f"estimator: {ESTIMATORS[p.task][0]}", f"estimator: {estimator}")
        if estimator != ESTIMATORS[p.task][0]:
            params = params.replace("max_iter: 1000", "{}").replace("alpha: 1.0", "{}")
        settings = parse_settings(load_yaml(params, "params.yaml"))
        write_text(root / "params.yaml", params)
        write_text(
            root / "data/contract.yaml", contract_yaml(infer_contract(frame, t.target, p.id_column), "t")
        )
        make_estimator(settings)  # what `make repro` checks before DVC runs
        layout = Layout(root)
        for stage in (validate, train, evaluate):
            stage.run(settings, layout)
        gate.run(settings, layout)
    except PipelineError as exc:
        return f"stopped: {str(exc).splitlines()[0]}"
    return "model"


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
    params_template = (root / "tests/fixtures/sample/params.yaml").read_text()
    try:
        outcome = adopt_and_run(seed, tmp_path, params_template)
    except Exception:  # the property: nothing but PipelineError escapes
        pytest.fail(f"table seed {seed} raised a traceback:\n{traceback.format_exc()}")
    print(f"seed {seed}: {outcome}")
    if outcome == "model":
        assert (tmp_path / "models/model.joblib").exists() and (tmp_path / "metrics/gate.json").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
