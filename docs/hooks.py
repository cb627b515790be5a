"""MkDocs hooks (mkdocs.yml `hooks:`): the pages generated from the code, and the checks that fail
the strict build. The text is mlpipeline.core.reference's; this file is only MkDocs' wiring.

- reference/params.md, reference/make.md, reference/modules.md: generated at every build, never
  committed, so they cannot drift from config.py, the Makefile or the docstrings.
- In a generated project (no copier.yml): index.md is the project's own page (its data, target,
  rules, contract, current release), benchmarks.md says where the template's figures live, and the
  nav drops the template's pages it does not ship.
- Every shell block's `make <target>` must be a target of the Makefile (a warning: strict fails).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from mkdocs.structure.files import File, Files

from mlpipeline.core import reference

log = logging.getLogger("mkdocs.plugins.mlpipeline")
LAYERS = ("commands", "stages", "adapters", "core")


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _is_template(root: Path) -> bool:
    return (root / "copier.yml").exists()


def _modules(root: Path) -> list[str]:
    """The package's modules by layer, then its top-level modules, then the project's own code."""
    package = root / "src/mlpipeline"
    found = [
        f"mlpipeline.{layer}.{p.stem}" for layer in LAYERS for p in sorted((package / layer).glob("[!_]*.py"))
    ]
    found += [f"mlpipeline.{p.stem}" for p in sorted(package.glob("[!_]*.py"))]
    own = root / "src/project"
    found += [f"project.{p.stem}" for p in sorted(own.glob("[!_]*.py"))] if own.is_dir() else []
    return found


def _generated(root: Path, makefile: str) -> dict[str, str]:
    """The generated pages' paths under docs/ and their Markdown."""
    from mlpipeline.config import Settings

    sections = {
        name: " ".join((field.annotation.__doc__ or "").split())
        for name, field in Settings.model_fields.items()
    }
    params_text = (root / "params.yaml").read_text()
    for key in reference.undescribed(reference.settings_keys(Settings, reference.yaml_comments(params_text))):
        log.warning("params.yaml: %s: nothing says what it does (a comment in params.yaml or config.py)", key)
    pages = {
        "reference/params.md": reference.params_page(Settings, params_text, sections),
        "reference/make.md": reference.make_page(makefile),
        "reference/modules.md": reference.modules_page(_modules(root)),
    }
    if not _is_template(root):
        pages["index.md"] = _project_home(root)
        pages["benchmarks.md"] = reference.project_benchmarks_page(_template_source(root))
    return pages


def _template_source(root: Path) -> str | None:
    """Where the project was generated from (copier's answers file), if it says."""
    answers = root / ".copier-answers.yml"
    return (yaml.safe_load(answers.read_text()) or {}).get("_src_path") if answers.exists() else None


def _project_home(root: Path) -> str:
    """The project's own home page: its README's title, its settings, contract and release."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    contract_path = root / (params.get("data") or {}).get("contract", "data/contract.yaml")
    contract = yaml.safe_load(contract_path.read_text()) if contract_path.exists() else {}
    title = next(
        (line[2:].strip() for line in (root / "README.md").read_text().splitlines() if line.startswith("# ")),
        root.name,
    )
    release = None
    try:
        from mlpipeline.adapters import gto
        from mlpipeline.core.report import card_markdown

        known = [v for v in gto.versions(root) if v.card]
        if known:
            release = (known[-1].name, card_markdown(known[-1].card).split("\n", 1)[1])
    except Exception as exc:  # no git history or tags here (a plain copy): said, not fatal
        log.info("no release read for the home page: %s", exc)
    card = root / "models/model.json"
    workspace = yaml.safe_load(card.read_text()) if card.exists() else None
    return reference.project_page(title, params, contract, release, workspace)


def _prune(nav: list[Any], docs: Path, generated: set[str]) -> list[Any]:
    """The nav without pages this project does not have (the template's own, in a project)."""
    kept: list[Any] = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), *_ = item.items()
            if isinstance(value, list):
                inner = _prune(value, docs, generated)
                if inner:
                    kept.append({title: inner})
            elif value in generated or (docs / value).exists():
                kept.append(item)
        elif item in generated or (docs / item).exists():
            kept.append(item)
    return kept


# What one build reads once (on_config runs first in every build, `mkdocs serve`'s rebuilds too):
# the generated pages (their warnings said once, the release read from git once) and the
# Makefile's targets, which every page's shell blocks are checked against.
_build: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    root = _root(config)
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    _build["pages"] = _generated(root, makefile)
    _build["targets"] = set(reference.make_targets(makefile)) | set(reference.phony_targets(makefile))
    config["nav"] = _prune(config["nav"] or [], Path(config["docs_dir"]), set(_build["pages"]))
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, text in _build["pages"].items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=text))
    return files


BENCH_MARKER = "<!-- bench: latest -->"
BENCH_ORDER = ("pipeline", "gate", "serve", "monitor", "engine")


def _bench(root: Path) -> str:
    """The figures `make bench` wrote to docs/bench/, as tables."""
    import json

    folder = root / "docs/bench"
    results = {
        name: json.loads((folder / f"{name}.json").read_text())
        for name in BENCH_ORDER
        if (folder / f"{name}.json").exists()
    }
    machine = (
        json.loads((folder / "machine.json").read_text()) if (folder / "machine.json").exists() else None
    )
    return reference.bench_section(results, machine)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    root = _root(config)
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, _bench(root))
    for target in reference.unknown_targets(markdown, _build["targets"]):
        log.warning(
            "%s: a shell block runs `make %s`, which the Makefile does not have", page.file.src_uri, target
        )
    return markdown
