"""`make bench`: the machine the figures were measured on, for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from importlib.metadata import version
from pathlib import Path


def memory_gib() -> float | None:
    """Total memory, from /proc/meminfo where there is one."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
    return round(kib / 2**20, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    facts = {
        "date": datetime.date.today().isoformat(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("scikit-learn", "pandas", "dvc", "lightgbm", "fastapi")},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(facts, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
