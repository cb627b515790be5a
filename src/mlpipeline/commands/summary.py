"""Print the metrics table and the gate verdict after `make repro`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.adapters.files import read_json
from mlpipeline.core.report import summary_text
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def render(layout: Layout) -> str:
    """Model against baseline, then the gate verdict."""
    for path in (layout.metrics, layout.baseline, layout.gate):
        if not path.exists():
            raise PipelineError(f"{path}: not found; run `make repro`")
    timing = read_json(layout.gate_latency) if layout.gate_latency.exists() else {"passed": True}
    return summary_text(
        read_json(layout.metrics),
        read_json(layout.baseline),
        read_json(layout.latency) if layout.latency.exists() else None,
        read_json(layout.gate)["passed"] and timing["passed"],
    )


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
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.summary")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    print(render_markdown(layout) if args.markdown else render(layout), end="\n" if not args.markdown else "")
    return 0


if __name__ == "__main__":
    run_main(main)
