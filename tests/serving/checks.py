"""Integration checks for a running model service, whatever runs it: the in-process app, `make
serve` on loopback, or the container. Each takes a client with ``get``/``post`` (FastAPI's
TestClient or an ``httpx.Client`` with a base URL), the rows to score, and what `make predict`
wrote for those rows."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd


def check_identity(client: Any, sha256: str) -> None:
    """Ready, and serving the model it says."""
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["sha256"] == sha256
    model = client.get("/model").json()
    assert model["sha256"] == sha256
    assert set(model["data"]) >= {"raw_md5", "train_md5", "test_md5"}
    assert "f1" in model["metrics"] or "rmse" in model["metrics"]


def check_predictions_match(client: Any, rows: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    """The same rows give what `make predict` wrote: the same columns, the same values."""
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    _same(pd.DataFrame(answer.json()["predictions"]), expected)


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        for a, b in zip(got[column].tolist(), expected[column].tolist(), strict=True):
            if isinstance(b, float) and not isinstance(a, str):
                assert math.isclose(a, b, abs_tol=1e-9) or (a is None and math.isnan(b)), (column, a, b)
            else:
                assert (a or "") == (b if isinstance(b, str) else ("" if b != b else b)), (column, a, b)


def numeric_column(contract: dict[str, Any], target: str) -> tuple[str, bool]:
    """A required number column to break in requests, and whether it holds integers."""
    for name, spec in contract["columns"].items():
        if name != target and spec["dtype"] in ("integer", "float") and spec.get("required", True):
            return name, spec["dtype"] == "integer"
    raise AssertionError("the contract has no required number column to test with")


def check_bad_requests_are_refused_and_named(
    client: Any, rows: list[dict[str, Any]], column: str, integer: bool
) -> None:
    """Every kind of bad request gets a 4xx that says what to fix, and the service stays up."""
    bad = [dict(r) for r in rows[:3]]
    bad[1][column] = "soon"
    bad[2][column] = 41.5 if integer else "41,5"
    answer = client.post("/predict", json={"rows": bad})
    assert answer.status_code == 422
    problems = {(p["row"], p["column"]) for p in answer.json()["detail"]}
    assert problems == {(1, column), (2, column)}, answer.json()
    missing = [{k: v for k, v in r.items() if k != column} for r in rows[:2]]
    answer = client.post("/predict", json={"rows": missing})
    assert answer.status_code == 422 and {p["column"] for p in answer.json()["detail"]} == {column}
    for body, status in (
        (b"not json", 400),
        (b'{"rows": []}', 422),
        (b'{"rows": [1, 2]}', 422),
        (b'{"other": 1}', 422),
    ):
        answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == status, (body, answer.status_code)
    many = json.dumps({"rows": rows * (10_000 // len(rows) + 1)})  # over the row limit, under 8 MiB
    answer = client.post("/predict", content=many, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "rows" in answer.json()["detail"]
    # Few rows, many bytes: refused by size before it is parsed.
    wide = json.dumps({"rows": [{**rows[0], "padding": "x" * (9 * 1024 * 1024)}]})
    answer = client.post("/predict", content=wide, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "bytes" in answer.json()["detail"]
    assert client.get("/health").status_code == 200


def _post(client: Any, path: str, body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=data, headers={"content-type": content_type})


def check_hostile_bodies_cost_nothing(client: Any, rows: list[dict[str, Any]]) -> None:
    """Bodies built to exhaust the service get a short 4xx, and the service stays up: row counts
    refused from the body's shape, problems capped, chunked bodies held to the byte limit, JSON
    that is not JSON (NaN, nesting past the parser's depth) and other content types refused."""
    answer = _post(client, "/predict", {"rows": [{}] * 20_000})  # 60 KB that once cost 480 MiB
    assert answer.status_code == 413 and "10000" in answer.json()["detail"]
    answer = _post(client, "/predict", {"rows": [{}] * 10_000})  # within the count: problems capped
    assert answer.status_code == 422 and len(answer.content) < 20_000
    assert answer.json()["detail"][-1]["rule"].startswith("stopped after")

    def chunks():  # no Content-Length: the limit must hold while the body streams
        yield b'{"rows": [{"padding": "'
        for _ in range(9):
            yield b"x" * (1024 * 1024)
        yield b'"}]}'

    answer = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "bytes" in answer.json()["detail"]
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"rows": [{"tenure": NaN}]}', b'{"rows": Infinity}'):
        answer = _post(client, "/predict", body)
        assert answer.status_code == 400 and "not JSON" in answer.json()["detail"], body[:30]
    # Where the JSON breaks, as a person reads it (once: `"column": "10"`, a character offset).
    answer = _post(client, "/predict", b'{"rows": [\n  {"tenure": 1,}\n]}')
    assert answer.status_code == 400 and "at line 2, column 16" in answer.json()["detail"], answer.text
    huge = {**rows[0], rows_text_column(rows): "y" * 100_000}
    answer = _post(client, "/predict", {"rows": [huge]})
    assert answer.status_code == 422, answer.text[:200]
    for kind in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/csv",
        "application/json; charset=latin-1",
    ):
        answer = _post(client, "/predict", {"rows": rows[:1]}, kind)
        assert answer.status_code == 415 and "content-type" in answer.json()["detail"]
    assert _post(client, "/predict", {"rows": rows[:1]}).status_code == 200
    # Within the byte limit, a body of empty objects once parsed into ~26 MB a megabyte: what it
    # holds is counted before it is parsed.
    answer = _post(client, "/predict", b'{"rows": [' + b"{}," * 900_000 + b"{}]}")
    assert answer.status_code == 413 and "JSON values" in answer.json()["detail"], answer.text[:200]


def rows_text_column(rows: list[dict[str, Any]]) -> str:
    """A column of the sample's rows that holds text (a huge value of it is refused by length)."""
    return next(k for k, v in rows[0].items() if isinstance(v, str))


def check_the_protocols_clients_speak(
    client: Any, rows: list[dict[str, Any]], expected: pd.DataFrame
) -> None:
    """The Open Inference Protocol v2 and MLflow's /invocations answer what `make predict` wrote."""
    assert client.get("/v2/health/ready").json() == {"ready": True}
    meta = client.get("/v2/models/model").json()
    assert {i["name"] for i in meta["inputs"]} == set(rows[0]) and meta["outputs"][-1]["name"] == "warnings"
    columns = list(rows[0])
    inputs = [
        {"name": c, "shape": [len(rows), 1], "datatype": "BYTES", "data": [[r[c]] for r in rows]}
        for c in columns
    ]
    answer = client.post("/v2/models/model/infer", json={"id": "q1", "inputs": inputs})
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert body["id"] == "q1" and body["model_name"] == "model"
    got = pd.DataFrame({o["name"]: o["data"] for o in body["outputs"]})
    _same(got, expected)
    assert client.post("/v2/models/other/infer", json={"inputs": inputs}).status_code == 404
    wrong = [{**inputs[0], "shape": [len(rows) + 1]}, *inputs[1:]]
    answer = client.post("/v2/models/model/infer", json={"inputs": wrong})
    assert answer.status_code == 400 and inputs[0]["name"] in answer.json()["error"]
    # MLServer's scikit-learn runtime's outputs, asked for by name, as its clients ask.
    asked = [{"name": "predict"}, {"name": "predict_proba"}]
    answer = client.post("/v2/models/model/infer", json={"inputs": inputs, "outputs": asked})
    assert answer.status_code == 200, answer.text[:300]
    predict, proba = answer.json()["outputs"]
    assert predict["shape"] == [len(rows)] and predict["data"] == expected["prediction"].tolist()
    classes = [c.removeprefix("proba_") for c in expected.columns if c.startswith("proba_")]
    assert proba["shape"] == [len(rows), len(classes)] and proba["datatype"] == "FP64"
    wanted = expected[[f"proba_{c}" for c in classes]].to_numpy().ravel().tolist()
    assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(proba["data"], wanted, strict=True))
    # The shape is checked before the size: a huge declared shape over little data is a shape error.
    lying = [{**inputs[0], "shape": [10**9, 1]}, *inputs[1:]]
    answer = client.post("/v2/models/model/infer", json={"inputs": lying})
    assert answer.status_code == 400 and "shape says 1000000000 values" in answer.json()["error"], (
        answer.text[:200]
    )
    check_mlflow_cases(client, rows, expected)


def check_mlflow_cases(client: Any, rows: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    """MLflow's scoring server, case by case as its own tests ask it (tests/pyfunc/
    test_scoring_server.py): the four JSON forms and CSV score what `make predict` wrote; a body
    it cannot read is 400 in MLflow's error shape; a media type or parameter it does not read is 415."""
    columns = list(rows[0])
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}
    by_column = {c: [r[c] for r in rows] for c in columns}
    csv_text = pd.DataFrame(rows, columns=columns).to_csv(index=False)
    scored = [
        ({"dataframe_split": split}, "application/json"),
        ({"dataframe_records": rows}, "application/json; charset=UTF-8"),
        ({"dataframe_records": rows, "params": {"x": 1}}, "application/json"),
        ({"instances": rows}, "application/json"),
        ({"inputs": rows}, "application/json"),
        ({"inputs": by_column}, "application/json"),
        (csv_text.encode(), "text/csv"),
        (csv_text.encode(), "text/csv; charset=utf-8"),
    ]
    for body, kind in scored:
        answer = _post(client, "/invocations", body, kind)
        assert answer.status_code == 200, (kind, str(body)[:60], answer.text[:300])
        _same(pd.DataFrame(answer.json()["predictions"]), expected)
    refused = [
        (b"this is,,,, not valid json", "application/json", 400),
        (b"1", "application/json", 400),
        (b'"1"', "application/json", 400),
        (b"[1]", "application/json", 400),
        ({"not": "a serialized dataframe"}, "application/json", 400),
        ({"dataframe_records": [], "dataframe_split": {"data": []}}, "application/json", 400),
        ({"dataframe_split": rows}, "application/json", 400),
        ({"dataframe_records": split}, "application/json", 400),
        ({"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}}, "application/json", 400),
        ({"columns": columns, "data": split["data"]}, "application/json", 400),  # MLflow 1.x's form
        ({"instances": split["data"]}, "application/json", 400),  # rows without column names
        (b"", "text/csv", 400),
        (b"a,b\n1\n", "text/csv", 400),
        ({"dataframe_split": split}, "not_a_supported_content_type", 415),
        ({"dataframe_split": split}, "application/json; something=something", 415),
        ({"dataframe_split": split}, "application/json; format=pandas-split", 415),
        ({"dataframe_split": split}, "application/json; charset=latin-1", 415),
        ({"dataframe_split": split}, "text/plain", 415),
    ]
    for body, kind, status in refused:
        answer = _post(client, "/invocations", body, kind)
        assert answer.status_code == status, (kind, str(body)[:60], answer.status_code, answer.text[:200])
        said = answer.json()
        assert said["error_code"] == "BAD_REQUEST" and said["message"], said
    said = _post(client, "/invocations", {"not": "a serialized dataframe"}).json()["message"]
    assert said.startswith("The input must be a JSON dictionary with exactly one of the input fields")
    assert client.get("/ping").status_code == 200 and client.get("/version").status_code == 200


def check_an_open_inference_client(url: str, rows: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    """tritonclient's HTTP client (binary data off), as a KServe or Triton user would call the
    service: metadata first, then one typed tensor per input column."""
    import numpy as np
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    assert client.is_server_ready() and client.is_model_ready("model")
    meta = client.get_model_metadata("model")
    numpy_types = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_, "BYTES": np.object_}
    inputs = []
    for spec in meta["inputs"]:
        values = np.array([r[spec["name"]] for r in rows], dtype=numpy_types[spec["datatype"]])
        tensor = triton.InferInput(spec["name"], [len(rows)], spec["datatype"])
        tensor.set_data_from_numpy(values, binary_data=False)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput(o["name"], binary_data=False) for o in meta["outputs"]]
    result = client.infer("model", inputs, outputs=outputs)
    got = pd.DataFrame({o["name"]: list(result.as_numpy(o["name"])) for o in meta["outputs"]})
    for column in got.columns:  # BYTES may come back as bytes, numbers as NumPy scalars
        got[column] = [
            v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v for v in got[column]
        ]
    _same(got, expected)
    client.close()


def worker_processes(pid: int) -> list[int]:
    """The service's worker processes below ``pid`` (multiprocessing's spawned children)."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            for child in map(int, task.read_text().split()):
                todo.append(child)
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
    return found


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def check_every_worker_serves(url: str, pid: int, rows: list[dict[str, Any]]) -> None:
    """Sixteen keep-alive clients at once: every worker process does some of the work (a shared
    socket once let one worker take every connection while the others idled)."""
    from concurrent.futures import ThreadPoolExecutor

    workers = worker_processes(pid)
    assert len(workers) >= 2, workers
    before = {w: _cpu_ticks(w) for w in workers}

    def client(_: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(30):
                assert http.post("/predict", json={"rows": rows}).status_code == 200

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(client, range(16)))
    assert all(_cpu_ticks(w) > before[w] for w in workers), {w: _cpu_ticks(w) - before[w] for w in workers}


def check_schema_comes_from_the_contract(client: Any, columns: dict[str, Any]) -> None:
    """The OpenAPI request model lists the contract's columns, their types and allowed values."""
    schema = client.get("/openapi.json").json()
    row = schema["components"]["schemas"]["Row"]["properties"]
    assert set(row) == set(columns)
    for name, spec in columns.items():
        described = json.dumps(row[name])
        if spec.get("allowed"):
            assert all(str(v) in described for v in spec["allowed"]), name


def run_all(
    client: Any, rows: list[dict[str, Any]], expected: pd.DataFrame, sha256: str, contract: dict, target: str
) -> None:
    """Every check, in the order a deployment would care about them."""
    check_identity(client, sha256)
    check_predictions_match(client, rows, expected)
    check_bad_requests_are_refused_and_named(client, rows, *numeric_column(contract, target))
    check_hostile_bodies_cost_nothing(client, rows)
    check_the_protocols_clients_speak(client, rows, expected)
    columns = {k: v for k, v in contract["columns"].items() if k != target}
    check_schema_comes_from_the_contract(client, columns)
    check_predictions_match(client, rows, expected)  # still right after the bad requests


def wait_healthy(client: Any, seconds: float, why_not: Callable[[], str]) -> None:
    """Poll /health until it answers 200; after ``seconds``, fail with ``why_not()`` (server output)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:  # not listening yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the service never became healthy:\n{why_not()}")
        time.sleep(0.3)
