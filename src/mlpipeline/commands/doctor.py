"""`make doctor`: one checklist of what this project needs before a teammate's clone and CI work,
each item checked where it can be (this machine, the DVC remote, GitHub through `gh`), and each
missing one named with how to set it. Exits 1 when a required item is missing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlpipeline.adapters import github, processes
from mlpipeline.adapters.remote import check_access, default_remote
from mlpipeline.config import load_settings
from mlpipeline.core import checklist
from mlpipeline.core.remotes import Remote
from mlpipeline.errors import PipelineError, run_main

# Keys of a DVC remote that hold secrets: never in the committed .dvc/config.
SECRET_KEYS = (
    "access_key_id", "secret_access_key", "session_token", "password", "connection_string",
    "account_key", "sas_token", "client_secret", "key",
)  # fmt: skip


def committed_secrets(root: Path) -> list[str]:
    """Secret-holding keys in the committed .dvc/config (not .dvc/config.local), as remote.key."""
    from dvc.config import Config

    repo_level = Config(dvc_dir=str(root / ".dvc"), validate=False).load_one("repo")
    return [
        f"{name}.{key}"
        for name, entry in (repo_level.get("remote") or {}).items()
        for key in entry
        if key in SECRET_KEYS
    ]


def data_on_remote(root: Path, pointer: Path) -> bool:
    """Whether the default remote holds what ``pointer`` (a .dvc file) tracks."""
    done = processes.run(root, "dvc", "status", "--cloud", "--json", str(pointer))
    if done.returncode != 0:
        raise PipelineError(f"dvc status --cloud failed: {(done.stderr or done.stdout).strip()}")
    text = done.stdout.strip()
    return not (text.startswith("{") and any(v in ("new", "missing") for v in json.loads(text).values()))


def local_state(root: Path) -> checklist.Local:
    """This clone's remote, access to it, whether the data is there, what .dvc/config holds."""
    raw = load_settings(root / "params.yaml").data.raw
    remote: Remote | None = default_remote(root)
    writable, present = None, None
    if remote is not None:
        try:
            check_access(root, remote)
        except PipelineError as exc:
            writable = str(exc)
        pointer = Path(f"{raw}.dvc")
        if writable is None and (root / pointer).exists():
            present = data_on_remote(root, pointer)
    origin = processes.run(root, "git", "remote", "get-url", "origin").stdout.strip()
    return checklist.Local(remote, writable, present, str(raw), committed_secrets(root), origin)


def main(argv: list[str] | None = None) -> int:
    """Print the checklist; exit 1 when a required item is missing."""
    argparse.ArgumentParser(prog="python -m mlpipeline.commands.doctor").parse_args(argv)
    root = Path()
    state = local_state(root)
    repo = github.repository(state.origin)
    found, why = github.settings(repo) if repo else (None, "origin is not a GitHub repository")
    items = checklist.local_items(state) + checklist.github_items(state.remote, found, why)
    who = repo or "this project"
    print(f"doctor: what {who} needs for a teammate's clone and CI (docs/how-to/team.md)")
    width = max(len(i.name) for i in items)
    for item in items:
        print(f"  {item.mark:9}  {item.name:{width}}  {item.detail}")
    if checklist.failed(items):
        missing = sum(1 for i in items if i.ok is False and i.level == checklist.REQUIRED)
        print(f"doctor: {missing} required item(s) missing")
        return 1
    print("doctor: nothing required is missing")
    return 0


if __name__ == "__main__":
    run_main(main)
