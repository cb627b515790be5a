"""Check that the committed dvc.lock is what the pipeline produces, machine-specific files aside.

Run after `dvc repro` (as `make ci` does): any stage that re-ran and produced a different hash
shows up as a difference from the lock committed at HEAD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlpipeline.adapters.gitref import show
from mlpipeline.config import load_yaml
from mlpipeline.errors import PipelineError, run_main
from mlpipeline.layout import machine_specific

LOCK = "dvc.lock"


def _entries(stage: dict[str, Any]) -> dict[str, Any]:
    """Hash of every dep and out of a stage, plus its params, skipping machine-specific files
    (timings, and the environment that trained the model)."""
    found: dict[str, Any] = {}
    for kind in ("deps", "outs"):
        for item in stage.get(kind, []):
            if machine_specific(item["path"]):
                continue
            found[f"{kind[:-1]} {item['path']}"] = item.get("md5")
    for file, values in (stage.get("params") or {}).items():
        for key, value in values.items():
            found[f"param {file}:{key}"] = value
    found["cmd"] = stage.get("cmd")
    return found


def differences(committed: dict[str, Any], produced: dict[str, Any]) -> list[str]:
    """Human-readable differences between two parsed lock files."""
    out = []
    old_stages, new_stages = committed.get("stages", {}), produced.get("stages", {})
    for name in sorted(set(old_stages) | set(new_stages)):
        if name not in old_stages or name not in new_stages:
            out.append(
                f"stage '{name}' is only in the {'produced' if name in new_stages else 'committed'} lock"
            )
            continue
        old, new = _entries(old_stages[name]), _entries(new_stages[name])
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                out.append(f"{name}: {key}: committed {old.get(key)!r}, produced {new.get(key)!r}")
    return out


def committed_lock(root: Path) -> dict[str, Any]:
    """dvc.lock as committed at HEAD."""
    text = show(root, "HEAD", LOCK)
    if text is None:
        raise PipelineError(f"{LOCK} is not committed at HEAD; run `dvc repro` and commit {LOCK}")
    return load_yaml(text, f"{LOCK} at HEAD") or {}


def main() -> int:
    """Exit 1, listing the differences, when the pipeline did not reproduce the committed lock."""
    root = Path()
    produced = load_yaml((root / LOCK).read_text(encoding="utf-8"), LOCK) or {}
    found = differences(committed_lock(root), produced)
    if found:
        listing = "\n  ".join(found)
        raise PipelineError(
            f"the pipeline does not reproduce the committed {LOCK}:\n  {listing}\n"
            f"run `dvc repro` and commit {LOCK} and metrics/ (or find the nondeterminism)"
        )
    print(f"reprocheck: the pipeline reproduces the committed {LOCK}")
    return 0


if __name__ == "__main__":
    run_main(main)
