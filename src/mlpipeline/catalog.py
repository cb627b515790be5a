"""Names of every figure a gate or monitor rule can refer to, which way is better, and the valid range.

Kept free of heavy imports: config validation and the gate read it without loading sklearn.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class Figure:
    """A named number the pipeline produces."""

    name: str
    better: str  # HIGHER or LOWER
    unit_range: bool  # True when the value lies in [0, 1]
    # What a model that learned nothing scores on any data (R2 0: the test rows' own mean; ROC AUC
    # 0.5: a coin). A dummy fitted on training rows can score far below it (a time split's R2 of
    # -1.66), and a margin over that would pass anything, so beat_baseline_by counts from here.
    no_skill: float | None = None


CLASSIFICATION_METRICS = {
    "accuracy": Figure("accuracy", HIGHER, True),
    "precision": Figure("precision", HIGHER, True),
    "recall": Figure("recall", HIGHER, True),
    "f1": Figure("f1", HIGHER, True),
    "roc_auc": Figure("roc_auc", HIGHER, True, no_skill=0.5),
    "average_precision": Figure("average_precision", HIGHER, True),
    "log_loss": Figure("log_loss", LOWER, False),
    "brier": Figure("brier", LOWER, False),
}

REGRESSION_METRICS = {
    "mae": Figure("mae", LOWER, False),
    "rmse": Figure("rmse", LOWER, False),
    "r2": Figure("r2", HIGHER, False, no_skill=0.0),
    "mape": Figure("mape", LOWER, False),
}

LATENCY_FIGURES = {
    "latency_p50_ms": Figure("latency_p50_ms", LOWER, False),
    "latency_p95_ms": Figure("latency_p95_ms", LOWER, False),
    "throughput_rows_per_s": Figure("throughput_rows_per_s", HIGHER, False),
    "model_size_mb": Figure("model_size_mb", LOWER, False),
}

DATA_FIGURES = {
    "data.rows": Figure("data.rows", HIGHER, False),
    "data.duplicate_share": Figure("data.duplicate_share", LOWER, True),
    "data.max_null_share": Figure("data.max_null_share", LOWER, True),
    "data.min_class_share": Figure("data.min_class_share", HIGHER, True),
}


# What `make monitor` measures on a batch of new rows against the model's reference profile.
MONITOR_FIGURES = {
    "drifted_features": Figure("drifted_features", LOWER, False),
    "max_psi": Figure("max_psi", LOWER, False),
    "score_psi": Figure("score_psi", LOWER, False),
    "max_null_share_increase": Figure("max_null_share_increase", LOWER, True),
    "max_unseen_share": Figure("max_unseen_share", LOWER, True),
}


def monitor_figures(task: str) -> dict[str, Figure]:
    """Every figure a monitor rule may name: drift figures, and quality on labelled batches."""
    return {**MONITOR_FIGURES, **quality_metrics(task)}


def quality_metrics(task: str) -> dict[str, Figure]:
    """The quality metrics evaluate writes for ``task``."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def gap_figures(task: str) -> dict[str, Figure]:
    """Fairness figures: the largest gap of a quality metric between slice groups."""
    return {
        f"gap.{name}": Figure(f"gap.{name}", LOWER, fig.unit_range)
        for name, fig in quality_metrics(task).items()
    }


def figures(task: str) -> dict[str, Figure]:
    """Every figure a gate rule may name for ``task``."""
    data = dict(DATA_FIGURES)
    if task == "regression":
        data.pop("data.min_class_share")
    return {**quality_metrics(task), **gap_figures(task), **LATENCY_FIGURES, **data}


def is_latency(name: str) -> bool:
    """Timing figures differ run to run, so they live apart from byte-reproducible metrics."""
    return name in LATENCY_FIGURES


def all_figures() -> dict[str, Figure]:
    """Every figure of either task."""
    return {**figures("classification"), **figures("regression")}
