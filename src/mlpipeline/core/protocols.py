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


def mlflow_rows(body: Any, max_rows: int) -> list[Any]:
    """MLflow's ``dataframe_records`` or ``dataframe_split`` (``params`` allowed and ignored)."""
    if not isinstance(body, dict):
        raise ProtocolError(400, "the body must be a JSON object with dataframe_split or dataframe_records")
    kinds = {"dataframe_split", "dataframe_records"} & set(body)
    if len(kinds) != 1 or set(body) - kinds - {"params"}:
        raise ProtocolError(
            400, "send exactly one of dataframe_split or dataframe_records (and optionally params)"
        )
    if "dataframe_records" in body:
        records = body["dataframe_records"]
        if not isinstance(records, list):
            raise ProtocolError(400, "dataframe_records must be a list of {column: value} objects")
        _count(len(records), max_rows)
        return records
    split = body["dataframe_split"]
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise ProtocolError(400, "dataframe_split needs columns (a list of names) and data (a list of rows)")
    columns, data = split["columns"], split.get("data")
    if not isinstance(data, list) or not all(isinstance(c, str) for c in columns):
        raise ProtocolError(400, "dataframe_split needs columns (a list of names) and data (a list of rows)")
    _count(len(data), max_rows)
    rows = []
    for i, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            raise ProtocolError(
                400, f"dataframe_split.data[{i}]: a list of {len(columns)} values, one per column"
            )
        rows.append(dict(zip(columns, values, strict=True)))
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
    _count(rows, max_rows)
    columns = {}
    for tensor in inputs:
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


def v2_response(
    scored: Scored, model: str, version: str, request_id: Any, wanted: list[str] | None
) -> dict[str, Any]:
    """The inference response: one tensor per output column, in `make predict`'s columns."""
    names = wanted if wanted is not None else scored.columns
    unknown = [n for n in names if n not in scored.columns]
    if unknown:
        raise ProtocolError(400, f"unknown output {unknown[0]}; outputs: {', '.join(scored.columns)}")
    outputs = []
    for name in names:
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
