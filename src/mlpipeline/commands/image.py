"""`make image`: the model of a stage or version, baked into a container image with its service.

The build context is assembled in a folder of its own: the service's lock, the code (the package,
and the project's own code the model runs: src/project/ and any package the card names), the model
exported and verified (`serve --export`), and wheels for an offline build if given. The card's
facts become OCI labels. docker is used when its daemon answers, else podman.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from mlpipeline.adapters import processes
from mlpipeline.adapters.files import read_json
from mlpipeline.commands.serve import BUNDLE, export
from mlpipeline.errors import PipelineError, run_main

CONTAINERFILE = "Containerfile"  # its ARG BASE is the default base image


def engine(root: Path) -> str:
    """docker if its daemon answers, else podman if installed; which one, by name."""
    for name in ("docker", "podman"):
        if shutil.which(name) and processes.run(root, name, "info").returncode == 0:
            return name
    raise PipelineError(
        "neither docker (with a running daemon) nor podman is available: install one"
        " (Debian: apt-get install podman)"
    )


def assemble(root: Path, stage: str | None, version: str | None, context: Path, wheels: Path | None) -> dict:
    """Fill ``context`` (replaced whole) with what the Containerfile copies; return the model's identity."""
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    identity = export(root, stage, version, context / "model")
    for package in code_packages(root, read_json(context / "model" / BUNDLE["card"])):
        shutil.copytree(
            root / "src" / package, context / "code" / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(root / "requirements-serve.lock", context / "requirements-serve.lock")
    if wheels is not None:
        if not any(wheels.glob("*.whl")):
            raise PipelineError(
                f"WHEELS={wheels}: no .whl files there; `pip wheel -r requirements-serve.lock -w DIR`"
            )
        shutil.copytree(wheels, context / "wheels")
    else:
        (context / "wheels").mkdir()
    return identity


def code_packages(root: Path, card: dict) -> list[str]:
    """The packages under src/ the image carries: the service's, the project's own (src/project/,
    which the model's derived features or estimator may name), and any other the card records.
    `export` has already refused a model whose recorded code differs from these files."""
    recorded = (card.get("code") or {}).get("project") or {}
    wanted = ["mlpipeline", "project", *recorded]
    return [p for p in dict.fromkeys(wanted) if (root / "src" / p / "__init__.py").exists()]


def build_args(identity: dict, base: str | None, offline: bool) -> list[str]:
    """The engine's build arguments: base image (else the Containerfile's), the card's facts, offline mode."""
    args = {
        **({"BASE": base} if base else {}),
        "MODEL_VERSION": identity.get("version") or "workspace",
        "MODEL_SHA256": identity["sha256"],
        "MODEL_COMMIT": identity.get("training_commit") or "",
        "OFFLINE": "1" if offline else "",
    }
    return [part for key, value in args.items() for part in ("--build-arg", f"{key}={value}")]


def main(argv: list[str] | None = None) -> int:
    """Assemble and build; print the engine and the tag."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.image")
    parser.add_argument("--stage")
    parser.add_argument("--version")
    parser.add_argument("--tag", help="image name (default mlpipeline-model:<version>)")
    parser.add_argument("--base", help="base image of both stages (default: the Containerfile's)")
    parser.add_argument("--wheels", help="build offline from the wheels in this folder")
    parser.add_argument("--context", type=Path, default=Path("build/image"))
    args = parser.parse_args(argv)
    wheels = Path(args.wheels) if args.wheels else None
    root = Path()
    name = engine(root)
    identity = assemble(root, args.stage or None, args.version or None, args.context, wheels)
    tag = args.tag or f"mlpipeline-model:{identity.get('version') or 'workspace'}"
    command = [
        "build",
        "-f",
        str(root / CONTAINERFILE),
        "-t",
        tag,
        *build_args(identity, args.base or None, wheels is not None),
    ]
    if wheels is not None:
        command += ["--network", "none"]
    print(f"image: building {tag} with {name} ({identity['label']}, sha256 {identity['sha256'][:12]})")
    done = processes.run(root, name, *command, str(args.context))
    if done.returncode != 0:
        raise PipelineError(f"{name} build failed:\n{(done.stderr or done.stdout)[-3000:]}")
    print(f"image: built {tag} with {name}")
    return 0


if __name__ == "__main__":
    run_main(main)
