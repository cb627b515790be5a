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
    """The experiments as terminal columns: name, state, gate, the ruled metrics, and every param
    whose value differs between the rows (keys only some experiments have included)."""
    quality = catalog.quality_metrics(settings.task)
    metrics = list(dict.fromkeys(r.metric for r in settings.gate.rules if r.metric in quality))
    changed = [p for p in params if len({_shown(row.get(p)) for row in rows}) > 1]
    header = ["experiment", "rev", "state", "gate", *metrics, *changed]
    body = []
    for row in rows:
        name = row.get("Experiment") or row["rev"]
        rev = row["rev"] if row.get("Experiment") else ""
        figures = [_number(_find(row, m, "metrics/metrics.json")) for m in metrics]
        values = [_shown(row.get(p)) for p in changed]
        body.append([name, rev[:7], row.get("State") or "", _verdict(row), *figures, *values])
    return text_table(header, body)


def _shown(value: Any) -> str:
    """A param's cell: a dash where the row does not have the key."""
    return "–" if value is None else str(value)


def _number(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4f}"


def queue_lines(tasks: list[dict[str, Any]], busy_workers: int) -> list[str]:
    """What the queue needs from a person: failed experiments, and queued ones nobody runs."""
    lines = [
        f"experiments: {t.get('name') or t['rev'][:7]} failed: `.venv/bin/dvc queue logs"
        f" {t.get('name') or t['rev'][:7]}` shows why"
        for t in tasks
        if t.get("status") == "Failed"
    ]
    queued = [t for t in tasks if t.get("status") == "Queued"]
    if queued and not busy_workers:
        lines.append(
            f"experiments: {len(queued)} queued and no queue worker is running them: start one with"
            " `.venv/bin/dvc queue start` (a worker that stopped says why in"
            " .dvc/tmp/exps/run/dvc-exp-worker-*/*.out)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the workspace, HEAD and the experiments based on HEAD (``--rev REF``: on REF instead),
    then what the queue needs; exit 1 when an experiment failed."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.experiments")
    parser.add_argument("--rev", default=None, help="the commit whose experiments to list (default HEAD)")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    settings = load_settings(layout.params)
    rows, params = dvc.experiments(layout.root, args.rev)
    print(table(rows, settings, params))
    said = queue_lines(*dvc.queue_state(layout.root))
    for line in said:
        print(line)
    return 1 if any(" failed:" in line for line in said) else 0


if __name__ == "__main__":
    run_main(main)
