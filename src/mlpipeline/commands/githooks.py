"""`make setup` installs a git post-checkout hook: after `git switch` or `git checkout` of a branch or
commit, the workspace's DVC outputs (data, model, metrics) are put back in step with that commit's
dvc.lock, as `dvc checkout` does.

DVC's own `dvc install` writes hooks that call `dvc` from PATH; here it is `.venv/bin/dvc`, which a
shell without the venv activated does not find, so the hook calls the project's own. An existing
hook that is not this one is left alone and the message says what to add to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlpipeline.errors import run_main

MARK = "# mlpipeline: dvc checkout after git checkout"
HOOK = f"""#!/bin/sh
{MARK} (installed by `make setup`; delete this file to stop it).
# $3 is 1 for a branch or commit checkout, 0 for `git checkout -- file`.
[ "$3" = 1 ] || exit 0
root=$(git rev-parse --show-toplevel) || exit 0
[ -x "$root/.venv/bin/dvc" ] || exit 0
cd "$root" || exit 0
"$root/.venv/bin/dvc" checkout --quiet >/dev/null 2>&1 || echo "dvc checkout: some outputs of this \
commit are not in the local cache; .venv/bin/dvc pull fetches them (or make repro rebuilds them)" >&2
exit 0
"""


def hook_path(root: Path) -> Path | None:
    """Where git looks for the post-checkout hook of ``root`` (None outside a git repository)."""
    found = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--git-path", "hooks/post-checkout"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    path = Path(found.stdout.strip())
    return path if path.is_absolute() else root / path


def install(root: Path) -> str:
    """Write the hook (or leave a foreign one); what happened, in one line."""
    path = hook_path(root)
    if path is None:
        return "not a git repository: no hook installed"
    if path.exists() and MARK not in path.read_text(encoding="utf-8", errors="replace"):
        return (
            f"{path} is someone else's hook, left as it is; add `.venv/bin/dvc checkout --quiet` to it"
            " so the workspace follows git"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HOOK, encoding="utf-8")
    path.chmod(0o755)
    return f"{path}: after a git checkout, dvc checkout brings data and models in step with dvc.lock"


def main(argv: list[str] | None = None) -> int:
    """Install the hook in the current repository."""
    del argv
    print(f"setup: {install(Path.cwd())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main)
