"""Train/test split policies. Seeded and order-preserving, so the same data gives the same split."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.config import SplitSettings
from mlpipeline.errors import PipelineError


def sample(frame: pd.DataFrame, settings: SplitSettings) -> pd.DataFrame:
    """Keep a seeded fraction of rows (``split.sample_fraction``) for smoke runs on big data."""
    if settings.sample_fraction >= 1:
        return frame
    return frame.sample(frac=settings.sample_fraction, random_state=settings.seed).sort_index()


def split(
    frame: pd.DataFrame, settings: SplitSettings, target: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Split rows by the configured policy; return train, test and the policy as recorded."""
    rng = np.random.default_rng(settings.seed)
    if settings.policy == "stratified":
        test_mask = _stratified(frame[target].to_numpy(), settings.test_size, rng)
    elif settings.policy == "random":
        test_mask = _random(len(frame), settings.test_size, rng)
    elif settings.policy == "group":
        test_mask = _group(frame, str(settings.group_column), settings.test_size, rng)
    else:
        test_mask = _time(frame, str(settings.time_column), settings.test_size)
    train, test = frame[~test_mask], frame[test_mask]
    if len(train) == 0 or len(test) == 0:
        raise PipelineError(
            f"split.test_size: {settings.test_size} leaves {len(train)} train and {len(test)} test"
            " rows; both need rows"
        )
    policy = {
        "policy": settings.policy,
        "test_size": settings.test_size,
        "seed": settings.seed,
        "group_column": settings.group_column,
        "time_column": settings.time_column,
        "sample_fraction": settings.sample_fraction,
        "rows_train": len(train),
        "rows_test": len(test),
    }
    return train.reset_index(drop=True), test.reset_index(drop=True), policy


def _random(n: int, test_size: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: math.ceil(n * test_size)]] = True
    return mask


def _stratified(y: np.ndarray, test_size: float, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(len(y), dtype=bool)
    codes, _ = pd.factorize(y, sort=True)
    for code in range(codes.max() + 1):
        members = np.flatnonzero(codes == code)
        take = round(len(members) * test_size)
        mask[rng.permutation(members)[:take]] = True
    return mask


def _group(frame: pd.DataFrame, column: str, test_size: float, rng: np.random.Generator) -> np.ndarray:
    if column not in frame.columns:
        raise PipelineError(f"split.group_column: '{column}' is not a column of the data")
    codes, uniques = pd.factorize(frame[column], sort=True)
    sizes = np.bincount(codes[codes >= 0], minlength=len(uniques))
    chosen = np.zeros(len(uniques), dtype=bool)
    wanted, taken = test_size * len(frame), 0
    for g in rng.permutation(len(uniques)):
        if taken >= wanted:
            break
        chosen[g] = True
        taken += sizes[g]
    return chosen[codes] & (codes >= 0)


def _time(frame: pd.DataFrame, column: str, test_size: float) -> np.ndarray:
    if column not in frame.columns:
        raise PipelineError(f"split.time_column: '{column}' is not a column of the data")
    times = pd.to_datetime(frame[column], errors="coerce")
    if times.isna().any():
        raise PipelineError(f"split.time_column: '{column}' has missing or unparseable dates")
    cutoff = times.quantile(1 - test_size)
    return (times > cutoff).to_numpy()
