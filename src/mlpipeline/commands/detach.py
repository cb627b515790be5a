"""`make detach`: the clone path's last step. A project started by cloning the template (not with
`make new-project`) drops what only the template needs: its copier questions and render script, its
generation tests, its benchmarks. The list is copier.yml's own `_exclude`, so a generated project
and a detached clone hold the same files.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

from mlpipeline.errors import PipelineError, run_main

# copier.yml excludes these too, but as a working copy's state (git, environments, build
# output), not as template files: a detached clone keeps them.
WORKSPACE = {".git", ".venv", ".tools", "build", "reports", "dvc_plots", "**/__pycache__"}
ANSWERS_TEMPLATE = "{{_copier_conf.answers_file}}.jinja"


def template_only(root: Path) -> list[str]:
    """The template-only paths of the project at ``root``, from its copier.yml."""
    config = root / "copier.yml"
    if not config.exists():
        raise PipelineError("detach: no copier.yml here, so nothing is template-only (already detached?)")
    excluded = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("_exclude", [])
    # Templated entries ("{% if data_file %}...") leave the sample behind at generation with data;
    # a detached clone keeps it until `make use-data` replaces it.
    return [p for p in excluded if p not in WORKSPACE and "{%" not in p] + [ANSWERS_TEMPLATE]


def detach(root: Path) -> list[str]:
    """Remove the template-only files; the paths removed."""
    removed = []
    for rel in template_only(root):
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(rel)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Detach the project in the current folder."""
    del argv
    removed = detach(Path.cwd())
    print(f"detach: removed {', '.join(removed)}; commit the result", file=sys.stdout)
    return 0


if __name__ == "__main__":
    run_main(main)
