"""What a repository needs, locally and on GitHub, before its team and CI can work: one checklist
(`make doctor`), each item with what is wrong and how to set it.

Pure: commands/doctor.py gathers the facts (adapters: the DVC remote, git, GitHub's API through
`gh`) and this module judges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlpipeline.core.remotes import CREDENTIALS, Remote, no_team_remote

REQUIRED, ADVISED, INFO = "required", "advised", "info"


@dataclass(frozen=True)
class Item:
    """One line of the checklist: ``ok`` None means it could not be checked here."""

    name: str
    ok: bool | None
    detail: str
    level: str = REQUIRED

    @property
    def mark(self) -> str:
        return {True: "ok", False: "MISSING" if self.level == REQUIRED else "advice", None: "unchecked"}[
            self.ok
        ]


@dataclass
class Local:
    """What this clone says about itself."""

    remote: Remote | None
    writable: str | None  # None: this machine can write to the remote; else why not
    data_on_remote: bool | None  # None: not checked (no remote, or no access)
    raw: str = "data/raw"
    credentials_in_config: list[str] = field(default_factory=list)
    origin: str = ""


@dataclass
class GitHub:
    """What the repository on GitHub has (names only: secret values are never readable)."""

    secrets: set[str]
    variables: set[str]
    environments: dict[str, bool]  # name: whether it has required reviewers
    actions_can_open_prs: bool | None = None
    pages: str | None = None  # how GitHub Pages builds ("workflow": from docs.yml), None: not enabled


def local_items(state: Local) -> list[Item]:
    """The DVC remote, its access and contents, and what must never be committed."""
    items = []
    missing = no_team_remote(state.remote)
    if missing and not (state.remote is not None and state.data_on_remote):
        items.append(Item("DVC remote", False, missing))
    else:
        assert state.remote is not None
        items.append(Item("DVC remote", True, f"{state.remote} is the default"))
        if state.writable is None:
            items.append(Item("remote access", True, "this machine can write to it"))
        else:
            items.append(Item("remote access", False, state.writable))
        if state.data_on_remote is False:
            items.append(
                Item(
                    "data on the remote", False, f"{state.raw} is not on {state.remote.name}: run `make push`"
                )
            )
        elif state.data_on_remote:
            items.append(Item("data on the remote", True, f"{state.raw} is there, for clones and CI"))
    if state.credentials_in_config:
        keys = ", ".join(state.credentials_in_config)
        items.append(
            Item(
                "no credentials in .dvc/config",
                False,
                f".dvc/config (committed) holds {keys}: remove them, rotate the keys, and keep them in the"
                " environment or `dvc remote modify --local` (.dvc/config.local, git-ignored)",
            )
        )
    if not state.origin:
        items.append(
            Item(
                "git remote",
                False,
                "no `origin`: create the repository on GitHub, then git remote add origin URL && git push -u"
                " origin main",
                ADVISED,
            )
        )
    return items


def github_items(remote: Remote | None, found: GitHub | None, why_unchecked: str) -> list[Item]:
    """The repository's secrets, environment and variables, as the workflows use them."""
    needed = CREDENTIALS.get(remote.kind, ()) if remote is not None and not remote.bundled else ()
    where = "Settings → Secrets and variables → Actions"
    if found is None:
        names = ", ".join(needed) or "none for this remote"
        return [
            Item(
                "GitHub settings",
                None,
                f"{why_unchecked}; check by hand: secrets ({names}; RETRAIN_TOKEN), the `production`"
                " environment with required reviewers, and the variables (docs/how-to/team.md)",
            )
        ]
    items = []
    for name in needed:
        ok = name in found.secrets
        detail = "set" if ok else f"the workflows' `dvc pull` and `dvc push` need it: add it in {where}"
        items.append(Item(f"secret {name}", ok, detail))
    if remote is not None and remote.kind == "path":
        items.append(
            Item(
                "runners reach the remote",
                None,
                f"{remote.url} is a shared folder: GitHub's hosted runners cannot mount it; run the"
                " workflows on self-hosted runners that do",
                ADVISED,
            )
        )
    if "RETRAIN_TOKEN" in found.secrets:
        items.append(Item("secret RETRAIN_TOKEN", True, "retraining pull requests start the gate", ADVISED))
    else:
        can = found.actions_can_open_prs
        how = (
            ""
            if can
            else "; and without it, Settings → Actions → General → 'Allow GitHub Actions to create and"
            " approve pull requests' must be on, or retrain.yml cannot open its pull request at all"
        )
        items.append(
            Item(
                "secret RETRAIN_TOKEN",
                False,
                "a pull request opened with the default token starts no workflow, so the gate never judges"
                " a retrained model: add a fine-grained token (contents and pull-requests: write)" + how,
                ADVISED,
            )
        )
    reviewers = found.environments.get("production")
    if reviewers:
        items.append(Item("environment production", True, "has required reviewers: prod waits for a person"))
    else:
        said = "has no required reviewers" if reviewers is False else "does not exist"
        items.append(
            Item(
                "environment production",
                False,
                f"it {said}: cd.yml and rollback.yml would move prod unreviewed; Settings → Environments →"
                " New environment `production` → Required reviewers",
            )
        )
    if found.pages == "workflow":
        items.append(Item("GitHub Pages", True, "published by docs.yml from main", ADVISED))
    else:
        said = "not enabled" if found.pages is None else "built from a branch, not by docs.yml"
        items.append(
            Item(
                "GitHub Pages",
                False,
                f"{said}: Settings → Pages → Source: GitHub Actions, so docs.yml publishes the site"
                " (until then it only builds it)",
                ADVISED,
            )
        )
    cluster = {"FULL_RUN_RUNNER", "DASK_SCHEDULER"} & found.variables
    if len(cluster) == 1:
        items.append(
            Item(
                "variables FULL_RUN_RUNNER and DASK_SCHEDULER",
                False,
                f"only {cluster.pop()} is set: the full run goes to a cluster only with both",
                ADVISED,
            )
        )
    shown = sorted({"FULL_RUN_RUNNER", "DASK_SCHEDULER", "IMAGE_BASE", "IMAGE_WHEELS"} & found.variables)
    items.append(
        Item(
            "variables",
            True,
            f"set: {', '.join(shown)}"
            if shown
            else "none set (all optional: a cluster, an image base, wheels)",
            INFO,
        )
    )
    return items


def failed(items: list[Item]) -> bool:
    """Whether a required item is missing."""
    return any(i.ok is False and i.level == REQUIRED for i in items)
