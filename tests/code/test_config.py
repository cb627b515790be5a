"""params.yaml validation: every user mistake gives one line naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from mlpipeline.config import load_settings, load_yaml, parse_settings
from mlpipeline.core.model import make_estimator
from mlpipeline.errors import PipelineError


@pytest.fixture
def params(sample: Path) -> dict:
    return yaml.safe_load((sample / "params.yaml").read_text())


def error_of(data: dict) -> str:
    with pytest.raises(PipelineError) as exc:
        parse_settings(data)
    return str(exc.value)


def test_shipped_params_are_valid(sample: Path) -> None:
    settings = load_settings(sample / "params.yaml")
    assert settings.task == "classification"
    assert settings.gate.rules, "the template ships gate rules"


def test_unknown_estimator_names_key_and_choices(params: dict) -> None:
    params["model"]["estimator"] = "no_such_model"
    message = error_of(params)
    assert "model.estimator" in message
    assert "no_such_model" in message
    assert "logistic_regression" in message and "random_forest" in message


def test_threshold_out_of_range_names_rule(params: dict) -> None:
    rule_index = next(i for i, r in enumerate(params["gate"]["rules"]) if "min" in r)
    params["gate"]["rules"][rule_index]["min"] = 1.7
    message = error_of(params)
    assert f"gate.rules[{rule_index}]" in message
    assert "1.7" in message and "0..1" in message


def test_missing_target_is_named(params: dict) -> None:
    del params["data"]["target"]
    assert "data.target: required key is missing" in error_of(params)


def test_unknown_key_lists_allowed_keys(params: dict) -> None:
    params["split"]["seeed"] = 1
    message = error_of(params)
    assert "split.seeed: unknown key" in message
    assert "seed" in message and "test_size" in message


def test_wrong_type_is_named(params: dict) -> None:
    params["split"]["test_size"] = "a fifth"
    assert "split.test_size" in error_of(params)


def test_every_problem_is_reported_at_once(params: dict) -> None:
    params["model"]["estimator"] = "nope"
    params["split"]["test_size"] = 2
    message = error_of(params)
    assert "model.estimator" in message and "split.test_size" in message
    assert len(message.splitlines()) == 2


def test_estimator_must_fit_task(params: dict) -> None:
    params["model"]["estimator"] = "ridge"
    assert "does not do classification" in error_of(params)


def test_unknown_gate_metric_lists_figures(params: dict) -> None:
    params["gate"]["rules"] = [{"metric": "f2", "min": 0.5}]
    message = error_of(params)
    assert "gate.rules[0].metric" in message and "f1" in message


def test_rule_needs_exactly_one_bound(params: dict) -> None:
    params["gate"]["rules"] = [{"metric": "f1", "min": 0.5, "max": 0.9}]
    assert "exactly one of" in error_of(params)


def test_group_policy_needs_column(params: dict) -> None:
    params["split"]["policy"] = "group"
    assert "split.group_column" in error_of(params)


def test_regression_cannot_stratify(params: dict) -> None:
    params["task"] = "regression"
    params["model"]["estimator"] = "ridge"
    params["model"]["hyperparameters"] = {}
    params["gate"]["rules"] = []
    assert "split.policy" in error_of(params)


def test_unknown_hyperparameter_names_allowed(params: dict) -> None:
    bad = copy.deepcopy(params)
    bad["model"]["hyperparameters"] = {"CC": 1.0}
    settings = parse_settings(bad)
    with pytest.raises(PipelineError, match=r"model\.hyperparameters\.CC.*allowed:.*max_iter"):
        make_estimator(settings)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("task: classification\ndata: [unclosed\n")
    with pytest.raises(PipelineError, match=r"params\.yaml: line \d+ is not valid YAML"):
        load_settings(path)


def test_missing_params_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="file not found"):
        load_settings(tmp_path / "params.yaml")


def test_baseline_margin_needs_a_quality_metric(params: dict) -> None:
    params["gate"]["rules"] = [{"metric": "latency_p95_ms", "beat_baseline_by": 1}]
    assert "gate.rules[0].beat_baseline_by: only quality metrics" in error_of(params)


def test_params_are_read_as_yaml_1_2_like_dvc_writes_them(tmp_path: Path, sample: Path) -> None:
    # `dvc exp run -S` rewrites params.yaml and drops quotes: `Yes` must stay the string "Yes".
    text = (sample / "params.yaml").read_text().replace("positive_class: 'Yes'", "positive_class: Yes")
    assert "positive_class: Yes " in text
    (tmp_path / "params.yaml").write_text(text)
    assert load_settings(tmp_path / "params.yaml").data.positive_class == "Yes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[No, No phone service, Yes]", ["No", "No phone service", "Yes"]),  # YAML 1.1 would say False/True
        ("[on, off, y, n]", ["on", "off", "y", "n"]),
        ("[true, false, True, FALSE]", [True, False, True, False]),
        ("[017, 0o17, 0x1f, -3, 1_000, '1:20', 1:20]", [17, 15, 31, -3, "1_000", "1:20", "1:20"]),
        ("[1.5, .5, 1e3, -.inf, ~, null]", [1.5, 0.5, 1000.0, float("-inf"), None, None]),
    ],
)
def test_every_yaml_file_is_read_as_yaml_1_2(text: str, expected: list) -> None:
    assert load_yaml(text) == expected


def test_a_contract_from_git_keeps_yes_and_no_as_strings() -> None:
    from mlpipeline.core.contract import parse_contract

    text = "columns:\n  phone: {dtype: string, allowed: [No, No phone service, Yes]}\n"
    contract = parse_contract(load_yaml(text), "data/contract.yaml at abc")
    assert contract.columns["phone"].allowed == ["No", "No phone service", "Yes"]


def test_bad_yaml_names_the_file_and_line() -> None:
    with pytest.raises(PipelineError, match=r"dvc.lock at main: line 2 is not valid YAML"):
        load_yaml("a: 1\nb: c: d\n", "dvc.lock at main")


def test_feature_importance_bars_are_drawn_longest_first(root: Path) -> None:
    """DVC's plain bar template orders bars by name; the importance plot must order them by value."""
    from dvc_render.vega_templates import get_template

    plots = yaml.safe_load((root / "dvc.yaml").read_text())["plots"]
    (spec,) = [next(iter(p.values())) for p in plots if "importance" in next(iter(p))]
    template = get_template(spec["template"])
    assert template.content["encoding"]["y"]["sort"] == "-x"


def test_the_importance_plot_says_the_metric_evaluate_measures_it_in(root: Path) -> None:
    """The importance is in the task's metric (ROC AUC for the sample: accuracy ranked a skewed
    table's signal last), and dvc.yaml's title says which."""
    from mlpipeline.core import plots as plots_core

    settings = load_settings(root / "params.yaml")  # the project's own, whatever data it adopted
    metric = plots_core.importance_metric(settings.task, settings.data.positive_class is not None)
    titles = [next(iter(p)) for p in yaml.safe_load((root / "dvc.yaml").read_text())["plots"]]
    assert plots_core.importance_title(metric) in titles


def test_a_bad_hyperparameter_value_is_refused_before_any_training(params: dict) -> None:
    params["model"]["hyperparameters"]["C"] = -1
    with pytest.raises(PipelineError, match=r"model.hyperparameters: The 'C' parameter"):
        make_estimator(parse_settings(params))


def test_settings_the_last_training_ran_on_are_not_built_again(
    params: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make repro` and `make ci` build the estimator before DVC runs, unless dvc.lock records a
    training on the same estimator settings (task, model, features; others may differ). A value
    that would be refused shows which happened."""
    from mlpipeline.commands import settings as command

    params["model"]["hyperparameters"]["C"] = -1
    recorded = {
        "model": copy.deepcopy(params["model"]),
        "task": params["task"],
        "features": copy.deepcopy(params["features"]),
        "data.target": "churn",
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    lock = {"schema": "2.0", "stages": {"train": {"params": {"params.yaml": recorded}}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    monkeypatch.chdir(tmp_path)
    assert command.main([]) == 0  # the lock says a training ran on them: not built again
    recorded["data.target"] = "other"  # not what the estimator is built from
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert command.main([]) == 0
    del recorded["task"]  # a lock that does not record one of them: built, and refused
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    with pytest.raises(PipelineError, match=r"model.hyperparameters: The 'C' parameter"):
        command.main([])
    recorded["task"] = params["task"]
    recorded["model"]["seed"] = 7  # any declared value that differs: built, and refused
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    with pytest.raises(PipelineError, match=r"model.hyperparameters: The 'C' parameter"):
        command.main([])
    (tmp_path / "dvc.lock").unlink()
    with pytest.raises(PipelineError, match=r"model.hyperparameters: The 'C' parameter"):
        command.main([])


def test_a_colon_inside_brackets_that_dvc_cannot_read_is_named_with_its_line_and_the_fix(
    sample: Path, tmp_path: Path
) -> None:
    """This loader reads ``[project.features:ratio]``; DVC's (libyaml) does not, and `dvc repro`
    would only say the file is corrupted."""
    text = (sample / "params.yaml").read_text()
    flow = text.replace("  derived: []", "  derived: [project.features:charges_per_month]", 1)
    assert flow != text
    (tmp_path / "params.yaml").write_text(flow)
    line = next(i for i, x in enumerate(flow.splitlines(), 1) if x.startswith("  derived: [project"))
    said = rf"params.yaml: line {line}: DVC cannot read it: .*quote a value"
    with pytest.raises(PipelineError, match=said):
        load_settings(tmp_path / "params.yaml")
    quoted = text.replace("  derived: []", '  derived: ["project.features:charges_per_month"]', 1)
    (tmp_path / "params.yaml").write_text(quoted)
    (read,) = load_settings(tmp_path / "params.yaml").features.derived
    assert read.path == "project.features:charges_per_month"
