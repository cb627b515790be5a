"""A project a team shares: remotes and what a clone is told, the routine's advice, the setup
checklist, the experiments table, and the rules that could never fail. Pure logic, in-process."""

from __future__ import annotations

import copy
import os
import sys

import pytest

from mlpipeline.commands import experiments, venvpath
from mlpipeline.core import checklist, lockdiff
from mlpipeline.core.remotes import Remote, pull_failed, remote_kind, unreachable_data
from mlpipeline.errors import PipelineError

URLS = {
    "s3://team-bucket/dvc": "s3",
    "gs://team-bucket": "gs",
    "azure://container/dvc": "azure",
    "ssh://me@host:2222/srv/dvc": "ssh",
    "/mnt/team/dvc": "path",
    "s3:/bucket": None,
    "relative/folder": None,
    "/with space": None,
    "https://example.com/dvc": None,
}


@pytest.mark.parametrize(("url", "kind"), URLS.items())
def test_a_remote_url_is_a_kind_a_team_can_share_or_refused_with_the_shapes_allowed(
    url: str, kind: str
) -> None:
    if kind is None:
        with pytest.raises(PipelineError, match="expected s3://bucket/path"):
            remote_kind(url)
    else:
        assert remote_kind(url) == kind


def test_a_clone_without_the_data_is_told_what_to_run_and_where() -> None:
    raw = "data/raw/hotels.csv"
    assert "make remote URL=" in unreachable_data(raw, None, tracked=True)
    assert "no DVC remote" in unreachable_data(raw, None, tracked=True)
    bundled = unreachable_data(raw, Remote("sample", "/x/data/sample_remote"), tracked=True)
    assert "holds only the sample" in bundled and "make remote URL=" in bundled
    team = unreachable_data(raw, Remote("storage", "s3://team/hotels"), tracked=True)
    assert "committed without `make push`" in team and "'storage' (s3://team/hotels)" in team
    assert "no .dvc file tracks it" in unreachable_data(raw, Remote("storage", "/srv/dvc"), tracked=False)
    assert "AWS_ACCESS_KEY_ID" in pull_failed(Remote("storage", "s3://team/hotels"))
    assert "make remote URL=" in pull_failed(None)


LOCK = {
    "stages": {
        "train": {
            "cmd": "python3 src/stage.py train",
            "deps": [
                {"path": "data/prepared/train.parquet", "md5": "split1"},
                {"path": "src/mlpipeline/core/model.py", "md5": "code1"},
            ],
            "params": {"params.yaml": {"model": {"estimator": "ridge", "hyperparameters": {"alpha": 1.0}}}},
            "outs": [{"path": "models/model.joblib", "md5": "model1"}],
        },
        "validate": {
            "cmd": "python3 src/stage.py validate",
            "deps": [{"path": "data/raw/x.csv", "md5": "raw1"}],
            "outs": [{"path": "data/prepared/train.parquet", "md5": "split1"}],
        },
    }
}


def test_a_lock_committed_before_an_edit_names_the_edit_and_the_routine() -> None:
    produced = copy.deepcopy(LOCK)
    train = produced["stages"]["train"]
    train["params"]["params.yaml"]["model"]["hyperparameters"]["alpha"] = 10.0
    train["outs"][0]["md5"] = "model2"
    assert lockdiff.changed_inputs(LOCK, produced) == ["model.hyperparameters.alpha (1.0 → 10.0)"]
    said = lockdiff.advice(LOCK, produced, ["dvc.lock", "metrics/metrics.json", "metrics/gate.json"])
    assert "committed before these changed: model.hyperparameters.alpha (1.0 → 10.0)" in said
    assert "(git add dvc.lock metrics && git commit), `make push`, then run `make ci` again" in said
    # A changed input file counts; a changed output read by the next stage is an effect, not a cause.
    produced["stages"]["validate"]["outs"][0]["md5"] = produced["stages"]["train"]["deps"][0]["md5"] = "s2"
    produced["stages"]["train"]["deps"][1]["md5"] = "code2"
    assert lockdiff.changed_inputs(LOCK, produced)[0] == "src/mlpipeline/core/model.py"


def test_the_same_inputs_with_other_outputs_is_called_nondeterminism_not_a_missed_repro() -> None:
    produced = copy.deepcopy(LOCK)
    produced["stages"]["train"]["outs"][0]["md5"] = "model2"
    assert lockdiff.changed_inputs(LOCK, produced) == []
    said = lockdiff.advice(LOCK, produced, ["dvc.lock"])
    assert said.startswith("the same inputs gave other outputs (out models/model.joblib)")
    assert "not deterministic" in said and "make repro" not in said


def test_git_add_names_a_folder_for_its_files_and_a_lone_file_as_itself() -> None:
    paths = ["dvc.lock", "metrics/a.json", "metrics/plots/b.json", "models/model.json"]
    assert lockdiff.git_add(paths) == "git add dvc.lock metrics models/model.json"


def _github(**changes: object) -> checklist.GitHub:
    found = checklist.GitHub(
        secrets={"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RETRAIN_TOKEN"},
        variables=set(),
        environments={"production": True},
        actions_can_open_prs=False,
        pages="workflow",
    )
    for key, value in changes.items():
        setattr(found, key, value)
    return found


def _by_name(items: list[checklist.Item]) -> dict[str, checklist.Item]:
    return {i.name: i for i in items}


def test_the_checklist_passes_a_repository_that_has_everything() -> None:
    s3 = Remote("storage", "s3://team/hotels")
    items = checklist.local_items(checklist.Local(s3, None, True, origin="git@github.com:team/hotels.git"))
    items += checklist.github_items(s3, _github(), "")
    assert not checklist.failed(items)
    assert all(i.ok is not False for i in items), [i for i in items if i.ok is False]


def test_the_checklist_names_each_missing_item_with_how_to_set_it() -> None:
    s3 = Remote("storage", "s3://team/hotels")
    local = checklist.local_items(
        checklist.Local(s3, "cannot write", None, credentials_in_config=["storage.secret_access_key"])
    )
    found = _by_name(local)
    assert found["remote access"].ok is False and found["remote access"].detail == "cannot write"
    assert "rotate the keys" in found["no credentials in .dvc/config"].detail
    assert found["git remote"].level == checklist.ADVISED
    on_github = _by_name(
        checklist.github_items(
            s3, _github(secrets={"AWS_ACCESS_KEY_ID"}, environments={"production": False}), ""
        )
    )
    assert on_github["secret AWS_SECRET_ACCESS_KEY"].ok is False
    assert "no required reviewers" in on_github["environment production"].detail
    assert "Allow GitHub Actions to create" in on_github["secret RETRAIN_TOKEN"].detail
    assert checklist.failed(list(on_github.values()))
    # Only one of the pair that sends the full run to a cluster is advice, not a failure.
    pair = _by_name(checklist.github_items(s3, _github(variables={"DASK_SCHEDULER"}), ""))
    assert pair["variables FULL_RUN_RUNNER and DASK_SCHEDULER"].level == checklist.ADVISED
    # The docs site: advice, saying where to switch it on, until Pages builds from docs.yml.
    for pages, said in ((None, "not enabled"), ("legacy", "built from a branch")):
        item = _by_name(checklist.github_items(s3, _github(pages=pages), ""))["GitHub Pages"]
        assert item.ok is False and item.level == checklist.ADVISED
        assert item.detail.startswith(said) and "Source: GitHub Actions" in item.detail


def test_a_project_whose_data_is_on_no_shared_remote_fails_the_checklist() -> None:
    for remote in (None, Remote("sample", "/p/data/sample_remote")):
        items = checklist.local_items(checklist.Local(remote, None, False))
        assert checklist.failed(items) and "make remote URL=" in items[0].detail
    # The sample on its bundled remote is a complete project: a clone pulls it.
    sample = checklist.local_items(checklist.Local(Remote("sample", "/p/data/sample_remote"), None, True))
    assert not checklist.failed(sample)
    unchecked = checklist.github_items(Remote("storage", "gs://b2/x"), None, "gh is not installed")
    assert unchecked[0].ok is None and "GOOGLE_APPLICATION_CREDENTIALS_JSON" in unchecked[0].detail


def test_the_github_repository_is_read_from_https_and_ssh_origins() -> None:
    from mlpipeline.adapters.github import repository

    assert repository("https://github.com/team/hotels.git") == "team/hotels"
    assert repository("git@github.com:team/hotels") == "team/hotels"
    assert repository("/srv/git/hotels.git") is None


def test_experiments_show_every_param_that_differs_added_keys_included(settings) -> None:
    rows = [
        {"Experiment": None, "rev": "workspace", "model.hyperparameters.C": 1.0, "split.seed": 42},
        {"Experiment": "tall-oak", "rev": "abc1234def", "model.hyperparameters.C": 0.01, "split.seed": 42,
         "model.hyperparameters.tol": 0.001, "State": "Success"},
    ]  # fmt: skip
    params = ["model.hyperparameters.C", "split.seed", "model.hyperparameters.tol"]
    header, _, added = experiments.table(rows, settings, params).splitlines()
    assert "model.hyperparameters.C" in header and "model.hyperparameters.tol" in header
    assert "split.seed" not in header  # the same everywhere: not a column
    assert added.split()[:2] == ["tall-oak", "abc1234"] and added.split()[-2:] == ["0.01", "0.001"]


def test_a_failed_experiment_and_a_queue_nobody_runs_are_said() -> None:
    tasks = [{"rev": "a" * 40, "name": "tall-oak", "status": "Failed"}, {"rev": "b" * 40, "status": "Queued"}]
    lines = experiments.queue_lines(tasks, busy_workers=0)
    assert "tall-oak failed: `.venv/bin/dvc queue logs tall-oak`" in lines[0]
    assert "1 queued and no queue worker" in lines[1]
    assert experiments.queue_lines(tasks[1:], busy_workers=1) == []


def test_the_venv_path_line_puts_the_environments_tools_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/proj/.venv/bin/python")
    monkeypatch.setenv("PATH", "/usr/bin::/proj/.venv/bin:/bin")
    exec(venvpath.LINE)  # what site.py runs at start-up
    assert os.environ["PATH"] == "/proj/.venv/bin:/usr/bin:/bin"  # first, once, no empty entry


def test_a_margin_over_a_dummy_below_no_skill_counts_from_no_skill() -> None:
    """A time split's dummy R2 of -1.66 made `r2 beats baseline by 0.1` a threshold of -1.56 that
    no model could miss; the margin now counts from what a model that learned nothing scores."""
    from mlpipeline.config import Rule
    from mlpipeline.core import rules

    rule = Rule(metric="r2", beat_baseline_by=0.1)
    weak = rules.check_rule(rule, "regression", {"r2": 0.05}, {"r2": -1.66}, None)
    assert weak.status == rules.FAIL and weak.threshold == 0.1 and "below no skill (0)" in weak.note
    assert rules.check_rule(rule, "regression", {"r2": 0.3}, {"r2": -1.66}, None).status == rules.PASS
    usual = rules.check_rule(rule, "regression", {"r2": 0.05}, {"r2": -0.004}, None)
    assert usual.threshold == 0.1 and usual.note
    roc = Rule(metric="roc_auc", beat_baseline_by=0.15)
    assert rules.check_rule(roc, "classification", {"roc_auc": 0.7}, {"roc_auc": 0.5}, None).note == ""
