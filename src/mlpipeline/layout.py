"""Where the pipeline's files live, relative to the project root (DVC runs stages from there).

dvc.yaml names the same paths; keeping them in one place here keeps the code and tests in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Paths of every stage input and output under ``root``."""

    root: Path = Path()

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def train(self) -> Path:
        return self.root / "data/prepared/train.parquet"

    @property
    def test(self) -> Path:
        return self.root / "data/prepared/test.parquet"

    @property
    def validation(self) -> Path:
        return self.root / "metrics/validation.json"

    @property
    def model(self) -> Path:
        return self.root / "models/model.joblib"

    @property
    def model_card(self) -> Path:
        return self.root / "models/model.json"

    @property
    def profile(self) -> Path:
        return self.root / "models/profile.json"

    @property
    def environment(self) -> Path:
        return self.root / "models/environment.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics/metrics.json"

    @property
    def baseline(self) -> Path:
        return self.root / "metrics/baseline.json"

    @property
    def slices(self) -> Path:
        return self.root / "metrics/slices.json"

    @property
    def latency(self) -> Path:
        return self.root / "metrics/latency.json"

    @property
    def plots(self) -> Path:
        return self.root / "metrics/plots"

    @property
    def gate(self) -> Path:
        return self.root / "metrics/gate.json"

    @property
    def gate_latency(self) -> Path:
        return self.root / "metrics/gate_latency.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


def machine_specific(path: str) -> bool:
    """Outputs that differ from machine to machine by nature: timings (files named *latency*) and
    the environment that trained the model. The reproducibility check leaves them out."""
    name = Path(path).name
    return "latency" in name or name == "environment.json"
