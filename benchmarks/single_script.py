"""The one-file baseline a pipeline is measured against: the same validate, split, train,
evaluate and gate work as `dvc repro`, with the same code and model, in one process, with no
files between steps (the `ci_model.py` pattern). Writes its results under --out.

Run from a project root: python benchmarks/single_script.py --out /tmp/single
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib

from mlpipeline.adapters.files import write_json
from mlpipeline.adapters.tabular import read_csv
from mlpipeline.config import load_settings
from mlpipeline.core import contract as contract_mod
from mlpipeline.core import latency, rules
from mlpipeline.core.evaluation import evaluate
from mlpipeline.core.frames import quality_figures, split_ready
from mlpipeline.core.metrics import target_summary
from mlpipeline.core.model import fit
from mlpipeline.core.rows import as_records, served_call
from mlpipeline.core.split import sample, split
from mlpipeline.errors import PipelineError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    settings = load_settings("params.yaml")
    target = settings.data.target
    # validate
    contract = contract_mod.load_contract(settings.data.contract, target)
    frame = read_csv(settings.data.raw)
    table = contract_mod.table_figures(frame, target)
    validated, failures, _ = contract_mod.check(frame, contract, target, figures=table)
    if failures:
        raise PipelineError(contract_mod.format_failures(failures, str(settings.data.raw)))
    prepared = split_ready(validated, settings.data)
    quality = quality_figures(prepared, target, settings.task, table["duplicate_share"])
    ident = settings.data.id_column
    train, test, _ = split(sample(prepared, settings.split, ident), settings.split, target, ident)
    # train
    model, facts = fit(settings, train)
    model_path = out / "model.joblib"
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_path)
    # evaluate
    result = evaluate(settings, model, facts, test, target_summary(settings.task, train[target]))
    card = {**facts, "task": settings.task, "target": target, "id_column": ident}
    timing = latency.measure(
        served_call(model, card, contract),  # a served request's path, as evaluate times it
        as_records(test.drop(columns=[target])),
        settings.evaluate.latency_rows,
        model_path.stat().st_size,
        result["batch_seconds"],
    )
    for name in ("metrics", "baseline", "slices"):
        write_json(out / f"{name}.json", result[name])
    write_json(out / "latency.json", timing)
    # gate
    current = rules.flatten(result["metrics"], result["slices"], {"quality": quality}, timing)
    outcomes = [
        rules.check_rule(rule, settings.task, current, result["baseline"], None)
        for rule in settings.gate.rules
    ]
    write_json(
        out / "gate.json", {"passed": rules.verdict(outcomes), "rules": [o.as_dict() for o in outcomes]}
    )
    return 0 if rules.verdict(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
