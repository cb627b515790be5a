"""`make new-project DEST=... [DATA=... TARGET=...] [ANSWERS="key=value ..."]`: copier, for people
who do not know copier.

Generates a project from this template (copier.yml asks the questions; DATA, TARGET and ANSWERS
answer some of them), commits it, and turns copier's errors (a refused answer, a failed
generation task such as `make use-data` on a target that is not a column) into one line. copier
removes a destination it created when generation fails, so nothing half-made is left behind (a
folder that existed before is left as it is, and the message says so).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from mlpipeline.errors import PipelineError, run_main


def answers(data: str | None, target: str | None, extra: str | None) -> dict[str, str]:
    """The answers given on the command line; DATA becomes an absolute path."""
    found: dict[str, str] = {}
    if data:
        found["data_file"] = str(Path(data).resolve())
        found["target"] = target or ""
    for pair in (extra or "").split():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PipelineError(f"ANSWERS: '{pair}' is not key=value (e.g. ANSWERS=\"task=regression\")")
        found[key] = value
    return found


def generate(template: Path, dest: Path, data: dict[str, str], defaults: bool, ref: str | None) -> None:
    """Run copier; its refusals become a ``PipelineError`` of one line."""
    from copier import run_copy
    from copier.errors import CopierError

    existed = dest.exists()
    try:
        run_copy(str(template), dest, data=data, defaults=defaults, unsafe=True, vcs_ref=ref or None)
    except (ValueError, CopierError, subprocess.CalledProcessError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, subprocess.CalledProcessError):
            message = "a generation step failed (its message is above)"
        left = (
            f"{dest} holds what was generated before it stopped" if existed else f"nothing was kept in {dest}"
        )
        raise PipelineError(f"new-project: {message}; {left}") from None


def main(argv: list[str] | None = None) -> int:
    """Generate and commit."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.newproject")
    parser.add_argument("--dest", required=True, type=Path)
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--answers", help='more answers, "key=value key=value"')
    parser.add_argument("--defaults", action="store_true", help="do not ask; defaults for the rest")
    parser.add_argument("--ref", help="template version (a git tag; default the newest)")
    args = parser.parse_args(argv)
    given = answers(args.data, args.target, args.answers)
    generate(Path.cwd(), args.dest, given, args.defaults, args.ref)  # make runs it in the template
    committed = (
        subprocess.run(["git", "-C", str(args.dest), "add", "-A"], capture_output=True, text=True).returncode
        == 0
        and subprocess.run(
            ["git", "-C", str(args.dest), "commit", "-q", "-m", "Start from the mlpipeline template"],
            capture_output=True,
            text=True,
        ).returncode
        == 0
    )
    if not committed:
        print(
            f"new-project: commit {args.dest} yourself (git add -A && git commit) before copier update",
            file=sys.stderr,
        )
    print(f"new-project: {args.dest} is ready: cd {args.dest} && make repro")
    return 0


if __name__ == "__main__":
    run_main(main)
