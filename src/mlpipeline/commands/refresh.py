"""`make refresh-data`: bring the raw data up to date before a scheduled retrain.

The default, in order:
1. data imported with `dvc import` / `dvc import-url`: `dvc update` (DVC fetches the new version);
2. ``data.source`` set in params.yaml: copy that file over ``data.raw`` and track it with DVC;
3. otherwise: re-track ``data.raw`` as it is now (a file something else keeps current).

Anything else (a database export, an API) belongs in the Makefile's `refresh-data` recipe, the
hook a project edits: it must leave the new file at ``data.raw``; this command then tracks it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from mlpipeline.adapters import processes
from mlpipeline.adapters.files import atomic_path, file_md5
from mlpipeline.config import load_settings, load_yaml
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import Layout


def read_pointer(pointer: Path) -> dict[str, Any]:
    """A .dvc pointer file's content; empty when there is none."""
    if not pointer.exists():
        return {}
    return load_yaml(pointer.read_text(encoding="utf-8"), str(pointer)) or {}


def tracked_md5(pointer: dict[str, Any]) -> str | None:
    """The MD5 a .dvc pointer records for its output."""
    return (pointer.get("outs") or [{}])[0].get("md5")


def is_import(pointer: dict[str, Any]) -> bool:
    """True when the pointer was written by `dvc import` or `dvc import-url` (it has deps)."""
    return bool(pointer.get("deps"))


def refresh(root: Path) -> tuple[str, str | None, str | None]:
    """Refresh ``data.raw``; return (how, md5 before, md5 after)."""
    settings = load_settings(Layout(root).params)
    raw = settings.data.raw
    pointer = root / f"{raw}.dvc"
    recorded = read_pointer(pointer)
    before = tracked_md5(recorded)
    if is_import(recorded):
        processes.output(root, "dvc", "update", "-q", str(pointer.relative_to(root)))
        how = f"dvc update {pointer.name}"
    else:
        source = settings.data.source
        if source is not None:
            source_path = source if source.is_absolute() else root / source
            if not source_path.is_file():
                raise PipelineError(
                    f"params.yaml: data.source: {source} is not a file; point it at where fresh data lands"
                )
            with atomic_path(root / raw) as tmp:
                shutil.copyfile(source_path, tmp)
            how = f"copied {source} to {raw}"
        elif not (root / raw).is_file():
            raise PipelineError(
                f"{raw}: file not found; `.venv/bin/dvc pull` it, set data.source in params.yaml, or edit"
                " the refresh-data recipe in the Makefile to fetch it"
            )
        else:
            how = f"re-tracked {raw} as it is"
        processes.output(root, "dvc", "add", "-q", str(raw))
    return how, before, tracked_md5(read_pointer(pointer)) or file_md5(root / raw)


def main(argv: list[str] | None = None) -> int:
    """Refresh the raw data and say whether it changed."""
    argparse.ArgumentParser(prog="python -m mlpipeline.commands.refresh").parse_args(argv)
    how, before, after = refresh(Path())
    changed = "unchanged" if before == after else f"changed ({(before or 'none')[:8]} → {after[:8]})"
    print(f"refresh-data: {how}; the data is {changed}")
    return 0


if __name__ == "__main__":
    run_main(main)
