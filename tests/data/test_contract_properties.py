"""Property-based: frames that keep the contract pass; one injected violation is named."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpipeline.core.contract import Contract, check

CONTRACT = Contract.model_validate(
    {
        "columns": {
            "id": {"dtype": "string", "unique": True, "regex": r"^u\d+$"},
            "age": {"dtype": "integer", "min": 18, "max": 99},
            "income": {"dtype": "float", "nullable": True, "min": 0},
            "plan": {"dtype": "string", "allowed": ["basic", "plus", "pro"]},
            "label": {"dtype": "string", "allowed": ["no", "yes"]},
        },
        # Duplicate rows are the catalogue's business; here a repeated id must be named alone.
        "table": {"min_rows": 5, "max_duplicate_share": 1.0},
    }
)

row = st.fixed_dictionaries(
    {
        "age": st.integers(18, 99),
        "income": st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
        "plan": st.sampled_from(["basic", "plus", "pro"]),
        "label": st.sampled_from(["no", "yes"]),
    }
)
frames = st.lists(row, min_size=5, max_size=40).map(
    lambda rows: pd.DataFrame([{"id": f"u{i}", **r} for i, r in enumerate(rows)])
)

# Each violation: how to inject it into row i, and the (column, check) it must be reported as.
VIOLATIONS = {
    "age below min": (lambda f, i: f.__setitem__("age", f["age"].where(f.index != i, 17)), ("age", "min 18")),
    "age above max": (
        lambda f, i: f.__setitem__("age", f["age"].where(f.index != i, 100)),
        ("age", "max 99"),
    ),
    "negative income": (
        lambda f, i: f.__setitem__("income", f["income"].where(f.index != i, -1.0)),
        ("income", "min 0"),
    ),
    "unknown plan": (
        lambda f, i: f.__setitem__("plan", f["plan"].where(f.index != i, "gold")),
        ("plan", "allowed values: basic, plus, pro"),
    ),
    "missing label": (
        lambda f, i: f.__setitem__("label", f["label"].where(f.index != i, None)),
        ("label", "not null"),
    ),
    "bad id": (lambda f, i: f.__setitem__("id", f["id"].where(f.index != i, "x")), ("id", r"matches ^u\d+$")),
    "repeated id": (
        lambda f, i: f.__setitem__("id", f["id"].where(f.index != i, f["id"].iloc[(i + 1) % len(f)])),
        ("id", "unique"),
    ),
}

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(frames)
def test_valid_frames_pass(frame: pd.DataFrame) -> None:
    _, failures, _ = check(frame, CONTRACT, "label")
    assert failures == []


@FAST
@given(frames, st.sampled_from(sorted(VIOLATIONS)), st.data())
def test_one_injected_violation_is_named(frame: pd.DataFrame, name: str, data: st.DataObject) -> None:
    inject, expected = VIOLATIONS[name]
    frame = frame.astype(object)
    inject(frame, data.draw(st.integers(0, len(frame) - 1)))
    _, failures, _ = check(frame, CONTRACT, "label")
    assert [(f.column, f.check) for f in failures] == [expected]
