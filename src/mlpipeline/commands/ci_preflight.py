"""`make ci`'s first step: what stops it before it pulls or runs anything, one line each.

Its own module, apart from the gate's, so the check starts in a fraction of a second: the gate
loads scikit-learn and pandas, which a typo in BASE should not wait for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlpipeline.adapters import dvc
from mlpipeline.adapters.gitref import ref_exists, uncommitted
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout


def missing_base(ref: str) -> str:
    """The one line a base ref that does not exist gets."""
    return (
        f"base ref '{ref}' does not exist here: check BASE (e.g. make ci BASE=main), or fetch it in a"
        f" shallow clone (git fetch --depth 1 origin main:refs/remotes/origin/main)"
    )


def preflight(layout: Layout, ref: str) -> list[str]:
    """What stops `make ci` before it pulls or runs anything, one line each: a base that does not
    exist, and uncommitted changes to what the pipeline reads (the gate judges committed work:
    the lock it checks is the committed one)."""
    problems = [] if ref_exists(layout.root, ref) else [missing_base(ref)]
    outputs = dvc.output_paths(layout.root)
    changed = [p for p in uncommitted(layout.root) if not dvc.written_by_pipeline(p, outputs)]
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        problems.append(f"uncommitted changes to {shown}: commit or stash them, then run make ci again")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Exit 1, naming each problem, when the base ref is missing or inputs are uncommitted."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.ci_preflight")
    parser.add_argument("--base", required=True, help="git ref make ci compares with")
    args = parser.parse_args(argv)
    problems = preflight(Layout(Path()), args.base)
    for line in problems:
        print(f"make ci: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    run_main(main)
