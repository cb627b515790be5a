"""The HTTP request's row model, generated from the data contract, so clients see what is accepted.

Types and nullability come from the serving half of the contract (core/contract.serving_check):
every feature may be null, because the model imputes. Ranges, allowed values and regexes are hard
constraints only when the contract's ``serving.out_of_contract`` is ``reject``; under ``warn`` they
are documented on the field and answered with a per-row warning, exactly as `make predict` does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from mlpipeline.core.contract import ColumnSpec, Contract

PYTHON_TYPES: dict[str, Any] = {
    "integer": int,
    "float": float,
    "string": str,
    "boolean": bool,
    "datetime": dt.datetime,
}
# Integers a JSON number holds exactly (and far inside int64): beyond them a client's "integer" has
# already been rounded by some JSON library on the way.
JSON_INT = (-(2**53), 2**53)


def _field(spec: ColumnSpec, *, nullable: bool, strict: bool) -> tuple[Any, Any]:
    kind: Any = PYTHON_TYPES[spec.dtype]
    constraints: dict[str, Any] = {}
    if spec.dtype == "integer":
        constraints.update(ge=JSON_INT[0], le=JSON_INT[1])
    if spec.dtype == "float":
        constraints["allow_inf_nan"] = False
    rules = []
    if spec.min is not None:
        rules.append(f"min {spec.min:g}")
        if strict:
            constraints["ge"] = spec.min
    if spec.max is not None:
        rules.append(f"max {spec.max:g}")
        if strict:
            constraints["le"] = spec.max
    if spec.allowed is not None:
        rules.append("one of: " + ", ".join(map(str, spec.allowed)))
        if strict:
            kind = Literal[tuple(spec.allowed)]
    if spec.regex is not None:
        rules.append(f"matches {spec.regex}")
        if strict and spec.dtype == "string":
            constraints["pattern"] = spec.regex
    extra = {"x-contract": rules} if rules and not strict else None
    description = (
        ("Must be " if strict else "Outside this, the row is predicted with a warning: ") + "; ".join(rules)
        if rules
        else None
    )
    # Present unless the contract says the column is optional; null where the model can impute.
    annotation = kind | None if nullable or not spec.required else kind
    default = ... if spec.required else None
    return annotation, Field(default, description=description, json_schema_extra=extra, **constraints)


def row_model(contract: Contract, target: str, features: list[str]) -> type[BaseModel]:
    """A pydantic model of one row: a field per contract column but the target; extra keys allowed
    (they are dropped with a warning, as `make predict` drops extra columns)."""
    strict = contract.serving.out_of_contract == "reject"
    fields = {
        name: _field(spec, nullable=spec.nullable or name in features, strict=strict)
        for name, spec in contract.columns.items()
        if name != target
    }
    return create_model(  # type: ignore[call-overload]
        "Row", __config__=ConfigDict(extra="allow", str_max_length=10_000), **fields
    )


def request_model(row: type[BaseModel]) -> type[BaseModel]:
    """``{"rows": [row, ...]}``, one row or more (the service answers too many with a 413)."""
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        rows=(list[row], Field(min_length=1)),  # type: ignore[valid-type]
    )


class Problem(BaseModel):
    """One reason a request was refused: the row (from 0), the column, the rule it broke."""

    row: int | None
    column: str | None
    rule: str
    examples: list[str] = []


class Problems(BaseModel):
    """The body of a 422."""

    detail: list[Problem]


class Message(BaseModel):
    """The body of a 413."""

    detail: str
