"""Train/test split policies that stay put.

Each row's side is decided by a seeded hash of its id (or, without an id, of its values), not by
its position: appending or reordering rows never moves an existing row between train and test,
so two commits of a growing data set share their old test rows, and the gate can compare two
models on rows neither trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlpipeline.config import SplitSettings
from mlpipeline.errors import PipelineError

# pandas' row hash takes a 16-byte key; the seed is mixed in afterwards, so one key serves all.
_HASH_KEY = "mlpipeline-split"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _numbers(values: pd.Series) -> pd.Series:
    """A numeric or boolean column as float64: the same value, the same bits, whether a file's
    reader gave int64, a nullable Int64, or float64 because one value was missing (-0.0 is 0.0,
    every missing value one NaN)."""
    floats = values.astype("float64") + 0.0
    return floats.where(floats.notna(), np.nan)


def _text(values: pd.Series) -> pd.Series:
    """A column as text, a whole number written the same whatever its dtype (5, never 5.0)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.astype(str)
    floats = _numbers(values)
    whole = floats.notna() & (floats % 1 == 0) & (floats.abs() < 2**63)
    text = floats.astype(str)
    text[whole] = floats[whole].astype("int64").astype(str)
    return text


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as its values, not its dtypes: numbers and booleans as float64 (text, dates and
    categoricals hash by value already). Appending a row with a missing integer turns a column
    from int64 into float64; without this, every row's hash, and so its side of the split,
    moved."""
    return pd.DataFrame(
        {
            name: _numbers(col)
            if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
            else col
            for name, col in frame.items()
        },
        index=frame.index,
    )


def value_hashes(values: pd.DataFrame | pd.Series, hash_key: str | None = None) -> np.ndarray:
    """64-bit hashes of each row of a frame, or each value of a column, by value (``canonical``)."""
    found = canonical(values) if isinstance(values, pd.DataFrame) else canonical(values.to_frame()).iloc[:, 0]
    kwargs = {"hash_key": hash_key} if hash_key else {}
    return pd.util.hash_pandas_object(found, index=False, **kwargs).to_numpy()


def row_keys(frame: pd.DataFrame, id_column: str | None) -> np.ndarray:
    """A 64-bit key per row: the hash of its id as text, else of all its values, by value."""
    if id_column and id_column in frame.columns:
        values = _text(frame[id_column])
        return pd.util.hash_pandas_object(values, index=False, hash_key=_HASH_KEY).to_numpy()
    return value_hashes(frame, _HASH_KEY)


def uniform(keys: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per key, independent across seeds (splitmix64 over key XOR seed)."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) ^ (np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = (z ^ (z >> np.uint64(31))) & _MASK64
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assignment(id_column: str | None, frame: pd.DataFrame) -> str:
    """How rows are keyed, in words for the model card."""
    if id_column and id_column in frame.columns:
        return f"seeded hash of {id_column}"
    return "seeded hash of each row's values"


def sample(frame: pd.DataFrame, settings: SplitSettings, id_column: str | None = None) -> pd.DataFrame:
    """Keep a seeded fraction of rows (``split.sample_fraction``) for smoke runs on big data.

    Chosen by hash too, so a row in the sample stays in it when rows are appended.
    """
    if settings.sample_fraction >= 1:
        return frame
    u = uniform(row_keys(frame, id_column), settings.seed + 1)
    return frame[u < settings.sample_fraction]


def split(
    frame: pd.DataFrame, settings: SplitSettings, target: str, id_column: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Split rows by the configured policy; return train, test and the policy as recorded."""
    test_mask, how = assign(frame, settings, target, id_column)
    train, test = frame[~test_mask], frame[test_mask]
    warnings = []
    share = len(test) / max(len(frame), 1)
    if settings.policy == "group" and not settings.test_size / 2 <= share <= settings.test_size * 2:
        biggest = frame[settings.group_column].value_counts(normalize=True)
        warnings.append(
            f"split.group_column: the test set holds {share:.0%} of rows (split.test_size asks"
            f" {settings.test_size:.0%}); the largest group has {biggest.iloc[0]:.0%} of rows"
        )
    policy = recorded(settings, how, len(train), len(test), warnings)
    return train.reset_index(drop=True), test.reset_index(drop=True), policy


def recorded(
    settings: SplitSettings, how: str, rows_train: int, rows_test: int, warnings: list[str]
) -> dict[str, Any]:
    """The split as the validation report and the model card record it; both sides need rows."""
    if rows_train == 0 or rows_test == 0:
        raise PipelineError(
            f"split.test_size: {settings.test_size} leaves {rows_train} train and {rows_test} test"
            " rows; both need rows"
        )
    return {
        "policy": settings.policy,
        "assignment": how,
        "test_size": settings.test_size,
        "seed": settings.seed,
        "group_column": settings.group_column,
        "time_column": settings.time_column,
        "sample_fraction": settings.sample_fraction,
        "rows_train": rows_train,
        "rows_test": rows_test,
        "warnings": warnings,
    }


def assign(
    frame: pd.DataFrame,
    settings: SplitSettings,
    target: str,
    id_column: str | None = None,
    *,
    whole_table: bool = True,
    cutoff: pd.Timestamp | None = None,
) -> tuple[np.ndarray, str]:
    """Which rows are test rows, and how that was decided, in words.

    ``whole_table=False`` is for one partition of a larger table: each row's side then depends on
    that row alone (the stratified fix-up, which moves a row of a class missing from one side, needs
    the whole table, and a partitioned run checks the sides after merging instead); for policy time,
    ``cutoff`` is then the whole table's (``time_cutoff``).
    """
    if settings.policy == "time":
        return _time(frame, str(settings.time_column), settings.test_size, cutoff), (
            f"latest rows by {settings.time_column}"
        )
    if settings.policy == "group":
        mask = _group(frame, str(settings.group_column), settings.test_size, settings.seed)
        return mask, f"seeded hash of {settings.group_column} (rows without a group train)"
    u = uniform(row_keys(frame, id_column), settings.seed)
    mask = u < settings.test_size
    if settings.policy == "stratified" and whole_table:
        _every_class_on_both_sides(frame[target].to_numpy(), u, mask)
    return mask, assignment(id_column, frame)


def _every_class_on_both_sides(y: np.ndarray, u: np.ndarray, test_mask: np.ndarray) -> None:
    """A class of two or more rows gets at least one row on each side, in place.

    The row moved is the one whose hash is nearest the cut, so the choice is as stable as the rest.
    """
    codes, _ = pd.factorize(y, sort=True)
    for code in range(codes.max() + 1 if len(codes) else 0):
        members = np.flatnonzero(codes == code)
        if len(members) < 2:
            continue
        in_test = test_mask[members]
        if not in_test.any():
            test_mask[members[np.argmin(u[members])]] = True
        elif in_test.all():
            test_mask[members[np.argmax(u[members])]] = False


def _group(frame: pd.DataFrame, column: str, test_size: float, seed: int) -> np.ndarray:
    if column not in frame.columns:
        raise PipelineError(f"split.group_column: '{column}' is not a column of the data")
    u = uniform(row_keys(frame, column), seed)  # keyed by the group, as rows are by their id
    return (u < test_size) & frame[column].notna().to_numpy()


def times_of(frame: pd.DataFrame, column: str) -> pd.Series:
    """The time column as timestamps; ``PipelineError`` when it is absent or has a gap."""
    if column not in frame.columns:
        raise PipelineError(f"split.time_column: '{column}' is not a column of the data")
    times = pd.to_datetime(frame[column], errors="coerce")
    if times.isna().any():
        raise PipelineError(f"split.time_column: '{column}' has missing or unparseable dates")
    return times


def time_cutoff(times: pd.Series, column: str, test_size: float) -> pd.Timestamp:
    """The time after which rows are test rows: the (1 - test_size) quantile of every row's time,
    which does not depend on the rows' order, so partitions' times give one file's cut."""
    cutoff = times.quantile(1 - test_size)
    later = times > cutoff
    if not later.any() or later.all():
        latest = times.max()
        tied = float((times == latest).mean())
        raise PipelineError(
            f"split.time_column: {tied:.0%} of rows share the latest time in '{column}' ({latest}),"
            f" so no cut leaves {test_size:.0%} of rows for test; use a finer time column, or another"
            " split.policy"
        )
    return cutoff


def _time(
    frame: pd.DataFrame, column: str, test_size: float, cutoff: pd.Timestamp | None = None
) -> np.ndarray:
    times = times_of(frame, column)
    if cutoff is None:
        cutoff = time_cutoff(times, column, test_size)
    return (times > cutoff).to_numpy()
