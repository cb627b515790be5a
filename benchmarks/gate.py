"""`make bench`, gate part: does the gate tell noise from a regression, and what does it cost?

- False alarms: models that differ only in ``model.seed`` (random forests), and the same model on
  other split seeds, compared in every ordered pair with the project's regression rules: the
  share of pairs the old point gate fails, and the share the paired gate fails.
- Detection: a catalogue of real regressions against the project's model; each must fail, and
  the line printed names the metric, the base and the interval.
- Cost: `make ci`'s gate on an unchanged branch against `dvc status`, and the bootstrap's share.

Everything runs on the bundled sample with the project's own code; rules come from params.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipeline import catalog
from mlpipeline.config import Settings, load_settings
from mlpipeline.core import compare, metrics
from mlpipeline.core import rules as r
from mlpipeline.core.frames import split_ready
from mlpipeline.core.model import fit
from mlpipeline.core.split import row_keys, split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from run import BIN, copy_project, median  # noqa: E402  (the bench's own project copy)


def settings_with(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with some sections replaced (e.g. model=..., split=...)."""
    data = settings.model_dump(mode="json")
    for section, values in changes.items():
        data[section] = {**data[section], **values}
    return Settings.model_validate(data)


def regression_rules(settings: Settings) -> list[r.Rule]:
    return [rule for rule in settings.gate.rules if rule.kind == "max_regression"]


class Scored:
    """A model's probabilities for a fixed set of test rows, and its bootstrap samples."""

    def __init__(
        self, proba: np.ndarray, y: np.ndarray, classes: list[Any], positive: Any, w: list, only: str = ""
    ) -> None:
        fns = metrics.classification_functions(y, proba, classes, positive)
        fns = {only: fns[only]} if only else fns
        self.point = metrics.point(fns, len(y))
        self.samples = {k: np.concatenate([fn(chunk) for chunk in w]) for k, fn in fns.items()}


def decide(rules: list[r.Rule], branch: Scored, base: Scored, paired: bool) -> list[r.Outcome]:
    """The project's rule code on one pair: with the paired interval, or on points alone."""
    evidence = {}
    for k in branch.point:
        delta = branch.samples[k] - base.samples[k]
        low, high = np.percentile(delta, [2.5, 97.5]) if paired else (None, None)
        se = float(np.std(delta)) if paired else None
        evidence[k] = r.Evidence(
            branch.point[k], base.point[k], low, high, "paired" if paired else "point", se, len(delta)
        )
    return [
        r.check_rule(rule, "classification", branch.point, {}, base.point, evidence=evidence)
        for rule in rules
    ]


def prepared(settings: Settings) -> pd.DataFrame:
    frame = pd.read_csv(ROOT / settings.data.raw)
    from mlpipeline.core.contract import check, load_contract

    validated, failures, _ = check(frame, load_contract(ROOT / settings.data.contract), settings.data.target)
    if failures:
        raise SystemExit("bench: the sample does not pass its contract")
    return split_ready(validated, settings.data)


def proba_of(settings: Settings, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, dict]:
    model, facts = fit(settings, train)
    return model.predict_proba(test[[f["name"] for f in facts["features"]]]), facts


def false_alarms(settings: Settings, frame: pd.DataFrame, models: int, resamples: int) -> dict[str, Any]:
    """Seeded retrains of an identical model (random forests differing only in ``model.seed``),
    each judged against the first by the project's regression rules: every failure is false."""
    rf = settings_with(settings, model={"estimator": "random_forest", "hyperparameters": {"n_jobs": 1}})
    target, ident = settings.data.target, settings.data.id_column
    train, test, _ = split(frame, settings.split, target, ident)
    y = test[target].to_numpy(dtype=object)
    weights = list(compare.resample_weights(len(y), resamples, seed=0))
    scored = []
    for seed in range(models + 1):
        proba, facts = proba_of(settings_with(rf, model={"seed": seed}), train, test)
        scored.append(Scored(proba, y, facts["classes"], facts["positive_class"], weights))
    return _pair_shares(regression_rules(settings), scored, scored, [(i, 0) for i in range(1, models + 1)])


def _pair_shares(rules, branches, bases, pairs) -> dict[str, Any]:
    point = paired = warned = 0
    for i, j in pairs:
        point += not r.verdict(decide(rules, branches[i], bases[j], paired=False))
        outcomes = decide(rules, branches[i], bases[j], paired=True)
        paired += not r.verdict(outcomes)
        warned += any(o.status == r.WARN for o in outcomes)
    n = len(pairs)
    return {
        "pairs": n,
        "point_gate_fails": point / n,
        "paired_gate_fails": paired / n,
        "inconclusive": warned / n,
    }


def split_seed_alarms(settings: Settings, frame: pd.DataFrame, seeds: int, resamples: int) -> dict[str, Any]:
    """The same settings on other split seeds: the old gate compared figures from different test
    sets; the new one scores both models on the rows neither trained on."""
    target, ident = settings.data.target, settings.data.id_column
    fits = []
    for seed in range(seeds):
        train, test, _ = split(frame, settings_with(settings, split={"seed": seed}).split, target, ident)
        model, facts = fit(settings, train)
        fits.append((model, [f["name"] for f in facts["features"]], row_keys(train, ident), test))

    def scored(model: Any, x: list[str], rows: pd.DataFrame, w: list) -> Scored:
        return Scored(
            model.predict_proba(rows[x]), rows[target].to_numpy(object), list(model.classes_), "Yes", w
        )

    rules = regression_rules(settings)
    pairs = list(permutations(range(seeds), 2))
    point = paired = 0
    for i, j in pairs:
        (m_i, x_i, _, test_i), (m_j, x_j, seen_j, test_j) = fits[i], fits[j]
        ones_i, ones_j = [np.ones((1, len(test_i)))], [np.ones((1, len(test_j)))]
        point += not r.verdict(
            decide(rules, scored(m_i, x_i, test_i, ones_i), scored(m_j, x_j, test_j, ones_j), False)
        )
        shared = test_i[compare.unseen(row_keys(test_i, ident), seen_j)]
        w = list(compare.resample_weights(len(shared), resamples, seed=0))
        paired += not r.verdict(decide(rules, scored(m_i, x_i, shared, w), scored(m_j, x_j, shared, w), True))
    return {
        "pairs": len(pairs),
        "point_gate_fails": point / len(pairs),
        "paired_gate_fails": paired / len(pairs),
    }


def regressions(settings: Settings, frame: pd.DataFrame) -> dict[str, pd.DataFrame | Settings]:
    """Five real regressions: (settings, train rows) a careless branch could produce."""
    target = settings.data.target
    train, _, _ = split(frame, settings.split, target, settings.data.id_column)
    importance = json.loads((ROOT / "metrics/plots/importance.json").read_text())
    strongest = [row["feature"] for row in importance[:3]]
    rng = np.random.default_rng(0)
    shuffled = train.copy()
    pick = rng.random(len(shuffled)) < 0.3
    shuffled.loc[pick, target] = rng.permutation(shuffled.loc[pick, target].to_numpy())
    no_signal = train.copy()
    positive = no_signal[target] == "Yes"
    donors = no_signal[~positive].sample(int(positive.sum()), replace=True, random_state=0)
    features = [c for c in no_signal.columns if c not in (target, settings.data.id_column)]
    no_signal.loc[positive, features] = donors[features].to_numpy()
    return {
        f"strongest features dropped ({', '.join(strongest)})": (
            settings_with(settings, features={"drop": strongest}),
            train,
        ),
        "30% of training labels shuffled": (settings, shuffled),
        "much weaker estimator (random forest, depth 1, 3 trees)": (
            settings_with(
                settings,
                model={"estimator": "random_forest", "hyperparameters": {"max_depth": 1, "n_estimators": 3}},
            ),
            train,
        ),
        "underfitting hyperparameter (C = 0.0005)": (
            settings_with(settings, model={"hyperparameters": {"C": 0.0005, "max_iter": 1000}}),
            train,
        ),
        "the positive class's signal removed (churners' features drawn from non-churners)": (
            settings,
            no_signal,
        ),
    }


def detection(settings: Settings, frame: pd.DataFrame, resamples: int) -> list[dict[str, Any]]:
    target, ident = settings.data.target, settings.data.id_column
    train, test, _ = split(frame, settings.split, target, ident)
    y = test[target].to_numpy(object)
    w = list(compare.resample_weights(len(y), resamples, seed=0))
    base_proba, facts = proba_of(settings, train, test)
    base = Scored(base_proba, y, facts["classes"], facts["positive_class"], w)
    found = []
    for name, (s, rows) in regressions(settings, frame).items():
        proba, f = proba_of(s, rows, test)
        outcomes = decide(
            regression_rules(settings), Scored(proba, y, f["classes"], f["positive_class"], w), base, True
        )
        found.append(
            {
                "regression": name,
                "caught": not r.verdict(outcomes),
                "broken": [
                    f"{r.describe(o)}: {o.value:.4f} vs base {o.base_value:.4f},"
                    f" change {o.delta:+.4f} [{o.delta_low:+.4f}, {o.delta_high:+.4f}]"
                    for o in outcomes
                    if o.status == r.FAIL
                ],
            }
        )
    return found


def _noisy(proba: np.ndarray, scale: float, noise: np.ndarray) -> np.ndarray:
    """The base's probabilities with ``scale`` times ``noise`` added on the logit scale."""
    p = np.clip(proba[:, 1], 1e-9, 1 - 1e-9)
    q = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + scale * noise)))
    return np.column_stack([1 - q, q])


def operating_characteristics(
    settings: Settings, frame: pd.DataFrame, sims: int, resamples: int, pool_rows: int = 200_000
) -> list[dict[str, Any]]:
    """How often each regression rule fails a branch that is truly worse by 1, 2 and 3 times its
    tolerance, on test sets of the project's size.

    The population: the base model's test rows resampled to ``pool_rows``. A branch is the base's
    probabilities with logit noise; its scale is set (bisection) so the branch is worse on the
    whole population by exactly k x tolerance. Each simulation draws a test set of the real
    size from the population and runs the paired gate on it.
    """
    target, ident = settings.data.target, settings.data.id_column
    train, test, _ = split(frame, settings.split, target, ident)
    proba, facts = proba_of(settings, train, test)
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(test), pool_rows)
    y_pool = test[target].to_numpy(object)[pick]
    p_pool, noise = proba[pick], rng.normal(size=pool_rows)
    classes, positive = facts["classes"], facts["positive_class"]

    def figure(metric: str, p: np.ndarray) -> float:
        fns = metrics.classification_functions(y_pool, p, classes, positive)
        return metrics.point({metric: fns[metric]}, pool_rows)[metric]

    out = []
    for rule in regression_rules(settings):
        higher = catalog.figures("classification")[rule.metric].better == catalog.HIGHER
        base_value = figure(rule.metric, p_pool)

        def worse_by(
            scale: float, metric: str = rule.metric, start: float = base_value, up: bool = higher
        ) -> float:
            value = figure(metric, _noisy(p_pool, scale, noise))
            return start - value if up else value - start

        for k in (0, 1, 2, 3):
            goal, low, high = k * rule.bound, 0.0, 8.0
            for _ in range(30):
                mid = (low + high) / 2
                low, high = (mid, high) if worse_by(mid) < goal else (low, mid)
            branch_pool = _noisy(p_pool, (low + high) / 2, noise) if k else p_pool
            failed, stated = 0, []
            other = {"interval wholly past t": 0, "interval reaching past t": 0}
            for sim in range(sims):
                rows = rng.integers(0, pool_rows, len(test))
                w = list(compare.resample_weights(len(rows), resamples, seed=sim))
                y = y_pool[rows]
                base = Scored(p_pool[rows], y, classes, positive, w, only=rule.metric)
                branch = Scored(branch_pool[rows], y, classes, positive, w, only=rule.metric)
                outcome = decide([rule], branch, base, paired=True)[0]
                failed += outcome.status == r.FAIL
                stated.append(outcome.fails_at_tolerance if k == 1 else outcome.fails_at_twice)
                # The decision rules the default was chosen over, on the same evidence (the change's
                # interval, turned so that a regression is negative).
                sign = 1 if higher else -1
                lo, hi = sorted((sign * outcome.delta_low, sign * outcome.delta_high))
                other["interval wholly past t"] += hi < -rule.bound
                other["interval reaching past t"] += lo < -rule.bound
            out.append(
                {
                    "rule": r.describe(outcome),
                    "true_regression": round(goal, 6),
                    "times_tolerance": k,
                    "simulations": sims,
                    "failed": failed / sims,
                    # what the report says the rule does at this size (1x and 2x the tolerance)
                    "report_says": round(float(np.median(stated)), 4) if k in (1, 2) else None,
                    "other_rules_fail": {name: n / sims for name, n in other.items()},
                }
            )
    return out


def _spin(stop: Any) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def latency_under_load(settings: Settings, rows: int = 200) -> dict[str, Any]:
    """The gate's timing figures on a quiet machine and beside a CPU hog (one busy process per
    core): the absolute p95 of the served path, and the ratio rule (`latency_p95_ms`,
    `max_regression: 0.5`) for the same model against itself and for a path three times slower."""
    import multiprocessing as mp

    from mlpipeline.adapters.files import read_json
    from mlpipeline.adapters.modelstore import load_verified
    from mlpipeline.core import latency
    from mlpipeline.core.contract import load_contract
    from mlpipeline.core.rows import as_records, served_call

    card = read_json(ROOT / "models/model.json")
    model = load_verified(ROOT / "models/model.joblib", card)
    contract = load_contract(ROOT / settings.data.contract, settings.data.target)
    frame = pd.read_parquet(ROOT / "data/prepared/test.parquet").iloc[:rows]  # compare also times it whole
    test = as_records(frame.drop(columns=[settings.data.target]))
    served = served_call(model, card, contract)

    def three_times(x: list[Any]) -> Any:
        for _ in range(2):
            served(x)
        return served(x)

    rule = r.Rule(metric="latency_p95_ms", max_regression=0.5)

    def judged(branch: Any) -> dict[str, Any]:
        timed = latency.compare({"branch": (branch, test), "base": (served, test)}, rows)
        ev = r.Evidence(
            timed["branch"]["latency_p95_ms"], timed["base"]["latency_p95_ms"], None, None, r.TIMED
        )
        out = r.check_rule(rule, "classification", {}, {}, {}, evidence={"latency_p95_ms": ev})
        return {"ratio": round(ev.value / ev.base_value, 2), "status": out.status, "p95_ms": ev.value}

    figures: dict[str, Any] = {}
    for condition in ("quiet", "cpu hog"):
        stop, hogs = mp.Event(), []
        if condition == "cpu hog":
            hogs = [mp.Process(target=_spin, args=(stop,)) for _ in range(os.cpu_count() or 2)]
            for h in hogs:
                h.start()
        try:
            alone = latency.measure(served, test, rows, 0, 1.0)
            figures[condition] = {
                "p50_ms": alone["latency_p50_ms"],
                "p95_ms": alone["latency_p95_ms"],
                "same_model": judged(served),
                "three_times_slower": judged(three_times),
            }
        finally:
            stop.set()
            for h in hogs:
                h.join()
    return figures


def cost(reps: int) -> dict[str, float]:
    """`make ci`'s gate step on an unchanged branch, against `dvc status`, in a project copy."""
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        p = copy_project(Path(tmp) / "project")
        commit = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm"]
        p.run("git", "add", "-A")
        p.run(*commit, "results as reproduced here", "--allow-empty")  # the copy's main is clean
        p.run("git", "checkout", "-q", "-b", "unchanged")
        status, gate, repro = [], [], []
        for _ in range(reps):
            status.append(p.dvc("status", "-q"))
            repro.append(p.dvc("repro", "-q"))
            gate.append(p.run(str(BIN / "python"), "-m", "mlpipeline.commands.ci_gate", "--base", "main"))
    settings = load_settings(ROOT / "params.yaml")
    test = pd.read_parquet(ROOT / "data/prepared/test.parquet")
    rng = np.random.default_rng(0)
    proba = rng.random((len(test), 2))
    y = test[settings.data.target].to_numpy(object)
    start = time.perf_counter()
    compare.paired("classification", y, proba, proba[::-1].copy(), ["No", "Yes"], "Yes")
    boot = time.perf_counter() - start
    ci = median(repro) + median(gate)
    return {
        "dvc_status_s": median(status),
        "noop_repro_s": median(repro),
        "ci_gate_s": median(gate),
        "make_ci_over_status": round(ci / median(status), 2),
        "bootstrap_s": round(boot, 3),
        "bootstrap_share_of_gate": round(boot / median(gate), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/gate.py")
    parser.add_argument("--models", type=int, default=200, help="seeded retrains of a random forest")
    parser.add_argument("--sims", type=int, default=200, help="test sets per true regression")
    parser.add_argument("--pool-rows", type=int, default=200_000, help="rows of the simulated population")
    parser.add_argument("--latency-rows", type=int, default=200, help="rows timed, quiet and under load")
    parser.add_argument("--split-seeds", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=compare.RESAMPLES)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "metrics/bench_gate_latency.json")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = load_settings(ROOT / "params.yaml")
    frame = prepared(settings)
    figures = {
        "seed_only_models": false_alarms(settings, frame, args.models, args.resamples),
        "split_seeds": split_seed_alarms(settings, frame, args.split_seeds, args.resamples),
        "detection": detection(settings, frame, args.resamples),
        "operating": operating_characteristics(settings, frame, args.sims, args.resamples, args.pool_rows),
        "latency": latency_under_load(settings, args.latency_rows),
        "cost": cost(args.reps),
    }
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    a, s, c = figures["seed_only_models"], figures["split_seeds"], figures["cost"]
    lines = [
        f"gate: false failures, {args.models} seeded retrains of a random forest against the first:"
        f" point gate fails {a['point_gate_fails']:.1%}; paired gate fails {a['paired_gate_fails']:.1%}"
        f" (goal <= 5%); warnings {a['inconclusive']:.1%}",
        f"gate: false alarms, the same model on {args.split_seeds} split seeds ({s['pairs']} ordered"
        f" pairs): point gate fails {s['point_gate_fails']:.1%};"
        f" paired gate fails {s['paired_gate_fails']:.1%}",
    ]
    lines.append(
        "gate: how often each rule fails a true regression of 0, 1, 2, 3 x its tolerance"
        " (project-sized test sets), against what its report says, and two other decision rules:"
    )
    for o in figures["operating"]:
        said = f"; the report says {o['report_says']:.0%}" if o["report_says"] is not None else ""
        others = ", ".join(f"{name} {n:.0%}" for name, n in o["other_rules_fail"].items())
        lines.append(
            f"  {o['rule']:38} {o['times_tolerance']}x ({o['true_regression']:.3g}): fails"
            f" {o['failed']:.0%} of {o['simulations']}{said} ({others})"
        )
    for condition, t in figures["latency"].items():
        lines.append(
            f"gate: latency, {condition}: served row p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms; ratio rule"
            f" (p95 at most 50% over the base): same model {t['same_model']['ratio']}x"
            f" {t['same_model']['status']}, three times slower {t['three_times_slower']['ratio']}x"
            f" {t['three_times_slower']['status']}"
        )
    lines.append("gate: catalogue of real regressions (each must fail):")
    for d in figures["detection"]:
        lines.append(f"  {'caught' if d['caught'] else 'MISSED'}  {d['regression']}")
        lines += [f"          {line}" for line in d["broken"]]
    lines.append(
        f"gate: cost: dvc status {c['dvc_status_s']} s, no-op dvc repro {c['noop_repro_s']} s,"
        f" ci gate {c['ci_gate_s']} s; make ci / dvc status {c['make_ci_over_status']};"
        f" bootstrap {c['bootstrap_s']} s ({c['bootstrap_share_of_gate']:.0%} of the gate)"
    )
    print("\n".join(lines))
    print(f"gate: {figures['wall_s']} s in all; figures in {args.out}")
    return 0 if all(d["caught"] for d in figures["detection"]) else 1


if __name__ == "__main__":
    sys.exit(main())
