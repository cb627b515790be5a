"""The HTTP face of a served model: its own routes, the Open Inference Protocol v2 and MLflow's.

Every route ends in ``core.rows.RowPath``, the path `make predict`'s answers are held to. What a
client sends is bounded before any per-row work: the body's bytes while it streams (413, declared
length or chunked alike), JSON that is JSON (no NaN, no nesting past the parser's depth), the row
count from the body's shape, then at most ``MAX_PROBLEMS`` row problems. Everything a client can
send is answered with a 4xx that says what to fix; a 5xx would be a bug of ours. (No ``from
__future__ import annotations``: FastAPI reads route signatures at run time.)
"""

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from mlpipeline.core import protocols
from mlpipeline.core.prediction import BatchRejectedError, Served
from mlpipeline.core.protocols import ProtocolError
from mlpipeline.core.rows import Problem, Record, RowPath, Scored, problems_of
from mlpipeline.core.schema import Message, Problems, request_model

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 10_000
# Batches up to this size are scored on the event loop when the compiled fast path scores them
# (well under a millisecond each); larger ones, and any the pandas path scores (25-70 ms for 64
# rows), in the thread pool, so `/health` and small requests do not wait behind them.
INLINE_ROWS = 64
# A body must arrive within this many seconds: a client that trickles bytes holds a connection
# and a share of the memory budget, and gets 408 instead.
BODY_SECONDS = 10.0
# Bodies past SMALL_BYTES count against a budget of MAX_LARGE in flight per worker: each parses into
# at most ~40 MB (MAX_VALUES below), so a worker holds a bounded amount whatever clients send. One
# past the budget gets 503 with Retry-After at once (load shed, not queued).
SMALL_BYTES = 256 * 1024
MAX_LARGE = 4
MODEL_NAME = "model"
RowSink = Callable[[list[Record], Scored, dict[str, Any]], None]
JSON_TYPES = ("application/json",)
MLFLOW_TYPES = ("application/json", "text/csv")


class RefusedError(Exception):
    """A request answered with ``status`` and ``body`` (shaped for the protocol it came in)."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems or []


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number; send null for a missing value")


def content_kind(header: str | None, accepted: tuple[str, ...]) -> str:
    """The media type of a ``content-type`` header, if accepted (no header: JSON). A parameter
    other than ``charset=utf-8`` (MLflow's old ``format=pandas-split``, another charset) is
    refused, as MLflow's server refuses it: the body would be read other than the client meant."""
    kind, *parameters = [p.strip() for p in (header or JSON_TYPES[0]).split(";")]
    kind = kind.lower()
    if kind not in accepted and not (kind.endswith("+json") and "application/json" in accepted):
        raise RefusedError(415, f"content-type {kind}: send {' or '.join(accepted)}")
    for parameter in filter(None, parameters):
        name, _, value = parameter.partition("=")
        if (name.strip().lower(), value.strip().strip('"').lower()) not in (
            ("charset", "utf-8"),
            ("charset", "utf8"),
        ):
            raise RefusedError(415, f"content-type parameter {parameter}: only charset=utf-8 is read")
    return kind


class Budget:
    """How many large bodies a worker reads and parses at once (``MAX_LARGE``)."""

    def __init__(self, slots: int) -> None:
        self.free = slots

    def take(self) -> None:
        if self.free <= 0:
            raise RefusedError(503, "busy: too many large requests in flight; retry in a moment")
        self.free -= 1

    def give(self) -> None:
        self.free += 1


async def read_body(request: Request, max_bytes: int, budget: Budget, seconds: float = BODY_SECONDS) -> bytes:
    """The body, read at most ``max_bytes`` into memory whether its length is declared or not,
    within ``seconds``; past ``SMALL_BYTES`` it takes a slot of ``budget`` (given back by the
    caller when ``request.state.large``)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RefusedError(413, f"request body over {max_bytes} bytes; send fewer rows per request")
    chunks, seen = [], 0
    request.state.large = False
    if declared.isdigit() and int(declared) > SMALL_BYTES:  # a slot before a byte is read
        budget.take()
        request.state.large = True
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                seen += len(chunk)
                if seen > max_bytes:
                    raise RefusedError(
                        413, f"request body over {max_bytes} bytes; send fewer rows per request"
                    )
                if seen > SMALL_BYTES and not request.state.large:
                    budget.take()
                    request.state.large = True
                chunks.append(chunk)
    except TimeoutError:
        raise RefusedError(408, f"the body did not arrive within {seconds:g} s") from None
    return b"".join(chunks)


# Strings, with their escapes: what a structural count of a JSON text skips over.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def value_count(body: bytes, within: int | None = None) -> int:
    """How many JSON values (objects, arrays, strings, numbers, literals) ``body`` holds at most:
    its commas and containers outside strings, counted in C, before anything is parsed. When the
    count with strings' contents included is already ``within`` bounds, it is returned as is: the
    exact count's pass over the strings costs ~40 ms a megabyte, holding the interpreter lock."""
    rough = body.count(b",") + body.count(b"{") + body.count(b"[") + 1
    if within is not None and rough <= within:
        return rough
    bare = _STRING.sub(b'""', body)
    return bare.count(b",") + bare.count(b"{") + bare.count(b"[") + 1


def parse_json(body: bytes, max_values: int) -> Any:
    """The body as JSON, refused before parsing when it holds more values than ``max_values``: a
    megabyte of ``{}`` rows parsed into 26 MB of Python objects."""
    found = value_count(body, within=max_values)
    if found > max_values:
        raise RefusedError(
            413,
            f"the body holds {found:,} JSON values, at most {max_values:,} here; send fewer rows per request",
        )
    try:
        return json.loads(body, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise RefusedError(
            400, f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN/Infinity, or bytes that are not UTF-8 text
        raise RefusedError(400, f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise RefusedError(400, "the body is not JSON this service reads: nested too deeply") from None


def decode_text(body: bytes) -> str:
    """A text body (MLflow's CSV) as UTF-8, or a 400 naming the first bad byte."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedError(400, f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


class Service:
    """The routes' shared work: read, check, score, log."""

    def __init__(
        self,
        path: RowPath,
        max_bytes: int,
        max_rows: int,
        sink: RowSink | None,
        *,
        max_large: int = MAX_LARGE,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.path, self.max_bytes, self.max_rows, self.sink = path, max_bytes, max_rows, sink
        self.version = str(path.served.identity.get("version") or "workspace")
        self.budget, self.body_seconds = Budget(max_large), body_seconds
        # Heavy work (parsing a large body, checking and scoring many rows, writing a large
        # answer) runs on one thread beside the event loop, one job at a time: it is CPU-bound
        # Python, so more threads would only take turns at the interpreter lock with the loop,
        # and `/health` waited ~400 ms (p99) behind four of them.
        self._heavy = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heavy")
        # Every protocol's body holds about two JSON values per cell (a name and a value, or a
        # value and a separator), so this bounds what a legitimate request of max_rows can hold,
        # with room for columns the model does not use (dropped, with a note).
        self.max_values = max_rows * (2 * (len(path.specs) + 8) + 2) + 1024

    async def heavy(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` on the heavy-work thread."""
        return await asyncio.get_running_loop().run_in_executor(self._heavy, func, *args)

    async def answer(self, payload: dict[str, Any], rows: int) -> Response:
        """A JSON answer; one of many rows is rendered on the heavy-work thread."""
        if rows <= INLINE_ROWS:
            return JSONResponse(payload)
        body = await self.heavy(_render, payload)
        return Response(body, media_type="application/json")

    @contextlib.asynccontextmanager
    async def body(
        self, request: Request, accepted: tuple[str, ...] = JSON_TYPES
    ) -> AsyncIterator[tuple[str, bytes]]:
        """The body's media type and bytes; a large one holds a slot of the budget until the
        request is answered (its parsed rows and scores are what the budget bounds)."""
        kind = content_kind(request.headers.get("content-type"), accepted)
        try:
            yield kind, await read_body(request, self.max_bytes, self.budget, self.body_seconds)
        finally:
            if getattr(request.state, "large", False):
                self.budget.give()

    async def json(self, raw: bytes) -> Any:
        """The body parsed, bounded by ``max_values`` before parsing; a large one in the thread
        pool (a 4 MB body parses in ~50 ms, which `/health` would wait behind on the event loop)."""
        if len(raw) <= SMALL_BYTES:
            return parse_json(raw, self.max_values)
        return await self.heavy(parse_json, raw, self.max_values)

    async def score(self, items: list[Any]) -> Scored:
        """Checked, scored and logged rows; ``RefusedError`` with the problems otherwise. Past
        ``INLINE_ROWS`` rows the checks run in the thread pool too (10,000 rows: ~0.3 s)."""
        if len(items) <= INLINE_ROWS:
            records, problems = self.path.check(items)
        else:
            records, problems = await self.heavy(self.path.check, items)
        if problems:
            raise RefusedError(422, "rows that break the data contract", problems)
        try:
            if len(records) <= INLINE_ROWS and self.path.compiled is not None:
                scored = self.path.score(records)
            else:
                scored = await self.heavy(self.path.score, records)
        except BatchRejectedError as exc:
            raise RefusedError(422, "rows outside the data contract", problems_of(exc.failures)) from None
        if self.sink is not None:
            self.sink(
                records, scored, {"version": self.path.served.identity.get("version"), "time": time.time()}
            )
        return scored


def _render(payload: dict[str, Any]) -> bytes:
    """What ``JSONResponse`` writes, for answers rendered off the event loop."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _error(body: dict[str, Any], status: int) -> JSONResponse:
    # A body refused by size, time or load was not read to its end: the connection cannot carry another
    # request (its rest would be read as one), so the answer closes it, as clients expect.
    headers = {"connection": "close"} if status in (408, 413, 503) else None
    if status == 503:  # a large body, refused unread: retry it on a new connection
        headers = {"connection": "close", "retry-after": "1"}
    return JSONResponse(body, status, headers=headers)


def _lines(exc: RefusedError) -> str:
    shown = [
        f"row {p.row}, column {p.column}: {p.rule}" if p.row is not None else f"{p.column}: {p.rule}"
        for p in exc.problems[:5]
    ]
    return "; ".join([exc.message, *shown])


def _protocol_status(status: int) -> int:
    """Open Inference and MLflow clients read 400 for a request to fix; size, type, time and
    load keep theirs."""
    return status if status in (408, 413, 415, 503) else 400


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
    408: {"model": Message, "description": "a body that did not arrive in time"},
    413: {"model": Message, "description": "too many rows, values or bytes"},
    415: {"model": Message, "description": "a body that is not application/json"},
    422: {"model": Problems, "description": "a row, column or rule to fix"},
    503: {"model": Message, "description": "too many large requests in flight; retry"},
}
OTHER_ERRORS = {
    400: {"description": "a request to fix, said in the protocol's error shape"},
    404: {"description": "no model of that name"},
    408: {"description": "a body that did not arrive in time"},
    413: {"description": "too many rows, values or bytes"},
    415: {"description": "a body of another media type"},
    503: {"description": "too many large requests in flight; retry"},
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
    "description": "exactly one of dataframe_split, dataframe_records, instances or inputs",
    "properties": {
        "instances": {"type": "array", "items": {"type": "object"}},
        "inputs": {"oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "object"}]},
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
    max_large: int = MAX_LARGE,
    body_seconds: float = BODY_SECONDS,
) -> FastAPI:
    """The service for ``served``; ``sink`` (optional) receives each scored batch, for monitoring."""
    path = path or RowPath(served)
    service = Service(path, max_bytes, max_rows, sink, max_large=max_large, body_seconds=body_seconds)
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
    app.state.said = "" if app.state.fast else f"fast path off: {path.why_not_fast}"

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
            async with service.body(request) as (_, raw):
                scored = await service.score(protocols.native_rows(await service.json(raw), max_rows))
        except ProtocolError as exc:
            return _native_error(RefusedError(exc.status, exc.message))
        except RefusedError as exc:
            return _native_error(exc)
        payload = {"model": _short(identity), "predictions": scored.rows, "warnings": scored.notes}
        return await service.answer(payload, len(scored.rows))

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

    def _not_this(name: str) -> JSONResponse | None:
        if name == MODEL_NAME:
            return None
        return JSONResponse({"error": f"no model {name!r}; this server serves {MODEL_NAME!r}"}, 404)

    @app.get("/v2/models/{name}", responses=OTHER_ERRORS)
    def v2_model(name: str) -> JSONResponse:
        """The model's metadata: the contract's columns as inputs, `make predict`'s as outputs."""
        return _not_this(name) or JSONResponse(
            protocols.v2_metadata(contract, card, MODEL_NAME, service.version, columns)
        )

    @app.get("/v2/models/{name}/versions/{version}", responses=OTHER_ERRORS)
    def v2_model_version(name: str, version: str) -> JSONResponse:
        """As ``/v2/models/{name}``: the one served version answers whatever version is asked."""
        return v2_model(name)

    @app.get("/v2/models/{name}/ready", responses=OTHER_ERRORS)
    def v2_model_ready(name: str) -> JSONResponse:
        """Ready when the name is this server's model."""
        return _not_this(name) or JSONResponse({"name": name, "ready": True})

    @app.get("/v2/models/{name}/versions/{version}/ready", responses=OTHER_ERRORS)
    def v2_model_version_ready(name: str, version: str) -> JSONResponse:
        """As ``/v2/models/{name}/ready``."""
        return v2_model_ready(name)

    async def _infer(request: Request, name: str) -> JSONResponse:
        try:
            _known(name)
            async with service.body(request) as (_, raw):
                body = await service.json(raw)
                items, wanted = protocols.v2_rows(body, max_rows)
                scored = await service.score(items)
                payload = protocols.v2_response(
                    scored, MODEL_NAME, service.version, body.get("id"), wanted, card
                )
                return await service.answer(payload, len(scored.rows))
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

    @app.get("/version", response_class=PlainTextResponse)
    def version() -> str:
        """MLflow's version route: which model version answers."""
        return service.version

    @app.post("/invocations", responses=OTHER_ERRORS, openapi_extra=_mlflow_body())
    async def invocations(request: Request) -> JSONResponse:
        """MLflow's JSON forms (``dataframe_split``, ``dataframe_records``, ``instances``,
        ``inputs``) or a CSV body; ``{"predictions": [...]}`` back."""
        try:
            async with service.body(request, MLFLOW_TYPES) as (kind, raw):
                if kind == "text/csv":
                    items = protocols.mlflow_csv_rows(decode_text(raw), max_rows)
                else:
                    items = protocols.mlflow_rows(await service.json(raw), max_rows)
                scored = await service.score(items)
                return await service.answer(protocols.mlflow_response(scored), len(scored.rows))
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


def _mlflow_body() -> dict[str, Any]:
    found = _body(MLFLOW_REQUEST)
    found["requestBody"]["content"]["text/csv"] = {
        "schema": {"type": "string", "description": "a header line, then rows"}
    }
    return found


def _predict_body() -> dict[str, Any]:
    return _body({"$ref": "#/components/schemas/PredictRequest"})


def _short(identity: dict[str, Any]) -> dict[str, Any]:
    return {k: identity.get(k) for k in ("version", "stage", "sha256")}
