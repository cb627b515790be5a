"""Model versions as the registry keeps them: semantic version names, the card inside a release
tag's message, and which version holds a stage."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlpipeline.errors import PipelineError

ARTIFACT = "model"
CARD_START = "```json model-card"
VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")

# (counter, event, version, stage) of one stage assignment or unassignment.
StageEvent = tuple[int, str, str, str]


@dataclass(frozen=True)
class Version:
    """A registered model version and its card."""

    name: str
    commit: str
    card: dict[str, Any] | None
    created: str


def parse_card(message: str) -> dict[str, Any] | None:
    """The JSON card inside a release tag's message, or None if the tag has none."""
    start = message.find(CARD_START)
    if start < 0:
        return None
    body = message[start + len(CARD_START) :]
    end = body.find("```")
    try:
        return json.loads(body[:end] if end >= 0 else body)
    except json.JSONDecodeError:
        return None


def card_message(markdown: str, card: dict[str, Any]) -> str:
    """A release tag's message: the card for people, then the JSON block for machines."""
    return markdown + f"\n\n{CARD_START}\n{json.dumps(card, indent=1, sort_keys=True)}\n```\n"


def semver(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of 'vX.Y.Z'."""
    match = VERSION_RE.match(version)
    if not match:
        raise PipelineError(f"version '{version}' is not of the form vMAJOR.MINOR.PATCH, e.g. v1.2.0")
    return int(match[1]), int(match[2]), int(match[3])


def next_version(known: list[Version]) -> str:
    """The next minor version, or v1.0.0 for the first."""
    if not known:
        return "v1.0.0"
    major, minor, _ = semver(known[-1].name)
    return f"v{major}.{minor + 1}.0"


def find(known: list[Version], name: str) -> Version:
    """The registered version ``name``, or a clear error listing the ones there are."""
    for v in known:
        if v.name == name:
            return v
    listed = ", ".join(v.name for v in known) or "none yet (make release)"
    raise PipelineError(f"version '{name}' is not registered; versions: {listed}")


def holders(events: list[StageEvent], stage: str) -> list[str]:
    """Versions that held ``stage``, most recent first, skipping assignments later withdrawn."""
    withdrawn: dict[str, int] = {}
    for n, event, version, s in events:
        if s == stage and event == "unassignment":
            withdrawn[version] = n
    out: list[str] = []
    for n, event, version, s in reversed(events):
        if s != stage or event != "assignment" or withdrawn.get(version, -1) > n or version in out:
            continue
        out.append(version)
    return out
