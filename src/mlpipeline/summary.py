"""Print the metrics table and the gate verdict after `make repro`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.errors import PipelineError, run_main
from mlpipeline.io import read_json
from mlpipeline.layout import Layout


def render(layout: Layout) -> str:
    """Model against baseline, then the gate verdict."""
    for path in (layout.metrics, layout.baseline, layout.gate):
        if not path.exists():
            raise PipelineError(f"{path}: not found; run `make repro`")
    model, base = read_json(layout.metrics), read_json(layout.baseline)
    lines = [f"{'metric':20} {'model':>10} {'baseline':>10}"]
    for name, value in model.items():
        if isinstance(value, float):
            b = base.get(name)
            lines.append(f"{name:20} {value:10.4f} {'' if b is None else f'{b:10.4f}'}")
    if layout.latency.exists():
        lat = read_json(layout.latency)
        lines.append(
            f"latency: p50 {lat['latency_p50_ms']} ms, p95 {lat['latency_p95_ms']} ms,"
            f" {lat['throughput_rows_per_s']:.0f} rows/s, model {lat['model_size_mb']} MB"
        )
    gate = read_json(layout.gate)
    timing = read_json(layout.gate_latency) if layout.gate_latency.exists() else {"passed": True}
    passed = gate["passed"] and timing["passed"]
    lines.append(f"gate: {'PASSED' if passed else 'FAILED'} (details: metrics/gate.json)")
    return "\n".join(lines)


def render_markdown(layout: Layout) -> str:
    """The CI job summary: the gate report of `make ci` if there is one, else the metrics."""
    report = layout.reports / "gate.md"
    if report.exists():
        return report.read_text(encoding="utf-8")
    if not layout.metrics.exists():
        return "No metrics: the pipeline did not run to the end; see the job log.\n"
    return "```\n" + render(layout) + "\n```\n"


def main(argv: list[str] | None = None) -> int:
    """Print the summary (``--markdown``: for a CI job summary)."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.summary")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    print(render_markdown(layout) if args.markdown else render(layout), end="\n" if not args.markdown else "")
    return 0


if __name__ == "__main__":
    run_main(main)
