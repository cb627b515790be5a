"""Stage ``validate``: raw CSV → data contract → seeded split → Parquet + validation report.

``data.raw`` may also be a folder of Parquet or CSV partitions: each is checked and split on its own
(on the configured engine: this process, or a Dask cluster's workers), the whole-table rules are
judged on what the partitions report, and the splits become folders of Parquet parts. Policy time
takes two passes: the first gathers every row's time (8 bytes a row) for the whole table's cut.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.adapters import cluster
from mlpipeline.adapters.files import (
    atomic_dir,
    file_md5,
    read_array,
    tree_md5,
    write_arrays,
    write_json,
    write_parquet,
)
from mlpipeline.adapters.tabular import partition_files, read_csv, read_partition
from mlpipeline.config import DataSettings, Settings, SplitSettings, load_settings
from mlpipeline.core import contract as contract_mod
from mlpipeline.core import partitions
from mlpipeline.core.frames import quality_figures, split_ready
from mlpipeline.core.split import assign, recorded, sample, split, time_cutoff, times_of, value_hashes
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Validate the raw data and write the splits; raise ``PipelineError`` listing every failure."""
    data = settings.data
    contract = contract_mod.load_contract(layout.root / data.contract, target=data.target)
    raw_path = layout.root / data.raw
    if raw_path.is_dir():
        return run_partitioned(settings, layout, contract)
    frame = read_csv(raw_path)
    table = contract_mod.table_figures(frame, data.target)
    validated, failures, dropped = contract_mod.check(frame, contract, data.target, figures=table)
    absent: list[str] = []
    if not failures and settings.task == "classification":
        found, absent = contract_mod.class_failures(validated[data.target], contract.columns[data.target])
        failures += found
    report: dict[str, Any] = {
        "source": str(data.raw),
        "contract": str(data.contract),
        "ok": not failures,
        "failures": contract_mod.failures_as_dicts(failures),
        "dropped_columns": dropped,
    }
    if failures:
        write_json(layout.validation, report)
        raise PipelineError(contract_mod.format_failures(failures, str(data.raw)))
    if dropped:
        print(f"warning: dropped columns not in the contract: {', '.join(dropped)}", file=sys.stderr)
    if absent:
        print(
            f"warning: {data.target}: the contract allows class(es) the data lacks: {', '.join(absent)}",
            file=sys.stderr,
        )
    for name in [data.id_column, settings.split.group_column, settings.split.time_column]:
        if name and name not in validated.columns:
            raise PipelineError(f"params.yaml names column '{name}', which the contract does not keep")
    prepared = split_ready(validated, data)
    sampled = sample(prepared, settings.split, data.id_column)
    train, test, policy = split(sampled, settings.split, data.target, data.id_column)
    for warning in policy["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    write_parquet(layout.train, train)
    write_parquet(layout.test, test)
    report.update(
        quality=quality_figures(prepared, data.target, settings.task, table["duplicate_share"]),
        split=policy,
        hashes={
            "raw_md5": file_md5(raw_path),
            "train_md5": file_md5(layout.train),
            "test_md5": file_md5(layout.test),
        },
    )
    write_json(layout.validation, report)
    return report


@dataclass(frozen=True)
class PartitionJob:
    """One partition's work, sent to whichever engine runs it (so it must pickle)."""

    path: str
    name: str
    index: int
    task: str
    data: DataSettings
    split: SplitSettings
    contract: contract_mod.Contract
    train_dir: str
    test_dir: str
    hashes: str  # where this partition writes its row (and unique columns') hashes, by bucket
    buckets: int
    cutoff: pd.Timestamp | None = None  # policy time: the whole table's cut, once the first pass found it


def _column_rules(contract: contract_mod.Contract) -> contract_mod.Contract:
    """The contract without the rules only the whole table can be judged by (core/partitions.py)."""
    table = contract.table.model_copy(
        update={"min_rows": 1, "max_duplicate_share": 1.0, "min_class_share": None}
    )
    columns = {n: c.model_copy(update={"unique": False}) for n, c in contract.columns.items()}
    return contract.model_copy(update={"table": table, "columns": columns})


def check_partition(job: PartitionJob) -> dict[str, Any]:
    """Check one partition against the column rules; if it passes, write its train and test parts.

    Returns counts for the whole-table rules and figures; the rows' 64-bit hashes go to
    ``job.hashes``, by bucket, for ``bucket_repeats``.
    """
    target = job.data.target
    frame = read_partition(job.path)
    keys = hash_keys(job.contract)
    hashed = [ROWS, *[name for name in keys[1:] if name in frame]]
    if job.cutoff is None:  # not a second pass (policy time), which finds them written by the first
        write_arrays(job.hashes, _bucketed_hashes(frame, hashed, keys, job.buckets))
    report: dict[str, Any] = {
        "name": job.name,
        **cluster.worker_facts(),
        "rows": len(frame),
        "hashed": hashed,
        "raw_class_counts": _counts(frame[target]) if target in frame.columns else {},
    }
    validated, failures, dropped = contract_mod.check(
        frame, _column_rules(job.contract), target, figures={"rows": 1.0, "duplicate_share": 0.0}
    )
    report.update(
        failures=contract_mod.failures_as_dicts(failures), dropped=dropped, peak_mb=cluster.peak_mb()
    )
    if failures:
        return report
    prepared = split_ready(validated, job.data)
    sampled = sample(prepared, job.split, job.data.id_column)
    if job.split.policy == "time" and job.cutoff is None:  # the first pass: times only
        report.update(times=times_of(sampled, str(job.split.time_column)), peak_mb=cluster.peak_mb())
        return report
    test_mask, how = assign(
        sampled, job.split, target, job.data.id_column, whole_table=False, cutoff=job.cutoff
    )
    train, test = sampled[~test_mask], sampled[test_mask]
    write_parquet(Path(job.train_dir) / f"part-{job.index:05d}.parquet", train)
    write_parquet(Path(job.test_dir) / f"part-{job.index:05d}.parquet", test)
    report.update(
        peak_mb=cluster.peak_mb(),
        column_names=[str(c) for c in prepared.columns],
        prepared_rows=len(prepared),
        null_counts={str(c): int(v) for c, v in prepared.isna().sum().items()},
        class_counts=_counts(prepared[target]) if job.task == "classification" else {},
        train_classes=_counts(train[target]) if job.task == "classification" else {},
        test_classes=_counts(test[target]) if job.task == "classification" else {},
        rows_train=len(train),
        rows_test=len(test),
        assignment=how,
    )
    return report


ROWS = "(rows)"  # the whole row's hash, beside the unique columns' (no column has this name)


def hash_keys(contract: contract_mod.Contract) -> list[str]:
    """What the partitions hash: whole rows (duplicates), then each ``unique`` column."""
    return [ROWS, *[name for name, column in contract.columns.items() if column.unique]]


def _bucket_name(key: int, bucket: int) -> str:
    return f"k{key}_b{bucket}"


def _hashes(frame: pd.DataFrame, name: str) -> np.ndarray:
    """64-bit hashes of each row (``ROWS``) or of one column's values, by value: the same row in
    a file where a gap made an integer column float hashes the same (``split.value_hashes``)."""
    return value_hashes(frame if name == ROWS else frame[name])


def _bucketed_hashes(frame: pd.DataFrame, hashed: list[str], keys: list[str], buckets: int) -> dict[str, Any]:
    """The 64-bit hashes of whole rows and of each ``unique`` column, cut into buckets by value."""
    arrays = {}
    for name in hashed:
        for b, part in enumerate(partitions.by_bucket(_hashes(frame, name), buckets)):
            arrays[_bucket_name(keys.index(name), b)] = part
    return arrays


def bucket_repeats(job: tuple[list[str], int, list[int]]) -> dict[int, tuple[int, np.ndarray]]:
    """On a worker: one bucket of every partition's hashes, for each key, counted: how many rows
    repeat an earlier one, and the repeated hashes (``partitions.repeats``)."""
    files, bucket, keys = job
    return {
        key: partitions.repeats(np.concatenate([read_array(f, _bucket_name(key, bucket)) for f in files]))
        for key in keys
    }


def repeated_examples(job: tuple[str, str, np.ndarray]) -> list[str]:
    """Values of a unique column in one partition whose hash is among ``repeated``."""
    path, column, repeated = job
    frame = read_partition(path)
    hit = np.isin(_hashes(frame, column), repeated)
    return frame[column].astype(str)[hit].drop_duplicates().head(contract_mod.EXAMPLES_SHOWN).tolist()


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.astype(str).value_counts().items()}


def run_partitioned(settings: Settings, layout: Layout, contract: contract_mod.Contract) -> dict[str, Any]:
    """``run`` for a folder of partitions, each checked and split on the configured engine."""
    data = settings.data
    raw_path = layout.root / data.raw
    files = partition_files(raw_path)
    with (
        cluster.mapper(settings.engine) as (map_, where),
        atomic_dir(layout.train) as train_dir,
        atomic_dir(layout.test) as test_dir,
        # Beside the splits, which the workers reach too; removed when the stage ends or fails.
        tempfile.TemporaryDirectory(prefix=".hashes-", dir=train_dir.parent) as hashes_dir,
    ):
        scratch = Path(hashes_dir).resolve()
        jobs = [
            # Absolute paths: a cluster's workers do not share the stage's working directory.
            PartitionJob(
                str(p.resolve()), p.relative_to(raw_path).as_posix(), i, settings.task, data, settings.split,
                contract, str(train_dir.resolve()), str(test_dir.resolve()),
                str(scratch / f"part-{i:05d}.npz"), len(files),
            )
            for i, p in enumerate(files)
        ]  # fmt: skip
        parts = map_(check_partition, jobs)
        if settings.split.policy == "time" and not any(p["failures"] for p in parts):
            # The latest rows of the whole table, not of each partition: the same cut as one file's.
            times = pd.concat([p["times"] for p in parts], ignore_index=True)
            cutoff = time_cutoff(times, str(settings.split.time_column), settings.split.test_size)
            jobs = [replace(job, cutoff=cutoff) for job in jobs]
            parts = map_(check_partition, jobs)
        # On stdout, not in the report: which workers ran what differs run to run.
        print(f"validate: {len(files)} partition(s) checked on the {where}; {cluster.took_part(parts)}")
        repeated = _repeats(contract, parts, jobs, map_)
        failures = partitions.merge_failures(parts)
        table = partitions.table_figures(parts, data.target, repeated[ROWS][0])
        failures += partitions.table_failures(table, contract, data.target)
        failures += _unique_failures(repeated, jobs, map_)
        report = _partitioned_report(settings, files, parts, failures, table, where)
        if failures:
            write_json(layout.validation, report)
            raise PipelineError(
                contract_mod.format_failures(failures, str(data.raw))
                + f"\n(checked {len(files)} partition(s) on the {where})"
            )
        report["hashes"] = {
            "raw_md5": tree_md5(raw_path),
            "train_md5": tree_md5(train_dir),
            "test_md5": tree_md5(test_dir),
        }
    write_json(layout.validation, report)
    return report


def _repeats(
    contract: contract_mod.Contract,
    parts: list[dict[str, Any]],
    jobs: list[PartitionJob],
    map_: cluster.Mapper,
) -> dict[str, tuple[int, np.ndarray]]:
    """Whole rows and each ``unique`` column every partition has: how many rows repeat an earlier
    one across the table, and the repeated hashes; counted one bucket at a time on the engine."""
    keys = hash_keys(contract)
    counted = [k for k, name in enumerate(keys) if all(name in p["hashed"] for p in parts)]
    files = [job.hashes for job in jobs]
    buckets = map_(bucket_repeats, [(files, b, counted) for b in range(jobs[0].buckets)])
    return {
        keys[k]: (sum(got[k][0] for got in buckets), np.concatenate([got[k][1] for got in buckets]))
        for k in counted
    }


def _unique_failures(
    repeated: dict[str, tuple[int, np.ndarray]], jobs: list[PartitionJob], map_: cluster.Mapper
) -> list[contract_mod.Failure]:
    """``unique`` columns across partitions: repeats found by hash, examples fetched from the
    partitions that hold them."""
    found = []
    for name, (count, hashes) in repeated.items():
        if name == ROWS or not count:
            continue
        hits = map_(repeated_examples, [(j.path, name, hashes) for j in jobs])
        examples = list(dict.fromkeys(v for vs in hits for v in vs))[: contract_mod.EXAMPLES_SHOWN]
        named = [j.name for j, vs in zip(jobs, hits, strict=True) if vs]
        found.append(contract_mod.Failure(name, "unique", count, examples, named))
    return found


def _partitioned_report(
    settings: Settings,
    files: list[Path],
    parts: list[dict[str, Any]],
    failures: list[contract_mod.Failure],
    table: dict[str, float],
    where: str,
) -> dict[str, Any]:
    """The validation report of a partitioned table; it raises what only the merged view shows."""
    data = settings.data
    report: dict[str, Any] = {
        "source": str(data.raw),
        "contract": str(data.contract),
        "ok": not failures,
        "failures": contract_mod.failures_as_dicts(failures),
        "dropped_columns": sorted({c for p in parts for c in p["dropped"]}),
        "partitions": {"count": len(files), "engine": where, "rows": partitions.by_partition(parts, "rows")},
    }
    if failures:
        return report
    quality = partitions.quality_figures(parts, settings.task, table["duplicate_share"])
    if settings.task == "classification":
        if len(quality["class_balance"]) < 2:
            raise PipelineError(
                f"{data.target}: a classification target needs 2 classes or more;"
                f" found {list(quality['class_balance'])}"
            )
        one_sided = partitions.one_sided_classes(parts)
        if settings.split.policy == "stratified" and one_sided:
            raise PipelineError(
                f"split: class(es) {', '.join(one_sided)} of '{data.target}' landed all on one side of the"
                " split, and a partitioned table's split (a hash of each row, on either engine) cannot move"
                " rows across as one file's can: use a larger split.test_size, or more rows of that class"
            )
    columns = parts[0]["column_names"]
    for name in [data.id_column, settings.split.group_column, settings.split.time_column]:
        if name and name not in columns:
            raise PipelineError(f"params.yaml names column '{name}', which the contract does not keep")
    split_ = recorded(
        settings.split,
        parts[0]["assignment"],
        sum(p["rows_train"] for p in parts),
        sum(p["rows_test"] for p in parts),
        [],
    )
    report.update(quality=quality, split=split_)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the stage from the project root."""
    del argv
    layout = Layout(Path())
    report = run(load_settings(layout.params), layout)
    split_ = report["split"]
    print(
        f"validate: {report['quality']['rows']} rows pass the contract;"
        f" {split_['policy']} split → {split_['rows_train']} train / {split_['rows_test']} test"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
