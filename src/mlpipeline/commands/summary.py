"""Print the metrics table and the gate verdict after `make repro`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import read_json
from mlpipeline.core.lockdiff import git_add
from mlpipeline.core.report import summary_text
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def render(layout: Layout, verdict: bool = True) -> str:
    """Model against baseline, then the gate verdict (``verdict`` False: the figures are an earlier
    run's, so no verdict is shown as this one's)."""
    for path in (layout.metrics, layout.baseline, layout.gate):
        if not path.exists():
            raise PipelineError(f"{path}: not found; run `make repro`")
    timing = read_json(layout.gate_latency) if layout.gate_latency.exists() else {"passed": True}
    return summary_text(
        read_json(layout.metrics),
        read_json(layout.baseline),
        read_json(layout.latency) if layout.latency.exists() else None,
        (read_json(layout.gate)["passed"] and timing["passed"]) if verdict else None,
    )


def to_commit(changed: list[str]) -> str:
    """The routine's next step after a repro that changed committed files (DVC's own hint names
    dvc.lock alone; the metrics, card and pointers must go with it)."""
    if not changed:
        return ""
    return (
        f"next: commit what the pipeline changed ({git_add(changed)} && git commit), `make push`"
        " (the data and model, for clones and CI), then `make ci`"
    )


def render_markdown(layout: Layout) -> str:
    """The CI job summary: the gate report of `make ci` if there is one, else the metrics."""
    report = layout.reports / "gate.md"
    if report.exists():
        return report.read_text(encoding="utf-8")
    if not layout.metrics.exists():
        return "No metrics: the pipeline did not run to the end; see the job log.\n"
    return "```\n" + render(layout) + "\n```\n"


def gate_failed(layout: Layout) -> bool:
    """True when the last gate stage recorded a breach (in either of its verdict files)."""
    return any(
        path.exists() and read_json(path).get("passed") is False
        for path in (layout.gate, layout.gate_latency)
    )


def after_repro(layout: Layout, repro_exit: int) -> str:
    """What `make repro` prints last, whatever `dvc repro` did (exit code ``repro_exit``)."""
    if not repro_exit or gate_failed(layout):
        return render(layout)  # repro finished, or the gate ran and said no: this run's figures
    try:
        shown = render(layout, verdict=False)
    except PipelineError:
        return f"dvc repro failed (exit {repro_exit}) before evaluate wrote any figures: see the error above"
    return (
        f"dvc repro failed (exit {repro_exit}) before the gate finished (see the error above);"
        f" the figures below are from the last run that did\n{shown}"
    )


def report_after_repro(layout: Layout, repro_exit: int) -> int:
    """Print what `make repro` prints last and return its exit code: the run's, or 1 when the gate
    failed (inside an experiment the gate stage records a breach without failing, see
    stages/gate.py: the command that ran it still exits non-zero on it)."""
    print(after_repro(layout, repro_exit))
    # No dvc.lock: the pipeline never finished here, so it changed nothing committed.
    ran = not repro_exit and (layout.root / "dvc.lock").exists()
    hint = to_commit(dvc.changed_outputs(layout.root)) if ran else ""
    if hint:
        print(hint)
    return repro_exit or int(gate_failed(layout))


def main(argv: list[str] | None = None) -> int:
    """Print the summary (``--markdown``: for a CI job summary; ``--after-repro CODE``: after a
    `dvc repro` that exited with CODE, whatever it was: exits CODE, or 1 when the gate failed)."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.summary")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--after-repro", type=int, default=None, metavar="CODE")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    if args.markdown:
        print(render_markdown(layout), end="")
    elif args.after_repro is not None:
        return report_after_repro(layout, args.after_repro)
    else:
        print(render(layout))
    return 0


if __name__ == "__main__":
    run_main(main)
