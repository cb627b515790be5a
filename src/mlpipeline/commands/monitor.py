"""`make monitor INPUT=batch.csv [STAGE=prod | VERSION=v1.2.0]`: has the world moved?

The batch is checked with the serving contract of the model that serves it (exit 2 when it breaks
it), scored, and compared with that model's reference profile (models/profile.json of its
commit): drift per feature and of the scores, and, when the batch carries the target (labels that
arrived late), the model's quality on it with intervals against its test figures. `monitor.rules`
in params.yaml decide: exit 0 when all hold, 1 when one breaks; a batch of fewer than
`monitor.min_rows` rows is too small to judge (exit 4). Reports go to reports/monitor.json,
reports/monitor.md and reports/monitor.html (opens offline, a chart per drifted feature).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mlpipeline.adapters.files import write_json, write_text
from mlpipeline.adapters.gitref import text_at
from mlpipeline.adapters.modelstore import load_verified, model_file, serving_contract
from mlpipeline.adapters.tabular import read_rows
from mlpipeline.commands.predict import resolve
from mlpipeline.config import load_settings
from mlpipeline.core import contract as contract_mod
from mlpipeline.core import drift, monitoring, report
from mlpipeline.core import profile as profile_mod
from mlpipeline.core.compare import large_sample_intervals
from mlpipeline.core.features import input_columns
from mlpipeline.core.plots import drift_chart
from mlpipeline.core.prediction import BatchRejectedError, prepare, warning_counts
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout

REPORTS = Path("reports")


def reference_profile(root: Path, commit: str | None) -> dict[str, Any]:
    """The profile the model's evaluate stage wrote, at its commit (None: the workspace's)."""
    rel = Layout().profile.as_posix()
    text = text_at(root, commit, rel)
    if text is None:
        if commit is None:
            raise PipelineError(f"{rel} not found: run `make repro` (evaluate writes it)")
        raise PipelineError(f"{rel} is not committed at {commit[:10]}: that version predates monitoring")
    return json.loads(text)


def run(root: Path, input_path: Path, stage: str | None, version: str | None, out: Path) -> tuple[int, dict]:
    """Judge the batch; write the reports; return (exit code, document)."""
    settings = load_settings(Layout(root).params)
    label, commit, card = resolve(root, stage, version)
    target = card["target"]
    frame = read_rows(input_path, missing_hint="check the INPUT path")
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("_")])  # serving-log fields
    labels = frame[target] if target in frame.columns and frame[target].notna().any() else None
    contract = serving_contract(root, commit, card)
    base: dict[str, Any] = {"model": label, "input": str(input_path), "rows": len(frame)}
    try:
        prepared = prepare(card, contract, frame, str(input_path))
    except BatchRejectedError as exc:
        document = {
            **base,
            "status": "contract",
            "passed": False,
            "failures": contract_mod.failures_as_dicts(exc.failures),
        }
        _write(out, document, [])
        print(str(exc).replace("no predictions written", "no drift measured"))
        return monitoring.CONTRACT, document
    small = monitoring.too_small(len(prepared.frame), settings.monitor.min_rows)
    if small:
        document = {**base, "status": "too_small", "passed": False, "reason": small}
        _write(out, document, [])
        print(f"monitor: {input_path}: {small}")
        return monitoring.TOO_SMALL, document
    outside = warning_counts(prepared.warnings)
    for w in outside:
        print(
            f"monitor: {input_path}: {w['rows']} row(s) outside the contract ({w['column']}: {w['rule']});"
            " scored with warnings (serving.out_of_contract: warn)"
        )
    reference = reference_profile(root, commit)
    with tempfile.TemporaryDirectory() as scratch:
        model = load_verified(model_file(root, commit, Path(scratch)), card)
    ready = prepared.frame
    x = ready[input_columns(card)]
    scores = profile_mod.model_scores(model, x, card["task"], card.get("positive_class"))
    shifts, score_shift = drift.shifts(
        ready, reference, scores, settings.monitor.psi_threshold, settings.monitor.alpha
    )
    figures = drift.figures(shifts, score_shift)
    counts = label_counts(card, labels)
    unlabelled = monitoring.too_few_labels(counts, settings.monitor.min_labels, card["task"])
    labelled = _quality(model, card, x, labels) if not unlabelled else None
    labelled_rows = sum(counts.values())
    if labelled_rows and unlabelled:
        print(f"monitor: {input_path}: quality {unlabelled}")
    outcomes = monitoring.judge(
        settings, figures, labelled, card.get("metrics") or {}, labelled_rows, unlabelled
    )
    code = monitoring.exit_code(outcomes)
    document = {
        **base,
        "status": "ok" if code == monitoring.OK else "drift",
        "passed": code == monitoring.OK,
        "figures": figures,
        "labelled_rows": labelled_rows,
        "labels": counts,
        "quality_judged": not unlabelled,
        "outside_contract": outside,
        "quality": {k: v.__dict__ for k, v in (labelled or {}).items()},
        "rules": [o.as_dict() for o in outcomes],
        "features": [s.as_dict() for s in shifts],
        "score": score_shift.as_dict(),
        "settings": {"psi_threshold": settings.monitor.psi_threshold, "alpha": settings.monitor.alpha},
    }
    _write(
        out,
        document,
        [s for s in [*shifts, score_shift] if s.drifted or s.psi >= settings.monitor.psi_threshold],
    )
    print(report.monitor_text(document))
    return code, document


def label_counts(card: dict[str, Any], labels: Any) -> dict[str, int]:
    """Labelled rows per class of the model, zeros included (regression: ``{"rows": n}``)."""
    if labels is None:
        return {}
    known = labels.dropna()
    if card["task"] != "classification":
        return {"rows": len(known)}
    found = [str(_as_class(v, card["classes"])) for v in known]
    return {str(c): found.count(str(c)) for c in card["classes"]}


def _quality(model: Any, card: dict[str, Any], x: Any, labels: Any) -> dict[str, Any]:
    known = labels.notna().to_numpy()
    y = labels[known].to_numpy()
    if card["task"] == "classification":
        predictions = model.predict_proba(x[known])
        y = np.asarray([_as_class(v, card["classes"]) for v in y], dtype=object)
    else:
        predictions = model.predict(x[known])
    return large_sample_intervals(
        card["task"], y, predictions, card.get("classes"), card.get("positive_class")
    )


def _as_class(value: Any, classes: list[Any]) -> Any:
    """A label as the model's class (CSV gives text; the model may hold booleans or numbers)."""
    for cls in classes:
        if str(cls) == str(value):
            return cls
    return value


def _write(out: Path, document: dict[str, Any], charted: list[drift.Shift]) -> None:
    from mlpipeline.commands.plots_template import page

    write_json(out / "monitor.json", document)
    write_text(out / "monitor.md", report.monitor_markdown(document))
    specs = [drift_chart(s.name, s.bins, s.reference, s.batch) for s in charted]
    write_text(out / "monitor.html", report.monitor_html(document, specs, page()))


def main(argv: list[str] | None = None) -> int:
    """``--input batch.csv [--stage S | --version V] [--out reports]``; exit 0 (all rules hold),
    1 (drift breaks a rule), 2 (the batch breaks the contract), 3 (could not run), 4 (the batch
    is too small to judge: fewer than monitor.min_rows rows)."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.monitor")
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--stage")
    parser.add_argument("--version")
    parser.add_argument("--out", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    try:
        code, _ = run(Path(), args.input, args.stage or None, args.version or None, args.out)
    except PipelineError as exc:  # 1 and 2 are verdicts; a monitor that could not run says 3
        print(f"error: {exc}", file=sys.stderr)
        return monitoring.FAILED
    return code


if __name__ == "__main__":
    run_main(main)
