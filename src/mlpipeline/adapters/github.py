"""The repository's settings on GitHub, read through the GitHub CLI (`gh api`) the way a person
who is logged in would: names of secrets and variables, environments and their reviewers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

from mlpipeline.core.checklist import GitHub

GITHUB_REPO = re.compile(r"github\.com[:/]([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")


def repository(origin: str) -> str | None:
    """``owner/name`` of a GitHub remote URL (https or ssh), else None."""
    found = GITHUB_REPO.search(origin.strip())
    return f"{found[1]}/{found[2]}" if found else None


def _api(path: str) -> tuple[int, Any]:
    """`gh api PATH`: (0, parsed JSON), or (exit code, the error text)."""
    done = subprocess.run(["gh", "api", path], capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        return done.returncode, (done.stderr or done.stdout).strip()
    return 0, json.loads(done.stdout or "null")


def _listed(path: str, key: str) -> list[dict[str, Any]]:
    """The items of a list endpoint (``{key: [...]}``); empty when it cannot be read."""
    code, found = _api(path)
    return found.get(key) or [] if not code and isinstance(found, dict) else []


def _reviewed(environment: dict[str, Any]) -> bool:
    return any(rule.get("type") == "required_reviewers" for rule in environment.get("protection_rules") or [])


def settings(repo: str) -> tuple[GitHub | None, str]:
    """The repository's settings, or None and why they could not be read."""
    if shutil.which("gh") is None:
        return None, "the GitHub CLI (gh) is not installed, so GitHub was not checked"
    code, secrets = _api(f"repos/{repo}/actions/secrets")
    if code:
        return None, f"gh could not read {repo}'s secrets ({str(secrets)[:120]}): `gh auth login` as an admin"
    code, workflow = _api(f"repos/{repo}/actions/permissions/workflow")
    pages_code, pages = _api(f"repos/{repo}/pages")  # 404 (an error here) until Pages is enabled
    found = GitHub(
        secrets={s["name"] for s in secrets.get("secrets", [])},
        variables={v["name"] for v in _listed(f"repos/{repo}/actions/variables", "variables")},
        environments={e["name"]: _reviewed(e) for e in _listed(f"repos/{repo}/environments", "environments")},
        actions_can_open_prs=None if code else bool(workflow.get("can_approve_pull_request_reviews")),
        pages=None if pages_code else str(pages.get("build_type") or "legacy"),
    )
    return found, ""
