"""`make repro` and `make ci` check params.yaml before DVC runs anything.

DVC reads params.yaml first and, for a misspelled section, only says the section it expected is
missing; checked here, every bad key is named with the closest known one, and nothing has run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.config import PARAMS_FILE, load_settings
from mlpipeline.errors import run_main


def main(argv: list[str] | None = None) -> int:
    """Validate params.yaml; silent when it is valid."""
    argparse.ArgumentParser(prog="python -m mlpipeline.commands.settings").parse_args(argv)
    load_settings(Path(PARAMS_FILE))
    return 0


if __name__ == "__main__":
    run_main(main)
