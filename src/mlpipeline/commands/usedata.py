"""`make use-data`: point the template at your CSV, with no code edits.

Checks everything first and changes nothing when the file, target or task is unusable. Then it
copies the file into data/raw/ and tracks it with DVC (replacing the sample's pointer), writes a
starter data contract, and rewrites params.yaml and the plots of dvc.yaml for the task, keeping
their comments. It runs nothing else: `dvc repro` (or `make repro`) comes next.
"""

from __future__ import annotations

import argparse
import io
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mlpipeline.adapters import processes
from mlpipeline.adapters.files import atomic_path, file_md5, write_text
from mlpipeline.adapters.remote import default_remote, unset_default
from mlpipeline.adapters.tabular import read_csv, read_sample
from mlpipeline.config import load_settings, load_yaml, parse_settings
from mlpipeline.core import plots as plots_core
from mlpipeline.core.contract import (
    check,
    contract_yaml,
    format_failures,
    infer_contract,
    infer_dtype,
    load_contract,
)
from mlpipeline.core.remotes import set_up_remote_line
from mlpipeline.errors import PipelineError, run_main

MAX_CLASSES = 20
# From this ratio of the commonest class to the rarest on, use-data weights the classes: at 5.2%
# positives an unweighted logistic regression predicted no positive row and failed the gate.
SKEWED_RATIO = 3
# A model that outgrows this is slow to load and to serve; the rule says so before it ships.
MAX_MODEL_MB = 100


@dataclass
class Plan:
    """What use-data decided, and why, before it changes anything."""

    task: str
    target: str
    id_column: str | None
    positive_class: Any
    n_classes: int
    constant: list[str]
    notes: list[str] = field(default_factory=list)
    rows: int = 0
    rarest: int = 0  # rows of the rarest class (classification)
    largest: int = 0  # rows of the commonest class (classification)

    @property
    def skewed(self) -> bool:
        """Classes this uneven make an unweighted model's best bet "never the rare class"."""
        return self.task == "classification" and self.largest >= SKEWED_RATIO * max(self.rarest, 1)

    @property
    def rare_share(self) -> float:
        """The rarest class's share of the rows (classification)."""
        return self.rarest / self.rows if self.rows else 0.0


# Rows of a partitioned folder the contract and the plan are inferred from.
CONTRACT_SAMPLE_ROWS = 200_000


def infer_task(target: pd.Series) -> str:
    """Classification for text, booleans and integers with few values; otherwise regression."""
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    integral = bool((values % 1 == 0).all())
    return "classification" if integral and values.nunique() <= MAX_CLASSES else "regression"


def id_candidates(frame: pd.DataFrame, target: str) -> list[str]:
    """Text (or integer, named like an id) columns whose every value is unique."""
    found = []
    for name in frame.columns:
        column = frame[name]
        if name == target or column.isna().any() or not column.is_unique or len(column) < 50:
            continue
        named_id = str(name).lower() in {"id", "key"} or str(name).lower().endswith(("_id", "id"))
        if not pd.api.types.is_numeric_dtype(column) or (pd.api.types.is_integer_dtype(column) and named_id):
            found.append(str(name))
    return found


def plan(frame: pd.DataFrame, target: str, task: str | None, id_column: str | None) -> Plan:
    """Decide task, id and positive class; refuse what cannot be trained."""
    if target not in frame.columns:
        raise PipelineError(
            f"TARGET '{target}' is not a column; columns are: {', '.join(map(str, frame.columns))}"
        )
    y = frame[target]
    if y.dropna().nunique() < 2:
        raise PipelineError(
            f"TARGET '{target}' has {y.dropna().nunique()} distinct value(s); a model needs two or more"
        )
    notes = []
    if task is None:
        task = infer_task(y)
        notes.append(f"task: {task} (inferred from '{target}': {y.dropna().nunique()} distinct values)")
    elif task not in ("classification", "regression"):
        raise PipelineError(f"TASK '{task}' is not allowed; choose classification or regression")
    if task == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise PipelineError(f"TASK regression needs a numeric target; '{target}' holds text")
    if task == "classification" and y.dropna().nunique() > 100:
        raise PipelineError(f"TARGET '{target}' has {y.nunique()} classes; did you mean TASK=regression?")
    if id_column is not None and id_column not in frame.columns:
        raise PipelineError(f"ID '{id_column}' is not a column of the file")
    if id_column is not None and not (frame[id_column].notna().all() and frame[id_column].is_unique):
        distinct = frame[id_column].nunique()
        raise PipelineError(
            f"ID '{id_column}' is not an id: {distinct} distinct value(s) in {len(frame)} rows; an id"
            " column holds one value per row (leave ID out and use-data picks one, or says there is none)"
        )
    if id_column is None:
        candidates = id_candidates(frame, target)
        if candidates:
            id_column = candidates[0]
            notes.append(f"id column: {id_column} (every value unique); pass ID=... to choose another")
    positive = None
    n_classes = int(y.dropna().nunique()) if task == "classification" else 0
    if n_classes == 2:
        counts = y.value_counts()
        positive = counts.index[-1].item() if hasattr(counts.index[-1], "item") else counts.index[-1]
        notes.append(
            f"positive class: {positive!r} (the rarer, {counts.iloc[-1] / counts.sum():.1%} of rows)"
        )
    dates = [str(c) for c in frame.columns if c != target and infer_dtype(frame[c]) == "datetime"]
    if dates:
        notes.append(
            f"'{dates[0]}' holds dates: if rows arrive over time, test on the latest ones, as the model"
            f" will meet them: set split: {{policy: time, time_column: {dates[0]}}} in params.yaml"
            " (the split stays stratified/random until you do)"
        )
    constant = [str(c) for c in frame.columns if c != target and frame[c].nunique(dropna=True) <= 1]
    if constant:
        notes.append(f"constant columns, left out of the model: {', '.join(constant)}")
    if y.isna().any():
        notes.append(f"'{target}' has {int(y.isna().sum())} missing value(s): the contract will reject them")
    counts = y.value_counts() if task == "classification" else pd.Series([0])
    return Plan(
        task,
        target,
        id_column,
        positive,
        n_classes,
        constant,
        notes,
        len(frame),
        int(counts.min()),
        int(counts.max()),
    )


# Regression tolerances the bundled sample's test split resolves (1,437 rows, 381 of the rarer
# class): over 200 seeded retrains of an identical model none failed (docs/benchmarks.md, "The
# gate"). The standard error of a difference shrinks as 1/sqrt(rows), of the rarer class for
# classification, so a smaller test split gets a proportionally wider tolerance.
RESOLVED = {"f1": 0.03, "roc_auc": 0.02, "r2": 0.02}
SAMPLE_TEST_ROWS, SAMPLE_TEST_RARE = 1437, 381
WIDEST = 0.1  # past this, a regression rule cannot tell a broken model from noise


def tolerances(p: Plan, test_size: float) -> tuple[dict[str, float], list[str]]:
    """Each regression rule's tolerance for this data's test split, and what to say about it."""
    if p.task == "classification":
        have, ref, what = p.rarest * test_size, SAMPLE_TEST_RARE, "rows of the rarer class"
    else:
        have, ref, what = p.rows * test_size, SAMPLE_TEST_ROWS, "rows"
    scale = max(1.0, (ref / max(have, 1)) ** 0.5)
    names = ["f1", "roc_auc"] if p.task == "classification" else ["r2"]
    found = {n: math.ceil(round(RESOLVED[n] * scale * 200, 6)) / 200 for n in names}  # up to the next 0.005
    if scale == 1:
        return found, []
    shown = ", ".join(f"{n} {t:g}" for n, t in found.items())
    note = f"regression tolerances {shown}: what a test split of ~{have:.0f} {what} can resolve"
    if max(found.values()) > WIDEST:
        note += (
            f"; wider than {WIDEST:g}, so the gate cannot tell a real regression from noise on this"
            " data: more rows (or a larger split.test_size) would let it"
        )
    return found, [note]


def f1_margin(rare_share: float) -> float:
    """How much f1 must beat the dummy's (0: it never predicts the rarer class) by.

    0.1 where classes are even; at p positives even a good model's precision is a few times p (at
    1%, ROC AUC 0.9 gives f1 ~0.08), so the margin is p, in steps of 0.005, at most 0.1. The ROC
    AUC rule, independent of prevalence, is what stops a model that learned nothing.
    """
    return min(0.1, max(0.005, math.floor(rare_share * 200) / 200))


def gate_rules(
    task: str, tolerance: dict[str, float] | None = None, rare_share: float = 0.5
) -> list[dict[str, Any]]:
    """Rules that make sense for any data set of the task: margins over the dummy baseline and
    tolerances against the base ref (``tolerance``: what the test split resolves), all scale-free;
    ``rare_share``: the rarer class's share of rows, which bounds the f1 a model can reach."""
    t = {**RESOLVED, **(tolerance or {})}
    if task == "classification":
        return [
            {"metric": "f1", "beat_baseline_by": f1_margin(rare_share)},
            {"metric": "roc_auc", "beat_baseline_by": 0.15},
            {"metric": "f1", "max_regression": t["f1"]},
            {"metric": "roc_auc", "max_regression": t["roc_auc"]},
            {"metric": "model_size_mb", "max": MAX_MODEL_MB},
        ]
    return [
        {"metric": "r2", "beat_baseline_by": 0.1},
        {"metric": "r2", "max_regression": t["r2"]},
        {"metric": "model_size_mb", "max": MAX_MODEL_MB},
    ]


def monitor_rules(task: str) -> list[dict[str, Any]]:
    """Drift rules for any data set, and, with labels, quality against the model's test figure."""
    quality = {"metric": "roc_auc" if task == "classification" else "r2", "max_regression": 0.05}
    return [
        {"metric": "drifted_features", "max": 0},
        {"metric": "score_psi", "max": 0.2},
        {"metric": "max_unseen_share", "max": 0.05},
        quality,
    ]


def plots(task: str, binary: bool) -> list[dict[str, Any]]:
    """The dvc.yaml plots for the task (evaluate writes the matching files)."""

    def curve(title: str, x: str, file: str, y: str) -> dict[str, Any]:
        return {title: {"x": x, "y": {f"metrics/plots/{file}.json": y}}}

    metric = plots_core.importance_metric(task, binary)
    importance = {
        plots_core.importance_title(metric): {
            "template": "bar_horizontal_sorted",
            "x": "importance",
            "y": {"metrics/plots/importance.json": "feature"},
        }
    }
    if task == "regression":
        return [
            {
                "Predicted vs actual": {
                    "template": "scatter",
                    "x": "actual",
                    "y": {"metrics/plots/predicted_vs_actual.json": "predicted"},
                }
            },
            {
                "Residuals": {
                    "template": "scatter",
                    "x": "predicted",
                    "y": {"metrics/plots/residuals.json": "residual"},
                }
            },
            importance,
        ]
    found = [
        {
            "Confusion matrix": {
                "template": "confusion",
                "x": "predicted",
                "y": {"metrics/plots/confusion.json": "actual"},
            }
        }
    ]
    if binary:
        found += [
            curve("ROC curve", "fpr", "roc", "tpr"),
            curve("Precision-recall curve", "recall", "precision_recall", "precision"),
            curve("Calibration", "mean_predicted", "calibration", "fraction_positive"),
        ]
    return [*found, importance]


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _round_trip() -> YAML:
    """A YAML reader/writer that keeps comments and this project's layout, and writes `null`."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _rule_list(rules: list[dict[str, Any]]) -> CommentedSeq:
    """Rules as a block list of one-line maps, as params.yaml writes them."""
    out = CommentedSeq()
    for rule in rules:
        item = CommentedMap(rule)
        item.fa.set_flow_style()
        out.append(item)
    return out


def new_params(text: str, p: Plan, raw: str, contract: str) -> str:
    """params.yaml with the settings for the new data; comments kept."""
    yaml = _round_trip()
    doc = yaml.load(text)
    doc["task"] = p.task
    data = doc["data"]
    data["raw"], data["contract"], data["target"] = raw, contract, p.target
    data["id_column"] = p.id_column
    data["positive_class"] = p.positive_class
    doc["split"]["policy"] = "stratified" if p.task == "classification" else "random"
    doc["split"]["group_column"] = doc["split"]["time_column"] = None
    doc["features"]["drop"] = _flow([])
    if doc["features"].get("derived"):  # they read the old data's columns
        p.notes.append(
            "features.derived emptied (they read the old data's columns): src/project/ keeps the code;"
            " list the features written for these columns again"
        )
    doc["features"]["derived"] = _flow([])
    model = doc["model"]
    model["estimator"] = "logistic_regression" if p.task == "classification" else "ridge"
    # Each key a sweep is likely to set is written out (DVC's `-S key=value` overrides only keys
    # that exist): C and alpha at scikit-learn's own defaults.
    hyperparameters: dict[str, Any] = (
        {"C": 1.0, "max_iter": 1000} if p.task == "classification" else {"alpha": 1.0}
    )
    if p.skewed:
        hyperparameters["class_weight"] = "balanced"
        p.notes.append(
            f"class_weight: balanced (the rarest class is {p.rare_share:.1%} of rows; unweighted, a model"
            " scores well by never predicting it); random_forest and hist_gradient_boosting take it too"
        )
    model["hyperparameters"] = CommentedMap(hyperparameters)
    doc["evaluate"]["slices"] = _flow([])
    doc["evaluate"]["fairness"] = _flow([])
    found, notes = tolerances(p, float(doc["split"]["test_size"]))
    p.notes.extend(notes)
    rare = p.rare_share if p.n_classes == 2 else 0.5
    doc["gate"]["rules"] = _rule_list(gate_rules(p.task, found, rare))
    if p.task == "classification" and f1_margin(rare) < 0.1:
        p.notes.append(
            f"f1 must beat the dummy by {f1_margin(rare):g} (at {rare:.1%} positives a good model's f1 is"
            " low); roc_auc by 0.15, whatever the prevalence"
        )
    if "monitor" in doc:
        doc["monitor"]["rules"] = _rule_list(monitor_rules(p.task))
    if "registry" in doc:
        # The card already says what the model predicts; this line says what it was trained on.
        doc["registry"]["description"] = f"Trained on {raw}."
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def new_dvc_yaml(text: str, p: Plan) -> str:
    """dvc.yaml with the plots of the task; everything else kept."""
    yaml = _round_trip()
    doc = yaml.load(text)
    doc["plots"] = plots(p.task, p.n_classes == 2)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def use_data(root: Path, source: Path, target: str, task: str | None, id_column: str | None) -> list[str]:
    """Adopt ``source``; return the notes on what was chosen and changed."""
    settings = load_settings(root / "params.yaml")
    frame, total = read_sample(source, CONTRACT_SAMPLE_ROWS, missing_hint="check the DATA path")
    p = plan(frame, target, task, id_column)
    if source.is_dir():
        p.notes.append(
            f"a folder of {total:,} rows in partitions: the contract is inferred from {len(frame):,} of them"
            " (review its ranges and allowed values); engine.name: dask checks and trains on a cluster"
        )
    raw_rel = f"data/raw/{source.name}"
    contract_rel = str(settings.data.contract)
    params_text = new_params((root / "params.yaml").read_text(encoding="utf-8"), p, raw_rel, contract_rel)
    parse_settings(load_yaml(params_text, "params.yaml"))  # the new settings must be valid
    contract_text = contract_yaml(infer_contract(frame, target, p.id_column), raw_rel)
    dvc_text = new_dvc_yaml((root / "dvc.yaml").read_text(encoding="utf-8"), p)
    # Everything is decided and valid: from here on, write.
    old_raw = root / settings.data.raw
    if old_raw.resolve() != (root / raw_rel).resolve():
        if Path(f"{old_raw}.dvc").exists():
            processes.output(root, "dvc", "remove", f"{settings.data.raw}.dvc")
        shutil.rmtree(old_raw) if old_raw.is_dir() else old_raw.unlink(missing_ok=True)
    target_path = root / raw_rel
    if source.resolve() != target_path.resolve():
        target_path.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.rmtree(target_path, ignore_errors=True)
            shutil.copytree(source, target_path)
        else:
            shutil.copyfile(source, target_path)
    processes.output(root, "dvc", "add", "-q", raw_rel)
    write_text(root / contract_rel, contract_text)
    write_text(root / "params.yaml", params_text)
    write_text(root / "dvc.yaml", dvc_text)
    changed = [f"{raw_rel}.dvc", "data/raw/.gitignore", contract_rel, "params.yaml", "dvc.yaml"]
    if old_raw != target_path:
        changed.append(f"{settings.data.raw}.dvc (removed)")
    changed += forget_old_data(root)
    notes = [*p.notes, f"changed: {', '.join(changed)}"]
    remote = default_remote(root)
    if remote is not None and remote.bundled:
        unset_default(root)
        notes.append(
            f"the default DVC remote was the template's bundled {remote}, which holds only the sample:"
            f" unset, so nothing pushed there seems shared; for clones and CI, {set_up_remote_line()}"
        )
    elif remote is None:
        notes.append(f"no DVC remote yet: for clones and CI, {set_up_remote_line()}")
    return notes


def forget_old_data(root: Path) -> list[str]:
    """Drop what belonged to the data before: dvc.lock (its outputs; `dvc repro` writes this data's,
    and would otherwise pull the old ones first) and the monitoring batches (rows of other columns:
    the daily monitor would fail on them). What was removed, for the notes."""
    removed = []
    if (root / "dvc.lock").exists():
        (root / "dvc.lock").unlink()
        removed.append("dvc.lock (removed: the old data's outputs; make repro writes this data's)")
    batches = root / "data/batches.dvc"
    if batches.exists():
        processes.output(root, "dvc", "remove", "--outs", "data/batches.dvc")
        removed.append("data/batches.dvc (removed: batches of the old data)")
    return removed


def update_data(root: Path, source: Path) -> list[str]:
    """A newer file of the data already adopted: same params, same contract, same target.

    Refuses, changing nothing, when the file breaks the contract (each problem named), so the
    estimator, hyperparameters and contract a project tuned are never reset by new rows.
    """
    settings = load_settings(root / "params.yaml")
    data = settings.data
    frame = read_csv(source, missing_hint="check the DATA path")
    contract = load_contract(root / data.contract, target=data.target)
    _, failures, _ = check(frame.copy(), contract, data.target)
    if failures:
        raise PipelineError(
            format_failures(failures, str(source)).replace(
                "nothing downstream ran", f"nothing changed; fix the file or edit {data.contract} first"
            )
        )
    target_path = root / data.raw
    before = file_md5(target_path) if target_path.exists() else None
    if source.resolve() != target_path.resolve():
        with atomic_path(target_path) as tmp:
            shutil.copyfile(source, tmp)
    processes.output(root, "dvc", "add", "-q", str(data.raw))
    if before == file_md5(target_path):
        return [f"{source} is the data already tracked at {data.raw}: nothing changed"]
    return [
        f"{data.raw} is now {source} ({len(frame)} rows; it passes {data.contract})",
        f"changed: {data.raw}.dvc; params.yaml and the contract are as they were",
    ]


def main(argv: list[str] | None = None) -> int:
    """``--data file.csv --target column [--task ...] [--id column]``."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.usedata")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--target", help="required unless --update")
    parser.add_argument("--task", choices=["classification", "regression"])
    parser.add_argument("--id", dest="id_column")
    parser.add_argument("--update", action="store_true", help="a newer file of the adopted data")
    args = parser.parse_args(argv)
    if args.update:
        for note in update_data(Path(), args.data):
            print(f"update-data: {note}")
        print("update-data: next: `make repro`, commit, and the pull request's gate compares with main")
        return 0
    if not args.target:
        parser.error("--target is required")
    for note in use_data(Path(), args.data, args.target, args.task or None, args.id_column or None):
        print(f"use-data: {note}")
    print("use-data: next: review data/contract.yaml, then `make repro` and commit")
    return 0


if __name__ == "__main__":
    run_main(main)
