"""The wire formats existing clients speak, translated to and from rows: pure functions, no HTTP.

- the service's own: ``{"rows": [{column: value, ...}, ...]}``;
- the Open Inference Protocol v2 (KServe, Triton, Seldon MLServer): one tensor per column in
  ``inputs``, one tensor per output column back, as MLServer's pandas codec does it;
- MLflow's scoring server: ``dataframe_split`` or ``dataframe_records``, ``{"predictions": [...]}`` back.

Each reader checks the body's shape and its row count before touching a row, and raises
``ProtocolError`` with the status and one line to fix; the rows then take the same served path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpipeline.core.contract import Contract
from mlpipeline.core.rows import Scored


@dataclass
class ProtocolError(Exception):
    """A body the protocol does not allow: the HTTP status and what to fix."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


def _count(rows: int, max_rows: int) -> None:
    if rows < 1:
        raise ProtocolError(422, "no rows: send one row or more")
    if rows > max_rows:
        raise ProtocolError(413, f"{rows} rows; at most {max_rows} per request")


def native_rows(body: Any, max_rows: int) -> list[Any]:
    """``{"rows": [...]}`` and nothing else."""
    if not isinstance(body, dict) or set(body) != {"rows"} or not isinstance(body["rows"], list):
        raise ProtocolError(422, 'the body must be {"rows": [{column: value, ...}, ...]}')
    _count(len(body["rows"]), max_rows)
    return body["rows"]


MLFLOW_FORMS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def mlflow_rows(body: Any, max_rows: int) -> list[Any]:
    """MLflow's four JSON forms (``params`` allowed and ignored): ``dataframe_records`` and
    ``instances`` (a list of ``{column: value}`` rows), ``dataframe_split`` (``columns`` and
    ``data``), ``inputs`` (rows as ``instances``, or columns: ``{column: [values]}``)."""
    # MLflow's own words, so a client that matches on them reads the same answer; like MLflow's
    # server, keys other than the form (its `params` among them) are not read.
    required = (
        f"The input must be a JSON dictionary with exactly one of the input fields {', '.join(MLFLOW_FORMS)}"
    )
    if not isinstance(body, dict):
        raise ProtocolError(
            400, f"{required}. Received {'a list' if isinstance(body, list) else type(body).__name__}"
        )
    kinds = [k for k in MLFLOW_FORMS if k in body]
    if len(kinds) != 1:
        raise ProtocolError(400, f"{required}. Received dictionary with input fields: {list(body)}")
    (kind,) = kinds
    value = body[kind]
    if kind == "dataframe_split":
        return _split_rows(value, max_rows)
    if kind == "inputs" and isinstance(value, dict):
        return _columns_rows(value, max_rows)
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ProtocolError(
            400,
            f"{kind} must be a list of {{column: value}} rows"
            + (" or {column: [values]}" if kind == "inputs" else ""),
        )
    _count(len(value), max_rows)
    return value


def _split_rows(split: Any, max_rows: int) -> list[Any]:
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise ProtocolError(400, "dataframe_split needs columns (a list of names) and data (a list of rows)")
    columns, data = split["columns"], split.get("data")
    if not isinstance(data, list) or not all(isinstance(c, str) for c in columns):
        raise ProtocolError(400, "dataframe_split needs columns (a list of names) and data (a list of rows)")
    for i, values in enumerate(data):  # the shape first, the size after: a wrong shape is the answer
        if not isinstance(values, list) or len(values) != len(columns):
            raise ProtocolError(
                400, f"dataframe_split.data[{i}]: a list of {len(columns)} values, one per column"
            )
    _count(len(data), max_rows)
    return [dict(zip(columns, values, strict=True)) for values in data]


def _columns_rows(columns: dict[str, Any], max_rows: int) -> list[Any]:
    """``{column: [values]}``: every column a list of the same length."""
    lengths = {name: len(v) for name, v in columns.items() if isinstance(v, list)}
    if not columns or len(lengths) != len(columns) or len(set(lengths.values())) != 1:
        raise ProtocolError(
            400, "inputs as columns must be {column: [values]}, every list of the same length"
        )
    rows = next(iter(lengths.values()))
    _count(rows, max_rows)
    return [{name: values[i] for name, values in columns.items()} for i in range(rows)]


def mlflow_csv_rows(text: str, max_rows: int) -> list[dict[str, Any]]:
    """MLflow's ``text/csv`` body: a header line of column names, then one row per line; an empty
    cell is null. Cells stay text: the contract's row model types them (``"34"`` for an integer
    column is 34), as it does JSON."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ProtocolError(400, "the CSV body needs a header line of column names")
    rows = []
    for number, values in enumerate(reader, start=2):
        if not values:
            continue  # a blank line, as pandas skips it
        if len(values) != len(header):
            raise ProtocolError(
                400, f"CSV line {number}: {len(values)} values where the header has {len(header)}"
            )
        if len(rows) == max_rows:
            raise ProtocolError(413, f"more than {max_rows} rows; at most {max_rows} per request")
        rows.append(
            {name: value if value != "" else None for name, value in zip(header, values, strict=True)}
        )
    _count(len(rows), max_rows)
    return rows


V2_TYPES = {"integer": "INT64", "float": "FP64", "string": "BYTES", "boolean": "BOOL", "datetime": "BYTES"}


def _flat(data: Any, name: str) -> list[Any]:
    """A tensor's data, row-major: a flat list, or nested lists one level deep per row."""
    if not isinstance(data, list):
        raise ProtocolError(400, f"input {name}: data must be a list")
    if data and isinstance(data[0], list):
        if not all(isinstance(d, list) and len(d) == 1 for d in data):
            raise ProtocolError(400, f"input {name}: one value per row (shape [n] or [n, 1])")
        return [d[0] for d in data]
    return data


def v2_rows(body: Any, max_rows: int) -> tuple[list[Any], list[str] | None]:
    """An inference request's columns as rows, and the output names asked for (None: all)."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise ProtocolError(400, "an inference request needs inputs: one tensor per column")
    inputs = body["inputs"]
    for tensor in inputs:
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise ProtocolError(400, "each input needs a name (a column), shape, datatype and data")
        shape = tensor.get("shape")
        if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ProtocolError(400, f"input {tensor['name']}: shape must be [rows] or [rows, 1]")
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise ProtocolError(
                400, f"input {tensor['name']}: one column per input; shape [rows] or [rows, 1]"
            )
    rows = inputs[0]["shape"][0]
    columns = {}
    for tensor in inputs:  # the structure first: a wrong shape is the answer, whatever its size
        name = tensor["name"]
        if tensor["shape"][0] != rows:
            raise ProtocolError(
                400, f"input {name}: {tensor['shape'][0]} rows where {inputs[0]['name']} has {rows}"
            )
        values = _flat(tensor.get("data"), name)
        if len(values) != rows:
            raise ProtocolError(400, f"input {name}: shape says {rows} values, data holds {len(values)}")
        columns[name] = values
    outputs = body.get("outputs")
    wanted = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and "name" in o for o in outputs):
            raise ProtocolError(400, "outputs must be a list of {name: ...}")
        wanted = [str(o["name"]) for o in outputs]
    _count(rows, max_rows)
    return [{name: values[i] for name, values in columns.items()} for i in range(rows)], wanted


def _datatype(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present) and present:
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present) and present:
        return "INT64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present) and present:
        return "FP64"
    return "BYTES"


# The outputs MLServer's scikit-learn runtime answers to, so a client written for it asks here
# unchanged: `predict` (shape [rows]) and `predict_proba` (shape [rows, classes], row-major).
MLSERVER_OUTPUTS = ("predict", "predict_proba")


def _mlserver_output(scored: Scored, name: str, card: dict[str, Any]) -> dict[str, Any]:
    if name == "predict":
        values = scored.column("prediction")
        return {"name": name, "shape": [len(values)], "datatype": _datatype(values), "data": values}
    classes = card.get("classes") or []
    if card["task"] != "classification" or not classes:
        raise ProtocolError(400, "output predict_proba: this model predicts numbers, not classes")
    data = [row[f"proba_{c}"] for row in scored.rows for c in classes]
    return {"name": name, "shape": [len(scored.rows), len(classes)], "datatype": "FP64", "data": data}


def v2_response(
    scored: Scored,
    model: str,
    version: str,
    request_id: Any,
    wanted: list[str] | None,
    card: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The inference response: one tensor per output column, in `make predict`'s columns (and
    MLServer's ``predict`` and ``predict_proba`` when asked for by name)."""
    names = wanted if wanted is not None else scored.columns
    known = [*scored.columns, *(MLSERVER_OUTPUTS if card else ())]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ProtocolError(400, f"unknown output {unknown[0]}; outputs: {', '.join(known)}")
    outputs = []
    for name in names:
        if name in MLSERVER_OUTPUTS and name not in scored.columns and card is not None:
            outputs.append(_mlserver_output(scored, name, card))
            continue
        values = scored.column(name)
        outputs.append({"name": name, "shape": [len(values)], "datatype": _datatype(values), "data": values})
    answer: dict[str, Any] = {
        "model_name": model,
        "model_version": version,
        "outputs": outputs,
        "parameters": {"warnings": scored.notes},
    }
    if request_id is not None:
        answer["id"] = request_id
    return answer


def v2_metadata(
    contract: Contract, card: dict[str, Any], model: str, version: str, columns: list[str]
) -> dict[str, Any]:
    """Model metadata: the contract's columns as inputs, `make predict`'s columns as outputs."""
    target = card["target"]
    inputs = [
        {
            "name": name,
            "datatype": V2_TYPES[spec.dtype],
            "shape": [-1],
            "parameters": {"required": spec.required},
        }
        for name, spec in contract.columns.items()
        if name != target
    ]
    classes = card.get("classes") or []
    label = "FP64" if card["task"] == "regression" else _datatype(list(classes))
    kinds = {"prediction": label, "warnings": "BYTES"}
    if card.get("id_column") in contract.columns:
        kinds[card["id_column"]] = V2_TYPES[contract.columns[card["id_column"]].dtype]
    outputs = [{"name": c, "datatype": kinds.get(c, "FP64"), "shape": [-1]} for c in columns]
    return {
        "name": model,
        "versions": [version],
        "platform": "scikit-learn",
        "inputs": inputs,
        "outputs": outputs,
    }


def output_columns(card: dict[str, Any], contract: Contract) -> list[str]:
    """The columns every answer carries, in order: the id (when the contract has it), the
    prediction, a probability per class, the warnings."""
    columns = [card["id_column"]] if card.get("id_column") in contract.columns else []
    columns.append("prediction")
    if card["task"] == "classification":
        columns += [f"proba_{c}" for c in card.get("classes") or []]
    return [*columns, "warnings"]


def mlflow_response(scored: Scored) -> dict[str, Any]:
    """MLflow's answer for a model that returns a frame: one record per row."""
    return {"predictions": scored.rows}
