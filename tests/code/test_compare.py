"""The paired bootstrap: intervals behave (the metrics themselves: test_metrics.py)."""

from __future__ import annotations

import numpy as np

from mlpipeline.core import compare as c


def _binary(n: int, seed: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.3, "Yes", "No").astype(object)
    score = 1 / (1 + np.exp(-(signal * (y == "Yes") + rng.normal(size=n))))
    score = np.round(score, 2)  # ties, as real probabilities have
    return y, np.column_stack([1 - score, score])


def _multiclass(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["a", "b", "c"], dtype=object), size=n, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(n, 3)) + 1.5 * (y[:, None] == np.array(["a", "b", "c"])[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_resamples_are_seeded_and_count_every_row_once_per_draw() -> None:
    a = np.vstack(list(c.resample_weights(300, 50, seed=1)))
    b = np.vstack(list(c.resample_weights(300, 50, seed=1)))
    assert a.shape == (50, 300) and (a.sum(axis=1) == 300).all()
    assert (a == b).all() and not (a == np.vstack(list(c.resample_weights(300, 50, seed=2)))).all()


def test_the_same_model_twice_has_a_zero_width_difference() -> None:
    y, proba = _binary(500, 6)
    result = c.paired("classification", y, proba, proba, ["No", "Yes"], "Yes", resamples=200)
    for figure in result.values():
        assert figure.delta.value == 0 and figure.delta.low == 0 and figure.delta.high == 0


def test_a_clearly_worse_model_has_an_interval_below_zero_and_noise_straddles_it() -> None:
    y, strong = _binary(1500, 7, signal=2.0)
    _, weak = _binary(1500, 7, signal=0.3)
    worse = c.paired("classification", y, weak, strong, ["No", "Yes"], "Yes")["roc_auc"]
    assert worse.delta.high < 0 < worse.branch.value
    rng = np.random.default_rng(8)
    jitter = np.clip(strong + rng.normal(0, 0.01, strong.shape), 1e-6, 1)
    noise = c.paired("classification", y, jitter, strong, ["No", "Yes"], "Yes")["roc_auc"]
    assert noise.delta.low < 0 < noise.delta.high


def test_paired_intervals_are_tighter_than_either_models_own() -> None:
    y, strong = _binary(1500, 10, signal=2.0)
    rng = np.random.default_rng(11)
    other = np.clip(strong + rng.normal(0, 0.03, strong.shape), 1e-6, 1)
    result = c.paired("classification", y, other, strong, ["No", "Yes"], "Yes")["f1"]
    own = result.branch.high - result.branch.low
    assert result.delta.high - result.delta.low < own / 2


def test_intervals_cover_the_value_and_are_reproducible() -> None:
    y, proba = _binary(800, 12)
    first = c.own_intervals("classification", y, proba, ["No", "Yes"], "Yes", seed=3)
    again = c.own_intervals("classification", y, proba, ["No", "Yes"], "Yes", seed=3)
    assert first == again
    for figure in first.values():
        assert figure.low <= figure.value <= figure.high


def test_memory_is_bounded_by_chunks_on_a_large_test_set() -> None:
    chunks = list(c.resample_weights(200_000, 100, seed=0))
    assert len(chunks) > 1 and max(w.size for w in chunks) <= c._CELLS_PER_CHUNK


def test_large_batches_get_intervals_from_a_narrowed_subsample_close_to_the_full_bootstrap() -> None:
    from mlpipeline.core.compare import large_sample_intervals, own_intervals

    rng = np.random.default_rng(3)
    n = 8_000
    y = np.where(rng.random(n) < 0.3, "Yes", "No").astype(object)
    p_yes = np.clip(0.3 + 0.35 * (y == "Yes") + rng.normal(0, 0.2, n), 0.01, 0.99)
    predictions = np.column_stack([1 - p_yes, p_yes])
    full = own_intervals("classification", y, predictions, ["No", "Yes"], "Yes")
    quick = large_sample_intervals("classification", y, predictions, ["No", "Yes"], "Yes", max_rows=1_500)
    for name in ("roc_auc", "f1", "brier"):
        assert quick[name].value == full[name].value  # the point uses every row
        assert quick[name].low < quick[name].value < quick[name].high
        width, estimate = full[name].high - full[name].low, quick[name].high - quick[name].low
        assert 0.6 < estimate / width < 1.5, (name, width, estimate)


def test_a_large_paired_comparison_takes_one_subsample_for_both_models_and_stays_paired() -> None:
    """make ci on a cluster-sized test split: the bootstrap of every row took minutes a million
    rows; the subsample's intervals, narrowed, match the full bootstrap's, and the difference keeps
    the pairing's tightness."""
    rng = np.random.default_rng(5)
    n = 8_000
    y = np.where(rng.random(n) < 0.3, "Yes", "No").astype(object)
    signal = 0.35 * (y == "Yes")
    strong = np.clip(0.3 + signal + rng.normal(0, 0.2, n), 0.01, 0.99)
    weaker = np.clip(strong + rng.normal(0, 0.05, n) - 0.03 * (y == "Yes"), 0.01, 0.99)
    branch, base = (np.column_stack([1 - p, p]) for p in (weaker, strong))
    args = ("classification", y, branch, base, ["No", "Yes"], "Yes")
    full = c.paired(*args)
    quick = c.large_sample_paired(*args, max_rows=1_500)
    few = ("classification", y[:1200], branch[:1200], base[:1200], ["No", "Yes"], "Yes")
    assert c.large_sample_paired(*few, max_rows=1200) == c.paired(*few)  # small enough: the full bootstrap
    for name in ("roc_auc", "f1", "brier"):
        for side in ("branch", "base", "delta"):
            exact, estimate = getattr(full[name], side), getattr(quick[name], side)
            assert estimate.value == exact.value, (name, side)  # the point uses every row
            assert estimate.low < estimate.value < estimate.high
            ratio = (estimate.high - estimate.low) / (exact.high - exact.low)
            assert 0.6 < ratio < 1.5, (name, side, ratio)
            assert 0.6 < estimate.se / exact.se < 1.5
        delta, own = quick[name].delta, quick[name].branch
        assert delta.high - delta.low < 0.75 * (own.high - own.low)  # still paired: tighter


def _card(target: str, columns: list[str], left_out: list[str] = (), task: str = "classification") -> dict:
    return {
        "task": task,
        "target": target,
        "features": [{"name": c} for c in columns],
        "left_out": {c: "dropped" for c in left_out},
    }


def test_other_data_is_decided_by_the_columns_not_the_targets_name() -> None:
    telco = _card("churn", ["tenure", "contract", "monthly_charges", "female", "senior_citizen"])
    # another company's churn file: the same target's name, other columns
    bank = _card("churn", ["balance", "age", "tenure", "num_products", "credit_score"])
    assert "shares 1 of 9 columns" in c.other_data(telco, bank)
    # a feature dropped (kept as left out) or one added: the same data
    assert (
        c.other_data(
            telco, _card("churn", ["tenure", "contract", "monthly_charges", "female"], ["senior_citizen"])
        )
        == ""
    )
    assert c.other_data(telco, _card("churn", [*(f["name"] for f in telco["features"]), "region"])) == ""
    assert "predicts 'churn', this branch 'left'" in c.other_data(telco, _card("left", ["tenure"]))
    assert "a classification model" in c.other_data(telco, _card("churn", ["tenure"], task="regression"))
