"""The runnable pipeline, end to end: real git, real dvc, real make, in temporary clones."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipeline.adapters.files import file_md5
from mlpipeline.core.lockdiff import differences
from mlpipeline.layout import machine_specific
from tests.conftest import Repo

e2e = pytest.mark.e2e


@pytest.mark.slow  # a forced repro of every stage; make ci's lock check guards the same in make test
def test_fresh_clone_is_clean_and_reproduces_every_committed_hash(repo: Repo) -> None:
    clone = repo.clone(repo.path, "again")  # its own process, cache and workspace
    clone.dvc("pull", "-q")
    assert "up to date" in clone.dvc("status").stdout
    clone.dvc("repro", "-f", "-q")
    committed = yaml.safe_load(repo.git("show", "HEAD:dvc.lock").stdout)
    produced = yaml.safe_load((clone.path / "dvc.lock").read_text())
    assert differences(committed, produced) == []
    # Only timings (and the lock's record of them) may change from machine to machine.
    changed = [line[3:] for line in clone.git("status", "--porcelain").stdout.splitlines()]
    assert all(machine_specific(f) or f == "dvc.lock" for f in changed), changed


@e2e
def test_make_repro_prints_metrics_and_passing_gate(repo: Repo) -> None:
    done = repo.make("repro")
    assert re.search(r"^f1\s+0\.\d+", done.stdout, re.MULTILINE)
    assert "gate: PASSED" in done.stdout
    assert "To track the changes with git" not in done.stdout  # DVC's hint; the summary says more
    assert "up to date" in repo.dvc("status").stdout
    assert "reproduces the committed dvc.lock" in repo.make("reprocheck").stdout


@e2e
def test_push_and_pull_through_a_local_remote(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    repo.dvc("remote", "add", "-d", "-f", "scratch", str(remote))
    repo.dvc("push", "-q")
    repo.commit("use scratch remote")
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    other = Repo(clone, tmp_path)
    other.dvc("pull", "-q")
    assert file_md5(clone / "models/model.joblib") == file_md5(repo.path / "models/model.joblib")
    assert "up to date" in other.dvc("status").stdout


BAD_PARAMS = {
    "estimator": (lambda p: p["model"].update(estimator="no_such_model"), "model.estimator"),
    "threshold": (
        lambda p: p["gate"]["rules"].__setitem__(0, {"metric": "f1", "min": 1.7}),
        "gate.rules[0].min",
    ),
    "target": (lambda p: p["data"].pop("target"), "data.target"),
}


@e2e
def test_bad_params_give_one_clear_line_through_dvc(repo: Repo) -> None:
    edit, named = BAD_PARAMS["estimator"]
    repo.edit_yaml("params.yaml", edit)
    stage = repo.python("-m", "mlpipeline.stages.train", check=False)
    assert stage.returncode == 1
    assert "Traceback" not in stage.stderr
    lines = [line for line in stage.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], stage.stderr
    assert "Traceback" not in repo.dvc("repro", check=False).stderr


@pytest.mark.integration
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_bad_params_give_one_clear_line(
    repo: Repo, case: str, inside, capsys: pytest.CaptureFixture[str]
) -> None:
    """The train stage's edge, in-process: one `error:` line naming the key, exit code 1."""
    from mlpipeline.errors import run_main
    from mlpipeline.stages import train

    edit, named = BAD_PARAMS[case]
    repo.edit_yaml("params.yaml", edit)
    inside(repo)
    with pytest.raises(SystemExit) as exited:
        run_main(train.main)
    assert exited.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], lines


@e2e
def test_a_misspelled_section_is_named_with_its_fix_before_dvc_runs(repo: Repo) -> None:
    text = (repo.path / "params.yaml").read_text()
    (repo.path / "params.yaml").write_text(text.replace("\nmodel:\n", "\nmodle:\n", 1))
    done = repo.make("repro", check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "params.yaml: modle: unknown key; did you mean 'model'?" in done.stderr
    assert "params.yaml: model: required key is missing" in done.stderr
    assert "Running stage" not in done.stdout and "dvc pull" not in done.stdout


@e2e
def test_bad_data_stops_at_validate_and_keeps_later_outputs(repo: Repo) -> None:
    raw = repo.path / "data/raw/telco_churn.csv"
    later = [repo.path / p for p in ("models/model.joblib", "metrics/metrics.json", "metrics/gate.json")]
    before = {p: file_md5(p) for p in later}
    text = raw.read_text().splitlines()
    text[5] = re.sub(r"^(C\d+),(\w+),", r"\1,Maybe,", text[5])  # target value outside the contract
    raw.write_text("\n".join(text) + "\n")
    done = repo.dvc("repro", check=False)
    assert done.returncode != 0
    assert "churn" in done.stderr and "allowed values" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Running stage 'train'" not in done.stdout
    assert {p: file_md5(p) for p in later} == before
    report = json.loads((repo.path / "metrics/validation.json").read_text())
    assert report["ok"] is False
    assert any(f["column"] == "churn" and "Maybe" in f["examples"] for f in report["failures"])


@e2e
def test_repro_reruns_only_what_a_change_touches(repo: Repo) -> None:
    def loosen(p: dict) -> None:
        p["gate"]["rules"][2]["min"] = 0.5

    repo.edit_yaml("params.yaml", loosen)
    done = repo.dvc("repro")
    assert "Running stage 'gate'" in done.stdout
    for stage in ("validate", "train", "evaluate"):
        assert f"Running stage '{stage}'" not in done.stdout
    contract = repo.path / "data/contract.yaml"
    contract.write_text(contract.read_text().replace("min_rows: 1000", "min_rows: 900"))
    done = repo.dvc("repro")
    assert "Running stage 'validate'" in done.stdout
    # The split is unchanged, so DVC skips train and evaluate: same inputs, same outputs.
    assert "Running stage 'train'" not in done.stdout


@e2e
def test_plots_page_works_offline_and_plot_data_is_valid_json(repo: Repo) -> None:
    def strict(value: str) -> float:
        raise ValueError(f"non-standard JSON number {value}")

    for path in (repo.path / "metrics/plots").glob("*.json"):
        json.loads(path.read_text(), parse_constant=strict)
    repo.make("plots")
    page = (repo.path / "dvc_plots/index.html").read_text()
    assert re.search(r"<script[^>]*\bsrc\s*=", page) is None, "the page must not load scripts"
    assert "window.vegaEmbed" in page
    assert page.count("vegaEmbed('#") >= 4


@e2e
def test_plots_diff_against_main_shows_both_revisions_offline(other_model_repo: Repo) -> None:
    repo = other_model_repo  # a branch whose model differs from main's
    repo.make("plots")  # writes the offline page template, as `make setup` does
    repo.dvc("plots", "diff", "main", "-o", "diff_plots")
    page = (repo.path / "diff_plots/index.html").read_text()
    assert re.search(r"<script[^>]*\bsrc\s*=", page) is None
    assert '"rev": "main"' in page and '"rev": "workspace"' in page


def _outputs(repo: Repo) -> dict[str, bytes]:
    """Every file the four stages write, by path."""
    stages = yaml.safe_load((repo.path / "dvc.yaml").read_text())["stages"]
    found = {}
    for stage in stages.values():
        for entry in [*stage.get("outs", []), *stage.get("metrics", [])]:
            path = repo.path / (entry if isinstance(entry, str) else next(iter(entry)))
            files = sorted(path.rglob("*")) if path.is_dir() else [path]
            found.update({str(f.relative_to(repo.path)): f.read_bytes() for f in files if f.is_file()})
    return found


def _break_data(repo: Repo) -> None:
    raw = repo.path / "data/raw/telco_churn.csv"
    lines = raw.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = lines[1].rstrip("\n").split(",")
    row[header.index("tenure")] = "-5"
    raw.write_text("".join([lines[0], ",".join(row) + "\n", *lines[2:]]))


@e2e
@pytest.mark.parametrize(
    ("stage", "breaks", "said"),
    [
        ("validate", _break_data, "tenure"),
        (
            "train",
            lambda r: r.edit_yaml("params.yaml", lambda p: p["features"].update(drop=["no_such"])),
            "no_such",
        ),
        (
            "evaluate",
            lambda r: r.edit_yaml(
                "params.yaml", lambda p: p["evaluate"].update(slices=["no_such"], fairness=[])
            ),
            "no_such",
        ),
    ],
)
def test_a_failed_stage_keeps_the_last_good_outputs(repo: Repo, stage: str, breaks, said: str) -> None:
    """DVC deletes a stage's outputs before running it; `persist` and atomic writes keep them."""
    before = _outputs(repo)
    breaks(repo)
    done = repo.dvc("repro", check=False)
    assert done.returncode != 0 and f"failed to reproduce '{stage}'" in done.stderr
    assert "Traceback" not in done.stderr and said in done.stderr
    after = _outputs(repo)
    # validate reports the failed check in its own report; nothing else it or later stages wrote moves.
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert changed == (["metrics/validation.json"] if stage == "validate" else []), changed


@e2e
def test_dvc_from_the_venv_runs_stages_without_activation(repo: Repo) -> None:
    """`.venv/bin/dvc repro` with a PATH that has no project Python: the launcher finds .venv."""
    repo.edit_yaml("params.yaml", lambda p: p["gate"]["rules"].append({"metric": "f1", "min": 0.01}))
    env = dict(repo.env, PATH="/usr/bin:/bin")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(repo.path / ".venv/bin/dvc"), "repro"], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Running stage 'gate'" in done.stdout
    assert json.loads((repo.path / "metrics/gate.json").read_text())["passed"] is True
