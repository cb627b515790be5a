"""Stage ``gate``: check the rules in params.yaml that need no other git ref; fail on a breach.

Deterministic rules go to ``metrics/gate.json``, timing ones to ``metrics/gate_latency.json``.
Regression rules need the base ref and are checked by `make ci` (``commands/ci_gate.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mlpipeline import catalog
from mlpipeline.adapters.files import read_json, write_json
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import report
from mlpipeline.core import rules as r
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout

IN_REPRO_NOTE = "checked by `make ci BASE=<ref>`, not inside dvc repro"


def read_optional(path: Path) -> dict[str, Any]:
    """A JSON file's content, or an empty mapping when the file is not there."""
    return read_json(path) if path.exists() else {}


def current_figures(layout: Layout) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """The workspace's figures, and the dummy baseline's."""
    missing = [p for p in (layout.metrics, layout.baseline) if not p.exists()]
    if missing:
        raise PipelineError(f"{missing[0]}: not found; run `dvc repro` (evaluate writes it)")
    figures = r.flatten(
        read_json(layout.metrics),
        read_optional(layout.slices),
        read_optional(layout.validation),
        read_optional(layout.latency),
    )
    return figures, read_json(layout.baseline)


def check_all(settings: Settings, layout: Layout, base: dict[str, Any] | None, note: str) -> list[r.Outcome]:
    """Every rule's outcome; ``base`` None means no base comparison (``note`` says why)."""
    current, baseline = current_figures(layout)
    return [r.check_rule(rule, settings.task, current, baseline, base, note) for rule in settings.gate.rules]


def run(settings: Settings, layout: Layout) -> tuple[bool, list[r.Outcome]]:
    """Check the rules and write the verdict files; return (passed, outcomes)."""
    outcomes = check_all(settings, layout, None, IN_REPRO_NOTE)
    stable = [o for o in outcomes if not catalog.is_latency(o.metric)]
    timing = [o for o in outcomes if catalog.is_latency(o.metric)]
    write_json(layout.gate, {"passed": r.verdict(stable), "rules": [o.as_dict() for o in stable]})
    write_json(layout.gate_latency, {"passed": r.verdict(timing), "rules": [o.as_dict() for o in timing]})
    return r.verdict(outcomes), outcomes


def print_verdict(passed: bool, outcomes: list[r.Outcome], base: str | None) -> int:
    """Print the verdict; the exit code (1 on a breach)."""
    if not passed:
        failed = [r.describe(o) for o in outcomes if o.status == r.FAIL]
        where = f" (base {base})" if base else ""
        print(f"gate: FAILED{where}: {'; '.join(failed)}", file=sys.stderr)
        return 1
    print(f"gate: {report.headline(True, outcomes, 0)}")
    return 0


def in_experiment() -> bool:
    """True inside `dvc exp run` (DVC gives its stages the experiment's name)."""
    return bool(os.environ.get("DVC_EXP_NAME"))


def main() -> int:
    """Run the gate inside `dvc repro`; exit 1 on a breach, except in an experiment."""
    layout = Layout(Path())
    settings = load_settings(layout.params)
    passed, outcomes = run(settings, layout)
    print("\n".join(report.rule_lines(outcomes)))
    code = print_verdict(passed, outcomes, None)
    positive = settings.data.positive_class if settings.task == "classification" else None
    hint = report.one_class_hint(read_json(layout.metrics), positive, settings.model.hyperparameters)
    if code and hint:
        print(f"gate: {hint}", file=sys.stderr)
    if code and in_experiment():
        # A failed stage would make DVC record the experiment as failed, without its own
        # metrics: a sweep would lose every candidate that misses a rule, which is the
        # comparison it is for. The verdict is in metrics/gate.json; make retrain, make ci
        # and make experiments read it from there.
        print(f"gate: experiment {os.environ['DVC_EXP_NAME']} kept with its verdict (metrics/gate.json)")
        return 0
    return code


if __name__ == "__main__":
    run_main(main)
