"""`make remote [URL=... [ENDPOINT=...]]`: the DVC remote a team shares, set and checked.

With URL, it becomes the default remote (named ``storage``) in the committed .dvc/config; with or
without, this machine's access to the default remote is checked by writing to it, as `dvc push`
will. Credentials stay out of .dvc/config (the environment, or `dvc remote modify --local`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.adapters.remote import check_access, default_remote, set_remote
from mlpipeline.core.remotes import PLUGINS, set_up_remote_line
from mlpipeline.errors import PipelineError, run_main


def main(argv: list[str] | None = None) -> int:
    """Set (``--url``) and check the default remote; exit 1 naming what to fix."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.remote")
    parser.add_argument("--url", default="", help="s3://, gs://, azure://, ssh:// or an absolute path")
    parser.add_argument("--endpoint", default="", help="an S3-compatible server's address (MinIO, Ceph)")
    args = parser.parse_args(argv)
    root = Path()
    if args.url:
        remote = set_remote(root, args.url.strip(), args.endpoint.strip())
        print(f"remote: {remote} is the default DVC remote (.dvc/config)")
    else:
        remote = default_remote(root)
        if remote is None:
            raise PipelineError(f"the project has no default DVC remote: {set_up_remote_line()}")
    if remote.kind in PLUGINS:
        plugin = PLUGINS[remote.kind]
        print(f"remote: {remote.kind} remotes need {plugin}: add it to pyproject.toml, then make lock")
    check_access(root, remote)
    print(f"remote: this machine can write to {remote}; next: make push, and commit .dvc/config")
    return 0


if __name__ == "__main__":
    run_main(main)
