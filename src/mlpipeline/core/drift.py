"""Has the world moved? A batch of new rows against the model's reference profile.

Per feature, two numbers on the profile's bins: the population stability index (PSI, how much the
distribution moved: an effect size) and a chi-square goodness-of-fit test (whether the move is
more than sampling noise). A feature counts as drifted only when both say so: PSI at least
``psi_threshold``, and the test's p-value significant after the Benjamini-Hochberg correction at
``alpha`` across all features. The effect size keeps large batches from flagging trivia (a test
alone rejects anything at a million rows); the correction keeps many features from producing a
false alarm by chance (twenty features tested at 5% each would).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlpipeline.core.profile import UNSEEN, bin_labels, counts

EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite


@dataclass(frozen=True)
class Shift:
    """One feature (or the score) of a batch against its profile."""

    name: str
    kind: str
    psi: float
    p_value: float
    q_value: float
    drifted: bool
    null_share: float
    null_share_reference: float
    unseen_share: float
    bins: list[str]
    reference: list[float]
    batch: list[float]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the report."""
        return asdict(self)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    ref = np.clip(reference, EPSILON, None)
    cur = np.clip(current, EPSILON, None)
    ref, cur = ref / ref.sum(), cur / cur.sum()
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def chi_square_p(reference: np.ndarray, found: np.ndarray) -> float:
    """p-value of the batch's bin counts against the reference shares (bins both leave empty dropped)."""
    keep = (reference > 0) | (found > 0)
    expected = np.clip(reference[keep], EPSILON, None)
    expected = expected / expected.sum() * found.sum()
    if keep.sum() < 2 or found.sum() == 0:
        return 1.0
    return float(stats.chisquare(found[keep], expected).pvalue)


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Adjusted p-values (q-values) controlling the false discovery rate."""
    if not p_values:
        return []
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty_like(p)
    q[order] = np.clip(q_sorted, 0, 1)
    return q.tolist()


def _measure(name: str, values: pd.Series, profile: dict[str, Any]) -> tuple[str, float, float, np.ndarray]:
    found = counts(values, profile).astype(float)
    reference = np.asarray(profile["shares"], dtype=float)
    return name, psi(reference, found / max(found.sum(), 1)), chi_square_p(reference, found), found


def shifts(
    batch: pd.DataFrame, profile: dict[str, Any], scores: pd.Series, psi_threshold: float, alpha: float
) -> tuple[list[Shift], Shift]:
    """Every feature's shift and the score's, with the drift decision."""
    features = [(n, p) for n, p in profile["features"].items() if n in batch.columns]
    measured = [_measure(name, batch[name], p) for name, p in features]
    scored = _measure("score", scores, profile["score"])
    q_values = benjamini_hochberg([m[2] for m in measured] + [scored[2]])

    def shift(measure: tuple[str, float, float, np.ndarray], p: dict[str, Any], q: float) -> Shift:
        name, value, p_value, found = measure
        share = found / max(found.sum(), 1)
        labels = bin_labels(p)
        unseen = float(share[labels.index(UNSEEN)]) if UNSEEN in labels else 0.0
        return Shift(
            name=name,
            kind=p["kind"],
            psi=round(value, 6),
            p_value=float(f"{p_value:.6g}"),
            q_value=float(f"{q:.6g}"),
            drifted=value >= psi_threshold and q <= alpha,
            null_share=round(float(share[-1]), 6),
            null_share_reference=p["shares"][-1],
            unseen_share=round(unseen, 6),
            bins=labels,
            reference=p["shares"],
            batch=[round(float(v), 6) for v in share],
        )

    out = [shift(m, p, q) for m, (_, p), q in zip(measured, features, q_values[:-1], strict=True)]
    return out, shift(scored, profile["score"], q_values[-1])


def figures(features: list[Shift], score: Shift) -> dict[str, float]:
    """The monitor figures rules can name."""
    return {
        "drifted_features": float(sum(s.drifted for s in features)),
        "max_psi": max((s.psi for s in features), default=0.0),
        "score_psi": score.psi,
        "max_null_share_increase": round(
            max((s.null_share - s.null_share_reference for s in features), default=0.0), 6
        ),
        "max_unseen_share": max((s.unseen_share for s in features), default=0.0),
    }
