"""The project's DVC remote: read and set it in .dvc/config, and find out whether this machine can
write to it, through DVC's own config and filesystem classes (the ones `dvc push` uses)."""

from __future__ import annotations

from pathlib import Path

from mlpipeline.core.remotes import TEAM_REMOTE, Remote, credentials_hint, remote_kind
from mlpipeline.errors import PipelineError

PROBE = ".mlpipeline-access-check"


def _config(root: Path):
    from dvc.config import Config, ConfigError

    try:
        return Config(dvc_dir=str(root / ".dvc"))
    except ConfigError as exc:
        raise PipelineError(f".dvc/config: {exc}") from None


def default_remote(root: Path) -> Remote | None:
    """The default remote of the project at ``root`` (every config level merged), or None."""
    config = _config(root)
    name = config["core"].get("remote")
    if not name:
        return None
    entry = config["remote"].get(name)
    if entry is None:
        raise PipelineError(f".dvc/config: default remote '{name}' is not defined; run make remote URL=...")
    return Remote(name, str(entry["url"]))


def set_remote(root: Path, url: str, endpoint: str = "") -> Remote:
    """Make ``url`` the project's default remote, named ``storage`` (replacing one of that name), in
    the committed .dvc/config; ``endpoint``: an S3-compatible server's address (MinIO, Ceph).
    Credentials never go here: they stay in the environment or .dvc/config.local."""
    kind = remote_kind(url)
    if endpoint and kind != "s3":
        raise PipelineError(f"ENDPOINT is for S3-compatible servers; {url} is a {kind} remote")
    with _config(root).edit("repo") as conf:
        entry: dict[str, str] = {"url": url}
        if endpoint:
            entry["endpointurl"] = endpoint
        conf["remote"][TEAM_REMOTE] = entry
        conf["core"]["remote"] = TEAM_REMOTE
    return Remote(TEAM_REMOTE, url)


def unset_default(root: Path) -> None:
    """Leave the project with no default remote (the remotes themselves stay defined)."""
    with _config(root).edit("repo") as conf:
        conf["core"].pop("remote", None)


def check_access(root: Path, remote: Remote) -> None:
    """Write and delete a small file at the remote, as `dvc push` would write there; a
    ``PipelineError`` naming the remote and what to fix when that fails."""
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            found = repo.cloud.get_remote(remote.name)
            if remote.kind == "path":
                found.fs.makedirs(found.path, exist_ok=True)
            probe = found.fs.join(found.path, PROBE)
            found.fs.pipe_file(probe, b"ok\n")
            found.fs.rm_file(probe)
    except Exception as exc:  # each filesystem library (and a missing DVC plugin) raises its own types
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(
            f"remote {remote}: this machine cannot write to it ({type(exc).__name__}: {said}); check"
            f" {credentials_hint(remote)}"
        ) from None
