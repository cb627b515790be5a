"""Atomic writes: a failure mid-write leaves the previous file untouched and no debris."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipeline.adapters.files import atomic_path, read_json, to_json, write_json


def test_failed_write_keeps_previous_content(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json(target, {"f1": 0.5})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"f1": 0.')  # half written
        raise RuntimeError("killed")
    assert read_json(target) == {"f1": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_write_creates_parents(tmp_path: Path) -> None:
    write_json(tmp_path / "a" / "b.json", [1])
    assert read_json(tmp_path / "a" / "b.json") == [1]


def test_json_is_stable_and_refuses_nan() -> None:
    assert to_json({"b": 1, "a": 2}) == to_json({"a": 2, "b": 1})
    with pytest.raises(ValueError):
        to_json({"x": float("inf")})


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_get_the_mode_the_umask_gives_not_mkstemps_0600(tmp_path: Path, umask: int) -> None:
    import os

    old = os.umask(umask)
    try:
        write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o666 & ~umask
