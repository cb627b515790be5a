"""The package's import graph, read from source with ast (nothing is imported), and its layers.

Layers, lowest first: the foundation modules beside the folders, core/, adapters/, stages/,
commands/. A module may import its own layer or any lower one; a stage never imports another
stage (each is its own DVC step); nothing imports upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "mlpipeline"
LAYERS = ("foundation", "core", "adapters", "stages", "commands")
FOLDERS = ("core", "adapters", "stages", "commands")


def module_name(package_dir: Path, path: Path) -> str:
    """Dotted module name of ``path`` inside the package at ``package_dir``."""
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Package modules ``path`` imports anywhere in its body (function-level imports count)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m in known and m != name}


def graph(package_dir: Path) -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports."""
    paths = {module_name(package_dir, p): p for p in package_dir.rglob("*.py")}
    known = set(paths)
    return {name: imports(path, name, known) for name, path in paths.items()}


def layer(module: str) -> str:
    """The layer ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in FOLDERS else "foundation"


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points up the layers, or from one stage to another."""
    found = []
    for importer, targets in sorted(edges.items()):
        for target in sorted(targets):
            if target.count(".") < 2 and target.split(".")[-1] in (*FOLDERS, PACKAGE):
                continue  # a folder's or the package's __init__ (docstrings only)
            here, there = layer(importer), layer(target)
            if LAYERS.index(there) > LAYERS.index(here):
                found.append(f"{importer} ({here}) imports {target} ({there}): upward")
            elif here == there == "stages":
                found.append(f"{importer} imports {target}: a stage never imports another stage")
    return found


def closure(edges: dict[str, set[str]], start: str) -> set[str]:
    """``start`` and every package module it imports, directly or not."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
