"""`python -m mlpipeline.commands.contract infer`: write a starter data contract from a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.adapters.files import write_text
from mlpipeline.adapters.tabular import read_csv
from mlpipeline.core.contract import contract_yaml, infer_contract
from mlpipeline.errors import PipelineError, run_main


def main() -> int:
    """``infer``: write a starter contract for a CSV."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.contract")
    sub = parser.add_subparsers(dest="command", required=True)
    infer = sub.add_parser("infer", help="write a starter contract inferred from a CSV")
    infer.add_argument("--data", required=True, type=Path)
    infer.add_argument("--target", required=True)
    infer.add_argument("--id", dest="id_column")
    infer.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    frame = read_csv(args.data)
    if args.id_column and args.id_column not in frame.columns:
        raise PipelineError(f"id column '{args.id_column}' is not a column of {args.data}")
    contract = infer_contract(frame, args.target, args.id_column)
    write_text(args.out, contract_yaml(contract, str(args.data)))
    print(f"wrote {args.out}: {len(contract['columns'])} columns; review and edit it")
    return 0


if __name__ == "__main__":
    run_main(main)
