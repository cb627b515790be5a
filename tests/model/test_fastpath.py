"""The served path's compiled model answers exactly as the pandas path (`make predict`'s) does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipeline.config import parse_settings
from mlpipeline.core.contract import infer_contract, parse_contract
from mlpipeline.core.frames import split_ready
from mlpipeline.core.model import fit
from mlpipeline.core.prediction import BatchRejectedError, Served
from mlpipeline.core.rows import RowPath, as_records

CASES = [
    ("classification", "logistic_regression", 2),
    ("classification", "logistic_regression", 3),
    ("classification", "random_forest", 2),
    ("classification", "hist_gradient_boosting", 3),
    ("regression", "ridge", 0),
    ("regression", "hist_gradient_boosting", 0),
    # numbers passed through with their NaN, text as category codes (NaN when unseen)
    ("classification", "lightgbm", 3),
    ("regression", "lightgbm", 0),
]


def _table(task: str, classes: int, rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """Numbers with nulls, an all-null column, text with nulls, a text column wider than the
    one-hot limit (its rare values share a column), and a target that depends on them."""
    rng = np.random.default_rng(seed)
    wide = rng.integers(0, 60, rows)
    frame = pd.DataFrame(
        {
            "row_id": [f"r{i}" for i in range(rows)],
            "amount": rng.lognormal(3, 1, rows).round(2),
            "count": rng.integers(0, 40, rows),
            "empty": np.nan,
            "colour": rng.choice(["red", "green", "blue"], rows),
            "city": [f"c{w}" for w in wide],
        }
    )
    frame["amount"] = frame["amount"].mask(rng.random(rows) < 0.1)
    frame["colour"] = frame["colour"].mask(rng.random(rows) < 0.1)
    signal = frame["amount"].fillna(20) / 20 + (frame["colour"] == "red") * 2 + (wide % 5) / 3
    signal = signal + rng.normal(0, 0.5, rows)
    if task == "regression":
        frame["y"] = signal.round(3)
    else:
        frame["y"] = pd.qcut(signal, classes, labels=[f"k{i}" for i in range(classes)]).astype(str)
    return frame


def _served(task: str, estimator: str, classes: int, reject: bool = False) -> tuple[Served, pd.DataFrame]:
    settings = parse_settings(
        {
            "task": task,
            "data": {"raw": "x.csv", "contract": "c.yaml", "target": "y", "id_column": "row_id"},
            "split": {"policy": "stratified" if task == "classification" else "random"},
            "model": {
                "estimator": estimator,
                "hyperparameters": {"max_iter": 50} if "gradient" in estimator else {},
            },
        }
    )
    raw = _table(task, classes)
    spec = infer_contract(raw, "y", "row_id")
    if reject:
        spec["serving"] = {"out_of_contract": "reject"}
    contract = parse_contract(spec, "c.yaml", "y")
    frame = split_ready(raw.copy(), settings.data)
    model, facts = fit(settings, frame.iloc[:500])
    card = {**facts, "task": task, "target": "y", "id_column": "row_id", "estimator": estimator}
    return Served(model, card, contract, {}), raw.iloc[500:]


def _requests(rows: pd.DataFrame) -> list[dict]:
    """Held-out rows as clients send them, plus what clients get wrong: unseen and missing text,
    missing and out-of-range numbers, a column the model does not use."""
    items = as_records(rows.drop(columns=["y"]))
    items[0]["colour"] = "violet"
    items[1]["city"] = "nowhere"
    items[2]["amount"] = None
    items[3]["colour"] = None
    items[4]["count"] = 10_000
    items[5]["extra"] = "ignored"
    return items


@pytest.mark.parametrize(("task", "estimator", "classes"), CASES)
def test_the_compiled_path_gives_the_pandas_paths_answers(task: str, estimator: str, classes: int) -> None:
    served, held_out = _served(task, estimator, classes)
    fast, slow = RowPath(served), RowPath(served, fast=False)
    assert fast.compiled is not None, fast.why_not_fast
    records, problems = fast.check(_requests(held_out))
    assert not problems
    ours, theirs = fast.score(records), slow.score(records)
    assert ours.columns == theirs.columns and ours.notes == theirs.notes
    assert ours.rows == theirs.rows
    assert ours.rows[0]["warnings"] and ours.rows[4]["warnings"] and not ours.rows[2]["warnings"]
    for one in records[:5]:  # a single row, as a request usually holds
        assert fast.score([one]).rows == slow.score([one]).rows


def test_a_refused_batch_is_refused_alike() -> None:
    served, held_out = _served("classification", "logistic_regression", 2, reject=True)
    records, _ = RowPath(served).check(_requests(held_out))
    messages = []
    for path in (RowPath(served), RowPath(served, fast=False)):
        with pytest.raises(BatchRejectedError) as caught:
            path.score(records)
        messages.append(str(caught.value))
    # Ranges and allowed values are the row model's under reject (refused at check); a category
    # the model never saw is the score's to refuse.
    assert messages[0] == messages[1] and "city    a category the model never saw  1" in messages[0]


def test_a_model_the_fast_path_does_not_read_keeps_the_pandas_path() -> None:
    served, _ = _served("classification", "logistic_regression", 2)
    card = {**served.card, "features": [*served.card["features"], {"name": "when", "kind": "datetime"}]}
    path = RowPath(Served(served.model, card, served.contract, {}))
    assert path.compiled is None and "when" in path.why_not_fast


def test_checking_rows_stops_at_a_bounded_number_of_problems() -> None:
    served, _ = _served("classification", "logistic_regression", 2)
    records, problems = RowPath(served).check([{}] * 10_000, max_problems=20)
    assert records == [] and len(problems) == 21 and problems[-1].rule == "stopped after 20 problems"
    assert (problems[0].row, problems[0].column, problems[0].rule) == (0, "row_id", "Field required")
