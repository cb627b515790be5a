"""`make bench`, serving part: what HTTP costs over the model, how it scales, and what it survives.

- Single-row `/predict` p50/p95 on loopback against the model's own prediction of the same row
  in this process (scikit-learn's pipeline, ``predict_proba`` of a one-row frame), and against the
  served path in-process (``core.rows``: the row checked, then the compiled model); the ratios.
- Rows/s of 1,000-row requests against `make predict`'s own path and `make predict` as a command.
- Throughput: single-row requests/s at ``--concurrency`` with 1 and 2 worker processes
  (`make serve WORKERS=N`), from an asyncio keep-alive client cheap enough not to be the limit.
- A load and fault run: ``--fault-clients`` clients for ``--load-seconds`` mixing good rows, rows
  that break the contract, malformed JSON, NaN, bodies over the byte limit (declared, with
  ``Expect: 100-continue`` as curl sends them) and over the row limit: 5xx answers and dropped
  connections counted, p50/p99 of the good requests, the server's resident memory before and after.
- Own code: the same single-row p50 and single-row requests/s (one worker) for the sample with one
  derived feature of src/project/ (``features.derived``), which the compiled fast path declines:
  what a project's own code costs a served row.
- Bounds: one worker under the worst bodies (the most rows a request holds, 8 MiB of empty
  objects, more large requests at once than its budget): its peak resident memory, and `/health`'s
  p50/p99 while they run.

The service is `make serve`'s command (uvicorn) in a subprocess, on the project's bundled sample.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from run import copy_project

from mlpipeline.commands import predict as predict_cmd
from mlpipeline.commands.serve import from_registry
from mlpipeline.core.rows import RowPath


class Client:
    """A keep-alive HTTP/1.1 client on the standard library (the bench needs only `make serve`'s packages)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if data else {}
        for attempt in (1, 2):  # the server closes a connection idle past its keep-alive: reopen once
            try:
                self.connection.request(method, path, body=data, headers=headers)
                answer = self.connection.getresponse()
                return answer.status, answer.read()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def single_row(client: Client, served, rows: list[dict], frame: pd.DataFrame, n: int) -> dict:
    """HTTP against the model alone and against the served path in-process, rows taken in turn."""
    http, model, path_ms = [], [], []
    features = served.features
    path = RowPath(served)
    client.request("POST", "/predict", {"rows": rows[:1]})
    served.model.predict_proba(frame[features].iloc[:1])
    for i in range(n):
        row = rows[i % len(rows)]
        start = time.perf_counter()
        status, body = client.request("POST", "/predict", {"rows": [row]})
        http.append((time.perf_counter() - start) * 1000)
        assert status == 200, body
        one = frame[features].iloc[[i % len(frame)]]
        start = time.perf_counter()
        served.model.predict_proba(one)
        model.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        records, _ = path.check([row])
        path.score(records)
        path_ms.append((time.perf_counter() - start) * 1000)
    return {
        "http_p50_ms": _pct(http, 50),
        "http_p95_ms": _pct(http, 95),
        "model_p50_ms": _pct(model, 50),
        "in_process_p50_ms": _pct(path_ms, 50),
        "in_process_p95_ms": _pct(path_ms, 95),
        "fast_path": path.compiled is not None,
        "http_over_model_p50": round(_pct(http, 50) / _pct(model, 50), 2),
        "p50_ratio": round(_pct(http, 50) / _pct(path_ms, 50), 2),
    }


def batch(client: Client, project: Path, rows: list[dict], csv: Path, reps: int) -> dict:
    http, command_path, command = [], [], []
    for _ in range(reps):
        start = time.perf_counter()
        assert client.request("POST", "/predict", {"rows": rows})[0] == 200
        http.append(time.perf_counter() - start)
        start = time.perf_counter()
        predict_cmd.run(project, csv, csv.with_suffix(".out.csv"), None, None)
        command_path.append(time.perf_counter() - start)
        start = time.perf_counter()
        files = [f"INPUT={csv}", f"OUTPUT={csv.with_suffix('.m.csv')}"]
        subprocess.run(
            ["make", "--no-print-directory", "-s", "predict", *files],
            cwd=project,
            check=True,
            capture_output=True,
        )
        command.append(time.perf_counter() - start)
    n = len(rows)
    return {
        "rows_per_request": n,
        "http_rows_per_s": round(n / statistics.median(http)),
        "predict_path_rows_per_s": round(n / statistics.median(command_path)),
        "make_predict_rows_per_s": round(n / statistics.median(command)),
    }


def _request(body: bytes, extra: str = "", declared: int | None = None) -> bytes:
    length = len(body) if declared is None else declared
    head = (
        f"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one response, read whole, and whether the server keeps the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def _clients(port: int, plan: list[tuple[str, bytes]], seconds: float, clients: int) -> dict:
    """``clients`` keep-alive connections sending ``plan``'s requests in turn for ``seconds``."""
    statuses: dict[str, dict[int, int]] = {}
    dropped: dict[str, int] = {}
    good_ms: list[float] = []
    stop = time.monotonic() + seconds

    async def client(k: int) -> None:
        reader = writer = None
        i = k * len(plan) // clients  # each client starts on its own stretch of the plan
        while time.monotonic() < stop:
            kind, request = plan[i % len(plan)]
            i += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                start = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status, keep = await _answer(reader)
                if kind == "good":
                    good_ms.append((time.perf_counter() - start) * 1000)
                statuses.setdefault(kind, {}).setdefault(status, 0)
                statuses[kind][status] += 1
                if not keep:  # an orderly close the server announced: open a new connection
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                dropped[kind] = dropped.get(kind, 0) + 1
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    return {"statuses": statuses, "dropped": dropped, "good_ms": good_ms}


def _server(root: Path, env: dict, port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "mlpipeline.commands.serve", "--port", str(port), "--workers", str(workers)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        try:
            if Client(port).request("GET", "/health")[0] == 200:
                # every worker up: a few more answers, then the process tree is whole
                time.sleep(1.0 if workers > 1 else 0)
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the service on port {port} never became healthy")


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _rss_mb(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return round(total, 1)


def throughput(root: Path, env: dict, rows: list[dict], seconds: float, concurrency: int) -> dict:
    """Requests/s with 1 and 2 worker processes, of single rows and of 100-row batches.

    The load generator shares the machine: on 2 cores it takes most of one, so single-row
    requests (where the client's work is about the server's) cannot show a second worker's
    gain; 100-row requests, where the server's work dominates, do.
    """
    plans = {
        "single_row": [("good", _request(json.dumps({"rows": [r]}).encode())) for r in rows[:200]],
        "rows_100": [
            ("good", _request(json.dumps({"rows": rows[i : i + 100]}).encode())) for i in range(0, 1000, 100)
        ],
    }
    out: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds}
    for workers in (1, 2):
        port = _port()
        server = _server(root, env, port, workers)
        try:
            for name, plan in plans.items():
                found = asyncio.run(_clients(port, plan, seconds, concurrency))
                good = found["statuses"].get("good", {})
                out.setdefault(name, {})[f"workers_{workers}"] = {
                    "requests_per_s": round(good.get(200, 0) / seconds, 1),
                    "p50_ms": _pct(found["good_ms"], 50),
                    "p99_ms": _pct(found["good_ms"], 99),
                    "errors": sum(found["dropped"].values()) + sum(n for s, n in good.items() if s != 200),
                }
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name in plans:
        runs = out[name]
        runs["two_workers_over_one"] = round(
            runs["workers_2"]["requests_per_s"] / max(runs["workers_1"]["requests_per_s"], 1e-9), 2
        )
    return out


def derived_feature(
    project: Any, rows: list[dict], csv: Path, scratch: Path, n: int, seconds: float, concurrency: int
) -> dict:
    """Single-row p50 and requests/s (one worker) once the model derives one feature with the
    project's own code (the pandas path: the fast path declines a pipeline it cannot verify)."""
    root = project.path
    params = root / "params.yaml"
    original = params.read_text()
    derived = '  derived: ["project.features:charges_per_month"]'
    params.write_text(original.replace("  derived: []", derived, 1))
    try:
        project.dvc("repro", "-q", "train")  # the model and its card; serving needs nothing else
        served, _, _ = from_registry(root, None, None, scratch)
        port = _port()
        server = _server(root, project.env, port, 1)
        try:
            client = Client(port)
            single = single_row(client, served, rows, pd.read_csv(csv), n)
            client.close()
            plan = [("good", _request(json.dumps({"rows": [r]}).encode())) for r in rows[:200]]
            found = asyncio.run(_clients(port, plan, seconds, concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        params.write_text(original)
    good = found["statuses"].get("good", {})
    return {
        "derived": "project.features:charges_per_month",
        "fast_path": single["fast_path"],
        "http_p50_ms": single["http_p50_ms"],
        "in_process_p50_ms": single["in_process_p50_ms"],
        "requests_per_s_workers_1": round(good.get(200, 0) / seconds, 1),
        "errors": sum(found["dropped"].values()) + sum(n for s, n in good.items() if s != 200),
    }


def fault_plan(rows: list[dict], column: str) -> list[tuple[str, bytes]]:
    """The mix the load and fault run sends, shuffled with a fixed seed."""
    good = [("good", _request(json.dumps({"rows": [r]}).encode())) for r in rows[:200]]
    bad_rows = [{**r, column: "soon"} for r in rows[:20]]
    bad = [("contract", _request(json.dumps({"rows": [r]}).encode())) for r in bad_rows]
    malformed = [("malformed", _request(b'{"rows": [{"a": 1,')), ("malformed", _request(b"[" * 50_000))]
    nan = [("nan", _request(b'{"rows": [{"tenure": NaN}]}'))]
    too_big = [("oversized", _request(b"", "expect: 100-continue\r\n", declared=9 * 1024 * 1024))]
    too_many = [("too_many_rows", _request(json.dumps({"rows": [{}] * 20_000}).encode()))]
    plan = good * 8 + bad * 10 + malformed * 20 + nan * 20 + too_big * 20 + too_many * 10
    random.Random(0).shuffle(plan)
    return plan


def load_and_faults(
    root: Path, env: dict, rows: list[dict], column: str, seconds: float, clients: int, workers: int
) -> dict:
    """``clients`` connections of mixed good and hostile requests; what broke, what it cost."""
    port = _port()
    server = _server(root, env, port, workers)
    try:
        before = _tree_rss_mb(server.pid)
        found = asyncio.run(_clients(port, fault_plan(rows, column), seconds, clients))
        after = _tree_rss_mb(server.pid)
        alive = Client(port).request("GET", "/health")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    statuses = found["statuses"]
    return {
        "seconds": seconds,
        "clients": clients,
        "workers": workers,
        "answers": {k: {str(s): n for s, n in sorted(v.items())} for k, v in sorted(statuses.items())},
        "server_errors_5xx": sum(n for v in statuses.values() for s, n in v.items() if s >= 500),
        "dropped_connections": sum(found["dropped"].values()),
        "good_p50_ms": _pct(found["good_ms"], 50),
        "good_p99_ms": _pct(found["good_ms"], 99),
        "rss_mb_start": before,
        "rss_mb_end": after,
        "rss_growth_mb": round(after - before, 1),
        "healthy_after": alive,
    }


def bounds(root: Path, env: dict, rows: list[dict], seconds: float) -> dict:
    """What the worst bodies cost one worker, and whether `/health` waits behind them.

    Bodies: the most rows a request may hold (10,000 real rows, scored), a body of the most JSON
    values a byte limit allows (8 MiB of ``{}`` rows, refused before parsing), and more large
    requests at once than the worker's budget (the rest refused with 503). Meanwhile a sampler
    reads the worker's resident memory every 20 ms and a client times `/health`.
    """
    import threading

    from mlpipeline.adapters.http import MAX_BYTES, MAX_LARGE

    port = _port()
    server = _server(root, env, port, 1)
    big = json.dumps({"rows": (rows * (10_000 // len(rows) + 1))[:10_000]}).encode()
    empties = b'{"rows": [' + b"{}," * ((MAX_BYTES - 20) // 3) + b"{}]}"
    plan = [("rows_10000", _request(big)), ("empty_objects_8mib", _request(empties))]
    stop, peak = threading.Event(), [0.0]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_mb(server.pid))
            time.sleep(0.02)

    # `/health` is timed from a process of its own: a thread here would wait for this process's
    # interpreter lock behind the load clients, and count that as the server's latency.
    ping = (
        "import http.client, sys, time\n"
        f"c = http.client.HTTPConnection('127.0.0.1', {port}, timeout=60)\n"
        f"end = time.monotonic() + {seconds}\n"
        "while time.monotonic() < end:\n"
        "    t = time.perf_counter(); c.request('GET', '/health'); c.getresponse().read()\n"
        "    print((time.perf_counter() - t) * 1000, flush=True); time.sleep(0.01)\n"
    )

    try:
        base = _tree_rss_mb(server.pid)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        pinger = subprocess.Popen([sys.executable, "-c", ping], stdout=subprocess.PIPE, text=True)
        found = asyncio.run(_clients(port, plan, seconds, MAX_LARGE + 2))
        health = [float(line) for line in pinger.communicate(timeout=60)[0].split()]
        stop.set()
        sampler.join(timeout=10)
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    statuses = found["statuses"]
    return {
        "seconds": seconds,
        "clients": MAX_LARGE + 2,
        "large_budget": MAX_LARGE,
        "answers": {k: {str(s): n for s, n in sorted(v.items())} for k, v in sorted(statuses.items())},
        "server_errors_5xx": sum(n for v in statuses.values() for s, n in v.items() if s >= 500 and s != 503),
        "rss_mb_idle": base,
        "rss_mb_peak": round(peak[0], 1),
        "health_p50_ms": _pct(health, 50),
        "health_p99_ms": _pct(health, 99),
        "health_requests": len(health),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=300, help="single-row requests timed")
    parser.add_argument("--reps", type=int, default=5, help="1,000-row requests timed")
    parser.add_argument("--load-seconds", type=float, default=60, help="each load run's length")
    parser.add_argument("--concurrency", type=int, default=8, help="clients of the throughput runs")
    parser.add_argument("--fault-clients", type=int, default=64, help="clients of the load and fault run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the load and fault run")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "project")
        project.dvc("repro", "-q")
        root = project.path
        data = pd.read_csv(root / "data/raw/telco_churn.csv", nrows=1000).drop(columns="churn")
        csv = Path(tmp) / "rows.csv"
        data.to_csv(csv, index=False)
        rows = data.astype(object).where(data.notna(), None).to_dict(orient="records")
        served, _, _ = from_registry(root, None, None, Path(tmp))
        port = _port()
        server = _server(root, project.env, port, 1)
        try:
            client = Client(port)
            frame = pd.read_csv(csv)
            figures = {
                "single_row": single_row(client, served, rows, frame, args.single),
                "batch": batch(client, root, rows, csv, args.reps),
            }
            client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        figures["throughput"] = throughput(root, project.env, rows, args.load_seconds, args.concurrency)
        column = next(k for k, v in rows[0].items() if isinstance(v, int) and not isinstance(v, bool))
        figures["load_and_faults"] = load_and_faults(
            root, project.env, rows, column, args.load_seconds, args.fault_clients, args.workers
        )
        figures["bounds"] = bounds(root, project.env, rows, args.load_seconds)
        figures["derived_feature"] = derived_feature(
            project, rows, csv, Path(tmp), args.single, args.load_seconds, args.concurrency
        )
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    faults = figures["load_and_faults"]
    survived = (
        faults["server_errors_5xx"] == 0
        and figures["bounds"]["server_errors_5xx"] == 0
        and faults["dropped_connections"] == 0
        and faults["healthy_after"]
        and figures["derived_feature"]["errors"] == 0
        and all(
            run["errors"] == 0
            for kind in ("single_row", "rows_100")
            for name, run in figures["throughput"][kind].items()
            if name.startswith("workers_")
        )
    )
    return 0 if survived else 1


if __name__ == "__main__":
    raise SystemExit(main())
