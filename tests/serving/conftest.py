"""What every service test compares with: rows of the sample and what `make predict` wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipeline.commands.serve import from_registry
from tests.conftest import Repo

ROWS = 40


def score_rows(repo: Repo, scratch: Path) -> dict:
    """Rows of the sample and what `make predict` wrote for them in ``repo``'s workspace."""
    sample = pd.read_csv(repo.path / "data/raw/telco_churn.csv", nrows=ROWS)
    sample.to_csv(scratch / "in.csv", index=False)
    repo.make("predict", f"INPUT={scratch / 'in.csv'}", f"OUTPUT={scratch / 'out.csv'}")
    rows = sample.drop(columns="churn").astype(object).where(sample.notna(), None).to_dict(orient="records")
    contract = yaml.safe_load((repo.path / "data/contract.yaml").read_text())
    served, _, _ = from_registry(repo.path, None, None, scratch)
    expected = pd.read_csv(scratch / "out.csv", keep_default_na=False, na_values=[""])
    expected["warnings"] = expected["warnings"].fillna("")
    return {"rows": rows, "expected": expected, "contract": contract, "served": served}


@pytest.fixture(scope="session")
def scored(template_repo: Repo, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Rows of the sample and what `make predict` wrote for them, in the template's workspace."""
    return score_rows(template_repo, tmp_path_factory.mktemp("scored"))
