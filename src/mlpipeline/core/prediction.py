"""Score a batch: the serving contract, then predictions in the columns `make predict` writes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.core import contract as contract_mod
from mlpipeline.core.features import input_columns
from mlpipeline.core.frames import model_ready
from mlpipeline.core.threads import threads_for
from mlpipeline.errors import PipelineError


def fill_absent_features(frame: pd.DataFrame, card: dict[str, Any]) -> list[str]:
    """Add the model's features the frame lacks as all-missing columns, in place; return their names.

    Only optional contract columns can be absent here (the contract refuses a missing required
    one), and the model imputes missing values, as it does for a null in a present column.
    """
    kinds = {f["name"]: f.get("kind") for f in card["features"]}
    absent = [name for name in input_columns(card) if name not in frame.columns]
    for name in absent:
        # Text features need missing *text* (object None): a float NaN column meets the encoder's
        # string categories on its float path and fails.
        missing = np.nan if kinds.get(name) in ("numeric", "datetime") else None
        frame[name] = pd.Series(missing, index=frame.index, dtype=object if missing is None else float)
    return absent


def known_categories(model: Any) -> dict[str, set[Any]]:
    """The categories the fitted model's encoders learned, per input column.

    Read from the model itself, so a wide text column the contract leaves open still has a
    reference: a value outside it is scored as "unknown" (no category weight) and is worth a warning.
    """
    known: dict[str, set[Any]] = {}
    preprocess = getattr(model, "named_steps", {}).get("preprocess")
    for _name, transformer, columns in getattr(preprocess, "transformers_", []):
        steps = getattr(transformer, "steps", [(None, transformer)])
        encoder = next((step for _, step in steps if hasattr(step, "categories_")), None)
        if encoder is None or isinstance(columns, str):
            continue
        for column, categories in zip(columns, encoder.categories_, strict=True):
            known[str(column)] = {c for c in categories.tolist() if c is not None and c == c}
    return known


def predict_frame(
    model: Any, card: dict[str, Any], frame: pd.DataFrame, limit_threads: bool = True
) -> pd.DataFrame:
    """Predictions (and class probabilities), beside the ids.

    ``limit_threads``: one native thread for a small batch. Thread-pool limits are process-wide,
    so only a command scoring one batch at a time sets them per call; the service sets them once.
    """
    features = input_columns(card)
    out = pd.DataFrame(index=frame.index)
    if card.get("id_column") and card["id_column"] in frame.columns:
        out[card["id_column"]] = frame[card["id_column"]]
    x = frame[features]
    with threads_for(len(x)) if limit_threads else contextlib.nullcontext():
        if card["task"] == "classification":
            # As doubles: a float32 model's (XGBoost's) rounded values would show float32 noise
            # in JSON (0.170181006193161), and a CSV and the service would disagree.
            proba = np.asarray(model.predict_proba(x), dtype=np.float64)
            out["prediction"] = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
            for i, cls in enumerate(model.classes_):
                out[f"proba_{cls}"] = proba[:, i].round(6)
        else:
            out["prediction"] = np.asarray(model.predict(x), dtype=np.float64).round(6)
    return out


@dataclass(frozen=True)
class Prepared:
    """A batch ready for the model: its frame, each row's warnings, and notes on the batch."""

    frame: pd.DataFrame
    warnings: pd.Series
    notes: list[str]


def warning_counts(warnings: pd.Series) -> list[dict[str, Any]]:
    """Rows per (column, rule) among the per-row warnings (``column=value: rule; ...``), most first.

    A batch scored with warnings is one a person should hear about: 104 rows above the contract's
    ``int_rate`` maximum is news, even when the model could score them.
    """
    counts: dict[tuple[str, str], int] = {}
    for text in warnings[warnings != ""]:
        seen = set()
        for item in text.split("; "):
            where, _, rule = item.partition(": ")
            seen.add((where.partition("=")[0], rule))
        for key in seen:
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"column": c, "rule": r, "rows": n} for (c, r), n in ordered]


def prepare(
    card: dict[str, Any],
    contract: contract_mod.Contract,
    frame: pd.DataFrame,
    source: str,
    known: dict[str, set[Any]] | None = None,
) -> Prepared:
    """The serving contract, then the frame the model reads; ``BatchRejectedError`` when it breaks.

    ``known`` are the model's categories (``known_categories``), for warnings on unseen ones.
    Shared by `make predict`, `make serve` and `make monitor`, so all three read a batch alike.
    """
    frame = frame.drop(columns=[card["target"]], errors="ignore")
    features = input_columns(card)
    checked = contract_mod.serving_check(frame, contract, card["target"], features, known)
    if checked.failures:
        raise BatchRejectedError(checked.failures, source)
    notes = []
    if checked.dropped:
        notes.append(f"{source}: columns the model does not use were dropped: {', '.join(checked.dropped)}")
    ready = model_ready(checked.frame, keep_text=[card["id_column"]])
    absent = fill_absent_features(ready, card)
    if absent:
        notes.append(f"optional column(s) absent from {source}, predicted as missing: {', '.join(absent)}")
    return Prepared(ready, checked.warnings, notes)


def score(
    model: Any,
    card: dict[str, Any],
    contract: contract_mod.Contract,
    frame: pd.DataFrame,
    source: str,
    limit_threads: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Check ``frame`` with the serving contract and predict; return predictions and batch notes.

    Shared by `make predict` and `make serve`, so both answer the same rows the same way.
    """
    prepared = prepare(card, contract, frame, source, known_categories(model))
    predictions = predict_frame(model, card, prepared.frame, limit_threads)
    predictions["warnings"] = prepared.warnings.to_numpy()
    notes = list(prepared.notes)
    flagged = int((prepared.warnings != "").sum())
    if flagged:
        notes.append(f"{flagged} row(s) outside the data contract were predicted; see their warnings column")
    return predictions, notes


class BatchRejectedError(PipelineError):
    """A batch the model cannot score: every failure, for a table (CLI) or a 422 (HTTP)."""

    def __init__(self, failures: list[contract_mod.Failure], source: str) -> None:
        self.failures = failures
        super().__init__(
            contract_mod.format_failures(failures, source).replace(
                "nothing downstream ran", "no predictions written"
            )
        )


@dataclass(frozen=True)
class Served:
    """A verified model ready to score: the estimator, its card, its contract, and who it is."""

    model: Any
    card: dict[str, Any]
    contract: contract_mod.Contract
    identity: dict[str, Any]  # version, stage, sha256, training commit, data hashes, metrics

    @property
    def features(self) -> list[str]:
        """The columns the model reads."""
        return input_columns(self.card)
