"""The Dask engine on real clusters: a scheduler and workers started on loopback the way a user
points at a cluster (engine.address), and a LocalCluster of worker processes (engine.address empty)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipeline.errors import PipelineError
from tests.conftest import VENV_BIN, Repo, free_port

PARTS = 8


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on loopback; the scheduler's address."""
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    dask = str(VENV_BIN / "dask")
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=(logs / "scheduler.log").open("w"),
        )
    ]  # fmt: skip
    for i in range(2):
        started.append(
            subprocess.Popen(
                [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--memory-limit", "1GiB"],
                stdout=subprocess.DEVNULL, stderr=(logs / f"worker{i}.log").open("w"),
            )
        )  # fmt: skip
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in started:  # a graceful stop takes seconds and nothing of theirs is kept
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of two worker processes started here, its scheduler's address: the tests that
    point engine.address at it share its workers' start-up and imports (the corrupt-partition test
    has the stage start its own, as engine.address empty does)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB", dashboard_address=None
    ) as running:
        yield running.scheduler_address


def partition_sample(repo: Repo, corrupt: bool = False) -> pd.DataFrame:
    """The sample's raw CSV as PARTS Parquet files under data/raw/parts (tenure -5 in part-03)."""
    frame = pd.read_csv(repo.path / "data/raw/telco_churn.csv")
    folder = repo.path / "data/raw/parts"
    folder.mkdir()
    size = -(-len(frame) // PARTS)
    for i in range(PARTS):
        part = frame.iloc[i * size : (i + 1) * size].copy()
        if corrupt and i == 3:
            part.iloc[:2, part.columns.get_loc("tenure")] = -5
        part.to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return frame


# Slow tier (.ci/run): the whole pipeline through make; the LocalCluster test below is the e2e tier's.
@pytest.mark.slow
def test_the_full_run_on_a_running_scheduler_is_judged_against_a_local_main(
    repo: Repo, scheduler: str
) -> None:
    """A branch whose data is partitioned and tracked by DVC; the full run (what full-run.yml runs
    with vars.DASK_SCHEDULER) points engine.address at a scheduler and workers started on loopback,
    the way a user points at a cluster, and `make ci` judges it against main (the local engine, one
    file) on the same rows."""
    local_metrics = json.loads((repo.path / "metrics/metrics.json").read_text())
    local_test = pd.read_parquet(repo.path / "data/prepared/test.parquet")
    repo.git("checkout", "-q", "-b", "partitioned")
    partition_sample(repo)
    repo.edit_yaml("params.yaml", lambda p: p["data"].update(raw="data/raw/parts"))
    repo.dvc("add", "-q", "data/raw/parts")
    repo.commit("the data in partitions")

    done = repo.make("ci", "BASE=main", "FULL=1", f"DASK_ADDRESS={scheduler}")
    assert (
        f"{PARTS} partition(s) checked on the Dask scheduler {scheduler}; 2 worker(s) took part"
        in done.stdout
    )
    assert (
        f"{PARTS} partition(s) predicted on the Dask scheduler {scheduler}; 2 worker(s) took part"
        in done.stdout
    )
    assert f"{PARTS} test partition(s) scored on the Dask scheduler {scheduler}" in done.stdout
    assert "gate: passed" in done.stdout
    assert (
        yaml.safe_load((repo.path / "params.yaml").read_text())["engine"]["name"] == "local"
    )  # as committed
    # Each row's side hangs on its own hash: the same test rows, so the same model and figures.
    test = pd.read_parquet(repo.path / "data/prepared/test.parquet")  # a folder of parts now
    assert sorted(test["customer_id"]) == sorted(local_test["customer_id"])
    assert json.loads((repo.path / "metrics/metrics.json").read_text()) == local_metrics
    result = json.loads((repo.path / "reports/gate.json").read_text())
    assert result["pairing"]["mode"] == "paired" and result["pairing"]["rows_compared"] == len(local_test)
    assert all(r["delta"] == 0 for r in result["rules"] if r["kind"] == "max_regression")


@pytest.mark.slow  # an edge of the Dask engine; make test keeps its train, evaluate and make ci
def test_a_local_cluster_names_the_corrupt_partition(
    repo: Repo, inside, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import validate

    partition_sample(repo, corrupt=True)
    inside(repo)
    repo.edit_yaml("params.yaml", lambda p: p.update(engine={"name": "dask", "workers": 2, "memory": "1GiB"}))
    settings = load_settings(repo.path / "params.yaml")
    data = settings.data.model_copy(update={"raw": Path("data/raw/parts")})
    before = (repo.path / "data/prepared/train.parquet").read_bytes()
    with pytest.raises(PipelineError) as caught:
        validate.run(settings.model_copy(update={"data": data}), Layout(repo.path))
    assert "2 worker(s) took part" in capsys.readouterr().out
    line = next(x for x in str(caught.value).splitlines() if x.startswith("tenure"))
    assert "part-03.parquet" in line and "min 0" in line
    assert "Dask LocalCluster (2 workers" in str(caught.value)
    assert (repo.path / "data/prepared/train.parquet").read_bytes() == before


@pytest.mark.slow  # an edge of the Dask engine; make test keeps its train, evaluate and make ci
def test_policy_time_on_the_cluster_cuts_where_the_local_engine_does(
    repo: Repo, inside, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two passes on the workers (every row's time, then the split at the whole table's cut)."""
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import validate

    frame = partition_sample(repo)
    for part in sorted((repo.path / "data/raw/parts").iterdir()):  # days in file order: parts are eras
        rows = pd.read_parquet(part)
        first = frame.index[frame["customer_id"] == rows["customer_id"].iloc[0]][0]
        days = pd.to_timedelta((first + np.arange(len(rows))) // 3, unit="D")
        rows.assign(signup=pd.Timestamp("2020-01-01") + days).to_parquet(part, index=False)
    contract = repo.path / "data/contract.yaml"
    contract.write_text(
        contract.read_text().replace("columns:\n", "columns:\n  signup: {dtype: datetime}\n", 1)
    )
    inside(repo)

    def split_on(engine: dict) -> list[str]:
        def edit(params: dict) -> None:
            params["data"]["raw"] = "data/raw/parts"
            params["split"].update(policy="time", time_column="signup")
            params["engine"] = engine

        repo.edit_yaml("params.yaml", edit)
        layout = Layout(repo.path)
        validate.run(load_settings(repo.path / "params.yaml"), layout)
        return sorted(pd.read_parquet(layout.test)["customer_id"])

    local = split_on({"name": "local"})
    capsys.readouterr()
    assert split_on({"name": "dask", "address": cluster}) == local and len(local) > 1000
    assert "2 worker(s) took part" in capsys.readouterr().out


def figures_written(layout) -> dict[str, str]:
    """Every evaluation output but the timings, as written."""
    files = [
        layout.metrics,
        layout.baseline,
        layout.slices,
        layout.profile,
        *sorted(layout.plots.glob("*.json")),
    ]
    return {f.name: f.read_text() for f in files}


@pytest.mark.e2e
def test_evaluate_on_a_local_cluster_writes_the_local_engines_figures(
    repo: Repo, inside, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Partitions predicted on two workers, figures from what they send back: every output the
    local engine writes (metrics, baseline, slices, curves, importance, profile), byte for byte."""
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import evaluate, train, validate

    partition_sample(repo)
    inside(repo)

    def on(engine: dict) -> object:
        repo.edit_yaml(
            "params.yaml", lambda p: p["data"].update(raw="data/raw/parts") or p.update(engine=engine)
        )
        return load_settings(repo.path / "params.yaml")

    layout = Layout(repo.path)
    local = on({"name": "local"})
    validate.run(local, layout)
    train.run(local, layout)
    evaluate.run(local, layout)
    expected = figures_written(layout)
    for f in (layout.metrics, layout.profile):
        f.unlink()
    capsys.readouterr()
    evaluate.run(on({"name": "dask", "address": cluster}), layout)
    said = capsys.readouterr().out
    assert f"evaluate: {PARTS} partition(s) predicted on the Dask scheduler {cluster}" in said
    assert "; 2 worker(s) took part" in said
    assert figures_written(layout) == expected
    assert json.loads(layout.metrics.read_text())["rows_test"] > 1000


@pytest.mark.e2e
def test_make_ci_scores_both_models_on_the_cluster_and_judges_as_the_local_engine(
    repo: Repo, inside, command, cluster: str
) -> None:
    """The gate's paired comparison with each test partition scored by both models on the workers
    (main's model: the local engine, one file): the judgement is the local engine's, rule by rule."""
    from tests.conftest import run_stages

    repo.git("checkout", "-q", "-b", "partitioned")
    partition_sample(repo)
    # Another model than main's, so the comparison has differences to get right.
    repo.edit_yaml(
        "params.yaml",
        lambda p: p["data"].update(raw="data/raw/parts") or p["model"]["hyperparameters"].update(C=0.1),
    )
    inside(repo)
    assert run_stages(repo)[0]

    def judged(engine: dict) -> tuple[str, dict]:
        repo.edit_yaml("params.yaml", lambda p: p.update(engine=engine))
        done = command(repo, "ci_gate", "--base", "main")
        return done.stdout, json.loads((repo.path / "reports/gate.json").read_text())

    said, on_cluster = judged({"name": "dask", "address": cluster})
    assert f"ci: {PARTS} test partition(s) scored on the Dask scheduler {cluster}; 2 worker(s)" in said
    _, here = judged({"name": "local"})
    assert on_cluster == here
    assert here["pairing"]["mode"] == "paired" and here["pairing"]["rows_compared"] > 1000
    assert any(r["delta"] != 0 for r in here["rules"] if r["kind"] == "max_regression")


@pytest.mark.e2e
def test_lightgbm_trains_on_both_workers_to_the_local_engines_quality(
    repo: Repo, inside, cluster: str
) -> None:
    """The same partitions and split, LightGBM in this process and through its Dask estimator on
    a LocalCluster of two worker processes: an ordinary local model either way, of the same
    quality within 0.01 ROC AUC (distributed histograms differ slightly from one process's)."""
    import joblib
    from lightgbm import LGBMClassifier
    from sklearn.metrics import roc_auc_score

    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import train, validate

    partition_sample(repo)
    inside(repo)

    def boosted(engine: dict) -> object:
        def edit(params: dict) -> None:
            params["data"]["raw"] = "data/raw/parts"
            params["model"].update(estimator="lightgbm", hyperparameters={"n_estimators": 100})
            params["engine"] = engine

        repo.edit_yaml("params.yaml", edit)
        return load_settings(repo.path / "params.yaml")

    layout = Layout(repo.path)
    validate.run(boosted({"name": "local"}), layout)
    test = pd.read_parquet(layout.test)
    scores, cards = {}, {}
    for name in ("local", "dask"):
        cards[name] = train.run(boosted({"name": name, "address": cluster}), layout)
        model = joblib.load(layout.model)
        assert isinstance(model[-1], LGBMClassifier) and list(model.classes_) == ["No", "Yes"]
        scores[name] = roc_auc_score(test["churn"] == "Yes", model.predict_proba(test)[:, 1])
        trained = json.loads(layout.environment.read_text())["trained"]
    rows = sum(pd.read_parquet(p).shape[0] for p in sorted(layout.train.glob("*.parquet")))
    assert trained.startswith(f"trained on the Dask scheduler {cluster}")
    assert f"; 2 worker(s) held its {rows:,} rows, peak memory per worker" in trained
    assert abs(scores["dask"] - scores["local"]) <= 0.01 and scores["dask"] > 0.8
    assert cards["dask"]["features"] == cards["local"]["features"]
    assert cards["dask"]["positive_class"] == cards["local"]["positive_class"] == "Yes"


@pytest.mark.integration
def test_a_split_in_parts_of_another_commit_is_restored_for_the_gate(
    repo: Repo, inside, tmp_path: Path
) -> None:
    """When main's data is partitioned too, the gate pairs on main's split restored as a folder."""
    from mlpipeline.adapters.modelstore import output_at
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import validate

    partition_sample(repo)
    inside(repo)
    repo.edit_yaml("params.yaml", lambda p: p["data"].update(raw="data/raw/parts"))
    layout = Layout(repo.path)
    validate.run(load_settings(repo.path / "params.yaml"), layout)
    repo.dvc("add", "-q", "data/raw/parts")
    repo.dvc("commit", "-q", "-f", "validate")
    repo.commit("the sample in parts")
    parts = {p.name: p.read_bytes() for p in layout.train.iterdir()}
    for part in layout.train.iterdir():
        part.unlink()  # the workspace no longer holds that commit's split
    head = repo.git("rev-parse", "HEAD").stdout.strip()
    restored = output_at(repo.path, layout.train, head, tmp_path)
    assert restored != layout.train and {p.name: p.read_bytes() for p in restored.iterdir()} == parts
