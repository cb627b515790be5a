"""DVC as the package uses it beyond `dvc repro`: diffs against a git ref, and files of a commit."""

from __future__ import annotations

from pathlib import Path

from mlpipeline.adapters import processes
from mlpipeline.errors import PipelineError


def diff_markdown(kind: str, ref: str, root: Path) -> str:
    """`dvc metrics diff` / `dvc params diff` against ``ref`` as Markdown."""
    done = processes.run(root, "dvc", kind, "diff", ref, "--md")
    if done.returncode != 0:
        return f"(dvc {kind} diff failed: {done.stderr.strip()})"
    rows = done.stdout.strip().splitlines()
    return "\n".join(rows) if len(rows) > 2 else "(no changes)"  # header and rule only: no rows


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


def stale_stages(root: Path) -> list[str]:
    """Stages `dvc status` reports as not up to date (empty when everything is)."""
    import json

    done = processes.run(root, "dvc", "status", "--json")
    if done.returncode != 0:
        raise PipelineError(f"dvc status failed: {(done.stderr or done.stdout).strip()}")
    text = done.stdout.strip()
    return sorted(json.loads(text)) if text.startswith("{") else []
