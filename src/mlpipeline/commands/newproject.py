"""`make new-project DEST=... [DATA=... TARGET=...] [ANSWERS="key=value ..."]`: copier, for people
who do not know copier.

Generates a project from this template (copier.yml asks the questions; DATA, TARGET and ANSWERS
answer some of them; without a terminal the rest take their defaults), runs `make repro` there
when DATA was given (so the first commit holds that data's outputs, not the sample's), pushes to
the DVC remote when one was given (so a clone of the first commit can pull everything it names),
makes the answers file portable (the template's remote URL, the data file inside the project), commits it,
and turns copier's errors (a refused answer, a failed
generation task such as `make use-data` on a target that is not a column) into one line. copier
removes a destination it created when generation fails, so nothing half-made is left behind (a
folder that existed before is left as it is, and the message says so).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from mlpipeline.adapters import processes
from mlpipeline.core.remotes import set_up_remote_line
from mlpipeline.errors import PipelineError, run_main

ANSWER = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=(.*?)(?=\s+[A-Za-z_][A-Za-z0-9_]*=|\s*$)", re.S)


def answers(data: str | None, target: str | None, extra: str | None) -> dict[str, str]:
    """The answers given on the command line; DATA becomes an absolute path.

    ``extra`` is ``key=value key=value``, and a value runs to the next ``key=``, so it may hold
    spaces: ``project_name=Lending club owner=risk team``. Quotes around a value are dropped.
    """
    found: dict[str, str] = {}
    if data:
        found["data_file"] = str(Path(data).resolve())
        found["target"] = target or ""
    text = (extra or "").strip()
    if not text:
        return found
    matches = list(ANSWER.finditer(text))
    leading = text[: matches[0].start()].strip() if matches else text
    if leading or not matches:
        first = (leading or text).split()[0]
        raise PipelineError(
            f"ANSWERS: '{first}' is not key=value (e.g. ANSWERS=\"project_name=Hotel cancellations\")"
        )
    for match in matches:
        value = match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[match[1]] = value
    return found


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class PlainText(io.TextIOBase):
    """A text stream that drops ANSI colour codes: copier colours its lines whatever the output
    is, and piped into a file or a CI log they were ~190 lines of escape codes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(ANSI.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def plain_when_piped() -> Iterator[None]:
    """Within: stdout and stderr without colour codes where they are not terminals."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s.isatty() else PlainText(s) for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def generate(template: Path, dest: Path, data: dict[str, str], defaults: bool, ref: str | None) -> None:
    """Run copier; its refusals become a ``PipelineError`` of one line."""
    from copier import run_copy
    from copier.errors import CopierError

    existed = dest.exists()
    try:
        with plain_when_piped():
            run_copy(str(template), dest, data=data, defaults=defaults, unsafe=True, vcs_ref=ref or None)
    except (ValueError, CopierError, subprocess.CalledProcessError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, subprocess.CalledProcessError):
            message = "a generation step failed (its message is above)"
        left = (
            f"{dest} holds what was generated before it stopped" if existed else f"nothing was kept in {dest}"
        )
        raise PipelineError(f"new-project: {message}; {left}") from None


def public_source(template: Path) -> str | None:
    """The template's remote URL, when it has one a teammate or CI can reach (not a local path)."""
    url = processes.run(template, "git", "remote", "get-url", "origin").stdout.strip()
    return url if url and ("://" in url or re.match(r"^[\w.-]+@[\w.-]+:", url)) else None


def portable_answers(dest: Path, source: str | None) -> list[str]:
    """Rewrite .copier-answers.yml so it works from any machine: the template's public source
    instead of this machine's path, and the data file as where use-data put it in the project."""
    import yaml

    path = dest / ".copier-answers.yml"
    text = path.read_text(encoding="utf-8")
    head = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    found = yaml.safe_load(text) or {}
    said = []
    if source:
        found["_src_path"] = source
        said.append(f"copier update will fetch the template from {source}")
    if found.get("data_file"):
        found["data_file"] = f"data/raw/{Path(found['data_file']).name}"
    path.write_text(head + yaml.safe_dump(found, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return said


def make(dest: Path, target: str, why: str) -> bool:
    """`make TARGET` in the new project, its output shown; whether it succeeded."""
    print(f"new-project: make {target} in {dest} ({why})", flush=True)
    return subprocess.run(["make", "--no-print-directory", "-C", str(dest), target]).returncode == 0


def remote_answer(dest: Path) -> str:
    """The DVC remote the project was generated with ('' when none was given)."""
    import yaml

    found = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8")) or {}
    return str(found.get("dvc_remote") or "")


def last_line(dest: Path, remote: str, own_data: bool, pushed: bool) -> str:
    """What `make new-project` says last: where the project stands for a teammate's clone and CI."""
    if remote and pushed:
        return (
            f"new-project: {dest} is ready, its data and model on {remote}: push the repository"
            " (git remote add origin URL && git push -u origin main); a teammate's clone runs `make repro`"
            " and trains nothing; `make doctor` lists what GitHub needs"
        )
    if remote:
        return f"new-project: {dest} is committed, but not pushed to {remote}: cd {dest} && make push"
    if own_data:
        return (
            f"new-project: {dest} is ready on this machine only: its data is on no remote a clone or CI"
            f" can reach; cd {dest} && {set_up_remote_line()}"
        )
    return f"new-project: {dest} is ready: cd {dest} && make repro"


def main(argv: list[str] | None = None) -> int:
    """Generate, reproduce when given data, and commit."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.newproject")
    parser.add_argument("--dest", required=True, type=Path)
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--answers", help='more answers, "key=value key=value"')
    parser.add_argument("--defaults", action="store_true", help="do not ask; defaults for the rest")
    parser.add_argument("--ref", help="template version (a git tag; default the newest)")
    args = parser.parse_args(argv)
    given = answers(args.data, args.target, args.answers)
    template = Path.cwd()  # make runs it in the template
    defaults = args.defaults
    if not defaults and not sys.stdin.isatty():
        defaults = True
        print("new-project: no terminal to ask on, so the questions not answered take their defaults")
    if not sys.stdout.isatty():
        os.environ.setdefault("NO_COLOR", "1")  # the tools copier's tasks run print plain text too
    if not args.ref and not processes.run(template, "git", "tag", "-l", "v*").stdout.strip():
        head = processes.run(template, "git", "rev-parse", "--short", "HEAD").stdout.strip()
        print(
            f"new-project: the template has no vX.Y.Z tag, so the project follows commit {head};"
            " copier update will compare commits until a version is tagged"
        )
    generate(template, args.dest, given, defaults, args.ref)
    notes = portable_answers(args.dest, public_source(template))
    remote = remote_answer(args.dest)
    message = "Start from the mlpipeline template"
    if args.data:
        ran = make(args.dest, "repro", "the pipeline on your data")
        message += f" on {Path(args.data).name}" + (
            "" if ran else " (make repro did not finish: outputs are not yet this data's; run make repro)"
        )
        if not ran:
            notes.append("make repro did not finish (its output is above); the commit says so")
    # Before the first commit: a clone of that commit must find everything it names on the remote.
    pushed = bool(remote) and make(args.dest, "push", f"data and model to {remote}, for clones and CI")
    processes.run(args.dest, "git", "add", "-A")
    for note in notes:
        print(f"new-project: {note}")
    if processes.run(args.dest, "git", "commit", "-q", "-m", message).returncode != 0:
        print(
            f"new-project: commit {args.dest} yourself (git add -A && git commit) before copier update",
            file=sys.stderr,
        )
    print(last_line(args.dest, remote, bool(args.data), pushed))
    return 0 if pushed or not remote else 1


if __name__ == "__main__":
    run_main(main)
