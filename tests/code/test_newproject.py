"""`make new-project`'s own logic, in-process: answers given on the command line, and an answers
file that works from any machine. tests/template/ runs copier and make for real."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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
