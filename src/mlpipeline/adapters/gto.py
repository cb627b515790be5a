"""The model registry's storage: GTO's git tags, read with git and written with the GTO CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlpipeline.adapters import processes
from mlpipeline.core.versions import ARTIFACT, VERSION_RE, StageEvent, Version, parse_card, semver


def git(root: Path, *args: str, check: bool = True) -> str:
    """git's output in ``root``; with ``check=False`` a failure gives empty output."""
    return processes.output(root, "git", *args) if check else processes.run(root, "git", *args).stdout


def gto(root: Path, *args: str) -> str:
    """GTO's output in ``root``; its refusals become clear errors."""
    return processes.output(root, "gto", *args)


def versions(root: Path) -> list[Version]:
    """Registered versions, oldest first by semantic version."""
    fmt = "%(refname:short)%00%(*objectname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents)%01"
    out = git(root, "for-each-ref", f"refs/tags/{ARTIFACT}@v*", f"--format={fmt}")
    found = []
    for record in filter(None, (r.strip("\n") for r in out.split("\x01"))):
        name, peeled, target, created, message = record.split("\x00", 4)
        version = name.split("@", 1)[1]
        if VERSION_RE.match(version):
            found.append(Version(version, peeled or target, parse_card(message), created))
    return sorted(found, key=lambda v: semver(v.name))


def stage_events(root: Path) -> list[StageEvent]:
    """(counter, event, version, stage) of every stage assignment and unassignment, in order."""
    if not versions(root):
        return []
    history = json.loads(gto(root, "history", ARTIFACT, "--json") or "[]")
    events = []
    for e in history:
        if e.get("event") in ("assignment", "unassignment") and e.get("stage"):
            counter = int(re.search(r"#(\d+)$", e["ref"])[1])
            events.append((counter, e["event"], e["version"], e["stage"]))
    return sorted(events)


def register(root: Path, version: str, message: str, push: bool) -> None:
    """Tag HEAD as ``version`` of the model, with ``message`` (the card)."""
    gto(root, "register", ARTIFACT, "HEAD", "--version", version, "--message", message, *_push(push))


def assign(root: Path, version: str, stage: str, push: bool) -> None:
    """Give ``stage`` to ``version``.

    --force: GTO refuses to re-assign a version that held the stage once before.
    """
    gto(root, "assign", ARTIFACT, "--version", version, "--stage", stage, "--force", *_push(push))


def withdraw(root: Path, version: str, stage: str, push: bool) -> None:
    """Withdraw ``version``'s assignment to ``stage`` (GTO's deprecate)."""
    gto(root, "deprecate", ARTIFACT, version, stage, *_push(push))


def _push(push: bool) -> list[str]:
    return ["--push"] if push else []
