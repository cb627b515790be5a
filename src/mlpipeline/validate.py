"""Stage ``validate``: raw CSV → data contract → seeded split → Parquet + validation report."""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipeline import contract as contract_mod
from mlpipeline.config import DataSettings, Settings, load_settings
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.io import file_md5, write_json, write_parquet
from mlpipeline.layout import Layout
from mlpipeline.split import sample, split
from mlpipeline.tabular import plain_strings, read_csv


def quality_figures(frame: pd.DataFrame, target: str, task: str, duplicate_share: float) -> dict[str, Any]:
    """Data-quality figures later gates can use (``duplicate_share`` from the contract check)."""
    null_share = {str(c): round(float(v), 6) for c, v in frame.isna().mean().items()}
    figures: dict[str, Any] = {
        "rows": len(frame),
        "columns": frame.shape[1],
        "null_share": null_share,
        "max_null_share": max(null_share.values(), default=0.0),
        "duplicate_share": round(duplicate_share, 6),
    }
    if task == "classification":
        balance = frame[target].astype(str).value_counts(normalize=True).sort_index()
        figures["class_balance"] = {str(k): round(float(v), 6) for k, v in balance.items()}
        figures["min_class_share"] = round(float(balance.min()), 6)
    return figures


def model_ready(frame: pd.DataFrame, keep_text: Collection[str | None] = ()) -> pd.DataFrame:
    """Compact, plain dtypes for Parquet and sklearn, in place.

    Nullable integers become int64, or float64 where values are missing. Text columns other than
    ``keep_text`` become categoricals with sorted categories: a small code per row instead of a
    string per row, which is most of a frame's memory at millions of rows.
    """
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.Int64Dtype):
            frame[name] = frame[name].astype("float64" if frame[name].isna().any() else "int64")
        elif isinstance(dtype, pd.StringDtype) and name not in keep_text:
            codes, categories = pd.factorize(frame[name], sort=True)
            frame[name] = pd.Categorical.from_codes(codes, categories=plain_strings(categories))
    return frame


def split_ready(frame: pd.DataFrame, data: DataSettings) -> pd.DataFrame:
    """``model_ready`` as the splits store it: the target and the id stay text (a label and a
    key, not features to encode)."""
    return model_ready(frame, keep_text=[data.target, data.id_column])


def run(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Validate the raw data and write the splits; raise ``PipelineError`` listing every failure."""
    data = settings.data
    contract = contract_mod.load_contract(layout.root / data.contract, target=data.target)
    raw_path = layout.root / data.raw
    frame = read_csv(raw_path)
    table = contract_mod.table_figures(frame, data.target)
    validated, failures, dropped = contract_mod.check(frame, contract, data.target, figures=table)
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
    for name in [data.id_column, settings.split.group_column, settings.split.time_column]:
        if name and name not in validated.columns:
            raise PipelineError(f"params.yaml names column '{name}', which the contract does not keep")
    prepared = split_ready(validated, data)
    train, test, policy = split(sample(prepared, settings.split), settings.split, data.target)
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
