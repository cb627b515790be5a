"""Worker processes for `make serve WORKERS=N`: each listens on its own socket, the kernel balances.

uvicorn's ``--workers`` shares one listening socket, and an asyncio server accepts every pending
connection when it wakes: with a few keep-alive clients (a proxy, a load balancer, a benchmark's
eight connections) one worker takes them all and the others idle (measured: 8 connections, one
worker at 100% CPU, the other at 0%). With ``SO_REUSEPORT`` (Linux) each worker binds its own
socket to the same port and the kernel spreads new connections across them. Elsewhere, or for
one worker, uvicorn's own supervisor and a shared socket serve as before.

The supervisor here binds every worker's socket before any worker starts (so a second service
on the same port fails at once, not after a model load), starts the workers, prints nothing until
every worker has loaded the model and listens, stops them all on SIGTERM or SIGINT, and stops them
all (exit 1, one line) when one dies: an orchestrator restarts a container whose service is not
whole, rather than this process limping on with fewer workers. It never loads the model itself.
A worker whose supervisor is gone (killed with SIGKILL, outside a container that would take the
workers with it) stops within a second.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from mlpipeline.errors import PipelineError

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 30
READY_POLL_SECONDS = 0.2  # how often the supervisor looks for a stop or a dead worker at start


def balanced_by_kernel() -> bool:
    """Whether separate sockets on one port get connections spread by the kernel (Linux)."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def listen(host: str, port: int, *, reuse_port: bool = False, backlog: int | None = BACKLOG) -> socket.socket:
    """A TCP socket bound to ``host:port`` (listening unless ``backlog`` is None); ``OSError`` if taken.

    IPPROTO_TCP is named and TCP_NODELAY set (Linux passes it to accepted connections): without
    them asyncio leaves Nagle on, and a response written in two parts waits ~40 ms for an ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def claim(host: str, port: int, workers: int) -> list[socket.socket]:
    """The sockets a service of ``workers`` processes listens on, bound now: one, or on Linux one
    per worker in an ``SO_REUSEPORT`` group. A plain bind first: a port another program (or
    another service's group) holds is refused here, whoever holds it."""
    plain = listen(host, port, backlog=None)
    if workers == 1 or not balanced_by_kernel():
        plain.listen(BACKLOG)
        return [plain]
    plain.close()  # the group replaces it at once: no model load happens between the two
    return [listen(host, port, reuse_port=True) for _ in range(workers)]


def orphan_watch(parent: int, seconds: float = 1.0) -> None:
    """Stop this worker (SIGTERM to itself: uvicorn finishes what it holds) once ``parent`` (its
    supervisor's pid, passed in: a supervisor killed while this worker still started would
    otherwise go unnoticed) is no longer its parent, checked every ``seconds`` in a daemon thread."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def serve_socket(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on an already listening socket until SIGTERM or SIGINT (uvicorn's own handling)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS)
    uvicorn.Server(config).run(sockets=[sock])


def _worker(factory: str, options: dict[str, Any], sock: socket.socket, ready: Any, parent: int) -> None:
    """One worker: build the app, say so (with what its app says of itself), serve its socket."""
    orphan_watch(parent)
    try:
        module, name = factory.split(":")
        app = getattr(importlib.import_module(module), name)(options)
    except Exception as exc:
        ready.put(("error", f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    ready.put(("ready", getattr(getattr(app, "state", None), "said", "")))
    serve_socket(app, sock)


def run(
    sockets: list[socket.socket],
    factory: str,
    options: dict[str, Any],
    on_ready: Callable[[str], None],
) -> int:
    """Start one process per socket of ``sockets`` (``claim``'s group), each serving
    ``factory(options)``; return the exit code. ``on_ready`` gets what the first app says of
    itself once every worker listens.

    ``factory`` is ``"module:function"``, imported in each worker (spawned, not forked: a fork
    would copy the parent's threads and locks).
    """
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    processes = [
        context.Process(
            target=_worker, args=(factory, options, sock, ready, os.getpid()), name=f"serve-worker-{i}"
        )
        for i, sock in enumerate(sockets)
    ]
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in processes:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests it holds

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for p in processes:
            p.start()
        started, said = 0, ""
        # A worker stopped (SIGTERM while it loads) or killed before it says so never will: the
        # wait checks for both rather than block on the queue for good.
        while started < len(processes) and not stopping:
            try:
                kind, message = ready.get(timeout=READY_POLL_SECONDS)
            except queue.Empty:
                dead = [p for p in processes if not p.is_alive()]
                if dead and not stopping:
                    stop(signal.SIGTERM, None)
                    raise PipelineError(
                        f"serve: {dead[0].name} exited with code {dead[0].exitcode} before it listened"
                    ) from None
                continue
            if kind == "error":
                stop(signal.SIGTERM, None)
                raise PipelineError(f"serve: a worker could not start: {message}")
            started, said = started + 1, said or message
        for sock in sockets:  # every worker holds its own now
            sock.close()
        if not stopping:
            on_ready(said)
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p in processes])
            if stopping:
                break
            dead = [p for p in processes if not p.is_alive()]
            stop(signal.SIGTERM, None)
            print(f"serve: {dead[0].name} exited with code {dead[0].exitcode}; stopping", file=sys.stderr)
            for p in processes:
                p.join(30)
            return 1
        for p in processes:
            p.join(30)
        return 0
    finally:
        for sock in sockets:
            sock.close()
        for p in processes:
            if p.is_alive():
                p.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)
