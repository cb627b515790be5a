"""A project a team shares: its data on a remote every clone can reach, or a clear line saying
how to get there; the teammate's clone that trains nothing; `make doctor`'s checklist.

The shared remote here is a folder (what a team mounts); the S3 path runs in test_s3_remote.py,
and a generated project on S3 with a teammate's clone in tests/template.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.conftest import Repo

integration, e2e = pytest.mark.integration, pytest.mark.e2e


@integration
def test_use_data_leaves_nothing_of_the_old_data_and_says_where_a_clone_gets_the_new(
    repo: Repo, command
) -> None:
    (repo.path / "data/batches").mkdir(parents=True)
    pd.read_csv(repo.path / "data/raw/telco_churn.csv").head(60).to_csv(repo.path / "data/batches/b.csv")
    repo.dvc("add", "-q", "data/batches")
    repo.commit("a monitoring batch of the sample")
    frame = pd.read_csv(repo.path / "data/raw/telco_churn.csv")
    frame["signed_on"] = "2024-01-01"
    frame.to_csv(repo.path.parent / "customers.csv", index=False)
    done = command(repo, "usedata", "--data", str(repo.path.parent / "customers.csv"), "--target", "churn")
    assert done.returncode == 0, done.stderr
    # The old data's outputs, batches and remote are gone, each said.
    assert not (repo.path / "dvc.lock").exists() and "dvc.lock (removed" in done.stdout
    assert not (repo.path / "data/batches.dvc").exists() and "data/batches.dvc (removed" in done.stdout
    config = (repo.path / ".dvc/config").read_text()
    assert "remote = sample" not in config and "['remote \"sample\"']" in config  # kept, not default
    assert "bundled 'sample'" in done.stdout and "make remote URL=" in done.stdout
    # What a sweep sets exists (DVC's -S overrides only existing keys); a date suggests a time split.
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    assert params["model"]["hyperparameters"] == {"C": 1.0, "max_iter": 1000}
    assert "split: {policy: time, time_column: signed_on}" in done.stdout
    assert params["split"]["policy"] == "stratified"  # suggested, not chosen


@integration
def test_a_clone_whose_data_is_on_no_remote_stops_with_what_to_run(repo: Repo, command) -> None:
    from mlpipeline.adapters.remote import unset_default

    unset_default(repo.path)  # the project of one machine: no default remote
    repo.commit("no remote")
    mate = repo.clone(repo.path, "mate")
    done = command(mate, "sync", "pull")
    assert done.returncode == 1
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "data/raw/telco_churn.csv is not in this clone, and the project has no DVC remote" in line
    assert "make remote URL=" in line and "make push" in line


@integration
def test_a_remote_that_cannot_be_written_is_refused_with_the_reason(repo: Repo, command, tmp_path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")  # no folder can be made under a file, whoever the user is
    done = command(repo, "remote", "--url", str(not_a_folder / "dvc"))
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert (
        done.returncode == 1
        and f"remote 'storage' ({not_a_folder / 'dvc'}): this machine cannot write" in line
    )
    bad = command(repo, "remote", "--url", "s3:/bucket")
    assert bad.returncode == 1 and "expected s3://bucket/path" in bad.stderr


@e2e
def test_make_remote_push_and_doctor_then_a_teammates_make_repro_trains_nothing(repo: Repo, tmp_path) -> None:
    """A shared folder as the team's remote: checked by writing to it, the checklist that says the
    data is not there yet, the teammate's clone told the same, then pushed and pulled."""
    shared = tmp_path / "team-share" / "dvc"
    said = repo.make("remote", f"URL={shared}").stdout
    assert f"this machine can write to 'storage' ({shared})" in said
    assert "remote = storage" in (repo.path / ".dvc/config").read_text()
    doctor = repo.make("doctor", check=False)
    assert doctor.returncode != 0 and "data on the remote" in doctor.stdout and "make push" in doctor.stdout
    repo.commit("the team's remote")
    mate = repo.clone(repo.path, "mate")
    failed = mate.make("repro", check=False)
    assert failed.returncode != 0 and "gate: PASSED" not in failed.stdout  # never a pass after an error
    (line,) = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    assert "data/raw/telco_churn.csv is not on the default remote 'storage'" in line
    assert "it was committed without `make push`" in line
    repo.make("push")
    doctor = repo.make("doctor")
    assert "unchecked  GitHub settings" in doctor.stdout  # no GitHub origin here: said, not passed
    done = mate.make("repro")
    assert "Stage 'train' didn't change, skipping" in done.stdout and "Running stage" not in done.stdout
    assert "gate: PASSED" in done.stdout
