"""The served path: rows as JSON objects in, `make predict`'s columns out, in milliseconds.

Every protocol the service speaks (its own ``/predict``, the Open Inference Protocol, MLflow's
``/invocations``) ends here, and so does evaluate's latency figure, so the figure the gate judges
is the path clients get. Steps, each bounded before any per-row work is paid for:

1. ``RowPath.check``: each row against the contract's row model (pydantic, one row at a time),
   stopping at ``MAX_PROBLEMS`` problems, so a body of 10,000 empty rows costs one short answer;
2. ``RowPath.score``: the contract's value rules (warnings or a refusal, as `make predict` words
   them), then the model through ``core.fastpath`` when it compiled, through the pandas path
   (``core.prediction.score``) when it did not. Both give the same answers; tests hold them to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from mlpipeline.core import contract as contract_mod
from mlpipeline.core.fastpath import CompiledModel, compile_model
from mlpipeline.core.prediction import BatchRejectedError, Served, known_categories, score
from mlpipeline.core.schema import row_model

MAX_PROBLEMS = 50
Record = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """Why a row was refused: its index, the column, the rule."""

    row: int | None
    column: str | None
    rule: str
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON a client reads."""
        out: dict[str, Any] = {"row": self.row, "column": self.column, "rule": self.rule}
        if self.examples:
            out["examples"] = self.examples
        return out


@dataclass(frozen=True)
class Scored:
    """Predictions in `make predict`'s columns (one dict per row) and notes on the batch."""

    columns: list[str]
    rows: list[Record]
    notes: list[str]

    def column(self, name: str) -> list[Any]:
        """One output column, row by row."""
        return [r[name] for r in self.rows]


Rule = tuple[str, Callable[[Any], bool]]


def _value_rules(spec: contract_mod.ColumnSpec, known: set[Any] | None) -> list[Rule]:
    """The contract's value rules for one column, in the order `make predict` reports them."""
    rules: list[Rule] = []
    if spec.min is not None:
        low = spec.min
        rules.append((f"below min {contract_mod._num(low)}", lambda v: v < low))
    if spec.max is not None:
        high = spec.max
        rules.append((f"above max {contract_mod._num(high)}", lambda v: v > high))
    if spec.allowed is not None:
        allowed = set(spec.allowed)
        rules.append(("not an allowed value", lambda v: v not in allowed))
    elif known is not None:
        rules.append(("a category the model never saw", lambda v: v not in known))
    if spec.regex is not None:
        pattern = re.compile(spec.regex)
        rules.append((f"does not match {spec.regex}", lambda v: pattern.match(str(v)) is None))
    return rules


class RowPath:
    """One verified model's served path: check rows, then score them."""

    def __init__(self, served: Served, *, fast: bool = True) -> None:
        self.served = served
        card, contract = served.card, served.contract
        self.target, self.id_column = card["target"], card.get("id_column")
        self.row = row_model(contract, self.target, served.features)
        self.specs = {n: s for n, s in contract.columns.items() if n != self.target}
        known = known_categories(served.model)
        self.rules = {name: _value_rules(spec, known.get(name)) for name, spec in self.specs.items()}
        self.reject = contract.serving.out_of_contract == "reject"
        self.compiled: CompiledModel | None = None
        self.why_not_fast = "turned off"
        if fast:
            self.compiled, self.why_not_fast = compile_model(served.model, card)
        self.known = known

    def check(self, items: list[Any], max_problems: int = MAX_PROBLEMS) -> tuple[list[Record], list[Problem]]:
        """Rows as the contract types them, or the first ``max_problems`` problems found."""
        records: list[Record] = []
        problems: list[Problem] = []
        for i, item in enumerate(items):
            try:
                records.append(self.row.model_validate(item).model_dump())
            except ValidationError as exc:
                for err in exc.errors(include_url=False, include_input=False):
                    column = ".".join(map(str, err["loc"])) or None
                    problems.append(Problem(i, column, err["msg"]))
                    if len(problems) >= max_problems:
                        problems.append(Problem(None, None, f"stopped after {max_problems} problems"))
                        return [], problems
        return records, problems

    def score(self, records: list[Record], source: str = "request") -> Scored:
        """`make predict`'s columns for checked rows; ``BatchRejectedError`` if the contract refuses them."""
        if self.compiled is None:
            return self._score_frame(records, source)
        notes = []
        dropped = self._extra_columns(records)
        if dropped:
            notes.append(f"{source}: columns the model does not use were dropped: {', '.join(dropped)}")
        warnings = self._warnings(records, source)
        predicted = self.compiled.predict(records)
        columns = ([self.id_column] if self._has_id(records) else []) + [*predicted, "warnings"]
        values = {name: array.tolist() for name, array in predicted.items()}
        rows = []
        for i, record in enumerate(records):
            row = {self.id_column: record[self.id_column]} if columns[0] == self.id_column else {}
            row.update({name: values[name][i] for name in predicted})
            row["warnings"] = warnings[i]
            rows.append(row)
        flagged = sum(1 for w in warnings if w)
        if flagged:
            notes.append(
                f"{flagged} row(s) outside the data contract were predicted; see their warnings column"
            )
        return Scored(columns, rows, notes)

    def _has_id(self, records: list[Record]) -> bool:
        return bool(self.id_column) and self.id_column in self.specs

    def _extra_columns(self, records: list[Record]) -> list[str]:
        seen: dict[str, None] = {}
        for record in records:
            for key in record:
                if key not in self.specs and key != self.target:
                    seen.setdefault(key, None)
        return list(seen)

    def _warnings(self, records: list[Record], source: str) -> list[str]:
        """Per-row warnings; raises ``BatchRejectedError`` instead under ``out_of_contract: reject``."""
        notes: list[list[str]] = [[] for _ in records]
        failures = []
        for name, rules in self.rules.items():
            for rule, breaks in rules:
                hits = [i for i, r in enumerate(records) if r.get(name) is not None and breaks(r[name])]
                if not hits:
                    continue
                shown = [contract_mod._show(records[i][name]) for i in hits]
                if self.reject:
                    examples = list(dict.fromkeys(shown))[: contract_mod.EXAMPLES_SHOWN]
                    failures.append(contract_mod.Failure(name, rule, len(hits), examples))
                for i, text in zip(hits, shown, strict=True):
                    notes[i].append(f"{name}={text}: {rule}")
        if failures:
            raise BatchRejectedError(failures, source)
        return ["; ".join(n) for n in notes]

    def _score_frame(self, records: list[Record], source: str) -> Scored:
        """The pandas path, for models the fast path does not read."""
        frame = pd.DataFrame(records)
        served = self.served
        # No per-call thread limit: the service sets it once per worker process (commands/serve.py).
        predictions, notes = score(served.model, served.card, served.contract, frame, source, False)
        rows = [
            {k: _plain(v) for k, v in row.items()}
            for row in predictions.astype(object).where(predictions.notna(), None).to_dict(orient="records")
        ]
        return Scored([str(c) for c in predictions.columns], rows, notes)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def as_records(frame: pd.DataFrame) -> list[Record]:
    """A frame's rows as a client would send them: JSON values, null for missing."""
    return [
        {k: _plain(v) for k, v in row.items()}
        for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ]


def served_call(
    model: Any, card: dict[str, Any], contract: contract_mod.Contract
) -> Callable[[list[Any]], Scored | None]:
    """What one request to the service costs, for timing: its rows checked, then scored.

    Takes rows as a client sends them (``as_records``); the figure evaluate writes and the gate
    judges is this path's, the one `make serve` answers on.
    """
    path = RowPath(Served(model, card, contract, {}))

    def call(items: list[Any]) -> Scored | None:
        records, problems = path.check(items)
        return None if problems else path.score(records, "latency")

    return call


def problems_of(failures: list[contract_mod.Failure]) -> list[Problem]:
    """A refused batch's failures as problems a client reads."""
    return [Problem(None, f.column, f.check, list(f.examples)) for f in failures]
