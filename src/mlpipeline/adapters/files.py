"""Small I/O helpers. Every write goes to a temporary file first and is renamed into place,
so a killed stage never leaves a half-written model, split or metric."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs get the mode any new file would
    try:
        yield tmp
        if target.is_dir():  # a partitioned run's split folder, replaced by one file
            shutil.rmtree(target)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` atomically as UTF-8."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def to_json(data: Any) -> str:
    """Serialise to stable JSON: sorted keys, fixed indentation, no NaN or Infinity."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` atomically as stable JSON."""
    write_text(path, to_json(data))


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a new folder beside ``path``; swap it in whole for ``path`` (a file or a folder) only
    if the block succeeds, so a failure leaves the old one and nothing of an earlier run lingers."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = target.with_name(f".{target.name}.old")
    try:
        fresh.chmod(0o777 & ~_umask())
        yield fresh
        _remove(old)
        if target.exists():
            target.rename(old)
        fresh.rename(target)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_json_dir(path: str | Path, files: dict[str, Any]) -> None:
    """Make ``path`` a folder of exactly ``files`` (name to JSON data), swapped in whole."""
    with atomic_dir(path) as fresh:
        for name, data in files.items():
            write_json(fresh / name, data)


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(path: str | Path, frame: Any) -> None:
    """Write a DataFrame atomically as Parquet, without the index."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_arrays(path: str | Path, arrays: dict[str, Any]) -> None:
    """NumPy arrays by name in one file (``.npz``), written atomically."""
    import numpy as np

    with atomic_path(path) as tmp, tmp.open("wb") as out:
        np.savez(out, **arrays)


def read_array(path: str | Path, name: str) -> Any:
    """One array of a ``write_arrays`` file, without reading the others."""
    import numpy as np

    with np.load(path) as arrays:
        return arrays[name]


def file_md5(path: str | Path) -> str:
    """MD5 of a file's bytes: the same hash DVC 3 records for a file."""
    return _digest(path, hashlib.md5(usedforsecurity=False))


def tree_md5(path: str | Path) -> str:
    """``file_md5`` of a file; of a folder, the MD5 of each file's relative path and MD5, by path
    (Python's bytecode caches aside: a folder of code hashes as its source)."""
    path = Path(path)
    if not path.is_dir():
        return file_md5(path)
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    lines = [f"{p.relative_to(path).as_posix()} {file_md5(p)}\n" for p in files]
    return hashlib.md5("".join(lines).encode(), usedforsecurity=False).hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, used to verify a model before unpickling it."""
    return _digest(path, hashlib.sha256())


def _digest(path: str | Path, hasher: Any) -> str:
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()
