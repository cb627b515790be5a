"""`make ci`'s gate: every rule, every time, with the base ref's model on the same rows.

The branch's model and the base ref's model (restored by DVC at the hashes in the base's dvc.lock)
both score the branch's test rows that the base model did not train on; a paired bootstrap gives
every difference an interval. When the base model cannot be had, the recorded figures are
compared instead, labelled unpaired. Whatever broke (the pipeline, reproducibility, any rule),
``reports/gate.json`` and ``reports/gate.md`` are written and the exit code says so.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlpipeline.adapters import dvc
from mlpipeline.adapters.files import read_json, write_json, write_text
from mlpipeline.adapters.gitref import commit_of, committed_lock, read_json_at, ref_exists
from mlpipeline.adapters.modelstore import load_verified, model_file, output_at, serving_contract
from mlpipeline.adapters.tabular import parquet_columns, read_parquet
from mlpipeline.commands.ci_partitions import BaseScoring, score_on_cluster
from mlpipeline.commands.ci_preflight import missing_base
from mlpipeline.config import Settings, load_settings, load_yaml
from mlpipeline.core import compare, latency, report
from mlpipeline.core import rules as r
from mlpipeline.core.contract import load_contract
from mlpipeline.core.features import input_columns
from mlpipeline.core.lockdiff import advice, differences, git_add
from mlpipeline.core.rows import as_records, served_call
from mlpipeline.core.split import row_keys
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout
from mlpipeline.stages.gate import current_figures, read_optional

UPSTREAM = ("validate", "train", "evaluate")
MIN_PAIRED_ROWS = 30
TIMING = ("latency_p50_ms", "latency_p95_ms", "throughput_rows_per_s")
NO_BASE = "no earlier version to compare with: regression rules skipped"


@dataclass
class Pairing:
    """How the base was compared: on which rows, or why not."""

    mode: str = "none"  # paired | unpaired | none
    reason: str = ""
    rows_test: int = 0
    rows_compared: int = 0
    rows_excluded: int = 0
    base_commit: str = ""


@dataclass
class Judgement:
    """Everything the report shows."""

    base: str
    note: str
    outcomes: list[r.Outcome]
    pairing: Pairing = field(default_factory=Pairing)
    pipeline: str = ""  # why this branch's figures could not be judged, if so
    refused: str = ""  # why there is no judgement against the base at all (it does not exist)
    reproducible: list[str] | None = None  # differences from the committed dvc.lock; None: not checked
    reproducible_advice: str = ""  # why they differ and what to run
    rows: str = ""  # which rows the model trained on, when not simply every row
    full_run: bool = False  # every row despite split.sample_fraction: the lock is not compared

    @property
    def problems(self) -> list[str]:
        """Why the gate failed, one item each: the pipeline, every broken rule, the lock."""
        broken = [r.describe(o) for o in self.outcomes if o.status == r.FAIL]
        lock = ["the pipeline does not reproduce the committed dvc.lock"] if self.reproducible else []
        refused = [self.refused] if self.refused else []
        return [*refused, *([self.pipeline] if self.pipeline else []), *broken, *lock]

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "base": self.base,
            "note": self.note,
            "pipeline": self.pipeline,
            "refused": self.refused,
            "reproducible": self.reproducible,
            "reproducible_advice": self.reproducible_advice,
            "pairing": asdict(self.pairing),
            "rows": self.rows,
            "full_run": self.full_run,
            "rules": [o.as_dict() for o in self.outcomes],
        }


def base_figures(layout: Layout, settings: Settings, ref: str) -> tuple[dict[str, Any] | None, str]:
    """The base ref's recorded figures, or None with the reason no comparison is possible.

    Raises ``PipelineError`` when ``ref`` does not exist: a typo must not pass as "nothing to
    compare with".
    """
    root = layout.root
    if not ref_exists(root, ref):
        raise PipelineError(missing_base(ref))
    metrics = read_json_at(root, ref, _rel(layout, layout.metrics))
    if metrics is None:
        return None, f"{ref} has no {_rel(layout, layout.metrics)}: regression rules NOT checked (first run?)"
    card = read_json_at(root, ref, _rel(layout, layout.model_card)) or {}
    validation = read_json_at(root, ref, _rel(layout, layout.validation)) or {}
    why = compare.other_data(card, read_optional(layout.model_card))
    if why:
        here = read_optional(layout.validation)
        return None, (
            f"{ref} was trained on other data ({validation.get('source')}) than this branch"
            f" ({here.get('source')}): {why}; regression rules NOT checked;"
            f" they apply once {ref} has this data"
        )
    slices = read_json_at(root, ref, _rel(layout, layout.slices)) or {}
    return r.flatten(metrics, slices, validation), ""


def _rel(layout: Layout, path: Path) -> str:
    return path.relative_to(layout.root).as_posix()


def _x(card: dict[str, Any], frame: Any) -> Any:
    return frame[input_columns(card)]


def _predict(model: Any, card: dict[str, Any], frame: Any) -> Any:
    x = _x(card, frame)
    return model.predict_proba(x) if card["task"] == "classification" else model.predict(x)


def load_branch(layout: Layout) -> tuple[Any, dict[str, Any]]:
    """The workspace's model, verified against its card."""
    card = read_json(layout.model_card)
    return load_verified(layout.model, card), card


@dataclass
class Base:
    """The base commit's model, restored and verified, and its training split (a file or folder)."""

    commit: str
    model: Any
    card: dict[str, Any]
    train: Path


def restore_base(layout: Layout, ref: str, test_columns: list[str], scratch: Path) -> Base:
    """The base's model and training split, from the workspace, the DVC cache or the remote.

    Raises ``PipelineError`` saying why the base cannot be scored on this branch's rows.
    """
    root = layout.root
    commit = commit_of(root, ref)
    card = read_json_at(root, ref, _rel(layout, layout.model_card))
    if card is None:
        raise PipelineError(f"{ref} has no model card")
    missing = [name for name in input_columns(card) if name not in test_columns]
    if missing:
        raise PipelineError(
            f"the base model uses columns this branch's test split lacks: {', '.join(missing)}"
        )
    model = load_verified(model_file(root, commit, scratch), card)
    return Base(commit, model, card, output_at(root, layout.train, commit, scratch))


def key_columns(
    settings: Settings, test_columns: list[str], base_columns: list[str]
) -> tuple[list[str], str | None]:
    """What a row's key hashes, the same on both splits: the id column where both have it, else
    every column both share (the base's training rows are most of a table: only these are read)."""
    ident = settings.data.id_column
    if ident and ident in test_columns and ident in base_columns:
        return [ident], ident
    return sorted(set(test_columns) & set(base_columns)), None


def paired_evidence(
    settings: Settings,
    layout: Layout,
    ref: str,
    branch: tuple[Any, dict[str, Any]],
    test: Any,
    ours: Any,
    scratch: Path,
) -> tuple[dict[str, r.Evidence], Pairing]:
    """Both models on the branch's test rows the base did not train on (``ours``: the branch's
    predictions of all of ``test``, made once), in this process.

    Raises ``PipelineError`` saying why when that cannot be done.
    """
    base = restore_base(layout, ref, list(test.columns), scratch)
    columns, ident = key_columns(settings, list(test.columns), parquet_columns(base.train))
    seen = compare.unseen(row_keys(test[columns], ident), row_keys(read_parquet(base.train, columns), ident))
    rows = test[seen].reset_index(drop=True)
    theirs = _predict(base.model, base.card, rows) if len(rows) >= MIN_PAIRED_ROWS else None
    y = rows[settings.data.target].to_numpy()
    return evidence_of(settings, layout, branch, base, y, ours[seen], theirs, len(test), rows)


def evidence_of(
    settings: Settings,
    layout: Layout,
    branch: tuple[Any, dict[str, Any]],
    base: Base,
    y: Any,
    ours: Any,
    theirs: Any,
    rows_test: int,
    requests: Any,
) -> tuple[dict[str, r.Evidence], Pairing]:
    """Every metric of both models on the same rows (``y``, the rows the base did not train on,
    with each model's predictions of them), and timings on ``requests`` (some of those rows)."""
    pairing = Pairing("paired", "", rows_test, len(y), rows_test - len(y), base.commit)
    if pairing.rows_compared < MIN_PAIRED_ROWS:
        raise PipelineError(
            f"only {pairing.rows_compared} test rows are unseen by the base model (need {MIN_PAIRED_ROWS})"
        )
    model, branch_card = branch
    classes = branch_card.get("classes")
    if settings.task == "classification":
        theirs = compare.align_proba(theirs, list(base.model.classes_), list(classes))
        if theirs is None:
            raise PipelineError("the base model predicts other classes than this branch's")
    found = compare.large_sample_paired(
        settings.task, y, ours, theirs, classes, branch_card.get("positive_class")
    )
    evidence = {
        k: r.Evidence(p.branch.value, p.base.value, p.delta.low, p.delta.high, "paired", p.delta.se, len(y))
        for k, p in found.items()
    }
    if any(x.kind == "max_regression" and x.metric in TIMING for x in settings.gate.rules):
        # Each model on the path a served row takes (its own contract, then the model),
        # interleaved row by row, so a busy machine slows both alike.
        root = layout.root
        ours_contract = load_contract(root / settings.data.contract, settings.data.target)
        theirs_contract = serving_contract(root, base.commit, base.card)
        rows = as_records(requests.drop(columns=[settings.data.target]))
        timed = latency.compare(
            {
                "branch": (served_call(model, branch_card, ours_contract), rows),
                "base": (served_call(base.model, base.card, theirs_contract), rows),
            },
            settings.evaluate.latency_rows,
        )
        for metric in TIMING:
            evidence[metric] = r.Evidence(timed["branch"][metric], timed["base"][metric], None, None, r.TIMED)
    return evidence, pairing


PairedOutcome = tuple[dict[str, r.Evidence], Pairing] | str | None  # evidence, why not, or no base


def judge_here(
    settings: Settings, layout: Layout, ref: str | None, branch: tuple[Any, dict[str, Any]], scratch: Path
) -> tuple[dict[str, tuple], PairedOutcome]:
    """The branch's intervals and the paired evidence against ``ref``, in this process."""
    test = read_parquet(layout.test)
    ours = _predict(*branch, test)
    intervals = own_intervals(settings, branch[1], test[settings.data.target].to_numpy(), ours)
    if ref is None:
        return intervals, None
    try:
        return intervals, paired_evidence(settings, layout, ref, branch, test, ours, scratch)
    except PipelineError as exc:
        return intervals, str(exc)


def judge_on_cluster(
    settings: Settings, layout: Layout, ref: str | None, branch: tuple[Any, dict[str, Any]], scratch: Path
) -> tuple[dict[str, tuple], PairedOutcome]:
    """``judge_here`` with each test partition scored by both models where it lives."""
    base, keys, why = None, None, ""
    if ref is not None:
        try:
            columns = parquet_columns(layout.test)
            base = restore_base(layout, ref, columns, scratch)
            keys = key_columns(settings, columns, parquet_columns(base.train))
        except PipelineError as exc:
            base, why = None, str(exc)
    scored_base = (
        None if base is None or keys is None else BaseScoring((base.model, base.card), base.train, keys)
    )
    scores, seen_keys = score_on_cluster(
        settings.engine,
        layout.test,
        settings.data.target,
        settings.task,
        branch,
        scored_base,
        max(1000, 2 * settings.evaluate.latency_rows),  # rows for the timing rules, a few seen
    )
    print(scores.said)
    intervals = own_intervals(settings, branch[1], scores.y, scores.ours)
    if base is None or keys is None:
        return intervals, why or None
    assert scores.keys is not None and scores.theirs is not None and seen_keys is not None
    seen = compare.unseen(scores.keys, seen_keys)
    sample = scores.sample
    requests = sample[compare.unseen(row_keys(sample[keys[0]], keys[1]), seen_keys)].reset_index(drop=True)
    try:
        found = evidence_of(
            settings, layout, branch, base, scores.y[seen], scores.ours[seen], scores.theirs[seen],
            len(scores.y), requests,
        )  # fmt: skip
    except PipelineError as exc:
        return intervals, str(exc)
    return intervals, found


def own_intervals(settings: Settings, card: dict[str, Any], y: Any, ours: Any) -> dict[str, tuple]:
    """The branch model's metrics on its whole test split (``y``, and ``ours``: its predictions),
    each with its interval (past ``compare.MAX_BOOTSTRAP_ROWS`` rows, from a narrowed subsample)."""
    found = compare.large_sample_intervals(
        settings.task, y, ours, card.get("classes"), card.get("positive_class")
    )
    return {k: (v.low, v.high) for k, v in found.items()}


def rows_line(fraction: float, full_run: bool) -> str:
    """Which rows this run trained and tested on, when that is not simply every row."""
    if full_run:
        return (
            "full run: every row (split.sample_fraction is set aside for this run);"
            " the committed dvc.lock records the sample run, which pull requests check"
        )
    if fraction < 1:
        return (
            f"a {fraction:.0%} sample of rows (split.sample_fraction: {fraction}); the full run"
            " happens on main, with the pull request's `full-run` label, or by hand (make ci FULL=1)"
        )
    return ""


def judge(
    settings: Settings, layout: Layout, base_ref: str | None, repro_exit: int = 0, full_run: bool = False
) -> Judgement:
    """Every rule's outcome against ``base_ref``, and whether the pipeline and lock hold.

    ``base_ref`` None: there is nothing to compare with yet (the first release); regression rules
    are skipped and say so. ``full_run``: the pipeline ran on every row despite
    ``split.sample_fraction`` (`make ci FULL=1`), so its lock cannot match the committed one.
    """
    root = layout.root
    if repro_exit:
        stale = [s for s in dvc.stale_stages(root) if s in UPSTREAM]
        if stale:
            why = (
                f"dvc repro failed before evaluate finished ({', '.join(stale)} not up to date):"
                " this branch has no figures to judge; fix the error in the log above"
            )
            outcomes = [_not_judged(rule, why) for rule in settings.gate.rules]
            return Judgement(base_ref or "", "", outcomes, pipeline=why)
    current, baseline = current_figures(layout)
    branch = load_branch(layout)
    refused = ""
    try:
        base, note = (None, NO_BASE) if base_ref is None else base_figures(layout, settings, base_ref)
    except PipelineError as exc:
        base, note, refused = None, str(exc), str(exc)
    evidence: dict[str, r.Evidence] = {}
    pairing = Pairing("none", note)
    paired_ref = base_ref if base is not None else None
    # In the project's folder, not /tmp: a cluster's workers read a restored base split there.
    (root / ".dvc/tmp").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ci-base-", dir=root / ".dvc/tmp") as scratch:
        on = judge_on_cluster if settings.engine.name == "dask" else judge_here
        intervals, paired = on(settings, layout, paired_ref, branch, Path(scratch))
    if isinstance(paired, str):  # why the base could not be scored on this branch's rows
        pairing = Pairing("unpaired", f"the base model could not be compared on shared rows: {paired}")
        note = f"UNPAIRED: {pairing.reason}; recorded figures compared instead"
    elif paired is not None:
        evidence, pairing = paired
    outcomes = [
        r.check_rule(
            rule, settings.task, current, baseline, base, note, intervals=intervals, evidence=evidence
        )
        for rule in settings.gate.rules
    ]
    reproducible, why = None, ""
    if not repro_exit and not full_run:
        produced = load_yaml((root / "dvc.lock").read_text(encoding="utf-8"), "dvc.lock") or {}
        committed = committed_lock(root)
        reproducible = differences(committed, produced)
        why = advice(committed, produced, dvc.changed_outputs(root)) if reproducible else ""
    fraction = float(read_optional(layout.validation).get("split", {}).get("sample_fraction", 1.0))
    rows = rows_line(fraction, full_run)
    return Judgement(
        base_ref or "", note, outcomes, pairing,
        refused=refused, reproducible=reproducible, reproducible_advice=why, rows=rows, full_run=full_run,
    )  # fmt: skip


def _not_judged(rule: Any, why: str) -> r.Outcome:
    return r.Outcome(rule.metric, rule.kind, rule.bound, None, None, None, r.FAIL, why)


def diffs(ref: str, root: Path) -> dict[str, str]:
    """Metrics and params diffs against ``ref`` as Markdown, empty when the ref does not exist."""
    if not ref_exists(root, ref):
        return {}
    try:
        found = dvc.diffs(ref, root)
    except PipelineError as exc:
        return {f"Metrics and params vs `{ref}`": f"({exc})"}
    said = (
        f"Each commit's figures on its own test split, as recorded (`dvc metrics diff {ref}`). The rules"
        f" above compare both models on the same rows instead, so their base column is `{ref}`'s model"
        " re-scored on this branch's compared rows, and may differ from the figure here.\n\n"
    )
    return {
        f"Metrics vs `{ref}`": said + report.diff_table(found["metrics"], "Metric", ref),
        f"Params vs `{ref}`": report.diff_table(found["params"], "Param", ref),
    }


def run(
    settings: Settings, layout: Layout, base_ref: str, repro_exit: int = 0, full_run: bool = False
) -> Judgement:
    """Judge, then write ``reports/gate.json`` and ``reports/gate.md`` whatever the verdict."""
    found = judge(settings, layout, base_ref, repro_exit, full_run)
    write_json(layout.reports / "gate.json", found.as_dict())
    sections = diffs(base_ref, layout.root)
    markdown = report.gate_markdown(found.as_dict(), settings.task, sections, read_optional(layout.slices))
    write_text(layout.reports / "gate.md", markdown)
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the gate against ``--base``; exit 1 on any breach."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.ci_gate")
    parser.add_argument("--base", required=True, help="git ref to compare with")
    parser.add_argument("--repro-exit", type=int, default=0, help="dvc repro's exit code, from make ci")
    parser.add_argument(
        "--full-run", action="store_true", help="the pipeline ran on every row (make ci FULL=1)"
    )
    parser.add_argument(
        "--dask-address",
        default="",
        help="score on this Dask scheduler, whatever params.yaml's engine says (make ci DASK_ADDRESS=...)",
    )
    args = parser.parse_args(argv)
    layout = Layout(Path())
    settings = load_settings(layout.params)
    if args.dask_address:  # the full run's cluster: params.yaml keeps its committed engine
        engine = settings.engine.model_copy(update={"name": "dask", "address": args.dask_address})
        settings = settings.model_copy(update={"engine": engine})
    found = run(settings, layout, args.base, args.repro_exit, args.full_run)
    print("\n".join(report.rule_lines(found.outcomes)))
    for line in report.verdict_lines(found.as_dict()):
        print(f"gate: {line}")
    print(f"gate: Markdown report (for CI summaries and PR comments): {layout.reports / 'gate.md'}")
    rewritten = [] if found.reproducible else dvc.changed_outputs(layout.root)
    if rewritten:  # the lock held: what differs is timings, or outputs a pull could not restore
        shown = git_add(rewritten).removeprefix("git add ")
        print(
            f"make ci: this run rewrote {shown} (timings and the training machine's record differ run to"
            f" run); `git checkout -- {shown}` drops them, or commit them"
        )
    if not found.passed:
        print(f"gate: FAILED (base {args.base}): {'; '.join(found.problems)}", file=sys.stderr)
        return 1
    print(f"gate: {report.headline(True, found.outcomes, 0)}")
    return 0


if __name__ == "__main__":
    run_main(main)
