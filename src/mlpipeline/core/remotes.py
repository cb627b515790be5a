"""DVC remotes as a team meets them: what kind a URL is, what its credentials are, and what to say
when a clone cannot get the data.

Pure: the adapter (adapters/remote.py) reads .dvc/config and talks to the remote; this module only
decides what a URL is and which sentence a user gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpipeline.errors import PipelineError

# The one name `make remote` gives the team's remote (copier's dvc_remote answer writes the same).
TEAM_REMOTE = "storage"
# The template's bundled remote: a folder committed in git that holds only the sample's files.
BUNDLED_REMOTE = "sample"
BUNDLED_URL = "../data/sample_remote"

_BUCKET = r"[a-z0-9][a-z0-9._-]*[a-z0-9]"
_SHAPES = {
    "s3": re.compile(rf"^s3://{_BUCKET}(/\S*)?$"),
    "gs": re.compile(rf"^gs://{_BUCKET}(/\S*)?$"),
    "azure": re.compile(rf"^azure://{_BUCKET}(/\S*)?$"),
    "ssh": re.compile(r"^ssh://[^\s/@]+(@[^\s/]+)?(:[0-9]+)?/\S*$"),
    # A folder every teammate and runner mounts at the same place (NFS, SMB, a shared disk).
    "path": re.compile(r"^/\S*$"),
}
EXAMPLES = (
    "s3://bucket/path, gs://bucket/path, azure://container/path, ssh://user@host/path or /shared/folder"
)

# What each kind reads, locally from the environment and in CI from the repository's secrets
# (.github/scripts/dvc-credentials.sh hands the secrets to DVC).
CREDENTIALS = {
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "gs": ("GOOGLE_APPLICATION_CREDENTIALS_JSON",),
    "azure": ("AZURE_STORAGE_CONNECTION_STRING",),
    "ssh": ("DVC_SSH_PRIVATE_KEY",),
    "path": (),
}
# The DVC plugin each kind needs beyond dvc-s3, which the locks carry.
PLUGINS = {"gs": "dvc-gs", "azure": "dvc-azure", "ssh": "dvc-ssh"}


@dataclass(frozen=True)
class Remote:
    """A DVC remote as .dvc/config names it."""

    name: str
    url: str

    @property
    def kind(self) -> str:
        """``s3``, ``gs``, ``azure``, ``ssh`` or ``path`` (a relative path counts as a path)."""
        scheme = self.url.split("://", 1)[0] if "://" in self.url else "path"
        return scheme if scheme in CREDENTIALS else "other"

    @property
    def bundled(self) -> bool:
        """The template's remote in git, which holds the sample's files and nothing else a clone
        can reach (what a project pushes there is git-ignored)."""
        return self.url.rstrip("/").endswith("data/sample_remote")

    def __str__(self) -> str:
        return f"'{self.name}' ({self.url})"


def remote_kind(url: str) -> str:
    """The kind of a remote a team can share, or a ``PipelineError`` saying what shapes are allowed."""
    for kind, shape in _SHAPES.items():
        if shape.match(url):
            return kind
    raise PipelineError(f"remote URL '{url}': expected {EXAMPLES}")


def credentials_hint(remote: Remote) -> str:
    """Where the remote's credentials come from, in a few words."""
    names = CREDENTIALS.get(remote.kind, ())
    if remote.kind == "path":
        return f"the folder {remote.url} must exist (or be creatable) and be writable here"
    if not names:
        return "its credentials (docs/how-to/team.md, 'The DVC remote')"
    return (
        f"its credentials: {', '.join(names)} in the environment (or `dvc remote modify --local`);"
        " in GitHub Actions, the repository secrets of the same names"
    )


def set_up_remote_line() -> str:
    """The commands that give a project a remote its clones can pull from."""
    return (
        "`make remote URL=s3://bucket/path` (or a shared folder's path) then `make push`,"
        " and commit .dvc/config"
    )


def unreachable_data(path: str, remote: Remote | None, tracked: bool) -> str:
    """The one line `make repro` and `make ci` print when the pipeline's input is not in this clone
    after a pull: what is missing, why, and what to run where."""
    if not tracked:
        return (
            f"{path} (params.yaml data.raw) is not here and no .dvc file tracks it: put the file there,"
            " track it with `make use-data` or `dvc add`, then run make repro"
        )
    if remote is None:
        return (
            f"{path} is not in this clone, and the project has no DVC remote to pull it from. On the"
            f" machine that has it, run {set_up_remote_line()}; then run make repro here"
        )
    if remote.bundled:
        return (
            f"{path} is not on the default remote {remote}: that is the template's bundled remote, which"
            f" holds only the sample. On the machine that has the data, run {set_up_remote_line()};"
            " then run make repro here"
        )
    return (
        f"{path} is not on the default remote {remote}: it was committed without `make push`. Where it"
        " was committed, run `make push`; then run make repro here"
    )


def pull_failed(remote: Remote | None) -> str:
    """The line a `dvc pull` that failed gets (DVC's own message is printed above it)."""
    if remote is None:
        return f"dvc pull failed (see above), and the project has no default remote: {set_up_remote_line()}"
    return (
        f"dvc pull from remote '{remote.name}' failed (see above): check its url ({remote.url}) in"
        f" .dvc/config and {credentials_hint(remote)}; docs/how-to/team.md, 'The DVC remote'"
    )


def no_team_remote(remote: Remote | None) -> str | None:
    """Why a clone or CI cannot get this project's own data, or None when a remote can serve it."""
    if remote is None:
        return (
            "the project has no DVC remote, so its data and models are only on this machine:"
            f" {set_up_remote_line()}"
        )
    if remote.bundled:
        return (
            f"the default DVC remote is the template's bundled {remote}, which is for the sample only"
            f" (what you push there is git-ignored): {set_up_remote_line()}"
        )
    return None
