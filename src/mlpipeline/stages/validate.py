"""Stage ``validate``: raw CSV → data contract → seeded split → Parquet + validation report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mlpipeline.adapters.files import file_md5, write_json, write_parquet
from mlpipeline.adapters.tabular import read_csv
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import contract as contract_mod
from mlpipeline.core.frames import quality_figures, split_ready
from mlpipeline.core.split import sample, split
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Validate the raw data and write the splits; raise ``PipelineError`` listing every failure."""
    data = settings.data
    contract = contract_mod.load_contract(layout.root / data.contract, target=data.target)
    raw_path = layout.root / data.raw
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
