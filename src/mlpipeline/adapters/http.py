"""The HTTP face of a served model: FastAPI routes over ``core.prediction.score``.

`make predict` and this service score through the same function, so a row gets the same answer
from both. Everything a client can send is answered with a 4xx that says what to fix; a 5xx would
be a bug of ours. (No ``from __future__ import annotations``: FastAPI reads the request model
from the route's annotation, which is built at run time from the contract.)
"""

import json
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mlpipeline.core.prediction import BatchRejectedError, Served, score
from mlpipeline.core.schema import Message, Problems, request_model, row_model

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 10_000
RowSink = Callable[[pd.DataFrame, pd.DataFrame, dict[str, Any]], None]


class _BodyTooLargeError(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets a 413 before it is parsed, declared or not."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLargeError:
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body over {limit} bytes; send fewer rows per request"}, 413)


def _problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as (row, column, rule): what a client needs to fix the row."""
    found = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p != "body"]
        row = loc[1] if len(loc) > 1 and loc[0] == "rows" and isinstance(loc[1], int) else None
        column = str(loc[2]) if row is not None and len(loc) > 2 else ".".join(map(str, loc)) or None
        found.append({"row": row, "column": column, "rule": err["msg"]})
    return found


def create_app(
    served: Served, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS, sink: RowSink | None = None
) -> FastAPI:
    """The service for ``served``; ``sink`` (optional) receives each scored batch, for monitoring."""
    row = row_model(served.contract, served.card["target"], served.features)
    body = request_model(row)
    identity = served.identity
    app = FastAPI(
        title=f"{identity.get('version') or 'workspace'} model: {served.card['target']}",
        description=f"Predicts '{served.card['target']}' with {served.card['estimator']}; rows follow the"
        " data contract it was trained under.",
        version=str(identity.get("version") or "workspace"),
    )
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _problems(exc)}, 422)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Ready: the model is loaded and its SHA-256 matched its card."""
        return {"status": "ok", "sha256": identity["sha256"]}

    @app.get("/model")
    def model() -> dict[str, Any]:
        """Which model answers: version, stage, SHA-256, training commit, data hashes, metrics."""
        return identity

    @app.post(
        "/predict",
        responses={
            400: {"model": Message, "description": "a body that is not JSON text"},
            422: {"model": Problems, "description": "a row, column or rule to fix"},
            413: {"model": Message, "description": "too many rows or bytes"},
        },
    )
    def predict(request: body) -> JSONResponse:  # type: ignore[valid-type]
        """Score rows; each prediction carries the columns `make predict` writes."""
        rows = request.rows  # type: ignore[attr-defined]
        if len(rows) > max_rows:
            return JSONResponse({"detail": f"{len(rows)} rows; at most {max_rows} per request"}, 413)
        frame = pd.DataFrame([r.model_dump() for r in rows])
        try:
            predictions, notes = score(served.model, served.card, served.contract, frame, "request")
        except BatchRejectedError as exc:
            detail = [
                {"row": None, "column": f.column, "rule": f.check, "examples": f.examples}
                for f in exc.failures
            ]
            return JSONResponse({"detail": detail}, 422)
        if sink is not None:
            sink(frame, predictions, {"version": identity.get("version"), "time": time.time()})
        records = json.loads(predictions.to_json(orient="records", double_precision=15, date_format="iso"))
        return JSONResponse({"model": _short(identity), "predictions": records, "warnings": notes})

    return app


def _short(identity: dict[str, Any]) -> dict[str, Any]:
    return {k: identity.get(k) for k in ("version", "stage", "sha256")}
