"""The data contract: a YAML file mapped onto pandera's built-in checks.

``load_contract`` reads and validates the YAML, ``check`` runs pandera lazily so every problem
is collected at once, ``format_failures`` prints them as one table, and ``infer_contract``
writes a starter contract from a CSV (``python -m mlpipeline.commands.contract infer ...``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlpipeline.config import format_error, read_yaml
from mlpipeline.errors import PipelineError

DType = Literal["integer", "float", "string", "boolean", "datetime"]
PANDAS_DTYPES: dict[str, str] = {
    "integer": "Int64",  # nullable, so a missing value is not mistaken for a type error
    "float": "float64",
    "string": "str",
    "boolean": "boolean",
    "datetime": "datetime64[ns]",
}
EXAMPLES_SHOWN = 5


class ColumnSpec(BaseModel):
    """What one column must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: DType
    nullable: bool = False
    required: bool = True
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str | int | float | bool] | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ColumnSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self


class TableRules(BaseModel):
    """Rules about the whole table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = Field(1, ge=1)
    extra_columns: Literal["error", "drop"] = "error"
    max_duplicate_share: float = Field(0.0, ge=0, le=1)
    min_class_share: float | None = Field(None, ge=0, le=0.5)


class ServingRules(BaseModel):
    """How prediction treats rows the model can score but the contract would not train on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # warn: predict every row and name what is off in its `warnings`; reject: refuse the batch.
    out_of_contract: Literal["warn", "reject"] = "warn"


class Contract(BaseModel):
    """Columns, table rules, and the serving rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, ColumnSpec] = Field(min_length=1)
    table: TableRules = TableRules()
    serving: ServingRules = ServingRules()


@dataclass(frozen=True)
class Failure:
    """One broken rule: where, which check, how many rows, a few example values."""

    column: str
    check: str
    count: int
    examples: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # the files of a partitioned table it is in


def load_contract(path: str | Path, target: str | None = None) -> Contract:
    """Read and validate a contract file; the target, if given, must be one of its columns."""
    return parse_contract(read_yaml(path), str(path), target)


def parse_contract(data: Any, source: str, target: str | None = None) -> Contract:
    """Validate an already-loaded contract; every problem names ``source`` and the key."""
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {format_error(err, Contract)}" for err in exc.errors()]
        raise PipelineError("\n".join(lines)) from None
    if target is not None and target not in contract.columns:
        raise PipelineError(
            f"{source}: the target '{target}' (data.target in params.yaml) has no entry under columns"
        )
    return contract


def table_figures(frame: pd.DataFrame, target: str | None) -> dict[str, float]:
    """The whole-table figures the table rules judge; computed once, reported as data quality."""
    figures = {"rows": float(len(frame)), "duplicate_share": duplicate_share(frame)}
    if target is not None and target in frame.columns:
        figures["min_class_share"] = min_class_share(frame[target])
    return figures


def build_schema(
    contract: Contract, target: str | None, *, figures: dict[str, float] | None = None
) -> pa.DataFrameSchema:
    """Map the contract onto a pandera schema of built-in checks.

    The table rules judge ``figures`` (see ``table_figures``), computed once by the caller.
    Prediction uses ``serving_check`` instead.
    """
    columns = {name: _column(name, spec, is_target=name == target) for name, spec in contract.columns.items()}
    rules = contract.table
    fig = figures or {}
    checks = [
        pa.Check(
            lambda df, n=rules.min_rows: len(df) >= n,
            name="min_rows",
            error=f"table: at least {rules.min_rows} rows",
        )
    ]
    if rules.max_duplicate_share < 1:
        checks.append(
            pa.Check(
                lambda df, s=rules.max_duplicate_share: fig["duplicate_share"] <= s,
                name="max_duplicate_share",
                error=f"table: duplicated rows at most {rules.max_duplicate_share:.1%}",
            )
        )
    if target and rules.min_class_share is not None:
        checks.append(
            pa.Check(
                lambda df, s=rules.min_class_share: fig["min_class_share"] >= s,
                name="min_class_share",
                error=f"table: rarest class of '{target}' at least {rules.min_class_share:.1%}",
            )
        )
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        strict="filter" if rules.extra_columns == "drop" else True,
        coerce=True,
    )


def _column(name: str, spec: ColumnSpec, *, is_target: bool) -> pa.Column:
    checks = []
    if spec.min is not None:
        checks.append(pa.Check.ge(spec.min, error=f"min {_num(spec.min)}"))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max, error=f"max {_num(spec.max)}"))
    if spec.allowed is not None:
        shown = ", ".join(map(str, spec.allowed[:8])) + (", ..." if len(spec.allowed) > 8 else "")
        checks.append(pa.Check.isin(spec.allowed, error=f"allowed values: {shown}"))
    if spec.regex is not None:
        checks.append(pa.Check.str_matches(spec.regex, error=f"matches {spec.regex}"))
    return pa.Column(
        PANDAS_DTYPES[spec.dtype],
        checks=checks,
        nullable=spec.nullable and not is_target,  # a row without a target cannot train
        unique=spec.unique,
        required=spec.required,
        coerce=True,
        name=name,
    )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check(
    frame: pd.DataFrame,
    contract: Contract,
    target: str | None,
    *,
    figures: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, list[Failure], list[str]]:
    """Validate ``frame``; return the coerced frame, every failure, and the dropped extra columns.

    ``figures`` are the table figures if the caller already has them (``table_figures``).

    Columns are coerced in place (``frame`` is the caller's to give up): at millions of rows a
    second copy of the table is the largest memory cost of validation.
    """
    if figures is None:
        figures = table_figures(frame, target)
    schema = build_schema(contract, target, figures=figures)
    expected = set(schema.columns)
    extras = [c for c in frame.columns if c not in expected]
    dropped = extras if contract.table.extra_columns == "drop" else []
    fractional = fractional_integers(frame, contract)
    try:
        # pandera filters extra columns into a new frame; in place it only coerces.
        validated = schema.validate(frame, lazy=True, inplace=contract.table.extra_columns != "drop")
    except pa.errors.SchemaErrors as exc:
        return frame, _reported(exc, fractional), dropped
    except pa.errors.SchemaError as exc:  # raised eagerly by some table-wide problems
        return frame, [Failure("(table)", str(exc).splitlines()[0], 1)], dropped
    return validated, [], dropped


@dataclass
class ServingCheck:
    """What prediction may use: the coerced frame, what stops the batch, what each row is warned of."""

    frame: pd.DataFrame
    failures: list[Failure]
    dropped: list[str]
    warnings: pd.Series  # one string per row, empty when nothing is off


def serving_check(
    frame: pd.DataFrame,
    contract: Contract,
    target: str,
    features: list[str],
    known_categories: dict[str, set[Any]] | None = None,
) -> ServingCheck:
    """The contract as prediction needs it: what the model can score, and what it cannot vouch for.

    Training data must meet every rule; a row to score must only be readable by the model: each
    required column present with values of its type, nulls allowed in every feature (the model
    imputes them), extra columns dropped. Values outside a range, outside ``allowed``, against a
    ``regex``, or categories the model never saw become per-row warnings, or failures when the
    contract's ``serving.out_of_contract`` is ``reject``.
    """
    specs = {name: spec for name, spec in contract.columns.items() if name != target}
    dropped = [str(c) for c in frame.columns if c not in specs]
    nullable = {name for name, spec in specs.items() if spec.nullable or name in features}
    coerced = _coerce_clean(frame, specs, nullable)
    if coerced is None:  # something is off: pandera finds and names every problem
        columns = {
            name: pa.Column(
                PANDAS_DTYPES[spec.dtype],
                nullable=name in nullable,
                required=spec.required,
                coerce=True,
                name=name,
            )
            for name, spec in specs.items()
        }
        try:
            coerced = pa.DataFrameSchema(columns, strict="filter", coerce=True).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failures = _reported(exc, fractional_integers(frame, contract))
            return ServingCheck(frame, failures, dropped, pd.Series("", index=frame.index))
    breaches = _serving_breaches(coerced, specs, known_categories or {})
    if contract.serving.out_of_contract == "reject" and breaches:
        failures = [
            Failure(
                column, rule, int(mask.sum()), [_show(v) for v in pd.unique(values[mask])][:EXAMPLES_SHOWN]
            )
            for column, rule, mask, values in breaches
        ]
        return ServingCheck(coerced, failures, dropped, pd.Series("", index=frame.index))
    notes = pd.Series([[] for _ in range(len(coerced))], index=coerced.index, dtype=object)
    for column, rule, mask, values in breaches:
        for i in mask[mask].index:
            notes[i].append(f"{column}={_show(values[i])}: {rule}")
    return ServingCheck(coerced, [], dropped, notes.map("; ".join))


def _reported(exc: pa.errors.SchemaErrors, fractional: dict[str, Failure]) -> list[Failure]:
    """pandera's failures, one per (column, check), sorted.

    pandera reports a fraction in an integer column as "<missing>, float64" with a wrong count;
    the precise line from ``fractional_integers`` replaces its type line for that column.
    """
    found = [
        f
        for f in summarise(exc.failure_cases)
        if not (f.column in fractional and f.check.startswith("type "))
    ]
    return sorted([*found, *fractional.values()], key=lambda f: (f.column, f.check))


def _coerce_clean(
    frame: pd.DataFrame, specs: dict[str, ColumnSpec], nullable: set[str]
) -> pd.DataFrame | None:
    """The serving columns coerced to their contract types, or None if any column needs pandera.

    Pandera takes ~10 ms to validate even one row; a service scoring single rows pays that per
    request. A clean batch (every required column present, every value converts exactly, nulls
    only where allowed) gets the same dtypes pandera's coercion gives, directly; anything else
    goes to pandera, whose report names each problem.
    """
    out = {}
    for name, spec in specs.items():
        if name not in frame.columns:
            if spec.required:
                return None
            continue
        values = frame[name]
        missing = values.isna()
        if missing.any() and name not in nullable:
            return None
        try:
            if spec.dtype in ("integer", "float"):
                if pd.api.types.is_bool_dtype(values):
                    return None
                if not pd.api.types.is_numeric_dtype(values):  # objects, as JSON rows with nulls give
                    if not values[~missing].map(_is_number).all():
                        return None
                    values = pd.to_numeric(values)
                converted = values.astype(PANDAS_DTYPES[spec.dtype])
            elif spec.dtype == "string":
                if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
                    return None
                converted = values.astype(object).where(~missing, np.nan).astype(PANDAS_DTYPES["string"])
            else:
                return None  # booleans and dates: pandera's coercion rules, not re-implemented here
        except (TypeError, ValueError):
            return None
        out[name] = converted
    return pd.DataFrame(out, index=frame.index)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _serving_breaches(
    frame: pd.DataFrame, specs: dict[str, ColumnSpec], known: dict[str, set[Any]]
) -> list[tuple[str, str, pd.Series, pd.Series]]:
    """(column, rule, rows breaking it, values) for every value rule a present column breaks."""
    found = []
    for name, spec in specs.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        present = values.notna()
        tests: list[tuple[str, pd.Series]] = []
        if spec.min is not None:
            tests.append((f"below min {_num(spec.min)}", present & (values < spec.min)))
        if spec.max is not None:
            tests.append((f"above max {_num(spec.max)}", present & (values > spec.max)))
        if spec.allowed is not None:
            tests.append(("not an allowed value", present & ~values.isin(spec.allowed)))
        elif name in known:  # a wide text column: the model's own categories are the reference
            tests.append(("a category the model never saw", present & ~values.isin(known[name])))
        if spec.regex is not None:
            matches = values.astype("string").str.match(spec.regex).fillna(True).astype(bool)
            tests.append((f"does not match {spec.regex}", present & ~matches))
        found += [(name, rule, mask.fillna(False).astype(bool), values) for rule, mask in tests if mask.any()]
    return found


def fractional_integers(frame: pd.DataFrame, contract: Contract) -> dict[str, Failure]:
    """Integer columns holding numbers with a fractional part: how many, and a few of them."""
    found = {}
    for name, spec in contract.columns.items():
        if (
            spec.dtype != "integer"
            or name not in frame.columns
            or not pd.api.types.is_float_dtype(frame[name])
        ):
            continue
        values = frame[name]
        bad = values[values.notna() & (values % 1 != 0)]
        if len(bad):
            examples = [_show(v) for v in pd.unique(bad)][:EXAMPLES_SHOWN]
            found[name] = Failure(name, "type integer (has a fractional part)", len(bad), examples)
    return found


def class_failures(target: pd.Series, spec: ColumnSpec) -> tuple[list[Failure], list[str]]:
    """A classification target needs two classes or more; also the allowed classes it lacks.

    The rarest-class share is computed over the classes present, so a target holding one class
    passed every table rule and training died after DVC had removed the last good model.
    """
    present = sorted(map(str, target.dropna().unique()))
    absent = [str(a) for a in (spec.allowed or []) if str(a) not in present]
    if len(present) >= 2:
        return [], absent
    check_name = "at least 2 classes" + (f" (absent: {', '.join(absent[:5])})" if absent else "")
    return [Failure(str(target.name), check_name, len(target), present)], absent


def summarise(cases: pd.DataFrame) -> list[Failure]:
    """Group pandera's failure cases into one row per (column, check)."""
    cases = cases.copy()
    table_level = cases["column"].isna()
    # pandera reports missing/extra columns at table level with the name as the failure case.
    cases.loc[table_level & (cases["check"] == "column_in_dataframe"), "column"] = cases["failure_case"]
    cases.loc[table_level & (cases["check"] == "column_in_schema"), "column"] = cases["failure_case"]
    cases["column"] = cases["column"].fillna("(table)").astype(str)
    cases["check"] = cases["check"].astype(str).map(_readable_check)
    coerce_failed = set(cases.loc[cases["check"].str.startswith("type "), "column"])
    # Once a column cannot be coerced, pandera's follow-on checks on it only repeat that.
    follow_on = cases["column"].isin(coerce_failed) & ~cases["check"].str.startswith("type ")
    follow_on &= cases["failure_case"].astype(str).str.contains("Error\\(", regex=True)
    cases = cases[~follow_on]
    failures = []
    for (column, check_name), group in cases.groupby(["column", "check"], sort=True):
        examples = []
        if check_name not in ("missing column", "unexpected column"):
            examples = [_show(v) for v in pd.unique(group["failure_case"].astype(object))][:EXAMPLES_SHOWN]
        count = group["index"].nunique() if group["index"].notna().any() else len(group)
        failures.append(Failure(str(column), str(check_name), int(count), examples))
    return failures


_DTYPE_WORDS = {v: k for k, v in PANDAS_DTYPES.items()}


def _readable_check(name: str) -> str:
    match = re.fullmatch(r"(?:coerce_dtype|dtype)\('?([^')]+)'?\)", name)
    if match:
        return f"type {_DTYPE_WORDS.get(match.group(1), match.group(1))}"
    return {
        "not_nullable": "not null",
        "field_uniqueness": "unique",
        "column_in_dataframe": "missing column",
        "column_in_schema": "unexpected column",
    }.get(name, name)


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "<missing>"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def format_failures(failures: list[Failure], source: str) -> str:
    """One readable table of every failure, for the terminal."""
    rows = [(f.column, f.check, str(f.count), ", ".join(f.examples)) for f in failures]
    header: tuple[str, ...] = ("column", "check", "failing", "examples")
    if any(f.partitions for f in failures):
        shown = [", ".join(f.partitions[:3]) + (", ..." if len(f.partitions) > 3 else "") for f in failures]
        rows = [(*r[:3], p, r[3]) for r, p in zip(rows, shown, strict=True)]
        header = ("column", "check", "failing", "partitions", "examples")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        f"{source}: {len(failures)} problem(s) with the data contract; nothing downstream ran.",
        "  ".join(h.ljust(w) for h, w in zip(header, [*widths, 0], strict=True)).rstrip(),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, [*widths, 0], strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def failures_as_dicts(failures: list[Failure]) -> list[dict[str, Any]]:
    """Failures as plain data for the validation report."""
    # A one-file table has no partitions: its report keeps the keys it always had.
    return [{k: v for k, v in asdict(f).items() if k != "partitions" or v} for f in failures]


def duplicate_share(frame: pd.DataFrame) -> float:
    """Share of rows that repeat an earlier row exactly."""
    return float(frame.duplicated().mean()) if len(frame) else 0.0


def min_class_share(target: pd.Series) -> float:
    """Share of the rarest target class."""
    shares = target.value_counts(normalize=True)
    return float(shares.min()) if len(shares) else 0.0


# --- starter contract from data ------------------------------------------------------------

MAX_ALLOWED_VALUES = 50
# Inferred ranges reach this share of the observed span beyond each end: next month's data will
# hold a price a little above this month's maximum, and that is not an error.
RANGE_HEADROOM = 0.1
ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def infer_contract(frame: pd.DataFrame, target: str, id_column: str | None = None) -> dict[str, Any]:
    """A starter contract that accepts ``frame``: types, ranges, allowed values, nullability.

    The user edits it afterwards; the inference is deliberately a loose, faithful description.
    """
    if target not in frame.columns:
        raise PipelineError(f"target '{target}' is not a column; columns are: {', '.join(frame.columns)}")
    columns: dict[str, Any] = {}
    for name in frame.columns:
        columns[str(name)] = _infer_column(frame[name], is_id=name == id_column, is_target=name == target)
    n = len(frame)
    shares = frame[target].value_counts(normalize=True) if columns[target].get("allowed") else None
    table: dict[str, Any] = {
        "min_rows": max(1, min(n, n // 2)),
        "extra_columns": "error",
        "max_duplicate_share": round(min(1.0, duplicate_share(frame) + 0.01), 4),
    }
    if shares is not None and len(shares) > 1:
        table["min_class_share"] = round(float(shares.min()) / 2, 4)
    return {"columns": columns, "table": table, "serving": {"out_of_contract": "warn"}}


def _infer_column(series: pd.Series, *, is_id: bool, is_target: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"dtype": infer_dtype(series)}
    if series.isna().any():
        spec["nullable"] = True
    values = series.dropna()
    if is_id:
        spec["unique"] = bool(values.is_unique)
        return spec
    if spec["dtype"] in ("integer", "float") and len(values):
        n_unique = values.nunique()
        if spec["dtype"] == "integer" and (n_unique <= 2 or (is_target and n_unique <= 20)):
            spec["allowed"] = sorted(int(v) for v in values.unique())
        else:
            spec["min"], spec["max"] = _with_headroom(values.min(), values.max(), spec["dtype"] == "integer")
    elif spec["dtype"] == "string":
        uniques = values.unique()
        if len(uniques) <= MAX_ALLOWED_VALUES or is_target:
            spec["allowed"] = sorted(str(v) for v in uniques)
    elif spec["dtype"] == "boolean":
        pass
    return spec


def _with_headroom(low: Any, high: Any, integer: bool) -> tuple[int | float, int | float]:
    """``low``..``high`` widened by ``RANGE_HEADROOM`` of the span; never below 0 if ``low`` is not."""
    low, high = float(low), float(high)
    pad = RANGE_HEADROOM * ((high - low) or abs(high) or 1.0)
    lo, hi = low - pad, high + pad
    if low >= 0:
        lo = max(0.0, lo)
    if integer:
        return math.floor(lo), math.ceil(hi)
    return _plain(math.floor(lo * 1e4) / 1e4), _plain(math.ceil(hi * 1e4) / 1e4)


def looks_like_dates(values: pd.Series) -> bool:
    """Text whose every value is an ISO 8601 date or timestamp (2024-05-31, 2024-05-31 14:02:00)."""
    text = values.dropna().astype(str)
    if text.empty or not text.str.match(ISO_DATE).all():
        return False
    try:
        return bool(pd.to_datetime(text, errors="coerce", format="ISO8601").notna().all())
    except ValueError:  # mixed time zones: pandas cannot hold them as one datetime column
        return False


def infer_dtype(series: pd.Series) -> str:
    """The contract dtype a column's values suggest (ISO 8601 text is a datetime)."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        return "integer" if len(values) and (values % 1 == 0).all() and series.notna().all() else "float"
    if pd.api.types.is_datetime64_any_dtype(series) or looks_like_dates(series):
        return "datetime"
    return "string"


def _plain(value: Any) -> int | float:
    value = value.item() if hasattr(value, "item") else value
    return int(value) if float(value).is_integer() else float(value)


def contract_yaml(contract: dict[str, Any], source: str) -> str:
    """The starter contract as commented YAML."""
    header = (
        f"# Data contract for {source}, inferred by `python -m mlpipeline.commands.contract infer`.\n"
        "# validate rejects data that breaks it. Edit it: tighten ranges, add regex, mark ids unique.\n"
        f"# Numeric ranges leave {RANGE_HEADROOM:.0%} of the span seen as headroom at each end (none\n"
        "#   below 0 for a column without negatives). Text with many values has no allowed list: prediction\n"
        "#   warns on categories the model never saw. serving.out_of_contract: warn | reject decides\n"
        "#   what prediction does with rows outside these rules (nulls are fine: the model imputes).\n"
        "# Column keys: dtype (integer|float|string|boolean|datetime), nullable, required, unique,\n"
        "#   min, max, allowed, regex. Table keys: min_rows, extra_columns (error|drop),\n"
        "#   max_duplicate_share, min_class_share.\n"
    )
    return header + yaml.safe_dump(
        contract, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
