"""`make ci`'s gate: every rule, regressions against a base git ref included, and the report.

Writes ``reports/gate.json`` and ``reports/gate.md`` (the CI job summary and pull-request comment).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import write_json, write_text
from mlpipeline.adapters.gitref import read_json_at, ref_exists
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import report
from mlpipeline.core import rules as r
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout
from mlpipeline.stages.gate import check_all, print_verdict, read_optional


def base_figures(layout: Layout, settings: Settings, ref: str) -> tuple[dict[str, Any] | None, str]:
    """The base ref's figures, or None with the reason no comparison is possible."""
    root = layout.root
    if not ref_exists(root, ref):
        return None, (
            f"base ref '{ref}' does not exist here (new repository or shallow clone?):"
            " regression rules NOT checked; fetch it, e.g."
            f" `git fetch --depth 1 origin main:refs/remotes/origin/main`"
        )
    rel = {name: str(getattr(layout, name).relative_to(root)) for name in ("metrics", "validation")}
    metrics = read_json_at(root, ref, rel["metrics"])
    if metrics is None:
        return None, f"{ref} has no {rel['metrics']}: regression rules NOT checked (first run?)"
    validation = read_json_at(root, ref, rel["validation"]) or {}
    here = read_optional(layout.validation)
    if validation.get("source") != here.get("source") or _target(layout, ref) != settings.data.target:
        return None, (
            f"{ref} was trained on other data ({validation.get('source')}) than this branch"
            f" ({here.get('source')}): regression rules NOT checked; they apply once {ref} has this data"
        )
    slices = read_json_at(root, ref, str(layout.slices.relative_to(root))) or {}
    return r.flatten(metrics, slices, validation), ""


def _target(layout: Layout, ref: str) -> str | None:
    card = read_json_at(layout.root, ref, str(layout.model_card.relative_to(layout.root)))
    return (card or {}).get("target")


def diffs(ref: str, root: Path) -> dict[str, str]:
    """Metrics and params diffs against ``ref``, empty when the ref does not exist."""
    if not ref_exists(root, ref):
        return {}
    return {
        f"Metrics vs `{ref}`": dvc.diff_markdown("metrics", ref, root),
        f"Params vs `{ref}`": dvc.diff_markdown("params", ref, root),
    }


def run(settings: Settings, layout: Layout, base_ref: str) -> tuple[bool, list[r.Outcome], str]:
    """Check every rule against ``base_ref``, write the reports; return (passed, outcomes, note)."""
    base, note = base_figures(layout, settings, base_ref)
    outcomes = check_all(settings, layout, base, note)
    passed = r.verdict(outcomes)
    document = {"passed": passed, "base": base_ref, "note": note, "rules": [o.as_dict() for o in outcomes]}
    write_json(layout.reports / "gate.json", document)
    sections = diffs(base_ref, layout.root)
    for title, text in sections.items():
        print(f"{title.replace('`', '')}:\n{text}\n")
    slices = read_optional(layout.slices) if layout.slices.exists() else None
    markdown = report.gate_markdown(outcomes, note, settings.task, base_ref, sections, slices)
    write_text(layout.reports / "gate.md", markdown)
    return passed, outcomes, note


def main(argv: list[str] | None = None) -> int:
    """Run the gate against ``--base``; exit 1 on a breach."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.ci_gate")
    parser.add_argument("--base", required=True, help="git ref to check regressions against")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    passed, outcomes, note = run(load_settings(layout.params), layout, args.base)
    print("\n".join(report.rule_lines(outcomes)))
    if note:
        print(f"gate: note: {note}")
    print(f"gate: Markdown report (for CI summaries and PR comments): {layout.reports / 'gate.md'}")
    return print_verdict(passed, outcomes, args.base)


if __name__ == "__main__":
    run_main(main)
