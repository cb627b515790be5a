"""`make ci` on the Dask engine: both models score each test partition where it lives.

What comes back to the gate's process is what the paired comparison needs: per test row its target
(a categorical, for a classifier), both models' predictions and its key, and the first rows of each
partition for the timing rules. Reading the test split whole held every column of every row; the
base's training split comes back as keys alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.adapters import cluster
from mlpipeline.adapters.tabular import (
    concat_parts,
    concat_series,
    partition_paths,
    read_parquet,
    read_partition,
)
from mlpipeline.config import EngineSettings
from mlpipeline.core.evaluation import predict
from mlpipeline.core.features import input_columns
from mlpipeline.core.split import row_keys

Scorer = tuple[Any, dict[str, Any]]  # a model and its card
Keys = tuple[list[str], str | None]  # the columns a row's key hashes, and the id column among them


@dataclass
class BaseScoring:
    """What scoring the base needs: its model and card, its training split, how rows are keyed."""

    scorer: Scorer
    train: Path
    keys: Keys


@dataclass
class Scores:
    """Every test row's target, the branch's (and the base's) predictions and key, in row order."""

    y: np.ndarray
    ours: np.ndarray
    theirs: np.ndarray | None
    keys: np.ndarray | None
    sample: pd.DataFrame  # the first rows of each partition
    said: str  # where the work ran


def _features(card: dict[str, Any]) -> list[str]:
    return input_columns(card)


class PartitionScores:
    """On a worker: one test partition scored by the branch's model and, given, the base's."""

    def __init__(
        self,
        branch: Scorer,
        base: Scorer | None,
        target: str,
        task: str,
        keys: Keys | None,
        rows: int,
    ) -> None:
        self.branch, self.base, self.target, self.task = branch, base, target, task
        self.keys, self.rows = keys, rows

    def __call__(self, path: str) -> dict[str, Any]:
        frame = read_partition(path)
        y = frame[self.target]
        model, card = self.branch
        out = {
            "y": y.astype("category") if self.task == "classification" else y,
            "ours": predict(model, frame[_features(card)], self.task),
            "theirs": None,
            "keys": None,
            "sample": frame.head(self.rows),
            **cluster.worker_facts(),
        }
        if self.base is not None and self.keys is not None:
            base_model, base_card = self.base
            out["theirs"] = predict(base_model, frame[_features(base_card)], self.task)
            columns, ident = self.keys
            out["keys"] = row_keys(frame[columns], ident)
        return out


def train_keys(path: str, columns: list[str], ident: str | None) -> np.ndarray:
    """On a worker: the keys of one partition of the base's training split (only key columns read)."""
    return row_keys(read_parquet(path, columns=columns), ident)


def score_on_cluster(
    engine: EngineSettings,
    test: Path,
    target: str,
    task: str,
    branch: Scorer,
    base: BaseScoring | None,
    sample_rows: int,
) -> tuple[Scores, np.ndarray | None]:
    """Both models on every test partition, and the keys of the base's training rows, on the
    engine's cluster; ``sample_rows`` first rows (spread over the partitions) come back whole."""
    tests = partition_paths(test)
    per = max(1, sample_rows // len(tests))
    with cluster.dask_cluster(engine) as dask:
        scorer = PartitionScores(
            branch,
            None if base is None else base.scorer,
            target,
            task,
            None if base is None else base.keys,
            per,
        )
        parts = dask.map(scorer, tests)
        seen_keys = None
        if base is not None:
            columns, ident = base.keys
            found = dask.map(partial(train_keys, columns=columns, ident=ident), partition_paths(base.train))
            seen_keys = np.concatenate(found) if found else np.empty(0, dtype=np.uint64)
        said = f"ci: {len(tests)} test partition(s) scored on the {dask.where}; {cluster.took_part(parts)}"
    y = concat_series([p.pop("y") for p in parts]).to_numpy()
    scores = Scores(
        y,
        np.concatenate([p.pop("ours") for p in parts]),
        None if base is None else np.concatenate([p.pop("theirs") for p in parts]),
        None if base is None else np.concatenate([p.pop("keys") for p in parts]),
        concat_parts([p.pop("sample") for p in parts]),
        said,
    )
    return scores, seen_keys
