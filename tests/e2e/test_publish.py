"""Main publishes with the shipped remote: a bare origin, a clone that publishes, a clone that predicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import Repo

pytestmark = pytest.mark.e2e


def test_publish_with_the_shipped_remote_then_predict_from_another_clone(repo: Repo, tmp_path: Path) -> None:
    # The bundled remote holds every output a fresh clone needs, so `make repro` trains nothing.
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"].startswith(("data/", "models/model.joblib")):
                md5 = out["md5"]
                assert (repo.path / "data/sample_remote/files/md5" / md5[:2] / md5[2:]).is_file(), out["path"]
    origin = tmp_path / "origin.git"
    repo.git("init", "-q", "--bare", "-b", "main", str(origin))
    repo.git("push", "-q", str(origin), "main")
    publisher = repo.clone(origin, "publisher")
    # What the publish job runs on main, in order.
    done = publisher.make("repro")
    assert "Running stage" not in done.stdout, done.stdout
    assert "do not exist neither locally nor on remote" not in done.stdout + done.stderr
    assert publisher.git("status", "--porcelain").stdout == ""
    publisher.make("push")
    assert publisher.git("status", "--porcelain").stdout == "", "make push dirtied the tree"
    # ci.yml's release step: a new version is named for the deliver job; a second run names none.
    outputs = tmp_path / "github_output"
    for _ in range(2):
        publisher.run(
            "bash", ".github/scripts/release-on-main.sh", env={"GITHUB_OUTPUT": str(outputs), "SHA": "abc"}
        )
    assert outputs.read_text().splitlines() == ["version=v1.0.0", "version="]

    consumer = repo.clone(origin, "consumer")
    assert "model@v1.0.0" in consumer.git("tag", "-l").stdout.split()
    rows = pd.read_csv(repo.path / "data/raw/telco_churn.csv").head(20).drop(columns=["churn"])
    rows.to_csv(tmp_path / "in.csv", index=False)
    consumer.make(
        "predict", f"INPUT={tmp_path / 'in.csv'}", f"OUTPUT={tmp_path / 'out.csv'}", "VERSION=v1.0.0"
    )
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 20
    assert list(out.columns) == ["customer_id", "prediction", "proba_No", "proba_Yes", "warnings"]


def test_pushing_to_the_bundled_remote_after_stages_ran_leaves_it_clean(other_model_repo: Repo) -> None:
    repo = other_model_repo  # its stages ran after the bundled remote was filled: new outputs
    before = set((repo.path / "data/sample_remote/files").rglob("*"))
    repo.make("push")
    assert repo.git("status", "--porcelain", "--", "data/sample_remote").stdout == ""
    assert set((repo.path / "data/sample_remote/files").rglob("*")) > before  # pushed, and ignored
