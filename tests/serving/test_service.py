"""The model service: in-process, through `make serve` on loopback, and fuzzed from its own schema."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mlpipeline.adapters.http import create_app
from mlpipeline.commands.serve import export, from_folder
from mlpipeline.commands.serve import main as serve_command
from mlpipeline.errors import PipelineError
from tests.conftest import Repo
from tests.serving import checks

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(scored: dict):
    return create_app(scored["served"])


def _all_checks(client, scored: dict) -> None:
    checks.run_all(
        client,
        scored["rows"],
        scored["expected"],
        scored["served"].identity["sha256"],
        scored["contract"],
        "churn",
    )


def test_the_in_process_service_passes_every_check(app, scored: dict) -> None:
    with TestClient(app) as client:
        _all_checks(client, scored)


def test_an_exported_model_serves_the_same_answers(template_repo: Repo, scored: dict, tmp_path: Path) -> None:
    """What `make image` bakes in: the folder, verified on load, answers as the workspace does."""
    export(template_repo.path, None, None, tmp_path / "model")
    served = from_folder(tmp_path / "model")
    with TestClient(create_app(served)) as client:
        checks.check_predictions_match(client, scored["rows"], scored["expected"])
    (tmp_path / "model/model.joblib").write_bytes(b"not the model")
    with pytest.raises(Exception, match="does not match the model card"):
        from_folder(tmp_path / "model")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_serve_on_loopback_passes_every_check(
    template_repo: Repo, scored: dict, inside, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two worker processes behind one port, as `make serve WORKERS=2` runs on a 2-core machine."""
    port = _free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"PORT={port}", "WORKERS=2"],
        cwd=template_repo.path,
        env=template_repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            checks.wait_healthy(client, 60, lambda: server.stdout.read() if server.poll() is not None else "")
            _all_checks(client, scored)
            url = f"http://127.0.0.1:{port}"
            checks.check_an_open_inference_client(url, scored["rows"], scored["expected"])
            checks.check_every_worker_serves(url, server.pid, scored["rows"])
            # A port in use fails in one line, before any line says the service is up (the
            # command in-process: `make serve` started it above).
            inside(template_repo)
            capsys.readouterr()
            with pytest.raises(PipelineError) as busy:
                serve_command(["--port", str(port)])
            assert f"cannot listen on 127.0.0.1:{port}" in str(busy.value) and "PORT=" in str(busy.value)
            said = capsys.readouterr()
            assert "serve:" not in said.out + said.err
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_model_that_fails_verification_stops_the_service_with_one_line(repo: Repo) -> None:
    model = repo.path / "models/model.joblib"
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")
    done = repo.make("serve", "PORT=1", check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "does not match the model card" in line


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_nothing_a_client_sends_gets_a_5xx_or_breaks_the_schema(app, mode: str) -> None:
    """Schemathesis draws requests from the service's own OpenAPI schema, valid ones and, in
    negative mode, ones that break it; every answer must be a documented non-5xx response."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode == "negative" and operation.method.upper() != "POST":
            continue  # nothing to break in a request without parameters or body
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

        # JSON Schema cannot say that a tensor's shape agrees with its data, or which one of
        # MLflow's two forms is sent: their schema-valid bodies may be refused (with a 4xx).
        protocol = operation.path != "/predict"
        excluded = [positive_data_acceptance] if protocol else []

        @given(case=strategy)
        @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def call(case) -> None:
            case.call_and_validate(excluded_checks=excluded)  # noqa: B023 (called in this iteration)

        call()


def _oip_spec() -> dict:
    """The Open Inference Protocol's REST spec (tests/serving/oip), for this service's one model:
    the path's model name held to the name it serves, so requests reach the model, not only 404."""
    import json

    text = (Path(__file__).parent / "oip/dataplane.json").read_text()
    # Two places where the published file is not JSON Schema, repaired as meant: an enum kept
    # outside components/schemas, and a tensor's data of "type: bytes" (base64 text in JSON).
    spec = json.loads(text.replace("#/components/enums/", "#/components/schemas/"))
    spec["components"]["schemas"].update(spec["components"].pop("enums", {}))

    def repair(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "bytes":
                node["type"] = "string"
            for value in node.values():
                repair(value)
        elif isinstance(node, list):
            for value in node:
                repair(value)

    repair(spec)
    for item in spec["paths"].values():
        for parameter in item.get("parameters", []):
            if parameter["name"] == "model_name":
                parameter["schema"] = {"type": "string", "enum": ["model"]}
    return spec


# The protocol's LLM extension (generate, streaming); this service serves tabular models.
NOT_OFFERED = ("/generate", "/generate_stream", "/infer_stream")


def test_the_open_inference_protocols_own_spec_finds_no_fault(app) -> None:
    """Schemathesis draws requests from the protocol's spec, not the service's: every answer is
    one the spec documents (no 5xx), in the shape it documents; a method a route does not take
    is 405, not 404."""
    schema = schemathesis.openapi.from_dict(_oip_spec())
    schema.app = app
    operations = [r.ok() for r in schema.get_all_operations()]
    served = [op for op in operations if not op.path.endswith(NOT_OFFERED)]
    assert {op.path for op in served} >= {"/v2/models/{model_name}/infer", "/v2/models/{model_name}"}
    for operation in served:
        strategy = operation.as_strategy()

        @given(case=strategy)
        @settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def call(case) -> None:
            # A spec-valid tensor still has to name a contract column: refusing it (400) is right.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        call()
    with TestClient(app) as client:
        for operation in served:
            path = operation.path.replace("{model_name}", "model").replace("{model_version}", "1")
            undeclared = "DELETE" if operation.method.upper() == "GET" else "PUT"
            assert client.request(undeclared, path).status_code == 405, (undeclared, path)
