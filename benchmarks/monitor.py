"""`make bench`, monitoring part: false alarms, detection, and cost of `make monitor`.

- False alarms: ``--batches`` batches of each size in ``SIZES`` drawn (seeded) from the sample's
  own rows, judged by the project's monitor rules: the share of batches any drift rule flags
  (goal <= 5% at every size that is judged, i.e. at least monitor.min_rows).
- Detection: shifted batches (a numeric column scaled, a category's share moved, nulls injected,
  a new category) of 1,500 rows, each must be flagged, naming the moved column and no other; and
  for each shift the smallest batch flagged in at least 80% of ``DETECT_BATCHES`` batches.
- Labels: how often the quality rules fail batches of the model's own test rows with k labels of
  the rarer class (no change at all): the false alarms monitor.min_labels keeps from a retrain.
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
SIZES = (50, 100, 200, 1500)
DETECT_SIZES = (50, 100, 200, 400, 800, 1500)
DETECT_BATCHES = 20
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


class Judge:
    """The monitor's decision on a batch, in this process: the command's own steps (serving
    contract, scores, drift, rules) without re-reading the model and profile for every batch."""

    def __init__(self, root: Path) -> None:
        from mlpipeline.adapters.files import read_json
        from mlpipeline.adapters.modelstore import load_verified
        from mlpipeline.config import load_settings
        from mlpipeline.core.contract import load_contract

        self.settings = load_settings(root / "params.yaml")
        self.card = read_json(root / "models/model.json")
        self.model = load_verified(root / "models/model.joblib", self.card)
        self.contract = load_contract(root / self.card["contract"])
        self.profile = read_json(root / "models/profile.json")

    def __call__(self, frame: pd.DataFrame) -> tuple[bool, list[str]]:
        """(flagged, drifted features) for one batch."""
        from mlpipeline.core import drift, monitoring, profile
        from mlpipeline.core.prediction import prepare

        ready = prepare(self.card, self.contract, frame, "bench").frame
        x = ready[[f["name"] for f in self.card["features"]]]
        scores = profile.model_scores(self.model, x, "classification", self.card.get("positive_class"))
        m = self.settings.monitor
        shifts, score = drift.shifts(ready, self.profile, scores, m.psi_threshold, m.alpha)
        outcomes = monitoring.judge(self.settings, drift.figures(shifts, score), None, {})
        return monitoring.exit_code(outcomes) != 0, sorted(s.name for s in shifts if s.drifted)


def false_alarms(judge: Judge, sample: pd.DataFrame, batches: int, rng: np.random.Generator) -> list[dict]:
    out = []
    for size in SIZES:
        flagged = sum(
            judge(sample.iloc[rng.choice(len(sample), size, replace=False)])[0] for _ in range(batches)
        )
        judged = size >= judge.settings.monitor.min_rows
        out.append(
            {
                "rows": size,
                "batches": batches,
                "flagged": int(flagged),
                "share": flagged / batches,
                "judged": judged,
            }
        )
    return out


def smallest_detected(judge: Judge, sample: pd.DataFrame, shift, batches: int = DETECT_BATCHES) -> int | None:
    """The smallest batch size flagged in at least 80% of its ``batches`` batches."""
    for size in DETECT_SIZES:
        if size < judge.settings.monitor.min_rows:
            continue
        hits = sum(judge(shift(sample.sample(size, random_state=seed)))[0] for seed in range(batches))
        if hits >= 0.8 * batches:
            return size
    return None


LABELS_PER_CLASS = (10, 20, 30, 40, 50, 60, 80)


def label_false_alarms(judge: Judge, root: Path, draws: int, rng: np.random.Generator) -> list[dict]:
    """How often the project's quality rules fail a batch of the model's own test rows (no
    change at all) with k labels of each class, the rest of the class shares as in the test
    split: what monitor.min_labels guards against (a retrain on a handful of labels)."""
    from mlpipeline.core import monitoring
    from mlpipeline.core.compare import large_sample_intervals

    card, target = judge.card, judge.card["target"]
    test = pd.read_parquet(root / "data/prepared/test.parquet")
    proba = judge.model.predict_proba(test[[f["name"] for f in card["features"]]])
    y = test[target].astype(str).to_numpy(object)
    metrics = json.loads((root / "metrics/metrics.json").read_text())
    by_class = {c: np.flatnonzero(y == str(c)) for c in card["classes"]}
    rarest = min(len(rows) for rows in by_class.values())
    out = []
    for k in LABELS_PER_CLASS:
        failed = 0
        for _ in range(draws):
            picked = np.concatenate(
                [rng.choice(rows, int(k * len(rows) / rarest), replace=False) for rows in by_class.values()]
            )
            labelled = large_sample_intervals(
                "classification", y[picked], proba[picked], card["classes"], card.get("positive_class")
            )
            quality = [r for r in judge.settings.monitor.rules if r.metric in labelled]
            settings = judge.settings.model_copy(
                update={"monitor": judge.settings.monitor.model_copy(update={"rules": quality})}
            )
            outcomes = monitoring.judge(settings, {}, labelled, metrics, len(picked))
            failed += monitoring.exit_code(outcomes) != 0
        out.append({"labels_of_rarest_class": k, "draws": draws, "quality_rule_failed": failed / draws})
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200, help="same-population batches per size")
    parser.add_argument(
        "--detect-batches", type=int, default=DETECT_BATCHES, help="batches per size and shift"
    )
    parser.add_argument("--scales", default="100000,1000000")
    parser.add_argument("--label-draws", type=int, default=400, help="labelled batches per label count")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "project")
        project.dvc("repro", "-q")
        sample = pd.read_csv(project.path / "data/raw/telco_churn.csv")
        rng = np.random.default_rng(2026)
        judge = Judge(project.path)
        figures["false_alarms"] = false_alarms(judge, sample, args.batches, rng)
        figures["labels"] = label_false_alarms(judge, project.path, args.label_draws, rng)
        figures["min_labels"] = judge.settings.monitor.min_labels
        figures["detection"] = []
        for name, (column, shift) in SHIFTS.items():
            flagged, named = judge(shift(sample.sample(ROWS, random_state=7)))
            figures["detection"].append(
                {
                    "shift": name,
                    "flagged": flagged,
                    "drifted": named,
                    "only_it": named == [column],
                    "smallest_batch_detected": smallest_detected(judge, sample, shift, args.detect_batches),
                }
            )
        path = Path(tmp) / "shifted.csv"  # one shifted batch through the real command, exit code 1
        SHIFTS["monthly_charges scaled 1.5x"][1](sample.sample(ROWS, random_state=7)).to_csv(
            path, index=False
        )
        figures["command_exit_on_drift"] = monitor(project, path)[0]
        figures["cost"] = []
        for rows in map(int, args.scales.split(",")):
            path = Path(tmp) / f"scale{rows}.csv"
            sample.iloc[rng.integers(0, len(sample), rows)].to_csv(path, index=False)
            code, _, seconds, peak = monitor(project, path)
            figures["cost"].append(
                {"rows": rows, "seconds": round(seconds, 2), "peak_rss_mb": peak, "exit": code}
            )
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    caught = all(d["flagged"] and d["only_it"] for d in figures["detection"])
    quiet = all(f["share"] <= 0.05 for f in figures["false_alarms"] if f["judged"])
    return 0 if caught and quiet and figures["command_exit_on_drift"] == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
