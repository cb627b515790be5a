"""Rewrite the few lines a generated project owns (copier runs this after every render).

Standard library only: it runs with copier's Python before the project has an environment. Each
edit replaces one known line or block and leaves the rest of the file byte for byte, so renders of
old and new template versions differ only where the template changed, and `copier update` merges
cleanly. Run in the new project's folder.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

TEMPLATE_NOTE = (
    "Generated from the mlpipeline template with copier; `copier update` brings in the template's"
    " later fixes (docs/how-to/template-updates.md)."
)


def _sub(path: Path, pattern: str, replacement: str, flags: int = re.MULTILINE) -> None:
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, lambda _m: replacement, text, count=1, flags=flags)
    if count != 1:
        raise SystemExit(f"render: {path}: the line to rewrite ({pattern!r}) is not there")
    path.write_text(new, encoding="utf-8")


def _readme_block(name: str, text: str) -> None:
    """Replace what the README holds between ``<!-- name -->`` and ``<!-- /name -->``."""
    marks = f"<!-- {name} -->\n", f"<!-- /{name} -->\n"
    _sub(Path("README.md"), f"{marks[0]}.*?{marks[1]}", f"{marks[0]}{text}\n{marks[1]}", re.S)


def readme(name: str, description: str) -> None:
    """The title and the opening line."""
    _sub(Path("README.md"), r"\A# .*\n", f"# {name}\n\n{description}\n\n{TEMPLATE_NOTE}\n")


def pyproject(slug: str, description: str) -> None:
    """The distribution's name and description (the import package stays `mlpipeline`)."""
    _sub(Path("pyproject.toml"), r'^name = ".*"$', f'name = "{slug}"')
    _sub(Path("pyproject.toml"), r'^description = ".*"$', f"description = {json.dumps(description)}")


def _registry_line(path: Path, key: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    inside = False
    for i, line in enumerate(lines):
        if re.match(r"^\S", line):
            inside = line.startswith("registry:")
        elif inside and re.match(rf"^  {key}: ", line):
            comment = re.search(r"\s+#.*$", line.rstrip("\n"))
            lines[i] = f"  {key}: {json.dumps(value)}{comment.group(0) if comment else ''}\n"
            path.write_text("".join(lines), encoding="utf-8")
            return
    raise SystemExit(f"render: {path}: registry.{key} is not there")


def dvc_remote(url: str, endpoint: str, own_data: bool) -> None:
    """The project's DVC remotes. A URL becomes the default remote, named `storage` (as `make remote`
    names it). With the project's own data, the bundled sample remote goes (its folder is not
    generated): what a project pushes there would be git-ignored, so no clone could pull it."""
    config = Path(".dvc/config")
    text = config.read_text(encoding="utf-8")
    if own_data:
        text = re.sub(r"^\['remote \"sample\"'\]\n(?:[ \t]+.*\n)*", "", text, flags=re.MULTILINE)
        text = re.sub(r"^[ \t]*remote = .*\n", "", text, count=1, flags=re.MULTILINE)
    if url:
        if re.search(r"^[ \t]*remote = ", text, flags=re.MULTILINE):
            text = re.sub(r"^(\s*remote = ).*$", r"\g<1>storage", text, count=1, flags=re.MULTILINE)
        else:
            text = re.sub(r"^\[core\]\n", "[core]\n    remote = storage\n", text, count=1, flags=re.MULTILINE)
        text += f"['remote \"storage\"']\n    url = {url}\n"
        if endpoint:
            text += f"    endpointurl = {endpoint}\n"
    config.write_text(text, encoding="utf-8")


def readme_data(url: str, own_data: bool) -> None:
    """The README's sentence on where a clone gets the data: true for this project, not the sample."""
    if url:
        said = (
            f"Data and models live on the DVC remote `{url}` (`.dvc/config`): a clone with access to it pulls"
            " everything and trains nothing."
        )
    elif own_data:
        said = (
            "**This project has no DVC remote yet**: its data and model are only on the machine that"
            " generated it, so a teammate's clone and CI cannot reproduce it. Run `make remote"
            " URL=s3://bucket/path` (or a shared folder's path), `make push`, and commit `.dvc/config`."
        )
    else:
        return  # the sample and its bundled remote, as the template describes them
    _readme_block("data", said)


def readme_docs() -> None:
    """The README's links to the template's own pages (its tutorial on the sample, its measured
    figures), which a project does not ship, point at what the project has instead."""
    start = (
        "- **This project's page**: the site's home page (`make docs`), generated from the project's"
        " files:\n  its data, target, gate rules, data contract and current release."
    )
    _readme_block("start", start)
    _readme_block("development", "- **[Development](docs/development.md)**: the test tiers and what CI runs.")


def mkdocs(name: str, description: str) -> None:
    """The site's name and description: the project's, not the template's."""
    _sub(Path("mkdocs.yml"), r"^site_name: .*$", f"site_name: {json.dumps(name)}")
    _sub(Path("mkdocs.yml"), r"^site_description: .*$", f"site_description: {json.dumps(description)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("name", "slug", "description", "owner", "remote", "endpoint", "python"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--own-data", action="store_true", help="a data file was given: no sample")
    args = parser.parse_args()
    readme(args.name, args.description)
    readme_docs()
    mkdocs(args.name, args.description)
    pyproject(args.slug, args.description)
    _registry_line(Path("params.yaml"), "description", args.description)
    _registry_line(Path("params.yaml"), "owner", args.owner)
    dvc_remote(args.remote, args.endpoint, args.own_data)
    readme_data(args.remote, args.own_data)
    Path(".python-version").write_text(f"{args.python}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
