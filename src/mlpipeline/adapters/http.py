"""The HTTP face of a served model: its own routes, the Open Inference Protocol v2 and MLflow's.

Every route ends in ``core.rows.RowPath``, the path `make predict`'s answers are held to. What a
client sends is bounded before any per-row work: the body's bytes while it streams (413, declared
length or chunked alike), JSON that is JSON (no NaN, no nesting past the parser's depth), the row
count from the body's shape, then at most ``MAX_PROBLEMS`` row problems. Everything a client can
send is answered with a 4xx that says what to fix; a 5xx would be a bug of ours. (No ``from
__future__ import annotations``: FastAPI reads route signatures at run time.)
"""

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mlpipeline.core import protocols
from mlpipeline.core.prediction import BatchRejectedError, Served
from mlpipeline.core.protocols import ProtocolError
from mlpipeline.core.rows import Problem, Record, RowPath, Scored, problems_of
from mlpipeline.core.schema import Message, Problems, request_model

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 10_000
# Batches up to this size are scored on the event loop (well under a millisecond each); larger
# ones in the thread pool, so one big batch does not hold up every small request behind it.
INLINE_ROWS = 64
MODEL_NAME = "model"
RowSink = Callable[[list[Record], Scored, dict[str, Any]], None]


class RefusedError(Exception):
    """A request answered with ``status`` and ``body`` (shaped for the protocol it came in)."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems or []


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number; send null for a missing value")


async def read_json(request: Request, max_bytes: int) -> Any:
    """The body as JSON, read at most ``max_bytes`` into memory whether its length is declared or not."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise RefusedError(415, f"content-type {kind}: send application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RefusedError(413, f"request body over {max_bytes} bytes; send fewer rows per request")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > max_bytes:
            raise RefusedError(413, f"request body over {max_bytes} bytes; send fewer rows per request")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks), parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise RefusedError(
            400, f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN/Infinity, or bytes that are not UTF-8 text
        raise RefusedError(400, f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise RefusedError(400, "the body is not JSON this service reads: nested too deeply") from None


class Service:
    """The routes' shared work: read, check, score, log."""

    def __init__(self, path: RowPath, max_bytes: int, max_rows: int, sink: RowSink | None) -> None:
        self.path, self.max_bytes, self.max_rows, self.sink = path, max_bytes, max_rows, sink
        self.version = str(path.served.identity.get("version") or "workspace")

    async def score(self, items: list[Any]) -> Scored:
        """Checked, scored and logged rows; ``RefusedError`` with the problems otherwise."""
        records, problems = self.path.check(items)
        if problems:
            raise RefusedError(422, "rows that break the data contract", problems)
        try:
            if len(records) <= INLINE_ROWS:
                scored = self.path.score(records)
            else:
                scored = await run_in_threadpool(self.path.score, records)
        except BatchRejectedError as exc:
            raise RefusedError(422, "rows outside the data contract", problems_of(exc.failures)) from None
        if self.sink is not None:
            self.sink(
                records, scored, {"version": self.path.served.identity.get("version"), "time": time.time()}
            )
        return scored


def _error(body: dict[str, Any], status: int) -> JSONResponse:
    # A body refused by size was not read to its end: the connection cannot carry another
    # request (its rest would be read as one), so the answer closes it, as clients expect.
    headers = {"connection": "close"} if status == 413 else None
    return JSONResponse(body, status, headers=headers)


def _lines(exc: RefusedError) -> str:
    shown = [
        f"row {p.row}, column {p.column}: {p.rule}" if p.row is not None else f"{p.column}: {p.rule}"
        for p in exc.problems[:5]
    ]
    return "; ".join([exc.message, *shown])


def _protocol_status(status: int) -> int:
    """Open Inference and MLflow clients read 400 for a request to fix; size and type keep theirs."""
    return status if status in (413, 415) else 400


def _native_error(exc: RefusedError) -> JSONResponse:
    detail: Any = [p.as_dict() for p in exc.problems] if exc.problems else exc.message
    if exc.status == 422 and not exc.problems:
        detail = [{"row": None, "column": None, "rule": exc.message}]
    return _error({"detail": detail}, exc.status)


def _v2_error(exc: RefusedError) -> JSONResponse:
    detail = [p.as_dict() for p in exc.problems]
    return _error({"error": _lines(exc), "detail": detail}, _protocol_status(exc.status))


def _mlflow_error(exc: RefusedError) -> JSONResponse:
    detail = [p.as_dict() for p in exc.problems]
    body = {"error_code": "BAD_REQUEST", "message": _lines(exc), "detail": detail}
    return _error(body, _protocol_status(exc.status))


ERRORS = {
    400: {"model": Message, "description": "a body that is not JSON"},
    413: {"model": Message, "description": "too many rows or bytes"},
    415: {"model": Message, "description": "a body that is not application/json"},
    422: {"model": Problems, "description": "a row, column or rule to fix"},
}
OTHER_ERRORS = {
    400: {"description": "a request to fix, said in the protocol's error shape"},
    404: {"description": "no model of that name"},
    413: {"description": "too many rows or bytes"},
    415: {"description": "a body that is not application/json"},
}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string", "description": "a column of the data contract"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 2},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "data": {"type": "array", "description": "row-major values, one per row"},
        "parameters": {"type": "object"},
    },
}
V2_REQUEST = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "minItems": 1, "items": _TENSOR},
        "outputs": {
            "type": "array",
            "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        },
    },
}
MLFLOW_REQUEST = {
    "type": "object",
    "description": "exactly one of dataframe_split or dataframe_records",
    "properties": {
        "dataframe_split": {
            "type": "object",
            "required": ["columns", "data"],
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {"type": "array", "items": {"type": "array"}},
            },
        },
        "dataframe_records": {"type": "array", "items": {"type": "object"}},
        "params": {"type": "object"},
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def create_app(
    served: Served,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    sink: RowSink | None = None,
    path: RowPath | None = None,
) -> FastAPI:
    """The service for ``served``; ``sink`` (optional) receives each scored batch, for monitoring."""
    path = path or RowPath(served)
    service = Service(path, max_bytes, max_rows, sink)
    identity = served.identity
    card, contract = served.card, served.contract
    columns = protocols.output_columns(card, contract)
    app = FastAPI(
        title=f"{identity.get('version') or 'workspace'} model: {card['target']}",
        description=f"Predicts '{card['target']}' with {card['estimator']}; rows follow the"
        " data contract it was trained under. Also speaks the Open Inference Protocol v2"
        f" (/v2/models/{MODEL_NAME}/infer) and MLflow's scoring protocol (/invocations).",
        version=service.version,
    )
    app.state.identity = identity
    app.state.fast, app.state.why_not_fast = path.compiled is not None, path.why_not_fast

    @app.get("/health")
    def health() -> dict[str, str]:
        """Ready: the model is loaded and its SHA-256 matched its card."""
        return {"status": "ok", "sha256": identity["sha256"]}

    @app.get("/model")
    def model() -> dict[str, Any]:
        """Which model answers: version, stage, SHA-256, training commit, data hashes, metrics."""
        return identity

    @app.post("/predict", responses=ERRORS, openapi_extra=_predict_body())
    async def predict(request: Request) -> JSONResponse:
        """Score rows; each prediction carries the columns `make predict` writes."""
        try:
            items = protocols.native_rows(await read_json(request, max_bytes), max_rows)
            scored = await service.score(items)
        except ProtocolError as exc:
            return _native_error(RefusedError(exc.status, exc.message))
        except RefusedError as exc:
            return _native_error(exc)
        return JSONResponse({"model": _short(identity), "predictions": scored.rows, "warnings": scored.notes})

    # Open Inference Protocol v2 (KServe, Triton, Seldon MLServer clients).
    @app.get("/v2")
    def v2_server() -> dict[str, Any]:
        """Server metadata."""
        return {"name": "mlpipeline", "version": service.version, "extensions": []}

    @app.get("/v2/health/live")
    def v2_live() -> dict[str, bool]:
        """The process answers."""
        return {"live": True}

    @app.get("/v2/health/ready")
    def v2_ready() -> dict[str, bool]:
        """The model is loaded and verified."""
        return {"ready": True}

    def _known(name: str) -> None:
        if name != MODEL_NAME:
            raise RefusedError(404, f"no model {name!r}; this server serves {MODEL_NAME!r}")

    @app.get("/v2/models/{name}", responses=OTHER_ERRORS)
    def v2_model(name: str) -> JSONResponse:
        """The model's metadata: the contract's columns as inputs, `make predict`'s as outputs."""
        if name != MODEL_NAME:
            return JSONResponse({"error": f"no model {name!r}; this server serves {MODEL_NAME!r}"}, 404)
        return JSONResponse(protocols.v2_metadata(contract, card, MODEL_NAME, service.version, columns))

    @app.get("/v2/models/{name}/ready", responses=OTHER_ERRORS)
    def v2_model_ready(name: str) -> JSONResponse:
        """Ready when the name is this server's model."""
        if name != MODEL_NAME:
            return JSONResponse({"error": f"no model {name!r}; this server serves {MODEL_NAME!r}"}, 404)
        return JSONResponse({"name": name, "ready": True})

    async def _infer(request: Request, name: str) -> JSONResponse:
        try:
            _known(name)
            body = await read_json(request, max_bytes)
            items, wanted = protocols.v2_rows(body, max_rows)
            scored = await service.score(items)
            return JSONResponse(
                protocols.v2_response(scored, MODEL_NAME, service.version, body.get("id"), wanted)
            )
        except ProtocolError as exc:
            return _v2_error(RefusedError(exc.status, exc.message))
        except RefusedError as exc:
            return JSONResponse({"error": exc.message}, 404) if exc.status == 404 else _v2_error(exc)

    @app.post("/v2/models/{name}/infer", responses=OTHER_ERRORS, openapi_extra=_body(V2_REQUEST))
    async def v2_infer(name: str, request: Request) -> JSONResponse:
        """Score one tensor per column (MLServer's pandas codec); one tensor per output column back."""
        return await _infer(request, name)

    @app.post(
        "/v2/models/{name}/versions/{version}/infer", responses=OTHER_ERRORS, openapi_extra=_body(V2_REQUEST)
    )
    async def v2_infer_version(name: str, version: str, request: Request) -> JSONResponse:
        """As ``/v2/models/{name}/infer``; the served version answers whatever version is asked."""
        return await _infer(request, name)

    # MLflow's scoring server protocol.
    @app.get("/ping")
    def ping() -> dict[str, str]:
        """MLflow's health check."""
        return {"status": "ok"}

    @app.post("/invocations", responses=OTHER_ERRORS, openapi_extra=_body(MLFLOW_REQUEST))
    async def invocations(request: Request) -> JSONResponse:
        """MLflow's ``dataframe_split`` or ``dataframe_records``; ``{"predictions": [...]}`` back."""
        try:
            items = protocols.mlflow_rows(await read_json(request, max_bytes), max_rows)
            return JSONResponse(protocols.mlflow_response(await service.score(items)))
        except ProtocolError as exc:
            return _mlflow_error(RefusedError(exc.status, exc.message))
        except RefusedError as exc:
            return _mlflow_error(exc)

    def openapi() -> dict[str, Any]:
        """The schema, with the request rows generated from the data contract."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            body = request_model(path.row).model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["PredictRequest"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _predict_body() -> dict[str, Any]:
    return _body({"$ref": "#/components/schemas/PredictRequest"})


def _short(identity: dict[str, Any]) -> dict[str, Any]:
    return {k: identity.get(k) for k in ("version", "stage", "sha256")}
