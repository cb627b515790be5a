"""`make experiments`: every DVC experiment with the model's figures and the gate's verdict first.

`dvc exp show` lists every column of every metrics file in stage order, so a sweep's table opens
with validation hashes and class balances; this reads the same records through DVC's API and
shows what a sweep is for: each experiment's state, its gate verdict (recorded even when a rule
failed: inside `dvc exp run` the gate stage records the breach and lets the experiment finish),
the metrics the gate's rules name, and the params that differ between the rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipeline import catalog
from mlpipeline.adapters import dvc
from mlpipeline.config import Settings, load_settings
from mlpipeline.core.report import text_table
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout


def _find(row: dict[str, Any], name: str, file: str | None = None) -> Any:
    """A column of DVC's record: keys carry their file only where two files share a name."""
    if file and f"{file}:{name}" in row:
        return row[f"{file}:{name}"]
    if name in row:
        return row[name]
    return next((v for k, v in row.items() if k.endswith(f":{name}")), None)


def _verdict(row: dict[str, Any]) -> str:
    found = [_find(row, "passed", f) for f in ("metrics/gate.json", "metrics/gate_latency.json")]
    if all(v is None for v in found):
        return "–"
    return "FAILED" if any(str(v) == "False" for v in found) else "passed"


def table(rows: list[dict[str, Any]], settings: Settings, params: list[str]) -> str:
    """The experiments as terminal columns: name, state, gate, the ruled metrics, changed params."""
    quality = catalog.quality_metrics(settings.task)
    metrics = list(dict.fromkeys(r.metric for r in settings.gate.rules if r.metric in quality))
    changed = [p for p in params if len({str(_find(row, p)) for row in rows}) > 1]
    header = ["experiment", "rev", "state", "gate", *metrics, *changed]
    body = []
    for row in rows:
        name = row.get("Experiment") or row["rev"]
        rev = row["rev"] if row.get("Experiment") else ""
        figures = [_number(_find(row, m, "metrics/metrics.json")) for m in metrics]
        values = [str(_find(row, p)) for p in changed]
        body.append([name, rev[:7], row.get("State") or "", _verdict(row), *figures, *values])
    return text_table(header, body)


def _number(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4f}"


def flat_params(settings: Settings) -> list[str]:
    """Every scalar param of params.yaml as a dotted name (as DVC names them)."""
    out: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif not isinstance(value, list):
            out.append(prefix)

    walk("", settings.model_dump(mode="json", exclude={"gate", "monitor", "registry"}))
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the workspace, HEAD and the experiments based on HEAD (``--rev REF``: on REF instead)."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.experiments")
    parser.add_argument("--rev", default=None, help="the commit whose experiments to list (default HEAD)")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    settings = load_settings(layout.params)
    print(table(dvc.experiments(layout.root, args.rev), settings, flat_params(settings)))
    return 0


if __name__ == "__main__":
    run_main(main)
