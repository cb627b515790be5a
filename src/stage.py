"""Run one pipeline stage: ``python3 src/stage.py validate``. dvc.yaml calls stages through here.

DVC runs a stage's command with whatever ``python3`` is first on PATH. Called as ``.venv/bin/dvc
repro`` without activating the environment, that is a Python without the pipeline's packages; this
launcher (standard library only) then hands over to the project's ``.venv`` if there is one, or
says in one line what to do, instead of ``No module named ...``.
"""

import importlib
import importlib.util
import os
import sys
from pathlib import Path

STAGES = ("validate", "train", "evaluate", "gate")
PACKAGES = ("pandas", "sklearn", "pandera", "pydantic", "yaml", "joblib")


def _project_python() -> Path | None:
    root = Path(os.environ.get("DVC_ROOT", Path(__file__).resolve().parent.parent))
    candidate = root / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else None


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in STAGES:
        sys.exit(f"usage: python3 src/stage.py {{{'|'.join(STAGES)}}}")
    # Looked up, not imported: importing scikit-learn alone costs a second, which validate and gate,
    # the stages that do not need it, would pay on every run.
    missing = next((name for name in PACKAGES if importlib.util.find_spec(name) is None), None)
    if missing is not None:
        venv = _project_python()
        here = Path(sys.executable).absolute()
        if venv is not None and venv.absolute() != here and not os.environ.get("MLPIPELINE_HANDED_OVER"):
            os.environ["MLPIPELINE_HANDED_OVER"] = "1"
            os.execv(venv, [str(venv), __file__, sys.argv[1]])
        sys.exit(
            f"error: {here} lacks the pipeline's packages ({missing} is missing): run `make repro`,"
            " or `source .venv/bin/activate` before `dvc repro`"
        )
    from mlpipeline.errors import run_main

    run_main(importlib.import_module(f"mlpipeline.stages.{sys.argv[1]}").main)


if __name__ == "__main__":
    main()
