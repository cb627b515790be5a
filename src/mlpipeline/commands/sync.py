"""`make repro`/`make ci`/`make retrain` (pull) and `make push`: the DVC remote, with one clear line
when a clone cannot get the data, or a push would not reach anyone.

``pull [ARGS]``: `dvc pull --allow-missing ARGS` (with no remote, a checkout from the local cache),
then a check that the pipeline's input is here. Without it, a clone whose data was never pushed
ran `dvc repro` into "missing data 'source'", then printed the committed figures and "gate:
PASSED". ``push [ARGS]``: `dvc push --run-cache ARGS`, refused where no clone could pull it.
Both run DVC's own CLI in this process.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlpipeline.adapters import processes
from mlpipeline.adapters.dvc import cli as dvc
from mlpipeline.adapters.remote import default_remote
from mlpipeline.config import load_settings
from mlpipeline.core.remotes import pull_failed, set_up_remote_line, unreachable_data
from mlpipeline.errors import PipelineError, run_main


def tracked(root: Path, rel: Path) -> bool:
    """Whether a .dvc file tracks ``rel`` (itself, or a folder that holds it)."""
    return any((root / f"{p}.dvc").exists() for p in (rel, *rel.parents) if str(p) != ".")


def pointer_files(root: Path) -> list[str]:
    """The project's .dvc files, committed or not (git's ignore rules keep .venv and caches out)."""
    listed = processes.output(root, "git", "ls-files", "--cached", "--others", "--exclude-standard", "*.dvc")
    return [line for line in listed.splitlines() if line and (root / line).is_file()]


def _names_remote(args: list[str]) -> bool:
    return any(a in ("-r", "--remote") or a.startswith("--remote=") for a in args)


def pull(root: Path, args: list[str]) -> None:
    """Bring what dvc.lock and the .dvc files name, then make sure data.raw is here."""
    raw = load_settings(root / "params.yaml").data.raw
    remote = default_remote(root)
    # Before the first repro (a new project, adopted data) there is no dvc.lock: only the .dvc
    # files name anything to fetch, and the stages' outputs would each get a warning.
    targets = [] if (root / "dvc.lock").exists() else pointer_files(root)
    if not (root / "dvc.lock").exists() and not targets:
        pass  # nothing is tracked yet: nothing to fetch
    elif remote is None and not _names_remote(args):  # nothing to fetch from: what the cache holds
        dvc("checkout", "--allow-missing", "-q", *targets)
    elif dvc("pull", "--allow-missing", *args, *targets) != 0:
        raise PipelineError(pull_failed(remote))
    if not (root / raw).exists():
        raise PipelineError(unreachable_data(str(raw), remote, tracked(root, raw)))


def push(root: Path, args: list[str]) -> None:
    """`dvc push --run-cache` to the default remote, or one line saying why that reaches no one."""
    remote = default_remote(root)
    if remote is None and not _names_remote(args):
        raise PipelineError(f"make push: the project has no default DVC remote: {set_up_remote_line()}")
    if remote is not None and remote.bundled and not _names_remote(args):
        print(
            f"push: {remote} is the template's bundled remote: what is pushed there stays on this machine"
            f" (git ignores it); for a remote clones can pull from, {set_up_remote_line()}"
        )
    if dvc("push", "--run-cache", *args) != 0:
        raise PipelineError(pull_failed(remote).replace("dvc pull from", "dvc push to"))


def main(argv: list[str] | None = None) -> int:
    """``pull [ARGS]`` or ``push [ARGS]``; the rest goes to DVC."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("pull", "push"):
        raise PipelineError("usage: python -m mlpipeline.commands.sync pull|push [dvc arguments]")
    (pull if args[0] == "pull" else push)(Path(), args[1:])
    return 0


if __name__ == "__main__":
    run_main(main)
