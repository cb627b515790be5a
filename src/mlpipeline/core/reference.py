"""The documentation's reference pages, generated from what they describe, and its checks.

Pure text in, Markdown out: the ``params.yaml`` keys from the typed settings (type, default,
allowed values) with the comment each key carries in ``params.yaml``; the ``make`` targets and
variables from the Makefile's ``##`` help and its variable comments; the module pages from the
package's modules (mkdocstrings renders their docstrings); the shell blocks' ``make`` targets,
checked against the Makefile. ``docs/hooks.py`` calls these while MkDocs builds, so a page cannot
describe a key, target or module that no longer exists.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Key:
    """One ``params.yaml`` setting: its dotted name, type, default, constraints and comment."""

    name: str
    type: str
    default: str
    allowed: str
    comment: str


def _type_name(annotation: Any) -> str:
    """A short, readable type: ``str | None``, ``list[str]``, ``one of: a, b``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: Any) -> str:
    """What pydantic enforces beyond the type (``> 0``, ``≤ 1``, a pattern)."""
    said = []
    for item in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            if getattr(item, attr, None) is not None:
                said.append(f"{sign} {getattr(item, attr)}")
        if getattr(item, "min_length", None):
            said.append(f"at least {item.min_length} item(s) or character(s)")
        if getattr(item, "pattern", None):
            said.append("an import path `package.module:name`")
    return ", ".join(said)


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default if field.default is not PydanticUndefined else field.default_factory()
    if isinstance(value, BaseModel):
        return "(section)"
    return "`null`" if value is None else f"`{value}`"


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The settings class a field holds directly (a section), not in a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def source_comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment lines just above each field in the class's source, by field name."""
    import inspect

    found: dict[str, str] = {}
    comment: list[str] = []
    for line in inspect.getsource(model).splitlines():
        text = line.strip()
        if text.startswith("#"):
            comment.append(text.lstrip("#").strip())
            continue
        name = re.match(r"^([a-z_]\w*)\s*:", text)
        if name and comment:
            found[name.group(1)] = " ".join(comment)
        comment = []
    return found


def settings_keys(model: type[BaseModel], comments: dict[str, str], prefix: str = "") -> list[Key]:
    """Every key of ``model`` in order, sections recursed into. A key's text is its comment in
    params.yaml (``comments``, by dotted key), else the comment above its field in config.py."""
    keys: list[Key] = []
    in_source = source_comments(model)
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        section = _nested(field.annotation)
        if section is not None:
            keys.extend(settings_keys(section, comments, f"{dotted}."))
            continue
        text = comments.get(dotted) or field.description or in_source.get(name, "")
        keys.append(Key(dotted, _type_name(field.annotation), _default(field), _constraints(field), text))
        items = typing.get_args(field.annotation)
        if typing.get_origin(field.annotation) is list and items and _nested(items[0]) is not None:
            keys.extend(settings_keys(items[0], comments, f"{dotted}[]."))  # each item's keys
    return keys


def undescribed(keys: list[Key]) -> list[str]:
    """Keys nothing describes: neither params.yaml nor config.py says what they do."""
    return [k.name for k in keys if not k.comment]


def yaml_comments(text: str) -> dict[str, str]:
    """The end-of-line comment of each key in ``params.yaml`` text, by dotted key."""
    from ruamel.yaml import YAML

    found: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if not hasattr(node, "ca"):
            return
        for key in node:
            dotted = f"{prefix}{key}"
            comment = node.ca.items.get(key)
            token = next((t for t in (comment or [])[2:3] if t is not None), None)
            if token is not None:
                first = token.value.strip().splitlines()[0] if token.value.strip() else ""
                found[dotted] = first.lstrip("#").strip()
            if isinstance(node[key], dict):
                walk(node[key], f"{dotted}.")

    walk(YAML().load(text), "")
    return found


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped, and outside code spans the brackets Markdown would
    read as links (inside one, a backslash would show as it is)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = parts[i].replace("[", "\\[").replace("]", "\\]")
    return "`".join(parts).replace("|", "\\|")


def params_page(model: type[BaseModel], params_text: str, sections: dict[str, str]) -> str:
    """The reference of every ``params.yaml`` key: one table per section, with its docstring."""
    comments = yaml_comments(params_text)
    keys = settings_keys(model, comments)
    lines = [
        "# params.yaml",
        "",
        "Every setting, generated from the typed settings (`src/mlpipeline/config.py`) and the",
        "comments in this project's `params.yaml`. A wrong key, type or value stops `make repro`",
        "before any work, with one line naming the key and what is allowed.",
        "",
    ]
    groups: dict[str, list[Key]] = {}
    for key in keys:
        groups.setdefault(key.name.split(".")[0] if "." in key.name else "", []).append(key)
    for group, members in groups.items():
        lines += [f"## {group or 'top level'}", ""]
        if sections.get(group):
            lines += [sections[group], ""]
        lines += ["| key | type | default | allowed | what it does |", "|---|---|---|---|---|"]
        for k in members:
            # A code span shows its text as it is: the key is not escaped, the prose is.
            cells = [_cell(c) for c in (k.type, k.default, k.allowed or "", k.comment)]
            lines.append(f"| `{k.name}` | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


TARGET = re.compile(r"^([a-zA-Z][\w-]*):[^=]*?##\s*(.+)$")
VARIABLE = re.compile(r"^([A-Z][A-Z0-9_]*)\s*\?=\s*(.*)$")


def make_targets(makefile: str) -> dict[str, str]:
    """Each documented target (``name: deps ## help``) and its help, in the Makefile's order."""
    return {m.group(1): m.group(2).strip() for m in map(TARGET.match, makefile.splitlines()) if m}


def make_variables(makefile: str) -> dict[str, tuple[str, str]]:
    """Each ``VAR ?= default`` users set, and the comment above it (which a run of variables
    declared together shares). A default computed by make is shown as such."""
    found: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    shared = ""
    for line in makefile.splitlines():
        if line.startswith("#"):
            comment.append(line.lstrip("#").strip())
            continue
        match = VARIABLE.match(line)
        if match:
            name, default = match.group(1), match.group(2).strip()
            first = bool(comment)
            shared = " ".join(comment) if comment else shared
            # A comment over a run of variables speaks for the ones it names (and the first).
            said = shared if first or re.search(rf"\b{name}\b", shared) else ""
            if not said:
                users = [t for t, text in make_targets(makefile).items() if f"{name}=" in text]
                said = f"see `make {'`, `make '.join(users)}`" if users else ""
            found[name] = ("(computed)" if "$(" in default else default, said)
        else:
            shared = ""
        comment = []
    return found


def make_page(makefile: str) -> str:
    """The reference of every documented ``make`` target and every variable users set."""
    lines = [
        "# make targets",
        "",
        "Generated from the Makefile (`make help` prints the same). Variables go after the target:",
        "`make ci BASE=main`.",
        "",
        "| target | what it does |",
        "|---|---|",
    ]
    lines += [f"| `make {name}` | {_cell(text)} |" for name, text in make_targets(makefile).items()]
    lines += ["", "## Variables", "", "| variable | default | what it does |", "|---|---|---|"]
    for name, (default, comment) in make_variables(makefile).items():
        shown = f"`{_cell(default)}`" if default and default != "(computed)" else default or "(empty)"
        lines.append(f"| `{name}` | {shown} | {_cell(comment)} |")
    return "\n".join(lines) + "\n"


def modules_page(modules: list[str]) -> str:
    """The module reference: one mkdocstrings block per module, by layer."""
    lines = [
        "# Modules",
        "",
        "Generated from the package's docstrings, layer by layer (commands, stages, adapters, core;",
        "explanation/architecture.md says how they depend on each other).",
        "",
    ]
    for module in modules:
        lines += [f"::: {module}", ""]
    return "\n".join(lines)


SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MAKE_CALL = re.compile(r"(?:^|[;&|(]\s*|\$ )make\s+(?:-[-\w=]+\s+)*([a-z][\w-]*)", re.MULTILINE)


def named_targets(markdown: str) -> list[str]:
    """The ``make`` targets the page's shell blocks run (``make repro``, ``&& make ci``)."""
    found: list[str] = []
    for block in SHELL_BLOCK.findall(markdown):
        code = "\n".join(line.split(" #", 1)[0] for line in block.splitlines())
        found += MAKE_CALL.findall(code)
    return found


def unknown_targets(markdown: str, targets: set[str]) -> list[str]:
    """Targets a shell block names that the Makefile does not have, in order, once each."""
    return list(dict.fromkeys(t for t in named_targets(markdown) if t not in targets))


def project_page(
    title: str,
    params: dict[str, Any],
    contract: dict[str, Any],
    release: tuple[str, str] | None,
    workspace: dict[str, Any] | None,
) -> str:
    """A generated project's home page: what the project is, from its own files. ``release`` is
    the current release's name and card (Markdown); ``workspace`` the card `make repro` wrote."""
    data = params.get("data", {})
    lines = [
        f"# {title}",
        "",
        f"A {params.get('task', '?')} model of `{data.get('target', '?')}` in `{data.get('raw', '?')}`"
        + (f", one row per `{data['id_column']}`" if data.get("id_column") else "")
        + ". This page is generated from the project's files each time the site is built.",
        "",
        "## The model",
        "",
    ]
    if release is not None:
        name, card = release
        lines += [f"The current release is **{name}** (`make models` lists every version):", "", card, ""]
    else:
        lines += ["No release yet: `make release` registers the model at HEAD once the gate passes.", ""]
    if workspace:
        model = params.get("model", {})
        lines += [
            f"The workspace's model: `{model.get('estimator')}` with `{model.get('hyperparameters')}`,"
            f" {len(workspace.get('features', []))} features.",
            "",
        ]
    rules = (params.get("gate") or {}).get("rules") or []
    lines += [
        "## The gate",
        "",
        f"Every pull request is judged against `{(params.get('gate') or {}).get('base', 'main')}`:",
        "",
    ]
    lines += ["| rule |", "|---|"] + [f"| `{_cell(_rule_text(r))}` |" for r in rules] + [""]
    columns = contract.get("columns") or {}
    lines += [
        "## The data contract",
        "",
        f"`{data.get('contract', 'data/contract.yaml')}` holds every batch to:",
        "",
    ]
    lines += ["| column | type | rules |", "|---|---|---|"]
    for name, spec in columns.items():
        spec = spec or {}
        extra = ", ".join(f"{k}: {v}" for k, v in spec.items() if k != "dtype")
        lines.append(f"| `{name}` | {spec.get('dtype', '')} | {_cell(extra)} |")
    lines += [
        "",
        "How the pipeline works, and how to change it, is in the guides on the left: they describe",
        "the machinery this project shares with every project of its template.",
        "",
    ]
    return "\n".join(lines)


def project_benchmarks_page(template: str | None) -> str:
    """A generated project's benchmarks page: the guides cite figures the template measured on its
    own sample; this says where they are and which figures the project measures itself."""
    where = f" ({template})" if template else ""
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "The guides cite figures (pipeline, gate, serving, monitoring, Dask engine) measured by the",
            f"template's `make bench` on its bundled sample; they live in the template's repository{where},",
            "in `docs/benchmarks.md`, and are not copied here because they describe another machine and",
            "another data set.",
            "",
            "This project measures itself on every run: `make repro` records each model's scoring",
            "latency in `metrics/latency.json` (`dvc metrics show`), and `make ci` prints the gate's",
            "interval and power for this project's rows.",
            "",
        ]
    )


def _rule_text(rule: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in rule.items())


def phony_targets(makefile: str) -> list[str]:
    """The targets ``.PHONY`` declares."""
    return [t for line in makefile.splitlines() if line.startswith(".PHONY:") for t in line.split()[1:]]


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested figures as (dotted name, value) pairs, lists of records by index."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flat(v, f"{prefix}{k}.")]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [pair for i, v in enumerate(value) for pair in _flat(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), value)]


def bench_section(results: dict[str, Any], machine: dict[str, Any] | None) -> str:
    """The latest `make bench` run's figures, one table per benchmark, as its JSON says them."""
    if not results:
        return "No figures yet: `make bench` writes them to `docs/bench/*.json`."
    lines = []
    if machine:
        versions = ", ".join(f"{k} {v}" for k, v in (machine.get("versions") or {}).items())
        lines += [
            f"Measured on {machine.get('date')}: {machine.get('system')}, {machine.get('cpus')} CPUs,"
            f" {machine.get('memory_gib')} GiB, Python {machine.get('python')} ({versions}).",
            "",
        ]
    for name, figures in results.items():
        lines += [f"### {name}", "", "| figure | value |", "|---|---|"]
        lines += [f"| `{_cell(k)}` | {_cell(str(v))} |" for k, v in _flat(figures)]
        lines.append("")
    return "\n".join(lines)
