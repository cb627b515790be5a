"""Shared fixtures: the sample data, settings, and temporary git+DVC clones of this project.

Everything is built from tests/fixtures/sample (the template's sample data and settings), never
from the project's current data or params: the tests judge the machinery, and `make ci` judges
the project.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlpipeline.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# What the environment is built from: a clone must not look newer than the shared .venv.
LOCKED_INPUTS = (
    "pyproject.toml",
    "requirements.lock",
    "requirements-dev.lock",
    "requirements-serve.lock",
    "requirements-dask.lock",
    ".ci/uv-requirements.txt",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Test projects share this suite's .venv (a link), and make in them must never rebuild it,
    however new their files: a generated project's are all new, and a make that copier starts
    inside `make new-project` takes no options from its parent. So the venv's set-up stamps are
    dated a day ahead for the session, by the process that outlives every worker (pytest-xdist's
    controller), and put back when it ends."""
    if hasattr(session.config, "workerinput"):
        return
    saved = {p: p.stat().st_mtime for p in STAMPS if p.exists()}
    session.config.stash[_STAMPS_SAVED] = saved
    ahead = time.time() + 86_400
    for path in saved:
        os.utime(path, (ahead, ahead))


def pytest_sessionfinish(session: pytest.Session) -> None:
    for path, mtime in session.config.stash.get(_STAMPS_SAVED, {}).items():
        if path.exists():
            os.utime(path, (mtime, mtime))


_STAMPS_SAVED = pytest.StashKey[dict]()


# The tiers, cheapest first (docs/development.md, "Tests"). Every test is in exactly one, so a marker
# expression selects exact tiers: a test with no tier marker is in the fast tier. `make test` runs all
# but `slow`.
TIERS = ("fast", "integration", "e2e", "slow")


def tier_of(item: pytest.Item) -> str:
    """The test's tier; a ``pytest.UsageError`` when it is marked with two."""
    found = {m.name for m in item.iter_markers() if m.name in TIERS}
    if len(found) > 1:
        raise pytest.UsageError(f"{item.nodeid}: in tiers {sorted(found)}; a test belongs to one")
    return found.pop() if found else "fast"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the fast tier, and order the tests dearest tier first.

    `make test` runs pytest-xdist's work-stealing scheduler: each worker starts on a contiguous
    share of this list, so one starts on the dear tests (building the sample project they need)
    while the other runs the logic tests, and an idle worker steals from the end of the other's
    share, where the cheap tests are. The long tests start first and the run ends on short ones,
    so neither worker waits alone on a minute-long test at the end (cheapest first, the slow
    tier's generated projects started last and `.ci/run` ended on one worker). The sort is
    stable, so a module's tests stay together and its fixtures are built once.
    """
    tiers = {item.nodeid: tier_of(item) for item in items}
    for item in items:
        if tiers[item.nodeid] == "fast":
            item.add_marker(pytest.mark.fast)
    items.sort(key=lambda item: -TIERS.index(tiers[item.nodeid]))


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast tier's promise, kept: a fast test that starts a process fails, naming the tier to
    move it to."""
    if tier_of(request.node) != "fast":
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts a process ({args[0] if args else ''}): fast tests run"
            " in-process; mark it @pytest.mark.integration"
        )

    monkeypatch.setattr(subprocess, "Popen", refuse)


SAMPLE = ROOT / "tests/fixtures/sample"
STAMPS = [VENV_BIN.parent / name for name in (".setup-done", ".dev-done", ".serve-done")]
SAMPLE_RAW = "data/raw/telco_churn.csv"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample() -> Path:
    """The folder of the template's sample settings: params.yaml, contract.yaml, plots.yaml."""
    return SAMPLE


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(SAMPLE / "params.yaml")


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """The bundled sample data, as the tests keep it."""
    return pd.read_csv(SAMPLE / "telco_churn.csv.gz")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now, for a server a test starts."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool_env(tmp: Path, src: Path | None = None) -> dict[str, str]:
    """Environment for real git/dvc/make runs: no analytics, DVC's files inside ``tmp``."""
    # PYTEST_ADDOPTS is the outer run's: a nested pytest (a generated project's suite) gets none.
    # Nor do the tests' own `make` runs get the outer make's variables (`make test WORKERS=3`
    # reaches a child make through MAKEFLAGS, and `make serve` would start three workers).
    outer = ("GIT_", "DVC_", "PYTEST_ADDOPTS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outer)}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp / "dvc-site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(tmp / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(tmp / "dvc-system"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp / "home"),
        # Without credentials, AWS's SDK would ask the EC2 metadata address (169.254.169.254) and
        # wait for its time-outs: tests reach nothing but loopback.
        AWS_EC2_METADATA_DISABLED="true",
        # Caches (uv's, pip's, the container test's base image) stay the user's: HOME is per test.
        XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
    )
    if src is not None:
        env["PYTHONPATH"] = str(src)
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    return env


class Repo:
    """A temporary git repository holding a copy of this project, with helpers to run tools in it."""

    def __init__(self, path: Path, scratch: Path) -> None:
        self.path = path
        self.env = tool_env(scratch, path / "src")

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the repo (``env`` adds to its environment); on an unexpected exit
        code, fail with its output."""
        done = subprocess.run(
            list(args),
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(VENV_BIN / "dvc"), *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def python(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(VENV_BIN / "python"), *args, check=check)

    def make(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("make", "--no-print-directory", *args, check=check, timeout=900, env=env)

    def clone(self, source: str | Path, name: str, into: Path | None = None) -> Repo:
        """``git clone source`` into ``into`` (beside this repo by default), sharing this project's
        environment.

        The lock files get an old mtime, so make sees the shared .venv as up to date and never
        rebuilds it from inside a test.
        """
        dest = (into or self.path.parent) / name
        self.run("git", "clone", "-q", str(source), str(dest))
        clone = Repo(dest, dest.parent / f"{name}-scratch")
        (dest / ".venv").symlink_to(VENV_BIN.parent)
        for rel in LOCKED_INPUTS:
            if (dest / rel).exists():
                os.utime(dest / rel, (0, 0))
        return clone

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def edit_yaml(self, rel: str, edit: Callable[[dict], None]) -> None:
        """Load a YAML file, let ``edit`` change it, write it back."""
        import yaml

        path = self.path / rel
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def run_stages(repo: Repo) -> tuple[bool, list]:
    """The four stages' ``run()`` in this process, in ``repo``: whether the gate passed, and its
    rules' outcomes."""
    from mlpipeline.config import load_settings
    from mlpipeline.layout import Layout
    from mlpipeline.stages import evaluate, gate, train, validate

    here = Path.cwd()
    os.chdir(repo.path)  # relative paths in params.yaml are the project's, as in a stage process
    try:
        settings, layout = load_settings(repo.path / "params.yaml"), Layout(repo.path)
        for stage in (validate, train, evaluate):
            stage.run(settings, layout)
        return gate.run(settings, layout)
    finally:
        os.chdir(here)


def reproduce(repo: Repo) -> bool:
    """What `dvc repro` records, at a fraction of its cost: ``run_stages``, then `dvc commit` writes
    dvc.lock and caches the outputs. Whether the gate passed.

    A stage process would write the same bytes (tests/model/test_training.py holds training to it;
    test_pipeline's fresh clone reproduces every committed hash with `dvc repro -f`), and importing
    the stack once per test process instead of once per stage is most of what a repro costs here.
    For fixtures and the tests about what follows a run; the tests of DVC's wiring run it for real.
    """
    passed, _ = run_stages(repo)
    repo.dvc("commit", "-f", "-q")
    return passed


def _ls_files(*flags: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *flags], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    return [f for f in out if f and (ROOT / f).is_file()]


def project_files() -> list[str]:
    """Files git tracks in this project, plus new ones it does not ignore."""
    return _ls_files("--cached", "--others", "--exclude-standard")


def tracked_but_ignored() -> list[str]:
    """Files this project tracks although an ignore rule matches them (committed with add -f)."""
    return _ls_files("--cached", "--ignored", "--exclude-standard")


def build_template(path: Path, scratch: Path) -> Repo:
    """The project's code on the template's sample, reproduced, pushed to its bundled remote and
    committed on main: what a fresh copy of the template holds."""
    for rel in project_files():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    (path / ".venv").symlink_to(VENV_BIN.parent)
    # `make setup` wrote the offline plots page from the locked vl-convert, as it does in every
    # project (2 s of bundling a `make plots` in each copy would repeat; a fresh clone's `make
    # setup` in the slow tier writes its own).
    offline_page = ROOT / ".dvc/plots_offline.html"
    if offline_page.exists():
        shutil.copy2(offline_page, path / ".dvc/plots_offline.html")
    for rel in LOCKED_INPUTS:  # the shared .venv is up to date whatever was edited since it was built
        if (path / rel).exists():
            os.utime(path / rel, (0, 0))
    repo = Repo(path, scratch)
    use_sample(repo)
    repo.git("init", "-q", "-b", "main")
    repo.dvc("add", "-q", SAMPLE_RAW)
    assert reproduce(repo)
    repo.dvc("push", "-q", "-r", "sample")  # the bundled remote holds every output, as shipped
    repo.git("add", "-A")
    repo.git("add", "-f", "--", *tracked_but_ignored(), "data/sample_remote/files")
    repo.git("commit", "-q", "-m", "template on its sample")
    return repo


def build_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path, Path], object]) -> Path:
    """``build(repo_path, scratch)`` once per test session, whichever worker asks first.

    Under pytest-xdist the workers share the session's base folder, and a file lock makes the others
    wait for the first; a build that died half-way is started again.
    """
    from filelock import FileLock

    shared = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's base folder sits in the session's
        shared = shared.parent
    base = shared / f"built-{name}"
    with FileLock(str(shared / f"built-{name}.lock")):
        if not (base / "ready").exists():
            shutil.rmtree(base, ignore_errors=True)
            build(base / "repo", base)
            (base / "ready").touch()
    return base / "repo"


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reproduced sample project, built once per test session. Read-only by agreement: tests
    work on copies (``template_repo``, ``repo``)."""
    return build_once(tmp_path_factory, "template", build_template)


def weaken(params: dict) -> None:
    """Strong regularisation: a worse model. Absolute floors are loosened, as a careless branch
    might, so only a comparison with another model can catch it."""
    params["model"]["hyperparameters"]["C"] = 0.002
    params["gate"]["rules"] = [
        r for r in params["gate"]["rules"] if not (r["metric"] in ("f1", "recall") and "min" in r)
    ]


def other_model(repo: Repo) -> None:
    """Branch ``other-model`` of the sample project: a weaker model (``weaken``), reproduced and
    committed; main keeps the stronger one."""
    repo.git("checkout", "-q", "-b", "other-model")
    repo.edit_yaml("params.yaml", weaken)
    assert reproduce(repo)
    repo.commit("a weaker model, floors loosened")


@pytest.fixture(scope="session")
def built_other_model(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project with a second, weaker model on a branch (``other_model``), built once per
    session: the tests that need a branch with other outputs, or a worse or better model than its
    base, share its run."""

    def build(path: Path, scratch: Path) -> None:
        copy_project(built_template, path)
        other_model(Repo(path, scratch))

    return build_once(tmp_path_factory, "other-model", build)


def copy_project(source: Path, dest: Path) -> None:
    """A private copy of a project folder: git, DVC cache, outputs and the .venv link.

    A plain copy (7 MB, ~400 files) costs a few hundredths of a second; it is not worth hard links,
    which would let one test's in-place write reach every other test's copy.
    """
    shutil.copytree(source, dest, symlinks=True)


@pytest.fixture(scope="session")
def template_repo(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """This worker's own copy of the reproduced sample project, for session-wide fixtures that run
    commands in it (tests that change a project take ``repo``)."""
    base = tmp_path_factory.mktemp("template")
    copy_project(built_template, base / "repo")
    return Repo(base / "repo", base)


TIMINGS = ("latency_p50_ms", "latency_p95_ms", "throughput_rows_per_s")
# The sample times 200 served requests three times: the test project needs
# the figures, not their precision.
LATENCY_ROWS = 10


def without_timing_rules(params: str) -> str:
    """The sample's params.yaml less its gate rules on timings, timing fewer rows.

    A verdict that depends on how busy the machine is would make any test of it flaky: the test
    project judges quality only, and the tests about timing rules add their own.
    """
    kept = [line for line in params.splitlines(keepends=True) if not line.lstrip().startswith(
        tuple(f"- {{metric: {m}," for m in TIMINGS)
    )]  # fmt: skip
    assert len(kept) < len(params.splitlines()), "the sample's timing rule moved: update without_timing_rules"
    text = "".join(kept)
    assert "  latency_rows: 200 " in text, "the sample's latency_rows moved: update without_timing_rules"
    return text.replace("  latency_rows: 200 ", f"  latency_rows: {LATENCY_ROWS} ", 1)


def use_sample(repo: Repo) -> None:
    """Put the template's sample in place of whatever data and settings the project holds."""
    import gzip

    from ruamel.yaml import YAML

    for pointer in (repo.path / "data/raw").glob("*.dvc"):
        (repo.path / "data/raw" / pointer.stem).unlink(missing_ok=True)
        pointer.unlink()
    (repo.path / "data/raw/.gitignore").unlink(missing_ok=True)
    # The shipped monitoring batch lives in the bundled remote, not in a clean checkout; tests
    # make their own batches from the sample.
    (repo.path / "data/batches.dvc").unlink(missing_ok=True)
    (repo.path / SAMPLE_RAW).write_bytes(gzip.decompress((SAMPLE / "telco_churn.csv.gz").read_bytes()))
    (repo.path / "params.yaml").write_text(without_timing_rules((SAMPLE / "params.yaml").read_text()))
    shutil.copy(SAMPLE / "contract.yaml", repo.path / "data/contract.yaml")
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    dvc_yaml = yaml.load(repo.path / "dvc.yaml")
    dvc_yaml["plots"] = yaml.load(SAMPLE / "plots.yaml")["plots"]
    yaml.dump(dvc_yaml, repo.path / "dvc.yaml")
    config = repo.path / ".dvc/config"
    config.write_text(
        "[core]\n    analytics = false\n    autostage = false\n    remote = sample\n"
        "[plots]\n    html_template = plots_offline.html\n"
        "['remote \"sample\"']\n    url = ../data/sample_remote\n"
    )


@pytest.fixture
def repo(built_template: Path, tmp_path: Path) -> Repo:
    """A private copy of the reproduced sample project for one test."""
    copy_project(built_template, tmp_path / "repo")
    return Repo(tmp_path / "repo", tmp_path)


@pytest.fixture
def other_model_repo(built_other_model: Path, tmp_path: Path) -> Repo:
    """A private copy of the sample project checked out on ``other_model``'s branch, for one test."""
    copy_project(built_other_model, tmp_path / "repo")
    return Repo(tmp_path / "repo", tmp_path)


@pytest.fixture
def inside(monkeypatch: pytest.MonkeyPatch) -> Callable[[Repo], None]:
    """Step into a repository to call a command's ``main()`` in-process (the integration tier):
    its folder as the working directory, and the tool environment its subprocesses would get."""

    def enter(repo: Repo) -> None:
        monkeypatch.chdir(repo.path)
        for key in [k for k in os.environ if k.startswith(("GIT_", "DVC_"))]:
            monkeypatch.delenv(key)
        for key, value in repo.env.items():
            monkeypatch.setenv(key, value)

    return enter


@pytest.fixture
def command(inside: Callable[[Repo], None], capsys: pytest.CaptureFixture[str]):
    """``command(repo, "registry", "release", "--notes", "x")``: ``mlpipeline.commands.registry``'s
    ``main()`` in-process in ``repo``, through the same edge as `python -m` (``run_main``: a
    ``PipelineError`` is one ``error:`` line and exit code 1), so a test about logic skips the
    interpreter's start-up."""
    import importlib

    from mlpipeline.errors import run_main

    def run(repo: Repo, module: str, *args: str) -> subprocess.CompletedProcess[str]:
        inside(repo)
        capsys.readouterr()
        main = importlib.import_module(f"mlpipeline.commands.{module}").main
        try:
            run_main(lambda: main(list(args)))
        except SystemExit as exited:
            code = exited.code or 0
        out = capsys.readouterr()
        return subprocess.CompletedProcess([module, *args], code, out.out, out.err)

    return run


@pytest.fixture
def s3_endpoint(tmp_path: Path) -> Iterator[str]:
    """moto's S3-compatible server, as its own process on 127.0.0.1, stopped after the test."""
    port = free_port()
    env = tool_env(tmp_path / "moto")
    server = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
