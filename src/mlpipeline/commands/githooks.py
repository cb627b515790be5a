"""`make setup` installs git hooks that keep the workspace's DVC outputs (data, model, metrics) in
step with the commit's dvc.lock, as `dvc checkout` does: post-checkout (after `git switch` or
`git checkout` of a branch or commit) and post-merge (after `git merge` and `git pull`, which move
HEAD without a checkout: a fast-forward merge would otherwise leave the old branch's model).

DVC's own `dvc install` writes hooks that call `dvc` from PATH; here it is `.venv/bin/dvc`, which a
shell without the venv activated does not find, so the hooks call the project's own. An existing
hook that is not this one is left alone and the message says what to add to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlpipeline.errors import run_main

MARK = "# mlpipeline: dvc checkout after git checkout"
BODY = """root=$(git rev-parse --show-toplevel) || exit 0
[ -x "$root/.venv/bin/dvc" ] || exit 0
cd "$root" || exit 0
"$root/.venv/bin/dvc" checkout --quiet >/dev/null 2>&1 || echo "dvc checkout: some outputs of this \\
commit are not in the local cache; .venv/bin/dvc pull fetches them (or make repro rebuilds them)" >&2
exit 0
"""
HOOKS = {
    "post-checkout": f"""#!/bin/sh
{MARK} (installed by `make setup`; delete this file to stop it).
# $3 is 1 for a branch or commit checkout, 0 for `git checkout -- file`.
[ "$3" = 1 ] || exit 0
{BODY}""",
    "post-merge": f"""#!/bin/sh
{MARK} (installed by `make setup`; delete this file to stop it).
# After git merge and git pull: HEAD moved without a checkout.
{BODY}""",
}
HOOK = HOOKS["post-checkout"]


def hook_path(root: Path, name: str = "post-checkout") -> Path | None:
    """Where git looks for the hook ``name`` of ``root`` (None outside a git repository)."""
    found = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--git-path", f"hooks/{name}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    path = Path(found.stdout.strip())
    return path if path.is_absolute() else root / path


def install(root: Path) -> str:
    """Write the hooks (leaving a foreign one); what happened, in one line."""
    said = []
    for name, text in HOOKS.items():
        path = hook_path(root, name)
        if path is None:
            return "not a git repository: no hook installed"
        if path.exists() and MARK not in path.read_text(encoding="utf-8", errors="replace"):
            said.append(
                f"{path} is someone else's hook, left as it is; add `.venv/bin/dvc checkout --quiet` to it"
                " so the workspace follows git"
            )
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
        event = name.split("-")[1]
        said.append(f"{path}: after a git {event}, dvc checkout brings data and models in step with dvc.lock")
    return "; ".join(said)


def main(argv: list[str] | None = None) -> int:
    """Install the hooks in the current repository."""
    del argv
    print(f"setup: {install(Path.cwd())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main)
