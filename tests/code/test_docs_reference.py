"""The documentation's generated reference and its checks, in-process: every params.yaml key and
make target is described, commands name real targets, the README stays a front door whose links
resolve. `make docs` builds the site for real in tests/e2e/test_docs.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mlpipeline.config import Settings
from mlpipeline.core import reference
from tests.conftest import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def test_every_settings_key_is_on_the_params_page_with_what_it_does() -> None:
    text = (ROOT / "params.yaml").read_text()
    keys = reference.settings_keys(Settings, reference.yaml_comments(text))
    assert reference.undescribed(keys) == []  # the docs build fails on one, naming it
    page = reference.params_page(Settings, text, {})
    names = {k.name for k in keys}
    assert {"split.sample_fraction", "gate.rules[].max_regression", "features.derived[].args"} <= names
    for key in keys:
        assert f"| `{key.name}` |" in page, key.name
    by_name = {k.name: k for k in keys}
    assert by_name["split.policy"].type == "one of: `stratified`, `random`, `group`, `time`"
    assert by_name["split.test_size"].allowed == "> 0, < 1" and by_name["split.test_size"].default == "`0.2`"
    assert by_name["data.target"].default == "required"
    # A key params.yaml comments takes that comment; one it does not, config.py's comment.
    assert by_name["data.raw"].comment.startswith("DVC-tracked input")
    assert by_name["monitor.alpha"].comment.startswith("The false discovery rate")


def test_a_key_nothing_describes_is_named() -> None:
    from pydantic import BaseModel

    class Section(BaseModel):
        # Said here.
        said: int = 1
        silent: str = "x"

    keys = reference.settings_keys(Section, {})
    assert reference.undescribed(keys) == ["silent"]
    assert reference.undescribed(reference.settings_keys(Section, {"silent": "said in params.yaml"})) == []


def test_every_phony_target_has_help_and_is_on_the_make_page() -> None:
    documented = reference.make_targets(MAKEFILE)
    assert set(reference.phony_targets(MAKEFILE)) == set(documented)
    page = reference.make_page(MAKEFILE)
    for target in documented:
        assert f"| `make {target}` |" in page
    variables = reference.make_variables(MAKEFILE)
    assert variables["BASE"] == ("main", "Git ref `make ci` compares against.")
    assert "make new-project" in variables["DEST"][1]  # named by the target that takes it
    assert variables["PYTHON"][0] == "(computed)"


def test_a_shell_block_that_runs_a_missing_target_is_named_and_prose_is_not_checked() -> None:
    page = (
        "Run `make nothing` in prose.\n\n```bash\nmake repro   # then make ci\n"
        "cd x && make -s reproduce VAR=1\n.venv/bin/dvc repro\n```\n\n```yaml\nmake: nope\n```\n"
    )
    assert reference.named_targets(page) == ["repro", "reproduce"]
    assert reference.unknown_targets(page, {"repro", "ci"}) == ["reproduce"]


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_in_the_readme_and_the_docs_runs_a_real_target(path: Path) -> None:
    known = set(reference.make_targets(MAKEFILE))
    assert reference.unknown_targets(path.read_text(), known) == []


def test_the_readme_is_a_front_door_whose_links_resolve() -> None:
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    assert len(lines) <= 150, len(lines)
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [["make", "repro"], ["make", "test"]]
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):  # relative links only
        assert (ROOT / target).exists(), target
    # Every page of the site is linked from the README or reachable from mkdocs.yml's nav.
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = set(re.findall(r"[\w/-]+\.md", str(nav)))
    generated = {"reference/params.md", "reference/make.md", "reference/modules.md"}
    pages = {str(p.relative_to(ROOT / "docs")) for p in PAGES}
    if (ROOT / "copier.yml").exists():
        assert pages | generated == listed
    else:  # a generated project: docs/hooks.py drops the nav's template-only pages at build
        assert pages | generated <= listed


def test_a_generated_projects_home_page_says_what_the_project_is() -> None:
    params = {
        "task": "classification",
        "data": {"raw": "data/raw/loans.csv", "target": "status", "id_column": "loan_id"},
        "model": {"estimator": "logistic_regression", "hyperparameters": {"C": 1.0}},
        "gate": {"base": "main", "rules": [{"metric": "f1", "beat_baseline_by": 0.05}]},
    }
    contract = {"columns": {"loan_id": {"dtype": "string", "unique": True}, "int_rate": {"dtype": "float"}}}
    page = reference.project_page(
        "Lending club", params, contract, ("v1.2.0", "card text"), {"features": [1, 2]}
    )
    assert page.startswith("# Lending club\n")
    assert "model of `status` in `data/raw/loans.csv`, one row per `loan_id`" in page
    assert "The current release is **v1.2.0**" in page and "card text" in page
    assert "| `metric: f1, beat_baseline_by: 0.05` |" in page
    assert "| `int_rate` | float |" in page
    unreleased = reference.project_page("X", params, {}, None, None)
    assert "No release yet: `make release`" in unreleased


def test_the_benchmarks_page_shows_what_make_bench_wrote() -> None:
    machine = {
        "date": "2026-12-06",
        "system": "Linux x86_64",
        "cpus": 2,
        "memory_gib": 23.5,
        "python": "3.11.7",
    }
    section = reference.bench_section({"serve": {"single_row": {"http_p50_ms": 1.3}}}, machine)
    assert "Measured on 2026-12-06: Linux x86_64, 2 CPUs, 23.5 GiB, Python 3.11.7" in section
    assert "| `single_row.http_p50_ms` | 1.3 |" in section
    assert "No figures yet" in reference.bench_section({}, None)
