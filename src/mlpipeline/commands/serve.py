"""`make serve`: the promoted model over HTTP, on the same trust rules as `make predict`.

The model is resolved as `make predict` resolves it (STAGE, VERSION, or the workspace's), its
SHA-256 checked before unpickling, and rows are checked with the contract it was trained under.
``--export DIR`` writes that verified model, its card, contract and identity to a folder instead:
`make image` bakes it into the container, which serves it with ``--model-dir`` (no git, no DVC).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlpipeline.adapters.files import read_json, write_json, write_text
from mlpipeline.adapters.modelstore import load_verified, model_file
from mlpipeline.core import contract as contract_mod
from mlpipeline.core.prediction import Served
from mlpipeline.errors import PipelineError, run_main

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
    from mlpipeline.adapters.modelstore import contract_text, serving_contract
    from mlpipeline.commands.predict import resolve

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
        "--log", help="append every scored row to this JSON Lines file (rotated), for make monitor"
    )
    args = parser.parse_args(argv)
    stage, version = args.stage or None, args.version or None
    if args.export:
        identity = export(Path(), stage, version, args.export)
        print(f"serve: exported {identity['label']} ({identity['sha256'][:12]}) to {args.export}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        if args.model_dir:
            served = from_folder(args.model_dir)
        else:
            served, _, _ = from_registry(Path(), stage, version, Path(scratch))
    import uvicorn

    from mlpipeline.adapters.http import create_app

    ident = served.identity
    print(
        f"serve: {ident['label']} sha256 {ident['sha256'][:12]} on http://{args.host}:{args.port}"
        " (GET /health, GET /model, POST /predict, /docs)",
        file=sys.stderr,
    )
    sink = None
    if args.log:
        from mlpipeline.adapters.servinglog import RowLog

        sink = RowLog(Path(args.log))
        print(f"serve: logging scored rows to {args.log}", file=sys.stderr)
    uvicorn.run(create_app(served, sink=sink), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    run_main(main)
