"""DVC as the package uses it beyond `dvc repro`: diffs against a git ref, and files of a commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlpipeline.adapters import processes
from mlpipeline.errors import PipelineError


class _Current:
    """sys.stdout or sys.stderr as they are when written to."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import sys

        return getattr(getattr(sys, self._name), attr)


def cli(*args: str, quiet_git_hint: bool = False) -> int:
    """A dvc command through DVC's own CLI in this process (no second interpreter start-up); its
    exit code. ``quiet_git_hint``: leave out DVC's "To track the changes with git, run: git add
    dvc.lock" (the caller names everything to commit)."""
    import logging

    from dvc.cli import main as dvc_main
    from dvc.logger import LoggerHandler

    # DVC's log handlers keep the streams of when dvc was first imported (a test's captured and
    # since closed output, in a long-lived process): they write to the current ones instead.
    for name in ("dvc", "dvc_objects", "dvc_data"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, LoggerHandler) and not isinstance(handler.stream, _Current):
                handler.stream = _Current("stderr" if handler.level >= logging.WARNING else "stdout")
    if quiet_git_hint:  # the hint's logger (dvc/repo/scm_context.py)
        logging.getLogger("dvc.repo.scm_context").setLevel(logging.WARNING)
    return dvc_main(list(args))


def diffs(ref: str, root: Path) -> dict[str, list[tuple[str, str, Any, Any, Any]]]:
    """What `dvc metrics diff ref` and `dvc params diff ref` report, from DVC's API in this process
    (each CLI call would start DVC again): ``{"metrics": rows, "params": rows}``, a row being
    (file, name, value at ``ref``, value here, change). ``PipelineError`` when DVC cannot tell."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    found: dict[str, list[tuple[str, str, Any, Any, Any]]] = {}
    try:
        with Repo(str(root)) as repo:
            results = {"metrics": repo.metrics.diff(a_rev=ref), "params": repo.params.diff(a_rev=ref)}
    except DvcException as exc:
        raise PipelineError(f"dvc could not compare with {ref}: {exc}") from None
    for kind, result in results.items():
        found[kind] = [
            (path, name, change.get("old"), change.get("new"), change.get("diff"))
            for path, entries in sorted(result.get("diff", {}).items())
            for name, change in sorted(entries.items())
        ]
    return found


def read_bytes_at(root: Path, rel: str, commit: str) -> bytes:
    """The DVC-tracked file ``rel`` as of ``commit``, from the cache or the remote."""
    import dvc.api  # DVC's API is slow to import; only the commands that restore files pay for it
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(rel, repo=str(root), rev=commit, mode="rb") as src:
            return src.read()
    except (DvcException, FileNotFoundError) as exc:
        raise PipelineError(
            f"cannot restore {rel} of commit {commit[:10]}: not in the DVC cache or remote ({exc});"
            " `dvc push` it from where it was trained"
        ) from None


def from_cache(root: Path, md5: str, dest: Path) -> bool:
    """Copy the file of MD5 ``md5`` from the project's DVC cache to ``dest``, if the cache holds it
    intact. Reading a commit's file through ``dvc.api`` indexes that commit first (most of a
    second); a file whose hash the commit's dvc.lock gives needs only the cache's path for it."""
    import hashlib

    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        cached = Path(repo.cache.local.oid_to_path(md5))
    if not cached.is_file():
        return False
    hasher = hashlib.md5(usedforsecurity=False)
    with cached.open("rb") as src, dest.open("wb") as out:  # read once: hashed as it is copied
        for chunk in iter(lambda: src.read(1 << 20), b""):
            hasher.update(chunk)
            out.write(chunk)
    if hasher.hexdigest() != md5:
        dest.unlink()
        return False
    return True


def copy_dir_at(root: Path, rel: str, commit: str, dest: Path) -> None:
    """The DVC-tracked folder ``rel`` (a partitioned split) as of ``commit``, copied to ``dest``."""
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException

    try:
        DVCFileSystem(str(root), rev=commit).get(rel, str(dest), recursive=True)
    except (DvcException, FileNotFoundError) as exc:
        raise PipelineError(
            f"cannot restore {rel}/ of commit {commit[:10]}: not in the DVC cache or remote ({exc});"
            " `dvc push` it from where it was made"
        ) from None


def stale_stages(root: Path) -> list[str]:
    """Stages `dvc status` reports as not up to date (empty when everything is)."""
    import json

    done = processes.run(root, "dvc", "status", "--json")
    if done.returncode != 0:
        raise PipelineError(f"dvc status failed: {(done.stderr or done.stdout).strip()}")
    text = done.stdout.strip()
    return sorted(json.loads(text)) if text.startswith("{") else []


def output_paths(root: Path) -> list[str]:
    """Every path a stage of dvc.yaml writes (outs, metrics, plots), as written there."""
    from mlpipeline.config import load_yaml

    pipeline = load_yaml((root / "dvc.yaml").read_text(encoding="utf-8"), "dvc.yaml") or {}
    found = []
    for stage in (pipeline.get("stages") or {}).values():
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key) or []:
                found.extend(entry if isinstance(entry, dict) else [entry])
    return [str(p).rstrip("/") for p in found]


def written_by_pipeline(path: str, outputs: list[str]) -> bool:
    """Whether ``path`` is dvc.lock, a .dvc pointer, or one of ``outputs`` (or inside one)."""
    return (
        path == "dvc.lock"
        or path.endswith(".dvc")
        or any(path == o or path.startswith(f"{o}/") for o in outputs)
    )


def changed_outputs(root: Path) -> list[str]:
    """Committed files the pipeline writes (dvc.lock, metrics, the card, .dvc pointers) that differ
    from HEAD: what a person commits after `make repro`. Empty outside a git repository."""
    from mlpipeline.adapters.gitref import uncommitted

    try:
        changed = uncommitted(root)
    except PipelineError:
        return []
    outputs = output_paths(root)
    return [p for p in changed if written_by_pipeline(p, outputs) or p.endswith(".dvc")]


def experiments(root: Path, rev: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """What `dvc exp show` lists (the workspace, ``rev`` or HEAD, and the experiments based on it),
    one flat mapping per row, and the names of its param columns (keys an experiment added with
    `-S +key=value` included), as `dvc.api.exp_show` builds them."""
    from dvc.api.experiments import _postprocess
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.repo.experiments.show import tabulate

    try:
        with Repo(str(root)) as repo:
            table, headers = tabulate(repo.experiments.show(revs=rev), fill_value=None)
            return _postprocess(table.as_dict()), list(headers["params"])
    except DvcException as exc:
        raise PipelineError(f"dvc could not list the experiments: {exc}") from None


def queue_state(root: Path) -> tuple[list[dict[str, Any]], int]:
    """The experiment queue's tasks (`dvc queue status`: name, rev and status of each) and how many
    queue workers are busy."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        queue = repo.experiments.celery_queue
        workers = queue.worker_status()
        return queue.status(), sum(1 for task in workers.values() if task)
