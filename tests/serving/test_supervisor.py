"""`make serve WORKERS=N`'s supervisor (adapters/workers.py) as one process, with apps that load
slowly or die while loading: what a stop or a crash during start-up does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.serving import checks

pytestmark = pytest.mark.integration

SUPERVISE = """
import sys
from mlpipeline.adapters import workers
from mlpipeline.errors import run_main
options = {"seconds": 600, "crash": sys.argv[2] == "crash"}
run_main(lambda: workers.run(workers.claim("127.0.0.1", int(sys.argv[1]), 2),
                             "tests.serving.startup_apps:one_slow_worker", options,
                             lambda said: print("all ready", flush=True)))
"""


def _supervise(port: int, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, str(port), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_stop_while_a_worker_still_loads_stops_the_service() -> None:
    """SIGTERM once the first worker answers and before the second has loaded (a test's or an
    orchestrator's stop soon after start): every process stops, none waits for the slow one."""
    port = free_port()
    supervisor = _supervise(port, "slow")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            checks.wait_healthy(client, 60, lambda: str(supervisor.poll()))  # worker 0 answers
        supervisor.send_signal(signal.SIGTERM)
        out, err = supervisor.communicate(timeout=120)  # the slow worker would take 600 s
    finally:
        supervisor.kill()
    assert supervisor.returncode == 0, err
    assert "all ready" not in out


def test_a_worker_that_dies_while_loading_stops_the_service_with_one_line() -> None:
    supervisor = _supervise(free_port(), "crash")
    try:
        out, err = supervisor.communicate(timeout=120)
    finally:
        supervisor.kill()
    assert supervisor.returncode == 1 and "all ready" not in out
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "serve-worker-1 exited with code 3 before it listened" in line


def test_a_killed_supervisors_workers_stop_and_its_port_is_refused_while_it_lives() -> None:
    """SIGKILL leaves no supervisor to stop the workers (outside a container that takes them
    along): each stops by itself, the serving one and the one still loading. While it lives, a
    second service on its port is refused at once, though its second worker has not loaded."""
    port = free_port()
    supervisor = _supervise(port, "slow")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            checks.wait_healthy(client, 60, lambda: str(supervisor.poll()))
        second = _supervise(port, "slow")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1 and "Address already in use" in err, err
        workers = checks.worker_processes(supervisor.pid)
        assert len(workers) == 2
        supervisor.kill()
        supervisor.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived their supervisor"
            time.sleep(0.2)
    finally:
        supervisor.kill()


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
