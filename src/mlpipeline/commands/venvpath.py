"""`make setup`'s last step: programs started from this environment find its tools first.

DVC starts other DVC processes by name: `dvc queue start` spawns `dvc exp queue-worker`, which runs
`dvc exp exec-run`, each looked up on PATH. Run as `.venv/bin/dvc` without the environment
activated, the worker died on ``FileNotFoundError: 'dvc'`` and the queue showed "Queued, 0 active"
for good. A `.pth` file in site-packages, which Python runs at start-up, puts this environment's
bin folder first on PATH, as `source .venv/bin/activate` would, for the processes it starts.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from mlpipeline.errors import run_main

PTH = "mlpipeline-venv-path.pth"
# One line: site.py executes a .pth line that starts with "import". Empty PATH entries are dropped
# (an empty entry means the current folder).
LINE = (
    "import os, sys; os.environ['PATH'] = os.pathsep.join(dict.fromkeys(p for p in"
    " [os.path.dirname(sys.executable), *os.environ.get('PATH', '').split(os.pathsep)] if p))\n"
)


def install(site_packages: Path) -> Path:
    """Write the .pth file into ``site_packages``; its path."""
    path = site_packages / PTH
    path.write_text(LINE, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Install into this interpreter's site-packages."""
    del argv
    install(Path(sysconfig.get_paths()["purelib"]))
    return 0


if __name__ == "__main__":
    run_main(main)
