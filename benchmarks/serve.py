"""`make bench`, serving part: what HTTP costs over scoring in-process, and a bounded load run.

- Single-row `/predict` p50/p95 on loopback against `core.prediction.score` of the same row in
  this process (taken in turn, so a busy moment of the machine hits both), and their ratio.
- Rows/s of 1,000-row requests against `make predict`'s own path (commands.predict.run) on the
  same rows, and against `make predict` as a command (its start-up included).
- A load run: ``--load-seconds`` at ``--concurrency`` (threads with keep-alive clients) of
  single-row requests; requests served, errors, and the server's resident memory before and after.

The service is `make serve`'s command (uvicorn) in a subprocess, on the project's bundled sample.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from run import copy_project

from mlpipeline.commands import predict as predict_cmd
from mlpipeline.commands.serve import from_registry
from mlpipeline.core.prediction import score


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
    http, local = [], []
    client.request("POST", "/predict", {"rows": rows[:1]})
    score(served.model, served.card, served.contract, frame.iloc[:1].copy(), "bench")
    for i in range(n):
        start = time.perf_counter()
        status, body = client.request("POST", "/predict", {"rows": [rows[i % len(rows)]]})
        http.append((time.perf_counter() - start) * 1000)
        assert status == 200, body
        start = time.perf_counter()
        score(served.model, served.card, served.contract, frame.iloc[[i % len(frame)]].copy(), "bench")
        local.append((time.perf_counter() - start) * 1000)
    return {
        "http_p50_ms": _pct(http, 50),
        "http_p95_ms": _pct(http, 95),
        "in_process_p50_ms": _pct(local, 50),
        "in_process_p95_ms": _pct(local, 95),
        "p50_ratio": round(_pct(http, 50) / _pct(local, 50), 2),
        "p95_ratio": round(_pct(http, 95) / _pct(local, 95), 2),
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


def load(port: int, rows: list[dict], seconds: float, concurrency: int, pid: int) -> dict:
    served, errors = [0] * concurrency, [0] * concurrency
    before = _rss_mb(pid)
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        client, i = Client(port), k
        while time.monotonic() < stop:
            try:
                ok = client.request("POST", "/predict", {"rows": [rows[i % len(rows)]]})[0] == 200
            except (OSError, http.client.HTTPException):
                ok = False
                client.close()
                client = Client(port)
            served[k] += ok
            errors[k] += not ok
            i += concurrency
        client.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "seconds": seconds,
        "concurrency": concurrency,
        "requests": sum(served),
        "errors": sum(errors),
        "requests_per_s": round(sum(served) / seconds, 1),
        "server_rss_mb_start": before,
        "server_rss_mb_end": _rss_mb(pid),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=300, help="single-row requests timed")
    parser.add_argument("--reps", type=int, default=5, help="1,000-row requests timed")
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
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
        server = subprocess.Popen(
            [sys.executable, "-m", "mlpipeline.commands.serve", "--port", str(port)],
            cwd=root, env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    if Client(port).request("GET", "/health")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            client = Client(port)
            frame = pd.read_csv(csv)
            figures = {
                "single_row": single_row(client, served, rows, frame, args.single),
                "batch": batch(client, root, rows, csv, args.reps),
            }
            client.close()
            figures["load"] = load(port, rows, args.load_seconds, args.concurrency, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    load_ok = figures["load"]["errors"] == 0 and figures["load"]["requests"] > 0
    return 0 if load_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
