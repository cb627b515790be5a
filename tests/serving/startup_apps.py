"""Apps for the supervisor's tests (tests/serving/test_supervisor.py), built in its spawned workers."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def one_slow_worker(options: dict[str, Any]) -> Any:
    """Worker 0 serves at once; worker 1 takes ``options["seconds"]`` to load, as a big model on a
    busy machine may; with ``options["crash"]`` it dies while loading instead."""
    if multiprocessing.current_process().name.endswith("-1"):
        if options.get("crash"):
            raise SystemExit(3)  # before it can say so: as a kill by the kernel would
        time.sleep(options["seconds"])
    return _ok
