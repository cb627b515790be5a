"""The container, built and run for real with podman: the same integration checks as the service,
for a project that runs its own code (a derived feature of src/project/ and an XGBoost model).

No registry is reachable here, so the base image is built with mmdebstrap (Debian bookworm and its
python3; half debootstrap's time, as apt downloads and unpacks) and the service's wheels are
prepared on the host with pip; both are cached under ``$XDG_CACHE_HOME/mlpipeline-tests`` so reruns
take seconds. podman runs with runc and ulimits below the host's hard limits (the containers.conf
below). .ci/run installs podman, runc and mmdebstrap and sets REQUIRE_CONTAINER=1, so the test
cannot silently skip there.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Repo, copy_project, reproduce
from tests.e2e.test_own_code import own_code
from tests.serving import checks
from tests.serving.conftest import score_rows

pytestmark = pytest.mark.slow  # an image build and a container: make test-all
BASE = "localhost/mlpipeline-test-base:bookworm"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def _cache() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlpipeline-tests"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _run(*args: str, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args[:3])} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which podman works here, with the base image loaded."""
    needed = [t for t in ("podman", "runc", "mmdebstrap") if shutil.which(t) is None]
    if needed:
        if os.environ.get("REQUIRE_CONTAINER") == "1":
            pytest.fail(f"REQUIRE_CONTAINER=1 but {', '.join(needed)} missing (.ci/run installs them)")
        pytest.skip(f"{', '.join(needed)} not installed; CI installs them (see .ci/run)")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    if subprocess.run(["podman", "image", "exists", BASE], env=env).returncode != 0:
        archive = _cache() / "base-bookworm.tar"
        if not archive.exists():
            rootfs = tmp_path_factory.mktemp("rootfs") / "root.tar"
            _run(
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
                env=env,
            )  # fmt: skip  (apt's lists and downloaded packages are left out of the tar)
            _run("podman", "import", str(rootfs), BASE, env=env)
            _run("podman", "save", "-o", str(archive), BASE, env=env)
        else:
            _run("podman", "load", "-i", str(archive), env=env)
    return env


def _python_with_pip() -> str:
    """An interpreter with pip: this venv's own behind it first (uv venvs have no pip), then PATH's."""
    found = [getattr(sys, "_base_executable", ""), shutil.which("python3")]
    for candidate in filter(None, found):
        if subprocess.run([candidate, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return candidate
    pytest.fail("no Python with pip on this machine to download the service's wheels")


def _platforms() -> list[str]:
    """pip's --platform tags the base image (Debian bookworm, glibc 2.36) can load."""
    arch = platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in (36, 34, 31, 28, 27, 24, 17)]
    return [*tags, f"manylinux2014_{arch}"]


@pytest.fixture(scope="module")
def wheels() -> Path:
    """The service's wheels for the base image's Python (3.11), by lock hash."""
    lock = Path(__file__).resolve().parents[2] / "requirements-serve.lock"
    folder = _cache() / f"wheels-{hashlib.sha256(lock.read_bytes()).hexdigest()[:16]}"
    if not any(folder.glob("*.whl")):
        pip = _python_with_pip()
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        # Wheels for the base image's CPython 3.11, whatever Python runs pip here.
        target = [
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--abi",
            "cp311",
            "--only-binary=:all:",
        ]
        platforms = [part for tag in _platforms() for part in ("--platform", tag)]
        command = [
            pip,
            "-m",
            "pip",
            "download",
            "-q",
            "--require-hashes",
            "-r",
            str(lock),
            "-d",
            str(partial),
        ]
        _run(*command, *target, *platforms, env=dict(os.environ))
        partial.rename(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def own_code_project(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict]:
    """The sample project with a derived feature and XGBoost, reproduced and committed, and what
    `make predict` wrote for rows of the sample."""
    base = tmp_path_factory.mktemp("own-code")
    copy_project(built_template, base / "repo")
    repo = Repo(base / "repo", base)
    repo.edit_yaml("params.yaml", own_code)
    assert reproduce(repo)
    repo.commit("a derived feature and XGBoost")
    return repo, score_rows(repo, base)


def test_the_container_serves_the_model_and_passes_every_check(
    own_code_project: tuple[Repo, dict], podman: dict[str, str], wheels: Path
) -> None:
    template_repo, scored = own_code_project
    tag = f"mlpipeline-test-model:{os.getpid()}"
    env = {**template_repo.env, "CONTAINERS_CONF": podman["CONTAINERS_CONF"]}
    built = template_repo.make(
        "image",
        f"IMAGE={tag}",
        f"IMAGE_BASE={BASE}",
        f"WHEELS={wheels}",
        env={"CONTAINERS_CONF": env["CONTAINERS_CONF"]},
    )
    assert f"image: built {tag} with podman" in built.stdout
    try:
        labels = json.loads(_run("podman", "inspect", tag, "--format", "{{json .Config.Labels}}", env=env))
        card = json.loads((template_repo.path / "models/model.json").read_text())
        assert labels["io.mlpipeline.model.sha256"] == card["model_sha256"]
        assert labels["org.opencontainers.image.version"] == "workspace"
        user = _run("podman", "inspect", tag, "--format", "{{.Config.User}}", env=env).strip()
        assert user and not user.startswith("0")
        # The packages' own test suites (scikit-learn's, SciPy's, pandas') are not in the image.
        found = _run("podman", "run", "--rm", "--entrypoint", "find", tag, "/opt/venv/lib", "-type", "d",
                     "-name", "tests", "-path", "*/site-packages/*", env=env)  # fmt: skip
        assert found.strip() == "", found[:300]
        # The project's own code is in the image, beside the package, as it was trained with.
        shipped = _run("podman", "run", "--rm", "--entrypoint", "cat", tag, "/app/project/features.py",
                       env=env)  # fmt: skip
        assert shipped == (template_repo.path / "src/project/features.py").read_text()
        port = _free_port()
        name = f"mlpipeline-test-{os.getpid()}"
        _run(
            "podman",
            "run",
            "-d",
            "--init",
            "--rm",
            "--name",
            name,
            "-p",
            f"127.0.0.1:{port}:8000",
            "-e",
            "WORKERS=2",  # the image's setting for processes, one per core given to the container
            tag,
            env=env,
        )
        try:
            _serve_checks(f"http://127.0.0.1:{port}", scored, card["model_sha256"], env, name)
        finally:
            subprocess.run(["podman", "stop", "-t", "5", name], env=env, capture_output=True)
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], env=env, capture_output=True)
        # The build stage's image is left untagged by every build; do not let reruns pile them up.
        subprocess.run(["podman", "image", "prune", "-f"], env=env, capture_output=True)


def _serve_checks(url: str, scored: dict, sha256: str, env: dict[str, str], name: str) -> None:
    def logs() -> str:
        done = subprocess.run(["podman", "logs", name], env=env, capture_output=True, text=True)
        return done.stdout + done.stderr

    with httpx.Client(base_url=url, timeout=30) as client:
        checks.wait_healthy(client, 90, logs)
        checks.run_all(client, scored["rows"], scored["expected"], sha256, scored["contract"], "churn")
    checks.check_an_open_inference_client(url, scored["rows"], scored["expected"])
    said = logs()
    assert "with 2 worker(s)" in said
    assert said.count("fast path off: the model runs the project's own code") == 1  # once, at start-up
