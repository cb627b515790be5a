"""A partitioned data.raw (a folder of Parquet or CSV files): the same contract and the same split as
one file, each problem named with the partitions it is in. Local engine here (in-process); the Dask
cluster runs in tests/e2e/test_dask.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipeline.adapters.files import file_md5, read_json
from mlpipeline.config import Settings
from mlpipeline.core import partitions
from mlpipeline.core.contract import load_contract
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout
from mlpipeline.stages.validate import run


def write_partitions(folder: Path, frame: pd.DataFrame, bounds: list[int], kind: str = "parquet") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (start, stop) in enumerate(zip([0, *bounds], [*bounds, len(frame)], strict=True)):
        part = frame.iloc[start:stop]
        path = folder / f"part-{i:02d}.{kind}"
        part.to_parquet(path, index=False) if kind == "parquet" else part.to_csv(path, index=False)


@pytest.fixture
def layout(tmp_path: Path, sample: Path) -> Layout:
    (tmp_path / "data").mkdir()
    shutil.copy(sample / "contract.yaml", tmp_path / "data/contract.yaml")
    return Layout(tmp_path)


def settings_for(settings: Settings, raw: str) -> Settings:
    data = settings.data.model_copy(update={"raw": Path(raw), "contract": Path("data/contract.yaml")})
    return settings.model_copy(update={"data": data})


@pytest.mark.parametrize(("bounds", "kind"), [([1000, 1001, 5000], "parquet"), ([3500], "csv")])
def test_a_partitioned_table_gets_the_same_split_and_figures_as_one_file(
    layout: Layout, settings: Settings, sample_frame: pd.DataFrame, bounds: list[int], kind: str
) -> None:
    sample_frame.to_csv(layout.root / "data/one.csv", index=False)
    whole = run(settings_for(settings, "data/one.csv"), layout)
    test_whole = pd.read_parquet(layout.test)
    write_partitions(layout.root / "data/parts", sample_frame, bounds, kind)
    parted = run(settings_for(settings, "data/parts"), layout)
    test_parted = pd.read_parquet(layout.test)  # a folder of parts now: pandas reads it whole
    assert layout.test.is_dir() and len(list(layout.test.iterdir())) == len(bounds) + 1
    assert parted["quality"] == whole["quality"]
    assert {k: v for k, v in parted["split"].items()} == whole["split"]
    by_id = "customer_id"
    assert (
        test_parted.sort_values(by_id)
        .reset_index(drop=True)
        .equals(test_whole.sort_values(by_id).reset_index(drop=True))
    )
    assert parted["partitions"]["rows"] == {
        f"part-{i:02d}.{kind}": n for i, n in enumerate(np.diff([0, *bounds, len(sample_frame)]))
    }
    # Back to one file: the folder is replaced by the file, nothing of it left behind.
    run(settings_for(settings, "data/one.csv"), layout)
    assert layout.test.is_file() and file_md5(layout.test) == whole["hashes"]["test_md5"]


def test_policy_time_cuts_a_partitioned_table_where_it_cuts_one_file(
    layout: Layout, settings: Settings, sample_frame: pd.DataFrame
) -> None:
    """The latest rows of the whole table are test rows, not the latest of each partition: the
    partitions here hold disjoint stretches of time, so a cut per partition would differ."""
    frame = sample_frame.assign(
        signup=pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(sample_frame)) // 3, unit="D")
    )  # three rows a day, so the cut falls on a tie
    contract = layout.root / "data/contract.yaml"
    contract.write_text(
        contract.read_text().replace("columns:\n", "columns:\n  signup: {dtype: datetime}\n", 1)
    )
    timed = settings.model_copy(
        update={"split": settings.split.model_copy(update={"policy": "time", "time_column": "signup"})}
    )
    frame.to_csv(layout.root / "data/one.csv", index=False)
    whole = run(settings_for(timed, "data/one.csv"), layout)
    test_whole = pd.read_parquet(layout.test)
    write_partitions(layout.root / "data/parts", frame, [2000, 4000, 6000])
    parted = run(settings_for(timed, "data/parts"), layout)
    test_parted = pd.read_parquet(layout.test)
    assert parted["split"] == whole["split"] and whole["split"]["rows_test"] > 1000
    assert sorted(test_parted["customer_id"]) == sorted(test_whole["customer_id"])
    assert test_parted["signup"].min() > pd.read_parquet(layout.train)["signup"].max()


def test_each_problem_names_its_partitions_and_the_last_good_splits_stay(
    layout: Layout, settings: Settings, sample_frame: pd.DataFrame
) -> None:
    frame = sample_frame.copy()
    frame.loc[[10, 11], "tenure"] = -5  # part-00
    frame.loc[5000, "contract"] = "Forever"  # part-02
    frame.loc[6000, "customer_id"] = frame.loc[20, "customer_id"]  # repeats across part-00 and part-02
    sample_frame.to_csv(layout.root / "data/one.csv", index=False)
    run(settings_for(settings, "data/one.csv"), layout)
    before = file_md5(layout.train), file_md5(layout.test)
    write_partitions(layout.root / "data/parts", frame, [2000, 4000])
    with pytest.raises(PipelineError) as caught:
        run(settings_for(settings, "data/parts"), layout)
    message = str(caught.value)
    assert "partitions" in message.splitlines()[1]  # the table's header has the column
    report = read_json(layout.validation)
    found = {(f["column"], f["check"]): f for f in report["failures"]}
    assert found[("tenure", "min 0")]["count"] == 2
    assert found[("tenure", "min 0")]["partitions"] == ["part-00.parquet"]
    assert found[("customer_id", "unique")]["count"] == 1
    assert found[("customer_id", "unique")]["examples"] == [str(frame.loc[20, "customer_id"])]
    assert found[("customer_id", "unique")]["partitions"] == ["part-00.parquet", "part-02.parquet"]
    assert any(c == "contract" and f["partitions"] == ["part-02.parquet"] for (c, _), f in found.items())
    assert (file_md5(layout.train), file_md5(layout.test)) == before


def test_whole_table_rules_are_judged_on_the_merged_figures(sample: Path) -> None:
    contract = load_contract(sample / "contract.yaml", "churn")
    table = contract.table.model_copy(update={"min_rows": 100, "max_duplicate_share": 0.01})
    contract = contract.model_copy(update={"table": table})
    one = {"name": "a", "rows": 60, "raw_class_counts": {"No": 50, "Yes": 10}}
    two = {"name": "b", "rows": 60, "raw_class_counts": {"No": 55, "Yes": 5}}
    # Each partition alone is under min_rows; together they pass it. One row repeats.
    figures = partitions.table_figures([one, two], "churn", duplicates=1)
    assert figures["rows"] == 120 and figures["min_class_share"] == pytest.approx(15 / 120)
    assert figures["duplicate_share"] == pytest.approx(1 / 120)
    assert partitions.table_failures(figures, contract, "churn") == []
    assert partitions.table_failures(partitions.table_figures([one], "churn", 0), contract, "churn")[
        0
    ].check == ("table: at least 100 rows")


@pytest.mark.parametrize("buckets", [1, 3, 8])
def test_repeats_counted_bucket_by_bucket_add_up_to_the_whole_tables(buckets: int) -> None:
    """Each partition's hashes cut into buckets; one bucket of every partition counted at a time."""
    rng = np.random.default_rng(0)
    table = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    table[rng.choice(3000, 40)] = table[:40]  # repeats, some within and some across partitions
    parts = np.split(table, [700, 2100])
    cut = [partitions.by_bucket(p, buckets) for p in parts]
    assert all(sum(len(b) for b in c) == len(p) for c, p in zip(cut, parts, strict=True))
    counted = [partitions.repeats(np.concatenate([c[b] for c in cut])) for b in range(buckets)]
    count, repeated = partitions.repeats(table)
    assert 0 < count == sum(c for c, _ in counted) == len(table) - len(np.unique(table))
    assert sorted(repeated) == sorted(np.concatenate([r for _, r in counted]))


def test_a_row_repeated_across_files_is_found_whatever_dtype_each_file_read(
    layout: Layout, settings: Settings, sample_frame: pd.DataFrame
) -> None:
    """Each CSV file is read on its own: a gap in an integer column makes that file's column
    float, and its rows once hashed apart from the same rows in a file without a gap."""
    contract = layout.root / "data/contract.yaml"
    text = contract.read_text()
    assert "tenure: {dtype: integer, min: 0, max: 120}" in text
    contract.write_text(text.replace("tenure: {dtype: integer,", "tenure: {dtype: integer, nullable: true,"))
    frame = sample_frame.copy()
    frame.loc[15, "tenure"] = None  # part-00's tenure is read as float
    frame = pd.concat([frame, frame.loc[[20]]], ignore_index=True)  # row 20 again, in the last file
    frame["tenure"] = frame["tenure"].astype("Int64")  # written as 12, not 12.0
    write_partitions(layout.root / "data/parts", frame, [2000, 4000], "csv")
    assert pd.read_csv(layout.root / "data/parts/part-00.csv")["tenure"].dtype == "float64"
    assert pd.read_csv(layout.root / "data/parts/part-02.csv")["tenure"].dtype == "int64"
    with pytest.raises(PipelineError):
        run(settings_for(settings, "data/parts"), layout)
    checks = {f["check"]: f for f in read_json(layout.validation)["failures"]}
    repeated = checks["table: duplicated rows at most 0.0%"]
    assert repeated["examples"] == [f"{1 / len(frame):.2%}"]
