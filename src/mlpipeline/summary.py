"""Print the metrics table and the gate verdict after `make repro`."""

from __future__ import annotations

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


def main() -> int:
    """Print the summary."""
    print(render(Layout(Path())))
    return 0


if __name__ == "__main__":
    run_main(main)
