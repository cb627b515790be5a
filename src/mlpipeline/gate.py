"""Stage ``gate``: check the rules in params.yaml and fail the build on a breach.

In ``dvc repro`` it checks every rule that needs no other git ref: deterministic ones go to
``metrics/gate.json``, timing ones to ``metrics/gate_latency.json``. With ``--base REF`` (what
``make ci`` runs) it also checks regressions against REF and writes a Markdown report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpipeline import catalog, tools
from mlpipeline import rules as r
from mlpipeline.config import Settings, load_settings
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.gitref import read_json_at, ref_exists
from mlpipeline.io import read_json, write_json, write_text
from mlpipeline.layout import Layout


def _read_optional(path: Path) -> dict[str, Any]:
    return read_json(path) if path.exists() else {}


def current_figures(layout: Layout) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """The workspace's figures, and the dummy baseline's."""
    missing = [p for p in (layout.metrics, layout.baseline) if not p.exists()]
    if missing:
        raise PipelineError(f"{missing[0]}: not found; run `dvc repro` (evaluate writes it)")
    figures = r.flatten(
        read_json(layout.metrics),
        _read_optional(layout.slices),
        _read_optional(layout.validation),
        _read_optional(layout.latency),
    )
    return figures, read_json(layout.baseline)


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
    here = _read_optional(layout.validation)
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


def check_all(settings: Settings, layout: Layout, base_ref: str | None) -> tuple[list[r.Outcome], str]:
    """Every rule's outcome; ``base_ref`` None means regression rules are left to ``make ci``."""
    current, baseline = current_figures(layout)
    if base_ref is None:
        base, note = None, "checked by `make ci BASE=<ref>`, not inside dvc repro"
    else:
        base, note = base_figures(layout, settings, base_ref)
    outcomes = [
        r.check_rule(rule, settings.task, current, baseline, base, note) for rule in settings.gate.rules
    ]
    return outcomes, note


def table(outcomes: list[r.Outcome]) -> str:
    """Rules as a Markdown table."""
    lines = ["| rule | value | threshold | base | result |", "|---|---|---|---|---|"]
    for o in outcomes:
        result = {"pass": "✅ pass", "fail": "❌ FAIL", "skip": "⏭ skipped"}[o.status]
        if o.note:
            result += f" ({o.note})" if o.status == r.FAIL else ""
        lines.append(
            f"| {r.describe(o)} | {_fmt(o.value)} | {_fmt(o.threshold)} | {_fmt(o.base_value)} | {result} |"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def slice_table(slices: dict[str, Any], task: str) -> str:
    """Per-group metrics as a Markdown table."""
    shown = ["f1", "roc_auc", "recall"] if task == "classification" else ["mae", "rmse", "r2"]
    lines = [
        "| slice | group | n | " + " | ".join(shown) + " |",
        "|---|---|---|" + "---|" * len(shown),
    ]
    for column, groups in slices.get("by", {}).items():
        for group, values in groups.items():
            cells = " | ".join(_fmt(values.get(k)) for k in shown)
            lines.append(f"| {column} | {group} | {values['n']} | {cells} |")
    return "\n".join(lines)


def dvc_diff(kind: str, ref: str, root: Path) -> str:
    """`dvc metrics diff` / `dvc params diff` against ``ref`` as Markdown."""
    done = tools.run(root, "dvc", kind, "diff", ref, "--md")
    if done.returncode != 0:
        return f"(dvc {kind} diff failed: {done.stderr.strip()})"
    rows = done.stdout.strip().splitlines()
    return "\n".join(rows) if len(rows) > 2 else "(no changes)"  # header and rule only: no rows


def diffs(ref: str, root: Path) -> dict[str, str]:
    """Metrics and params diffs against ``ref``, empty when the ref does not exist."""
    if not ref_exists(root, ref):
        return {}
    return {
        f"Metrics vs `{ref}`": dvc_diff("metrics", ref, root),
        f"Params vs `{ref}`": dvc_diff("params", ref, root),
    }


def report(
    outcomes: list[r.Outcome],
    note: str,
    settings: Settings,
    layout: Layout,
    ref: str | None,
    diff_sections: dict[str, str] | None = None,
) -> str:
    """The Markdown gate report for CI summaries and pull-request comments."""
    failed = [o for o in outcomes if o.status == r.FAIL]
    head = "✅ **Gate passed**" if not failed else f"❌ **Gate failed**: {len(failed)} rule(s) broken"
    parts = ["<!-- mlpipeline-gate-report -->", "## Model gate", head]
    if ref:
        parts.append(f"Base: `{ref}`" + (f" — {note}" if note else ""))
    if failed:
        parts.append(
            "Broken: "
            + "; ".join(
                f"`{r.describe(o)}` (value {_fmt(o.value)}, threshold {_fmt(o.threshold)}"
                + (f", {ref} {_fmt(o.base_value)}" if o.kind == "max_regression" else "")
                + ")"
                for o in failed
            )
        )
    parts += ["### Rules", table(outcomes)]
    for title, text in (diff_sections or {}).items():
        parts += [f"### {title}", text]
    if layout.slices.exists():
        parts += ["### Slices", slice_table(read_json(layout.slices), settings.task)]
    return "\n\n".join(parts) + "\n"


def run(settings: Settings, layout: Layout, base_ref: str | None) -> tuple[bool, list[r.Outcome], str]:
    """Check the rules and write the verdict files; return (passed, outcomes, note)."""
    outcomes, note = check_all(settings, layout, base_ref)
    passed = r.verdict(outcomes)
    if base_ref is None:
        stable = [o for o in outcomes if not catalog.is_latency(o.metric)]
        timing = [o for o in outcomes if catalog.is_latency(o.metric)]
        write_json(layout.gate, {"passed": r.verdict(stable), "rules": [o.as_dict() for o in stable]})
        write_json(
            layout.gate_latency,
            {"passed": r.verdict(timing), "rules": [o.as_dict() for o in timing]},
        )
    else:
        document = {
            "passed": passed,
            "base": base_ref,
            "note": note,
            "rules": [o.as_dict() for o in outcomes],
        }
        write_json(layout.reports / "gate.json", document)
        sections = diffs(base_ref, layout.root)
        for title, text in sections.items():
            print(f"{title.replace('`', '')}:\n{text}\n")
        write_text(layout.reports / "gate.md", report(outcomes, note, settings, layout, base_ref, sections))
    return passed, outcomes, note


def main(argv: list[str] | None = None) -> int:
    """Run the gate; exit 1 on a breach."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.gate")
    parser.add_argument("--base", help="git ref to check regressions against (make ci)")
    args = parser.parse_args(argv)
    layout = Layout(Path())
    settings = load_settings(layout.params)
    passed, outcomes, note = run(settings, layout, args.base)
    for o in outcomes:
        mark = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[o.status]
        extra = f"  [{o.note}]" if o.note and o.status == r.FAIL else ""
        print(
            f"  {mark:4}  {r.describe(o):42} value={_fmt(o.value):>8}  threshold={_fmt(o.threshold)}{extra}"
        )
    if note and args.base:
        print(f"gate: note: {note}")
    if args.base:
        print(f"gate: Markdown report (for CI summaries and PR comments): {layout.reports / 'gate.md'}")
    if not passed:
        failed = [r.describe(o) for o in outcomes if o.status == r.FAIL]
        base = f" (base {args.base})" if args.base else ""
        print(f"gate: FAILED{base}: {'; '.join(failed)}", file=sys.stderr)
        return 1
    print("gate: passed")
    return 0


if __name__ == "__main__":
    run_main(main)
