"""`make serve`: the promoted model over HTTP, on the same trust rules as `make predict`.

The model is resolved as `make predict` resolves it (STAGE, VERSION, or the workspace's), its
SHA-256 checked before unpickling, and rows are checked with the contract it was trained under.
``--export DIR`` writes that verified model, its card, contract and identity to a folder instead:
`make image` bakes it into the container, which serves it with ``--model-dir`` (no git, no DVC).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipeline.adapters import workers as processes
from mlpipeline.adapters.files import read_json, write_json, write_text
from mlpipeline.errors import PipelineError, run_main

if TYPE_CHECKING:  # the supervisor of several workers never loads a model, nor what loads one
    from mlpipeline.core.prediction import Served

BUNDLE = {
    "model": "model.joblib",
    "card": "model.json",
    "contract": "contract.yaml",
    "identity": "identity.json",
}


def identity_of(card: dict[str, Any], label: str, stage: str | None, commit: str | None) -> dict[str, Any]:
    """What `GET /model` answers: enough to tell which model, trained on what, scored how well."""
    return {
        "version": card.get("version"),
        "stage": stage,
        "label": label,
        "sha256": card["model_sha256"],
        "training_commit": card.get("training_commit") or commit,
        "data": card.get("data", {}),
        "metrics": card.get("metrics") or {},
        "estimator": card.get("estimator"),
        "target": card.get("target"),
    }


def from_registry(
    root: Path, stage: str | None, version: str | None, scratch: Path
) -> tuple[Served, str, Path]:
    """The model `make predict` would use, verified; its contract's YAML text; its file."""
    # Only a model from the registry or workspace needs these; the container loads --model-dir.
    from mlpipeline.adapters.modelstore import contract_text, load_verified, model_file, serving_contract
    from mlpipeline.commands.predict import resolve
    from mlpipeline.core.prediction import Served

    label, commit, card = resolve(root, stage, version)
    text = contract_text(root, commit, card)
    contract = serving_contract(root, commit, card, text)
    path = model_file(root, commit, scratch)
    return (
        Served(load_verified(path, card), card, contract, identity_of(card, label, stage, commit)),
        text,
        path,
    )


def from_folder(folder: Path) -> Served:
    """A model exported with ``--export`` (the container's), verified like any other."""
    from mlpipeline.adapters.modelstore import load_verified
    from mlpipeline.core import contract as contract_mod
    from mlpipeline.core.prediction import Served

    missing = [name for name in BUNDLE.values() if not (folder / name).exists()]
    if missing:
        raise PipelineError(f"{folder}: not an exported model folder (missing {', '.join(missing)})")
    card = read_json(folder / BUNDLE["card"])
    source = str(folder / BUNDLE["contract"])
    contract = contract_mod.load_contract(source)
    model = load_verified(folder / BUNDLE["model"], card)
    return Served(model, card, contract, read_json(folder / BUNDLE["identity"]))


def export(root: Path, stage: str | None, version: str | None, dest: Path) -> dict[str, Any]:
    """Write the verified model, card, contract and identity to ``dest`` (replaced whole)."""
    with tempfile.TemporaryDirectory() as scratch:
        served, contract_text, path = from_registry(root, stage, version, Path(scratch))
        staging = Path(tempfile.mkdtemp(prefix=".export.", dir=dest.parent if dest.parent.exists() else None))
        try:
            shutil.copyfile(path, staging / BUNDLE["model"])
            write_json(staging / BUNDLE["card"], served.card)
            write_text(staging / BUNDLE["contract"], contract_text)
            write_json(staging / BUNDLE["identity"], served.identity)
            from_folder(staging)  # what the container will load, loaded once here
            shutil.rmtree(dest, ignore_errors=True)
            staging.rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return served.identity


def build_app(model_dir: Path, log: str | None) -> Any:
    """The service for an exported model folder, in this process: one worker's whole set-up."""
    from threadpoolctl import threadpool_limits

    from mlpipeline.adapters.http import create_app
    from mlpipeline.core.rows import RowPath

    # One native thread per worker, set once for the process: WORKERS=N is the parallelism, and a
    # per-request limit would change process-wide state under requests running beside it.
    threadpool_limits(limits=1)
    served = from_folder(model_dir)
    sink = None
    if log:
        from mlpipeline.adapters.servinglog import RowLog

        sink = RowLog(Path(log), columns=list(served.contract.columns))
    app = create_app(served, sink=sink, path=RowPath(served))
    # What is loaded now (libraries, the model) lives as long as the process: out of the garbage
    # collector's sight, a full collection after a large request does not walk it, holding the
    # interpreter (and `/health`) for a quarter of a second.
    import gc

    gc.collect()
    gc.freeze()
    # The heavy-work thread hands the interpreter to the event loop every millisecond, not every
    # five: a `/health` beside a 10,000-row request takes a few such turns.
    sys.setswitchinterval(0.001)
    return app


def worker_app(options: dict[str, Any]) -> Any:
    """A worker process's app (adapters/workers.py imports it by name)."""
    return build_app(Path(options["model_dir"]), options["log"])


def worker_count(text: str) -> int:
    """``WORKERS``: a whole number of processes, or ``auto`` for one per core this process may use."""
    if text == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise PipelineError(f"serve: WORKERS={text}: a whole number of processes (1 or more), or auto")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Serve (or ``--export``) a model."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.serve")
    parser.add_argument("--stage")
    parser.add_argument("--version")
    parser.add_argument("--model-dir", type=Path, help="an exported model folder (the container's)")
    parser.add_argument("--export", type=Path, metavar="DIR", help="write the model to DIR and exit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        default=os.environ.get("WORKERS") or "1",  # the image's setting: podman run -e WORKERS=2
        help="processes serving requests: a number, or auto for one per core",
    )
    parser.add_argument(
        "--log", help="append every scored row to this JSON Lines file (rotated), for make monitor"
    )
    args = parser.parse_args(argv)
    stage, version = args.stage or None, args.version or None
    workers = worker_count(args.workers)
    if args.export:
        identity = export(Path(), stage, version, args.export)
        print(f"serve: exported {identity['label']} ({identity['sha256'][:12]}) to {args.export}")
        return 0
    try:  # the port first: a second service on it fails now, not after a model load
        sockets = processes.claim(args.host, args.port, workers)
    except OSError as exc:
        raise PipelineError(
            f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror};"
            " pick another port (make serve PORT=8001)"
        ) from None
    with tempfile.TemporaryDirectory(prefix="serve.") as scratch:
        model_dir = args.model_dir
        if model_dir is None:  # verified and written once, so every worker loads the same folder
            model_dir = Path(scratch) / "model"
            (export if workers == 1 else export_elsewhere)(Path(), stage, version, model_dir)
        return _serve(sockets, model_dir, args, workers)


def export_elsewhere(root: Path, stage: str | None, version: str | None, dest: Path) -> dict[str, Any]:
    """``export`` in a process of its own: the supervisor of several workers holds no model (each
    worker loads its own copy; a copy here would be one more)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(export, root, stage, version, dest).result()


def _serve(sockets: list[Any], model_dir: Path, args: argparse.Namespace, workers: int) -> int:
    """Say the service is up once it is, and serve: in this process for one worker, else from
    worker processes that each load the model (this one never does)."""
    ident = read_json(model_dir / BUNDLE["identity"])

    def ready(said: str = "") -> None:
        print(
            f"serve: {ident['label']} sha256 {ident['sha256'][:12]} on http://{args.host}:{args.port}"
            f" with {workers} worker(s){f'; {said}' if said else ''}"
            " (GET /health, POST /predict, /v2/models/model/infer, /invocations, /docs)",
            file=sys.stderr,
        )
        if args.log:
            print(f"serve: logging scored rows to {args.log}", file=sys.stderr)

    if workers == 1:
        app = build_app(model_dir, args.log or None)
        ready(app.state.said)
        processes.serve_socket(app, sockets[0])
        return 0
    options = {"model_dir": str(model_dir), "log": args.log or None}
    if len(sockets) > 1:
        return processes.run(sockets, "mlpipeline.commands.serve:worker_app", options, ready)
    return _shared_socket(sockets[0], options, workers, ready)


def _shared_socket(sock: Any, options: dict[str, Any], workers: int, ready: Any) -> int:
    """uvicorn's supervisor over one shared socket, where the kernel cannot balance separate ones."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[SERVE_ENV] = json.dumps({**options, "supervisor": os.getpid()})
    config = uvicorn.Config(
        "mlpipeline.commands.serve:shared_worker_app",
        factory=True,
        workers=workers,
        log_level="warning",
        timeout_keep_alive=30,
    )
    ready()
    Multiprocess(config, sockets=[sock]).run()
    return 0


SERVE_ENV = "MLPIPELINE_SERVE"  # how _shared_socket hands its options to uvicorn's workers


def shared_worker_app() -> Any:
    """uvicorn's factory in each of its worker processes."""
    options = json.loads(os.environ[SERVE_ENV])
    processes.orphan_watch(options["supervisor"])
    return worker_app(options)


if __name__ == "__main__":
    run_main(main)
