"""The house plan holds: imports point down the layers, and dvc.yaml lists what each stage runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests import importgraph as ig

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "src" / "mlpipeline"


def test_no_import_points_up_the_layers() -> None:
    edges = ig.graph(PACKAGE_DIR)
    assert len(edges) > 30, "the graph did not find the package's modules"
    assert ig.violations(edges) == []


def test_every_module_lives_in_a_layer_folder_or_is_foundation() -> None:
    foundation = {m for m in ig.graph(PACKAGE_DIR) if ig.layer(m) == "foundation"}
    allowed = {"mlpipeline", "mlpipeline.config", "mlpipeline.layout", "mlpipeline.errors"}
    allowed |= {"mlpipeline.catalog", "mlpipeline.kernels"} | {f"mlpipeline.{f}" for f in ig.FOLDERS}
    assert foundation <= allowed, f"new top-level modules belong in a layer folder: {foundation - allowed}"


def _write(tmp: Path, files: dict[str, str]) -> Path:
    package = tmp / "mlpipeline"
    for rel, text in {"__init__.py": "", **files}.items():
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(text)
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"core/__init__.py": "", "core/a.py": "from mlpipeline.stages import b\n", "stages/b.py": ""},
            "upward",
        ),
        ({"core/a.py": "def f():\n    import mlpipeline.adapters.x\n", "adapters/x.py": ""}, "upward"),
        ({"stages/__init__.py": "", "stages/a.py": "from . import b\n", "stages/b.py": ""}, "another stage"),
        ({"config.py": "from mlpipeline.core.rules import R\n", "core/rules.py": ""}, "upward"),
    ],
    ids=["stage-from-core", "function-level-import", "relative-stage-import", "foundation-from-core"],
)
def test_the_check_catches_an_upward_import(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    for folder in ig.FOLDERS:
        files.setdefault(f"{folder}/__init__.py", "")
    found = ig.violations(ig.graph(_write(tmp_path, files)))
    assert len(found) == 1 and expected in found[0]


def test_the_check_allows_imports_down_and_within_a_layer(tmp_path: Path) -> None:
    files = {f"{f}/__init__.py": "" for f in ig.FOLDERS}
    files |= {
        "errors.py": "",
        "core/a.py": "from mlpipeline.errors import E\nfrom mlpipeline.core import b\n",
        "core/b.py": "",
        "adapters/c.py": "from mlpipeline.core.a import f\n",
        "stages/d.py": "from mlpipeline.adapters import c\n",
        "commands/e.py": "from mlpipeline.stages.d import run\nfrom mlpipeline.commands import f\n",
        "commands/f.py": "",
    }
    assert ig.violations(ig.graph(_write(tmp_path, files))) == []


def _code_deps(stage: dict) -> set[str]:
    return {d for d in stage["deps"] if d.startswith("src/") and d.endswith(".py")}


def test_each_stage_depends_on_exactly_the_code_it_runs() -> None:
    """A change to any module a stage executes must make `dvc status` show the stage as changed."""
    edges = ig.graph(PACKAGE_DIR)
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"python3 src/stage.py {name}", (
            f"dvc.yaml stage {name}: runs through the launcher"
        )
        module = f"mlpipeline.stages.{name}"
        runs = {
            m for m in ig.closure(edges, module) if not (PACKAGE_DIR.parent / m.replace(".", "/")).is_dir()
        }
        expected = {f"src/{m.replace('.', '/')}.py" for m in runs} | {"src/stage.py"}
        assert _code_deps(stage) == expected, f"dvc.yaml stage {name}: code deps differ from what it imports"
        # The project's own code runs where the model is built or run (features.derived, a model
        # by import path): those stages depend on its folder; the others must not re-run for it.
        runs_project = "mlpipeline.core.project" in runs
        assert ("src/project" in stage["deps"]) == runs_project, f"dvc.yaml stage {name}: src/project"
