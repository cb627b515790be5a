"""`make bench`: the four stages on a partitioned table, local engine against Dask (1 and 2 workers).

The sample is replicated to each row count (fresh ids) as Parquet partitions of --part-rows rows in
a temporary folder. The model is LightGBM (model.estimator: lightgbm): in the stage's process on the
local engine, through its Dask estimator on Dask. Each stage runs in its own process, as under DVC,
so its peak memory is its own. Prints, per stage, wall time, the stage process's peak memory, and
the largest worker's peak memory (the local engine's worker is the stage process itself).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "local": {"name": "local"},
    "dask x1": {"name": "dask", "workers": 1, "threads": 1, "memory": "4GiB"},
    "dask x2": {"name": "dask", "workers": 2, "threads": 1, "memory": "4GiB"},
}

STAGES = ("validate", "train", "evaluate", "gate")
RUN = """
import importlib, json, resource, sys, yaml
from pathlib import Path
from mlpipeline.config import parse_settings
from mlpipeline.layout import Layout
if __name__ == "__main__":
    params = yaml.safe_load(open(sys.argv[1]))
    params["data"].update(raw="parts", contract="contract.yaml")
    params["engine"] = json.loads(sys.argv[2])
    params["model"].update(estimator="lightgbm", hyperparameters={})
    # Single-row latency is the same at any row count (the service's path, row by row): timed on
    # 20 rows here, its cost is the stage's work on the table, not a constant.
    params["evaluate"]["latency_rows"] = 20
    params["gate"]["rules"] = [r for r in params["gate"]["rules"] if "max_regression" not in r]
    stage = importlib.import_module("mlpipeline.stages." + sys.argv[3])
    stage.run(parse_settings(params), Layout(Path(".")))
    print("stage_peak_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def build(folder: Path, rows: int, part_rows: int) -> None:
    """The sample replicated to ``rows`` rows with fresh ids, as Parquet partitions."""
    import pandas as pd

    frame = pd.read_csv(ROOT / "tests/fixtures/sample/telco_churn.csv.gz")
    parts = folder / "parts"
    parts.mkdir(parents=True)
    for i, start in enumerate(range(0, rows, part_rows)):
        n = min(part_rows, rows - start)
        reps = -(-n // len(frame))
        part = pd.concat([frame] * reps, ignore_index=True).head(n)
        part["customer_id"] = [f"C{j:09d}" for j in range(start, start + n)]
        part.to_parquet(parts / f"part-{i:05d}.parquet", index=False)
    contract = (ROOT / "data/contract.yaml").read_text().replace(r"regex: '^C\d{5}$'", r"regex: '^C\d+$'")
    (folder / "contract.yaml").write_text(contract)
    (folder / "run.py").write_text(RUN)


def measure(folder: Path, engine: dict[str, object], stage: str) -> dict[str, Any]:
    """One stage's run; wall seconds, the stage's and the largest worker's peak MB."""
    import json

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "run.py", str(ROOT / "params.yaml"), json.dumps(engine), stage],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        # SIGKILL with nothing said: the kernel's out-of-memory killer (dmesg names it).
        why = "killed (out of memory)" if done.returncode == -9 else f"exit {done.returncode}"
        last = (done.stderr.strip().splitlines() or [""])[-1][:120]
        return {"seconds": seconds, "failed": f"{why} {last}".strip(), "stage_mb": 0.0, "worker_mb": 0.0}
    worker = re.search(r"peak memory per worker (\d+) MB", done.stdout)
    own = re.search(r"stage_peak_mb ([\d.]+)", done.stdout)
    if worker is None:  # train writes where it ran to models/environment.json
        trained = (folder / "models/environment.json").read_text() if stage == "train" else ""
        worker = re.search(r"peak memory per worker (\d+) MB", trained)
    stage_mb = float(own.group(1)) if own else 0.0
    return {
        "seconds": seconds,
        "stage_mb": stage_mb,
        "worker_mb": float(worker.group(1)) if worker else stage_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="1000000", help="comma-separated row counts")
    parser.add_argument("--part-rows", type=int, default=500_000)
    parser.add_argument("--worker-memory", default="4GiB", help="memory of each Dask worker")
    parser.add_argument("--engines", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    parser.add_argument(
        "--stages", default=",".join(STAGES), help="comma-separated; each needs those before it"
    )
    parser.add_argument("--out", type=Path, help="write the figures here as JSON (docs/bench/ for the docs)")
    args = parser.parse_args()
    figures: list[dict] = []
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("bench engine: Dask is not installed; run `make setup-dask`", file=sys.stderr)
        return 2
    print(f"the four stages on Parquet partitions of {args.part_rows:,} rows (LightGBM)")
    print(f"{'rows':>12}  {'engine':8}  {'stage':8}  {'seconds':>8}  {'stage MB':>9}  {'worker MB':>9}")
    for rows in [int(r) for r in args.rows.split(",")]:
        folder = Path(tempfile.mkdtemp(prefix="bench-engine-"))
        try:
            build(folder, rows, args.part_rows)
            for label, engine in CONFIGS.items():
                if label not in args.engines.split(","):
                    continue
                if engine["name"] == "dask":
                    engine = {**engine, "memory": args.worker_memory}
                for stage in [s for s in STAGES if s in args.stages.split(",")]:
                    got = measure(folder, engine, stage)
                    figures.append({"rows": rows, "engine": label, "stage": stage, **got})
                    status = f"  FAILED: {got['failed']}" if got.get("failed") else ""
                    print(
                        f"{rows:>12,}  {label:8}  {stage:8}  {got['seconds']:8.1f}  {got['stage_mb']:9.0f}"
                        f"  {got['worker_mb']:9.0f}{status}",
                        flush=True,
                    )
                    if got.get("failed"):
                        break  # the later stages need this one's outputs
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps({"runs": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
