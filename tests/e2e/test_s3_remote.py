"""The path a team takes when it outgrows the sample remote: a real S3 API on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipeline.adapters.files import file_md5
from tests.conftest import Repo

pytestmark = pytest.mark.e2e

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def make_bucket(endpoint: str, name: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, **_creds()).create_bucket(Bucket=name)


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def test_push_to_s3_and_pull_into_a_fresh_clone(repo: Repo, s3_endpoint: str, tmp_path: Path) -> None:
    make_bucket(s3_endpoint, "team-bucket")
    repo.env.update(CREDENTIALS)
    # As the README says: the remote in .dvc/config (committed), credentials only in the environment.
    repo.dvc("remote", "add", "-d", "-f", "storage", "s3://team-bucket/dvc")
    repo.dvc("remote", "modify", "storage", "endpointurl", s3_endpoint)
    config = (repo.path / ".dvc/config").read_text()
    assert "testing" not in config
    repo.dvc("push", "--run-cache")
    repo.commit("switch to the team's S3 remote")

    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    other = Repo(clone, tmp_path / "other")
    other.env.update(CREDENTIALS)
    other.dvc("pull")
    for rel in ("data/raw/telco_churn.csv", "data/prepared/train.parquet", "models/model.joblib"):
        assert file_md5(clone / rel) == file_md5(repo.path / rel)
    assert "up to date" in other.dvc("status").stdout


def test_missing_credentials_are_named_with_what_to_do(repo: Repo, s3_endpoint: str) -> None:
    make_bucket(s3_endpoint, "team-bucket")
    repo.dvc("remote", "add", "-d", "-f", "storage", "s3://team-bucket/dvc")
    repo.dvc("remote", "modify", "storage", "endpointurl", s3_endpoint)
    (repo.path / "data/raw/telco_churn.csv").unlink()  # so make repro has to pull
    done = repo.make("repro", check=False)
    assert done.returncode != 0
    assert "credentials" in done.stderr
    assert "dvc pull from remote 'storage' failed" in done.stderr
    assert "Traceback" not in done.stderr
