"""`make refresh-data`, the first step of a scheduled retrain: each way new data arrives.

`make refresh-data` and `make update-data` run for real once each; the other ways new data arrives
call the same commands' ``main()`` in-process (integration).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Repo

e2e, integration = pytest.mark.e2e, pytest.mark.integration
RAW = "data/raw/telco_churn.csv"


def grown(repo: Repo, path: Path, rows: int = 300) -> None:
    """The sample plus ``rows`` new customers (ids in the contract's form), written to ``path``."""
    frame = pd.read_csv(repo.path / RAW)
    extra = frame.sample(rows, random_state=1).reset_index(drop=True)
    extra["customer_id"] = sorted(set(f"C{i:05d}" for i in range(100_000)) - set(frame["customer_id"]))[:rows]
    pd.concat([frame, extra]).to_csv(path, index=False)


@e2e
def test_nothing_new_is_said_and_changes_nothing(repo: Repo) -> None:
    done = repo.make("refresh-data")
    assert f"re-tracked {RAW} as it is; the data is unchanged" in done.stdout
    assert repo.git("status", "--porcelain").stdout == ""


@integration
def test_data_source_is_copied_in_and_tracked(repo: Repo, tmp_path: Path, command) -> None:
    source = tmp_path / "landing.csv"
    grown(repo, source)
    repo.edit_yaml("params.yaml", lambda p: p["data"].update(source=str(source)))
    repo.commit("fresh data lands in landing.csv")
    done = command(repo, "refresh")
    assert f"copied {source} to {RAW}; the data is changed" in done.stdout
    assert len(pd.read_csv(repo.path / RAW)) == 7043 + 300
    assert "validate" in repo.dvc("status").stdout  # the next repro retrains on it
    assert repo.git("status", "--porcelain").stdout.split() == ["M", f"{RAW}.dvc"]


@integration
def test_imported_data_is_updated_by_dvc(repo: Repo, tmp_path: Path, command) -> None:
    source = tmp_path / "warehouse.csv"
    (repo.path / RAW).replace(source)
    repo.dvc("remove", "-q", f"{RAW}.dvc")
    repo.dvc("import-url", "-q", str(source), RAW)
    repo.commit("the raw data is imported")
    grown(repo, source)
    done = command(repo, "refresh")
    assert f"dvc update {Path(RAW).name}.dvc; the data is changed" in done.stdout
    assert len(pd.read_csv(repo.path / RAW)) == 7043 + 300


@integration
def test_a_missing_source_is_one_clear_line(repo: Repo, tmp_path: Path, command) -> None:
    repo.edit_yaml("params.yaml", lambda p: p["data"].update(source=str(tmp_path / "nowhere.csv")))
    done = command(repo, "refresh")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "data.source" in done.stderr and "nowhere.csv is not a file" in done.stderr


@e2e
def test_update_data_tracks_a_newer_file_and_keeps_params_and_contract(repo: Repo, tmp_path: Path) -> None:
    params, contract = (repo.path / "params.yaml").read_text(), (repo.path / "data/contract.yaml").read_text()
    newer = tmp_path / "may.csv"
    grown(repo, newer)
    done = repo.make("update-data", f"DATA={newer}")
    assert f"{RAW} is now {newer} (7343 rows" in done.stdout
    assert (repo.path / "params.yaml").read_text() == params
    assert (repo.path / "data/contract.yaml").read_text() == contract
    assert repo.git("status", "--porcelain").stdout.split() == ["M", f"{RAW}.dvc"]
    assert "validate" in repo.dvc("status").stdout


@integration
def test_update_data_refuses_a_file_that_breaks_the_contract_and_changes_nothing(
    repo: Repo, tmp_path: Path, command
) -> None:
    bad = tmp_path / "june.csv"
    frame = pd.read_csv(repo.path / RAW)
    frame.loc[:4, "contract"] = "Lifetime"
    frame.to_csv(bad, index=False)
    done = command(repo, "usedata", "--update", "--data", str(bad))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "contract" in done.stderr and "Lifetime" in done.stderr and "nothing changed" in done.stderr
    assert repo.git("status", "--porcelain").stdout == ""
