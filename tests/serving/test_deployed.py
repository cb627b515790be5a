"""The integration checks against a deployed service: `SERVICE_URL=http://host:port` and the
version it should serve (`SERVICE_VERSION=v1.2.0`), run from the project that released it.

cd.yml runs this against the freshly built container before it is pushed and staged:

    SERVICE_URL=http://127.0.0.1:8000 SERVICE_VERSION=v1.2.0 .venv/bin/pytest tests/serving/test_deployed.py

Expected answers come from `make predict VERSION=...` on the project's own data, so the service
must agree with the registry, row for row. Without SERVICE_URL the module is skipped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlpipeline.adapters.modelstore import serving_contract
from mlpipeline.commands.predict import resolve
from mlpipeline.config import load_settings
from tests.serving import checks

URL = os.environ.get("SERVICE_URL")
pytestmark = [
    pytest.mark.skipif(not URL, reason="SERVICE_URL not set: no deployed service to check"),
    pytest.mark.e2e,  # git, make predict and a service over the network (cd.yml ran it as fast: refused)
]
ROWS = 40


def test_the_deployed_service_passes_every_check(tmp_path: Path) -> None:
    version = os.environ.get("SERVICE_VERSION") or ""
    root = Path()
    settings = load_settings(root / "params.yaml")
    _, commit, card = resolve(root, None, version or None)
    sample = pd.read_csv(root / settings.data.raw, nrows=ROWS)
    sample.to_csv(tmp_path / "in.csv", index=False)
    files = [f"INPUT={tmp_path / 'in.csv'}", f"OUTPUT={tmp_path / 'out.csv'}"]
    subprocess.run(["make", "--no-print-directory", "predict", *files, f"VERSION={version}"], check=True)
    expected = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    expected["warnings"] = expected["warnings"].fillna("")
    target = settings.data.target
    rows = sample.drop(columns=target).astype(object).where(sample.notna(), None).to_dict(orient="records")
    contract = serving_contract(root, commit, card).model_dump(exclude_none=True)
    with httpx.Client(base_url=URL, timeout=60) as client:
        checks.run_all(client, rows, expected, card["model_sha256"], contract, target)
