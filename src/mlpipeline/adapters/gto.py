"""The model registry's storage: GTO's git tags, read with git and written with GTO's Python API
(in this process: its CLI cost half a second of start-up a call, several calls a release)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlpipeline.adapters import processes
from mlpipeline.core.versions import ARTIFACT, VERSION_RE, StageEvent, Version, parse_card, semver
from mlpipeline.errors import PipelineError


def git(root: Path, *args: str, check: bool = True) -> str:
    """git's output in ``root``; with ``check=False`` a failure gives empty output."""
    return processes.output(root, "git", *args) if check else processes.run(root, "git", *args).stdout


def gto(action: str, call: Callable[[Any], Any]) -> Any:
    """``call(gto.api)``'s result; GTO's refusals become clear errors naming ``action``."""
    from gto import api
    from gto.exceptions import GTOException

    try:
        return call(api)
    except GTOException as exc:
        raise PipelineError(f"gto {action} {ARTIFACT}: {str(exc).replace('❌ ', '').strip()}") from None


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
    history = gto("history", lambda api: api.history(str(root), ARTIFACT)) or []
    events = []
    for e in history:
        if e.get("event") in ("assignment", "unassignment") and e.get("stage"):
            counter = int(re.search(r"#(\d+)$", e["ref"])[1])
            events.append((counter, e["event"], e["version"], e["stage"]))
    return sorted(events)


def register(root: Path, version: str, message: str, push: bool) -> None:
    """Tag HEAD as ``version`` of the model, with ``message`` (the card)."""
    _with_push(
        root,
        push,
        "register",
        lambda api: api.register(str(root), ARTIFACT, "HEAD", version=version, message=message),
    )


def assign(root: Path, version: str, stage: str, push: bool) -> None:
    """Give ``stage`` to ``version``.

    force: GTO refuses to re-assign a version that held the stage once before.
    """
    _with_push(
        root, push, "assign", lambda api: api.assign(str(root), ARTIFACT, stage, version=version, force=True)
    )


def withdraw(root: Path, version: str, stage: str, push: bool) -> None:
    """Withdraw ``version``'s assignment to ``stage`` (GTO's deprecate)."""
    _with_push(
        root, push, "deprecate", lambda api: api.unassign(str(root), ARTIFACT, version=version, stage=stage)
    )


def _tags(root: Path) -> set[str]:
    return set(git(root, "tag", "-l").split())


def _with_push(root: Path, push: bool, action: str, call: Callable[[Any], Any]) -> None:
    """Run GTO, then push the tags it made with git itself.

    Not GTO's ``--push``: its git client (dulwich) reads only ``remote.origin.url``, so a push URL
    (CI's token), a credential helper, an ssh config or ``http.extraheader`` never reached it; on
    GitHub its push went to origin without credentials. git's own push honours all of them.
    """
    before = _tags(root) if push else set()
    gto(action, call)
    new = sorted(_tags(root) - before) if push else []
    if not new:
        return
    done = processes.run(root, "git", "push", "--quiet", "origin", *(f"refs/tags/{t}" for t in new))
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise PipelineError(
            f"registry: {', '.join(new)} made here, but `git push origin` refused"
            f" ({why[-1] if why else 'no message'}); push with: git push origin {' '.join(new)}"
        )
