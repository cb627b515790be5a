"""`make bench`, monitoring part: false alarms, detection, and cost of `make monitor`.

- False alarms: ``--batches`` batches of 1,500 rows drawn (seeded) from the sample's own rows,
  judged by the project's monitor rules: the share of batches any drift rule flags (goal <= 5%).
- Detection: shifted batches (a numeric column scaled, a category's share moved, nulls injected,
  a new category), each must be flagged, naming the moved column and no other.
- Cost: `make monitor`'s command on 100k and 1M rows (the sample's rows, resampled): wall time
  and the peak resident memory of the process.

Runs on a throwaway copy of the project reproduced on its bundled sample.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from run import copy_project

ROWS = 1500
SHIFTS = {
    "monthly_charges scaled 1.5x": (
        "monthly_charges",
        lambda f: f.assign(monthly_charges=f["monthly_charges"] * 1.5),
    ),
    "contract share moved": ("contract", lambda f: _set(f, "contract", "Two year", 1 / 3)),
    "tenure 25% nulls": ("tenure", lambda f: _set(f, "tenure", None, 1 / 4)),
    "payment_method new category": (
        "payment_method",
        lambda f: _set(f, "payment_method", "Cryptocurrency", 1 / 5),
    ),
}


def _set(frame: pd.DataFrame, column: str, value: object, share: float) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[frame.index[: int(len(frame) * share)], column] = value
    return frame


def monitor(project, batch: Path) -> tuple[int, dict, float, float]:
    """Exit code, report, wall seconds and peak RSS (MB, GNU time's %M) of one monitor run."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "mlpipeline.commands.monitor", "--input", str(batch)]
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        cwd=project.path,
        env=project.env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    report = json.loads((project.path / "reports/monitor.json").read_text())
    return done.returncode, report, seconds, round(peak_kb / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--scales", default="100000,1000000")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "project")
        project.dvc("repro", "-q")
        sample = pd.read_csv(project.path / "data/raw/telco_churn.csv")
        rng = np.random.default_rng(2026)
        flagged = []
        for i in range(args.batches):
            path = Path(tmp) / f"same{i}.csv"
            sample.iloc[rng.choice(len(sample), ROWS, replace=False)].to_csv(path, index=False)
            code, report, _, _ = monitor(project, path)
            flagged.append(code != 0)
        figures["false_alarms"] = {
            "batches": args.batches,
            "flagged": int(sum(flagged)),
            "share": sum(flagged) / args.batches,
        }
        figures["detection"] = []
        for name, (column, shift) in SHIFTS.items():
            path = Path(tmp) / "shifted.csv"
            shift(sample.sample(ROWS, random_state=7)).to_csv(path, index=False)
            code, report, _, _ = monitor(project, path)
            named = sorted(f["name"] for f in report["features"] if f["drifted"])
            figures["detection"].append(
                {"shift": name, "flagged": code == 1, "drifted": named, "only_it": named == [column]}
            )
        figures["cost"] = []
        for rows in map(int, args.scales.split(",")):
            path = Path(tmp) / f"scale{rows}.csv"
            sample.iloc[rng.integers(0, len(sample), rows)].to_csv(path, index=False)
            code, report, seconds, peak = monitor(project, path)
            figures["cost"].append(
                {"rows": rows, "seconds": round(seconds, 2), "peak_rss_mb": peak, "exit": code}
            )
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    caught = all(d["flagged"] and d["only_it"] for d in figures["detection"])
    return 0 if caught and figures["false_alarms"]["share"] <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
