"""`make repro`'s run: `dvc repro` (DVC's own CLI, in this process), then the summary.

One process for both, and DVC's closing hint ("To track the changes with git, run: git add
dvc.lock") left out: it names dvc.lock alone, where the metrics, the model card and the pointers
must be committed too, and the summary names them all. Arguments go to `dvc repro`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlpipeline.adapters.dvc import cli
from mlpipeline.commands import summary
from mlpipeline.errors import run_main
from mlpipeline.layout import Layout


def repro(args: list[str]) -> int:
    """`dvc repro ARGS` in this process; its exit code."""
    print(f"dvc repro {' '.join(args)}".rstrip(), flush=True)
    return cli("repro", *args, quiet_git_hint=True)


def main(argv: list[str] | None = None) -> int:
    """Reproduce, then print the figures, the verdict and what to commit; exit as `make repro` does.
    ``--no-summary`` (first): `dvc repro`'s exit code alone, for `make ci`, whose gate reports."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--no-summary"]:
        return repro(args[1:])
    return summary.report_after_repro(Layout(Path()), repro(args))


if __name__ == "__main__":
    run_main(main)
