"""Read tabular files: the raw CSV, turning every way it can be unreadable into its own clear
message, and the Parquet splits the stages pass on."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from pandas.api.types import union_categoricals

from mlpipeline.core.frames import plain_strings
from mlpipeline.errors import PipelineError

_SNIFF_BYTES = 64 * 1024
_OTHER_DELIMITERS = (";", "\t", "|")


PIPELINE_INPUT_HINT = (
    "run `.venv/bin/dvc pull` to restore it from the remote,"
    " or `make use-data DATA=<file.csv> TARGET=<column>` to adopt another file"
)


def read_csv(path: str | Path, missing_hint: str = PIPELINE_INPUT_HINT) -> pd.DataFrame:
    """Read a comma-separated UTF-8 file with a header row and at least one data row.

    ``missing_hint`` says what to do when the file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"{path}: file not found; {missing_hint}")
    if path.is_dir():
        raise PipelineError(f"{path}: is a directory, expected a CSV file")
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        raise PipelineError(f"{path}: file is empty; expected a header row and data rows")
    if b"\x00" in head:
        raise PipelineError(
            f"{path}: is not a text CSV file (it holds binary data, e.g. Parquet, Excel or gzip);"
            " export it as comma-separated UTF-8 text"
        )
    try:
        frame = pd.read_csv(path, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as exc:
        raise PipelineError(
            f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start});"
            " re-save it as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: holds no columns; expected a header row and data rows") from None
    except pd.errors.ParserError as exc:
        raise PipelineError(f"{path}: could not be parsed as CSV: {_first_line(exc)}") from None
    _check_shape(path, frame, head)
    return frame


def _check_shape(path: Path, frame: pd.DataFrame, head: bytes) -> None:
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for delim in _OTHER_DELIMITERS:
            if delim in header:
                shown = "\\t" if delim == "\t" else delim
                raise PipelineError(
                    f"{path}: has one column whose header contains '{shown}': the file seems to be"
                    f" separated by '{shown}'; save it comma-separated"
                )
    duplicated = _duplicated_header(head)
    if duplicated:
        raise PipelineError(f"{path}: header repeats column(s) {', '.join(duplicated)}; rename them")
    if frame.empty:
        raise PipelineError(f"{path}: has a header but no data rows")


def _duplicated_header(head: bytes) -> list[str]:
    first = head.decode("utf-8", errors="replace").splitlines()[0]
    names = next(csv.reader([first]))
    return sorted({n for n in names if names.count(n) > 1})


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a split written by ``validate``; its categoricals get Python-string categories.

    pandas reads them back with Arrow-string categories, and turning those into a numpy array,
    as scikit-learn's encoders do, would build a new string object for every row.
    """
    frame = pd.read_parquet(path, columns=columns)
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) and isinstance(dtype.categories.dtype, pd.StringDtype):
            frame[name] = frame[name].cat.set_categories(plain_strings(dtype.categories))
    return frame


def read_rows(path: str | Path, missing_hint: str = PIPELINE_INPUT_HINT) -> pd.DataFrame:
    """A CSV file, or JSON Lines (``.jsonl``: one object per line, as `make serve` logs rows)."""
    path = Path(path)
    if path.suffix != ".jsonl":
        return read_csv(path, missing_hint)
    if not path.exists():
        raise PipelineError(f"{path}: file not found; {missing_hint}")
    try:
        frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    except ValueError as exc:
        raise PipelineError(
            f"{path}: is not JSON Lines (one JSON object per line): {_first_line(exc)}"
        ) from None
    if frame.empty:
        raise PipelineError(f"{path}: holds no rows")
    return frame


PARTITION_SUFFIXES = (".parquet", ".csv")


def partition_files(path: str | Path) -> list[Path]:
    """The files of a partitioned table: every ``*.parquet`` or every ``*.csv`` in ``path``, by name.

    Hidden files (a tool's temporary ones) are skipped; mixing both kinds is refused, since their
    columns would be typed differently.
    """
    path = Path(path)
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix in PARTITION_SUFFIXES and not p.name.startswith(".")
    )
    kinds = {p.suffix for p in files}
    if not files:
        raise PipelineError(
            f"{path}: a directory with no .parquet or .csv files; put the table's partitions in it"
        )
    if len(kinds) > 1:
        raise PipelineError(f"{path}: holds both .parquet and .csv files; keep one kind per table")
    return files


def read_partition(path: str | Path) -> pd.DataFrame:
    """One partition of a partitioned table, CSV (with ``read_csv``'s messages) or Parquet."""
    path = Path(path)
    if path.suffix == ".csv":
        return read_csv(path)
    try:
        return read_parquet(path)
    except FileNotFoundError:
        raise PipelineError(
            f"{path}: not found where the engine ran; every Dask worker reads its partitions itself,"
            " so data.raw must be on a filesystem all workers share (or run `dvc pull` there)"
        ) from None
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: could not be read as Parquet ({_first_line(exc)})") from None


def parquet_columns(path: str | Path) -> list[str]:
    """The column names of a Parquet file or folder of partitions, from their schema alone."""
    import pyarrow.dataset as ds

    return list(ds.dataset(path, format="parquet").schema.names)


def parquet_rows(path: str | Path) -> int:
    """Rows in a Parquet file, from its footer: nothing else is read."""
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def read_sample(
    path: str | Path, rows: int, missing_hint: str = PIPELINE_INPUT_HINT
) -> tuple[pd.DataFrame, int]:
    """A CSV file whole, or a folder of partitions as an even sample of at most ``rows`` rows (the
    first rows of each); with the table's row count."""
    path = Path(path)
    if not path.is_dir():
        frame = read_csv(path, missing_hint=missing_hint)
        return frame, len(frame)
    files = partition_files(path)
    if not files:
        raise PipelineError(f"{path}: no .parquet or .csv partitions in this folder")
    per = max(1, rows // len(files))
    parts, total = [], 0
    for file in files:
        part = read_partition(file)
        total += len(part)
        parts.append(part.head(per))
    return pd.concat(parts, ignore_index=True), total


def partition_paths(path: str | Path) -> list[str]:
    """Absolute paths of a table's partitions (a split written whole is one): what a cluster's
    workers, which do not share the stage's working directory, are handed."""
    path = Path(path)
    return [str(f.resolve()) for f in (partition_files(path) if path.is_dir() else [path])]


def concat_series(parts: list[pd.Series]) -> pd.Series:
    """Partitions' series as one. Categoricals are joined by their codes (categories sorted, as
    pandas infers them), never through a Python object per row: at millions of rows that
    detour is most of a stage's memory."""
    if isinstance(parts[0].dtype, pd.CategoricalDtype):
        joined = union_categoricals(parts, sort_categories=True, ignore_order=True)
        return pd.Series(joined, name=parts[0].name)
    return pd.concat(parts, ignore_index=True)


def concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Partitions' frames (samples of them) as one, categoricals kept: pandas turns categoricals
    whose categories differ between parts into plain objects. Series: ``concat_series``."""
    joined = pd.concat(parts, ignore_index=True)
    for name, dtype in parts[0].dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            joined[name] = joined[name].astype("category")
    return joined
