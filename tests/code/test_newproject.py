"""`make new-project`'s own logic, in-process: answers given on the command line, and an answers
file that works from any machine. tests/template/ runs copier and make for real."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipeline.commands.detach import ANSWERS_TEMPLATE, WORKSPACE, detach, template_only
from mlpipeline.commands.newproject import answers, portable_answers
from mlpipeline.errors import PipelineError


def test_answers_may_hold_spaces_up_to_the_next_key() -> None:
    got = answers(None, None, "project_name=Lending club owner=risk team task=classification")
    assert got == {"project_name": "Lending club", "owner": "risk team", "task": "classification"}
    assert answers(None, None, "description='Loans that default'") == {"description": "Loans that default"}
    assert answers(None, None, "") == {}


@pytest.mark.parametrize("text", ["club", "club project_name=x", "=x"])
def test_text_that_is_not_key_value_is_refused_naming_it(text: str) -> None:
    with pytest.raises(PipelineError, match=r"ANSWERS: '.*' is not key=value"):
        answers(None, None, text)


def test_the_answers_file_names_the_public_source_and_the_data_inside_the_project(tmp_path: Path) -> None:
    path = tmp_path / ".copier-answers.yml"
    path.write_text(
        "# Answers of the template's questions; do not edit by hand.\n"
        "_commit: v1.0.0\n_src_path: /home/ana/src/mlpipeline\n"
        "data_file: /home/ana/Downloads/loans 2024.csv\nproject_name: Lending club\n"
    )
    said = portable_answers(tmp_path, "https://github.com/acme/mlpipeline.git")
    text = path.read_text()
    found = yaml.safe_load(text)
    assert text.startswith("# Answers of the template's questions")
    assert found["_src_path"] == "https://github.com/acme/mlpipeline.git"
    assert found["data_file"] == "data/raw/loans 2024.csv"
    assert found["_commit"] == "v1.0.0" and found["project_name"] == "Lending club"
    assert "/home/ana" not in text and said


def test_detach_removes_what_copier_leaves_out_of_a_project_and_keeps_the_workspace(
    root: Path, tmp_path: Path
) -> None:
    listed = template_only(root)
    assert ANSWERS_TEMPLATE in listed and "tests/template" in listed and "copier.yml" in listed
    assert not set(listed) & WORKSPACE
    for rel in listed:  # the list is not stale: each is in the template
        assert (root / rel).exists(), rel
    (tmp_path / "copier.yml").write_text((root / "copier.yml").read_text())
    for rel in [*listed, ".venv/bin/python", ".git/HEAD", "src/mlpipeline/__init__.py"]:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text("x")
    removed = detach(tmp_path)
    assert sorted(removed) == sorted(listed)
    assert not any((tmp_path / rel).exists() for rel in listed)
    assert (tmp_path / ".venv/bin/python").exists() and (tmp_path / ".git/HEAD").exists()
    assert (tmp_path / "src/mlpipeline/__init__.py").exists()
    with pytest.raises(PipelineError, match="already detached"):
        detach(tmp_path)
