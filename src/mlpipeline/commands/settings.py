"""`make repro` and `make ci` check params.yaml before DVC runs anything.

DVC reads params.yaml first and, for a misspelled section, only says the section it expected is
missing; checked here, every bad key is named with the closest known one, and nothing has run.
The estimator is built too, so an unknown hyperparameter or a bad value (``C: -1``) stops here,
before DVC starts a stage, rather than failing inside train.

``--get split.sample_fraction`` prints one validated setting (defaults filled in), for workflows.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipeline.config import PARAMS_FILE, Settings, load_settings, load_yaml
from mlpipeline.errors import PipelineError, run_main

LOCK_FILE = "dvc.lock"


def setting(settings: Settings, key: str) -> Any:
    """The value at a dotted key (``split.sample_fraction``); ``PipelineError`` naming an unknown one."""
    value: Any = settings
    for i, part in enumerate(key.split(".")):
        if not hasattr(value, part) or part.startswith("_"):
            raise PipelineError(f"params.yaml: {'.'.join(key.split('.')[: i + 1])}: no such setting")
        value = getattr(value, part)
    return value


_MISSING = object()


def _at(params: Any, dotted: str) -> Any:
    """The value at a dotted key of parsed YAML (``data.target``), or ``_MISSING``."""
    for part in dotted.split("."):
        if not isinstance(params, dict) or part not in params:
            return _MISSING
        params = params[part]
    return params


# What make_estimator and the derived features are built from: a change elsewhere (data,
# gate, evaluate) needs no new check.
ESTIMATOR_KEYS = ("task", "model", "features")


def trained_with(params: Any, lock: Any) -> bool:
    """Whether dvc.lock's ``train`` ran on the values ``params`` (params.yaml, parsed) holds for
    every setting the estimator is built from: it was built from them then, and accepted."""
    recorded = (((lock or {}).get("stages") or {}).get("train") or {}).get("params", {}).get(str(PARAMS_FILE))
    if not isinstance(recorded, dict):
        return False
    return all(key in recorded and _at(params, key) == recorded[key] for key in ESTIMATOR_KEYS)


def main(argv: list[str] | None = None) -> int:
    """Validate params.yaml and the estimator it configures; silent when both are valid."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.settings")
    parser.add_argument("--get", metavar="KEY", help="print one setting, e.g. split.sample_fraction")
    args = parser.parse_args(argv)
    settings = load_settings(Path(PARAMS_FILE))
    if args.get:
        print(setting(settings, args.get))
        return 0
    # An estimator the last training was built from is not built again (two seconds of importing
    # scikit-learn, before every `make repro` and `make ci`), whatever else changed.
    lock = Path(LOCK_FILE)
    if lock.exists() and trained_with(load_yaml(Path(PARAMS_FILE).read_text()), load_yaml(lock.read_text())):
        return 0
    # Imported here: scikit-learn takes seconds to load, and `--get` (which make calls before
    # every repro, and workflows call) only reads a setting.
    from mlpipeline.core.model import derived_features, make_estimator

    make_estimator(settings)
    derived_features(settings)  # every import path resolves, before DVC starts a stage
    return 0


if __name__ == "__main__":
    run_main(main)
