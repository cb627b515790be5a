"""Has the world moved? A batch of new rows against the model's reference profile.

Per feature, two numbers on the profile's bins: the population stability index (PSI, how much the
distribution moved: an effect size) and a two-sample test of the batch's bin counts against the
training split's (whether the move is more than sampling noise). A feature counts as drifted
only when both say so: PSI at least ``psi_threshold``, and the test's p-value significant after
the Benjamini-Hochberg correction at ``alpha`` across all features. The effect size keeps large
batches from flagging trivia (a test alone rejects anything at a million rows); the correction
keeps many features from producing a false alarm by chance (twenty features tested at 5% each
would).

Small batches are where both go wrong, so both are built for them. PSI of a sample is biased
upwards by about (bins - 1) x (1/n + 1/m) (n batch rows, m reference rows: it is a chi-square
statistic divided by n), and an empty bin makes it infinite; the PSI here smooths every bin by
half a row (Jeffreys) and subtracts that bias, so the same population scores about zero at any
size. The test compares counts with counts (training's are its shares times its rows): a bin
training left empty (nulls, "(unseen)") is judged by how many rows fall there, not against an
epsilon share. When every expected count is at least 5 the chi-square test of homogeneity holds;
below that the p-value is the exact conditional one, by seeded Monte Carlo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlpipeline.core.profile import UNSEEN, bin_labels, counts

SMOOTHING = 0.5  # rows added to every bin before PSI's logarithm (Jeffreys)
MIN_EXPECTED = 5  # the chi-square approximation's usual condition
DRAWS = 10_000  # Monte Carlo tables for the exact test: p-values down to 1e-4


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


def reference_counts(profile: dict[str, Any], rows: int) -> np.ndarray:
    """The reference rows in each bin: the profile's shares times the rows it was built from."""
    return np.rint(np.asarray(profile["shares"], dtype=float) * rows)


def psi(reference: np.ndarray, found: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins, corrected for its
    small-sample bias (bins both leave empty do not count; never below zero)."""
    keep = (reference > 0) | (found > 0)
    ref, cur = reference[keep] + SMOOTHING, found[keep] + SMOOTHING
    ref, cur = ref / ref.sum(), cur / cur.sum()
    raw = float(np.sum((cur - ref) * np.log(cur / ref)))
    n, m = found.sum(), reference.sum()
    bias = (keep.sum() - 1) * (1 / max(n, 1) + 1 / max(m, 1))
    return float(max(0.0, raw - bias))


def two_sample_p(reference: np.ndarray, found: np.ndarray, seed: int = 0) -> float:
    """p-value of "the batch's bin counts come from the reference's distribution", both being
    samples: chi-square of homogeneity, or its exact conditional version by Monte Carlo when an
    expected count is below ``MIN_EXPECTED``."""
    keep = (reference > 0) | (found > 0)
    if keep.sum() < 2 or found.sum() == 0 or reference.sum() == 0:
        return 1.0
    table = np.vstack([reference[keep], found[keep]])
    pooled = table.sum(axis=0)
    expected = np.outer(table.sum(axis=1), pooled / pooled.sum())
    observed = _statistic(table[1], expected[1], table[0], expected[0])
    if expected.min() >= MIN_EXPECTED:
        return float(stats.chi2.sf(observed, keep.sum() - 1))
    rng = np.random.default_rng(seed)
    batch = rng.multivariate_hypergeometric(pooled.astype(np.int64), int(table[1].sum()), size=DRAWS)
    simulated = _statistic(batch, expected[1], pooled - batch, expected[0])
    return float((1 + np.sum(simulated >= observed - 1e-9)) / (DRAWS + 1))


def _statistic(batch: np.ndarray, e_batch: np.ndarray, ref: np.ndarray, e_ref: np.ndarray) -> np.ndarray:
    """Pearson's chi-square of the 2 x bins table (last axis: bins)."""
    return ((batch - e_batch) ** 2 / e_batch).sum(axis=-1) + ((ref - e_ref) ** 2 / e_ref).sum(axis=-1)


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


def _measure(
    name: str, values: pd.Series, profile: dict[str, Any], rows: int
) -> tuple[str, float, float, np.ndarray]:
    found = counts(values, profile).astype(float)
    reference = reference_counts(profile, rows)
    return name, psi(reference, found), two_sample_p(reference, found), found


def shifts(
    batch: pd.DataFrame, profile: dict[str, Any], scores: pd.Series, psi_threshold: float, alpha: float
) -> tuple[list[Shift], Shift]:
    """Every feature's shift and the score's, with the drift decision."""
    features = [(n, p) for n, p in profile["features"].items() if n in batch.columns]
    measured = [_measure(name, batch[name], p, profile["rows"]) for name, p in features]
    scored = _measure("score", scores, profile["score"], profile["score_rows"])
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
