"""`make bench`: what the pipeline costs against a single script, and how it scales.

Works in a temporary copy of the project (so the repository's outputs are untouched), prints a
table with each figure beside its target, and writes metrics/bench_latency.json. Timings are
medians of --reps runs on the sample; scale runs are single runs on the sample replicated to
each size in --scales (the replicas get fresh ids, and the bench copy's contract accepts them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ("validate", "train", "evaluate", "gate")


class Project:
    """A throwaway git+DVC copy of the project."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(path.parent / "site-cache"),
            "PYTHONPATH": str(path / "src"),
        }

    def run(self, *args: str) -> float:
        """Run a command; return its wall time in seconds."""
        start = time.perf_counter()
        done = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"bench: {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return elapsed

    def measure(self, *args: str) -> tuple[float, float]:
        """Run a command; return (wall seconds, peak resident memory in MB)."""
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, cwd=self.path, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"bench: {' '.join(args)} failed: {proc.stderr.read().decode()}")
        return elapsed, usage.ru_maxrss / 1024

    def dvc(self, *args: str) -> float:
        return self.run(str(BIN / "dvc"), *args)

    def stage(self, name: str) -> tuple[float, float]:
        return self.measure(str(BIN / "python"), "-m", f"mlpipeline.stages.{name}")

    def script(self) -> float:
        return self.run(
            str(BIN / "python"), "benchmarks/single_script.py", "--out", str(self.path.parent / "single")
        )


def copy_project(dest: Path) -> Project:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    # `make` targets in the copy use this environment: without it, the first `make predict` timed
    # would build a .venv of its own (a minute, counted as the command's cost).
    (dest / ".venv").symlink_to(BIN.parent)
    for rel in (
        "requirements.lock",
        "requirements-serve.lock",
        "requirements-dask.lock",
        "requirements-dev.lock",
        "pyproject.toml",
    ):
        if (dest / rel).exists():
            os.utime(dest / rel, (0, 0))  # older than the environment's stamps: make sees it up to date
    project = Project(dest)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench"],
    ):
        project.run(*args)
    project.dvc("pull", "-q", "--allow-missing")
    project.dvc("repro", "-q")
    return project


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def sample_figures(p: Project, reps: int) -> dict[str, float]:
    """Timings on the bundled sample. The figures of a ratio are taken in turn, not in blocks,
    so a slow spell on a shared machine slows both sides of the ratio alike."""
    repro_f, script, direct = [], [], []
    for _ in range(reps):
        repro_f.append(p.dvc("repro", "-f", "-q"))
        script.append(p.script())
        direct.append(sum(p.stage(s)[0] for s in STAGES))
    p.dvc("repro", "-q")  # direct runs rewrote latency; settle before the no-op timings
    params = p.path / "params.yaml"
    original = params.read_text()
    changed = original.replace("beat_baseline_by: 0.2}", "beat_baseline_by: 0.21}", 1)
    if changed == original:
        raise SystemExit("bench: params.yaml has no 'beat_baseline_by: 0.2}' rule to change")
    status, noop, gate_only = [], [], []
    for _ in range(reps * 2):
        status.append(p.dvc("status", "-q"))
        noop.append(p.dvc("repro", "-q"))
        for text in (changed, original):  # each write changes gate.rules, so only gate re-runs
            params.write_text(text)
            gate_only.append(p.dvc("repro", "-q"))
    return {
        "repro_force_s": median(repro_f),
        "single_script_s": median(script),
        "stages_direct_s": median(direct),
        "status_s": median(status),
        "noop_repro_s": median(noop),
        "gate_only_repro_s": median(gate_only),
    }


def replicate(p: Project, rows: int) -> float:
    """Write the sample replicated to ``rows`` rows as the raw data; return the frame's MB in memory."""
    code = f"""
import pandas as pd, pyarrow as pa, pyarrow.csv as pc
src = "data/raw/telco_churn.csv"
frame = pd.read_csv(src)
reps = -(-{rows} // len(frame))
big = pd.concat([frame] * reps, ignore_index=True).head({rows})
big["customer_id"] = [f"C{{i:08d}}" for i in range(len(big))]
pc.write_csv(pa.Table.from_pandas(big, preserve_index=False), src)
print(pd.read_csv(src).memory_usage(deep=True).sum() / 1e6)
"""
    done = subprocess.run(
        [str(BIN / "python"), "-c", code], cwd=p.path, env=p.env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: could not build {rows} rows: {done.stderr}")
    contract = p.path / "data/contract.yaml"
    contract.write_text(contract.read_text().replace(r"regex: '^C\d{5}$'", r"regex: '^C\d+$'"))
    p.dvc("add", "-q", "data/raw/telco_churn.csv")
    return round(float(done.stdout.strip().splitlines()[-1]), 1)


def scale_figures(p: Project, rows: int, compare: bool) -> dict[str, Any]:
    """Per-stage time, rows/s and peak memory at ``rows`` rows; optionally pipeline vs script."""
    frame_mb = replicate(p, rows)
    out: dict[str, Any] = {"rows": rows, "frame_mb": frame_mb, "stages": {}}
    for name in STAGES:
        seconds, peak = p.stage(name)
        out["stages"][name] = {
            "s": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "peak_mb": round(peak),
        }
    out["total_s"] = round(sum(s["s"] for s in out["stages"].values()), 2)
    out["peak_mb"] = max(s["peak_mb"] for s in out["stages"].values())
    if compare:
        out["repro_force_s"] = round(p.dvc("repro", "-f", "-q"), 2)
        out["single_script_s"] = round(p.script(), 2)
    return out


def target_rows(figures: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """(figure, value, target, met) for every target of the issue."""
    s = figures["sample"]
    rows = [
        ("pipeline / single script (sample)", s["repro_force_s"] / s["single_script_s"], "<= 1.5", None),
        (
            "dvc repro -f / stages run directly (sample)",
            s["repro_force_s"] / s["stages_direct_s"],
            "(overhead)",
            None,
        ),
        ("no-op dvc repro / dvc status", s["noop_repro_s"] / s["status_s"], "<= 1.2", None),
        ("gate-only change / dvc status", s["gate_only_repro_s"] / s["status_s"], "<= 1.5", None),
    ]
    scales = {f["rows"]: f for f in figures["scale"]}
    if 1_000_000 in scales and "repro_force_s" in scales[1_000_000]:
        one = scales[1_000_000]
        rows.append(
            (
                "pipeline / single script (1M rows)",
                one["repro_force_s"] / one["single_script_s"],
                "<= 1.1",
                None,
            )
        )
    if 1_000_000 in scales and 4_000_000 in scales:
        rows.append(
            (
                "time 4M / 1M (linear = 4.0)",
                scales[4_000_000]["total_s"] / scales[1_000_000]["total_s"],
                "<= 4.4",
                None,
            )
        )
        four = scales[4_000_000]
        rows.append(
            ("peak memory / frame size (4M rows)", four["peak_mb"] / four["frame_mb"], "<= 3.0", None)
        )
    limits = {"<= 1.5": 1.5, "<= 1.2": 1.2, "<= 1.1": 1.1, "<= 4.4": 4.4, "<= 3.0": 3.0}
    return [(name, round(v, 3), t, (v <= limits[t]) if t in limits else None) for name, v, t, _ in rows]


def render(figures: dict[str, Any]) -> str:
    s = figures["sample"]
    lines = ["sample (7,043 rows), medians of {reps} runs, seconds:".format(**figures)]
    lines += [f"  {k:20} {v:8.3f}" for k, v in s.items()]
    for f in figures["scale"]:
        lines.append(f"{f['rows']:,} rows (frame {f['frame_mb']} MB in memory):")
        for name, st in f["stages"].items():
            lines.append(
                f"  {name:9} {st['s']:8.2f} s {st['rows_per_s']:>12,} rows/s  peak {st['peak_mb']:>6} MB"
            )
        extra = (
            f", dvc repro -f {f['repro_force_s']} s, single script {f['single_script_s']} s"
            if "repro_force_s" in f
            else ""
        )
        lines.append(f"  total     {f['total_s']:8.2f} s{extra}")
    lines.append("targets:")
    for name, value, target, met in figures["targets"]:
        mark = {True: "met", False: "MISSED", None: ""}[met]
        lines.append(f"  {name:45} {value:8.3f}  {target:10} {mark}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scales", default="1000000,4000000", help="comma-separated row counts; '' for none")
    parser.add_argument("--out", type=Path, default=ROOT / "metrics/bench_latency.json")
    args = parser.parse_args()
    scales = [int(x) for x in args.scales.split(",") if x.strip()]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        project = copy_project(Path(tmp) / "project")
        figures: dict[str, Any] = {
            "reps": args.reps,
            "sample": sample_figures(project, args.reps),
            "scale": [],
        }
        for rows in scales:
            print(f"bench: {rows:,} rows ...", file=sys.stderr)
            figures["scale"].append(scale_figures(project, rows, compare=rows == 1_000_000))
    figures["targets"] = target_rows(figures)
    figures["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(render(figures))
    print(f"bench: {figures['wall_s']} s in all; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
