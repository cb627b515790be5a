"""The project's own code a model runs, recorded in its card and checked before it is used.

A model that derives features with, or is, the project's code (src/project/, or any package inside
the project) runs that code whenever it predicts. The card records each such package's hash at
training; `make predict`, `make serve`, `make image` and `make monitor` refuse, in one line, a
model whose code has changed since: it would compute its features with other code than it was
trained and judged with.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from mlpipeline.adapters.files import tree_md5
from mlpipeline.config import Settings
from mlpipeline.errors import PipelineError


def import_paths(settings: Settings) -> list[str]:
    """Every import path the model is built from: its derived features and its estimator."""
    paths = [spec.path for spec in settings.features.derived]
    if ":" in settings.model.estimator:
        paths.append(settings.model.estimator)
    return paths


def _location(root: Path, package: str) -> Path | None:
    """Where a top-level package of the project lives: under its src/ (where its stages import it
    from, and what dvc.yaml tracks), else wherever Python finds it (without importing it)."""
    if (root / "src" / package).is_dir():
        return root / "src" / package
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def _installed(where: Path) -> bool:
    """Whether ``where`` is an installed library (the project's .venv is inside the project, and
    its packages are pinned by the lock, not the project's code)."""
    return "site-packages" in where.parts or where.resolve().is_relative_to(Path(sys.prefix).resolve())


def project_hashes(root: Path, paths: list[str]) -> dict[str, str]:
    """For each package the import paths name that lives inside the project at ``root``, the hash
    of its files."""
    return package_hashes(root, list(dict.fromkeys(p.split(":")[0].split(".")[0] for p in paths)))


def package_hashes(root: Path, packages: list[str]) -> dict[str, str]:
    """For each top-level package that lives inside the project at ``root`` (its own code, not an
    installed library), the hash of its files."""
    found: dict[str, str] = {}
    for package in packages:
        where = _location(root, package)
        if where is None or not where.resolve().is_relative_to(root.resolve()) or _installed(where):
            continue
        found[package] = tree_md5(where)
    return found


def code_facts(root: Path, settings: Settings) -> dict[str, Any] | None:
    """What the card records of the code a model runs beyond the template's, or None."""
    paths = import_paths(settings)
    if not paths:
        return None
    return {"import_paths": paths, "project": project_hashes(root, paths)}


def check_code(root: Path, card: dict[str, Any], label: str) -> None:
    """Refuse a model whose project code differs from what trained it (one line, what to do)."""
    recorded = (card.get("code") or {}).get("project") or {}
    if not recorded:
        return
    now = package_hashes(root, list(recorded))
    for package, md5 in recorded.items():
        if now.get(package) == md5:
            continue
        where = f"src/{package}" if (root / "src" / package).exists() else package
        version = label.split()[0]
        fix = (
            "run `make repro` (and commit) so the model is trained with this code"
            if label == "workspace model"
            else f"run it from a checkout of its commit (git worktree add ../{version} model@{version})"
        )
        raise PipelineError(
            f"{label} was trained with other code of {where} ({md5[:12]}; here"
            f" {str(now.get(package))[:12]}): its features would be computed differently; {fix}"
        )
