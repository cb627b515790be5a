"""`make repro` and `make ci` check params.yaml before DVC runs anything.

DVC reads params.yaml first and, for a misspelled section, only says the section it expected is
missing; checked here, every bad key is named with the closest known one, and nothing has run.
The estimator is built too, so an unknown hyperparameter or a bad value (``C: -1``) stops here,
before DVC starts a stage, rather than failing inside train.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.config import PARAMS_FILE, load_settings
from mlpipeline.core.model import make_estimator
from mlpipeline.errors import run_main


def main(argv: list[str] | None = None) -> int:
    """Validate params.yaml and the estimator it configures; silent when both are valid."""
    argparse.ArgumentParser(prog="python -m mlpipeline.commands.settings").parse_args(argv)
    make_estimator(load_settings(Path(PARAMS_FILE)))
    return 0


if __name__ == "__main__":
    run_main(main)
