"""Check that the committed dvc.lock is what the pipeline produces, machine-specific files aside.

Run after `dvc repro` (as `make ci` does, and the retrain workflow to see whether anything
changed): any stage that re-ran and produced a different hash shows up as a difference from the
lock committed at HEAD, with what to do about it.
"""

from __future__ import annotations

from pathlib import Path

from mlpipeline.adapters.dvc import changed_outputs
from mlpipeline.adapters.gitref import committed_lock
from mlpipeline.config import load_yaml
from mlpipeline.core.lockdiff import advice, differences
from mlpipeline.errors import PipelineError, run_main

LOCK = "dvc.lock"


def main() -> int:
    """Exit 1, listing the differences, when the pipeline did not reproduce the committed lock."""
    root = Path()
    produced = load_yaml((root / LOCK).read_text(encoding="utf-8"), LOCK) or {}
    committed = committed_lock(root)
    found = differences(committed, produced)
    if found:
        listing = "\n  ".join(found)
        raise PipelineError(
            f"the pipeline does not reproduce the committed {LOCK}:\n  {listing}\n"
            f"{advice(committed, produced, changed_outputs(root))}"
        )
    print(f"reprocheck: the pipeline reproduces the committed {LOCK}")
    return 0


if __name__ == "__main__":
    run_main(main)
