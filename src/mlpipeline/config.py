"""Load ``params.yaml`` once into typed, validated settings.

A wrong key, type or value stops the stage before any work, with one line per problem that
names the key and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlpipeline import catalog
from mlpipeline.errors import PipelineError

PARAMS_FILE = Path("params.yaml")

Task = Literal["classification", "regression"]
SplitPolicy = Literal["stratified", "random", "group", "time"]
ESTIMATOR_TASKS: dict[str, tuple[str, ...]] = {
    "logistic_regression": ("classification",),
    "ridge": ("regression",),
    "random_forest": ("classification", "regression"),
    "hist_gradient_boosting": ("classification", "regression"),
    "lightgbm": ("classification", "regression"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSettings(_Strict):
    """Where the data is and what it means."""

    raw: Path
    contract: Path
    # Where `make refresh-data` copies fresh data from (None: data.raw is refreshed in place).
    source: Path | None = None
    # The column to predict.
    target: str = Field(min_length=1)
    id_column: str | None = None
    # bool before int: `true` must not become 1 (a boolean target's classes are True/False).
    positive_class: bool | str | int | float | None = None


class SplitSettings(_Strict):
    """How validate splits rows into train and test: recorded with the model."""

    policy: SplitPolicy = "stratified"
    # The share of rows held out for evaluation and the gate.
    test_size: float = Field(0.2, gt=0, lt=1)
    # Seeds the split: the same seed, the same rows on each side.
    seed: int = 42
    group_column: str | None = None
    time_column: str | None = None
    sample_fraction: float = Field(1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _policy_needs_column(self) -> SplitSettings:
        if self.policy == "group" and not self.group_column:
            raise ValueError("policy 'group' needs split.group_column")
        if self.policy == "time" and not self.time_column:
            raise ValueError("policy 'time' needs split.time_column")
        return self


# An import path to the project's own code or a package's: package.module:name.
IMPORT_PATH = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$"


class DerivedFeature(_Strict):
    """One of the project's features: a function or transformer class by import path (a plain
    string in params.yaml), and a transformer's arguments."""

    # A function or transformer class: package.module:name (a plain string is this alone).
    path: str = Field(pattern=IMPORT_PATH)
    # A transformer class's constructor arguments.
    args: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class FeatureSettings(_Strict):
    """Columns kept out of the model (the target and id are always kept out), and the features
    the project derives with its own code (src/project/), inside the model."""

    drop: list[str] = []
    derived: list[DerivedFeature] = []


class ModelSettings(_Strict):
    """The estimator and its hyperparameters (checked when train builds it): one of the built-in
    names, or any scikit-learn-compatible class by import path (``xgboost:XGBClassifier``)."""

    estimator: str
    # The estimator's constructor arguments; unknown names are refused with the allowed ones.
    hyperparameters: dict[str, Any] = {}
    # Given to the estimator's random_state (or seed) when it takes one, and to evaluation's sampling.
    seed: int = 42

    @field_validator("estimator")
    @classmethod
    def _known(cls, value: str) -> str:
        if value in ESTIMATOR_TASKS or re.match(IMPORT_PATH, value):
            return value
        names = ", ".join(repr(e) for e in ESTIMATOR_TASKS)
        raise ValueError(
            f"{value!r} is not allowed; choose one of: {names}, or an import path such as"
            " xgboost:XGBClassifier"
        )


class EvaluateSettings(_Strict):
    """What evaluate measures beyond the headline metrics."""

    slices: list[str] = []
    # Columns whose between-group gaps are the fairness figures (gap.<metric>); empty: all slices.
    fairness: list[str] = []
    min_slice_size: int = Field(30, ge=1)

    @model_validator(mode="after")
    def _fairness_in_slices(self) -> EvaluateSettings:
        extra = [c for c in self.fairness if c not in self.slices]
        if extra:
            raise ValueError(f"fairness: {', '.join(extra)} must also be listed in evaluate.slices")
        return self

    latency_rows: int = Field(50, ge=10)


class Rule(_Strict):
    """One gate rule: a figure and exactly one bound."""

    # A figure of catalog.py: a metric, data.*, gap.*, latency, model size, or a monitor figure.
    metric: str
    # The figure must be at least this.
    min: float | None = None
    # The figure must be at most this.
    max: float | None = None
    # The figure must beat the dummy baseline's by this much (in its better direction).
    beat_baseline_by: float | None = None
    # Against the base (make ci) or the release (make monitor): at most this much worse, judged
    # on the same rows with a paired interval.
    max_regression: float | None = Field(None, ge=0)
    # A change past the tolerance whose interval still includes no change ("cannot tell"): fail,
    # as the best estimate is a regression; `warn` lets it pass with a warning. None: the default.
    on_inconclusive: Literal["warn", "fail"] | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Rule:
        kinds = [
            k for k in ("min", "max", "beat_baseline_by", "max_regression") if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "a rule needs exactly one of min, max, beat_baseline_by, max_regression"
                f" (got {', '.join(kinds) or 'none'})"
            )
        if self.on_inconclusive is not None and kinds[0] != "max_regression":
            raise ValueError("on_inconclusive: applies to max_regression rules only")
        known = catalog.all_figures().get(self.metric)
        if known and known.unit_range and kinds[0] in ("min", "max") and not 0 <= self.bound <= 1:
            raise ValueError(f"{kinds[0]}: {self.bound} is outside 0..1, the range of {self.metric}")
        return self

    @property
    def kind(self) -> str:
        """Which bound this rule sets."""
        for k in ("min", "max", "beat_baseline_by", "max_regression"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated rules always have a bound")

    @property
    def bound(self) -> float:
        """The rule's number."""
        return float(getattr(self, self.kind))


class GateSettings(_Strict):
    """The rules a model must pass, and the git ref regressions are measured against."""

    base: str = "main"
    # Each rule names a figure (catalog.py) and one test: min, max, beat_baseline_by, max_regression.
    rules: list[Rule] = []


class MonitorSettings(_Strict):
    """How `make monitor` decides that a batch has drifted, and the rules that judge it."""

    # A feature has drifted when its PSI reaches psi_threshold (an effect big enough to matter)
    # and its two-sample test against the profile survives Benjamini-Hochberg at alpha (not noise).
    psi_threshold: float = Field(0.2, gt=0)
    # The false discovery rate of the per-feature two-sample tests (Benjamini-Hochberg).
    alpha: float = Field(0.01, gt=0, lt=1)
    # A batch with fewer rows is too small to judge (its own status and exit code): ten bins
    # need about five rows each before a move can be told from chance.
    min_rows: int = Field(50, ge=1)
    # Quality rules are judged only with at least this many labelled rows of every class (of the
    # batch, for regression); fewer is "cannot tell", never a retrain. On the sample, a batch of
    # its own rows with k labels of the rarer class broke `roc_auc max_regression: 0.05` in 15%
    # (k=20), 9% (30), 6% (50) and 4% (60) of 400 draws (docs/benchmarks.md, "Monitoring").
    min_labels: int = Field(60, ge=1)
    # What a batch is judged by: drift figures, and quality when the batch has labels.
    rules: list[Rule] = []


class RegistrySettings(_Strict):
    """What the model card says about ownership, and the stages versions can be promoted to."""

    # What the model predicts, in a sentence: shown on every release's card.
    description: str = ""
    # Who answers for the model: shown on every release's card.
    owner: str = ""
    notes: str = ""
    stages: list[str] = Field(["staging", "prod"], min_length=1)


class EngineSettings(_Strict):
    """Where the heavy stages run: in this process (``local``) or on a Dask cluster (``dask``).

    ``address`` names a running scheduler (``tcp://host:8786``); empty starts a ``LocalCluster`` of
    ``workers`` processes with ``threads`` threads and ``memory`` each (Dask's size strings).
    """

    name: Literal["local", "dask"] = "local"
    address: str | None = None
    workers: int = Field(2, ge=1)
    threads: int = Field(1, ge=1)
    memory: str = "2GiB"
    # Only lightgbm trains across the workers; any other estimator trains in the stage's process
    # on an even sample of at most this many rows of the train split (said, and in the card), so
    # a table the engine exists for cannot bring it down by memory.
    train_sample_rows: int = Field(1_000_000, ge=1)

    @field_validator("memory")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*([kKMGT]i?B|B)?\s*", value):
            raise ValueError(f"'{value}' is not a size; write e.g. 2GiB, 512MiB or 4GB")
        return value


class Settings(_Strict):
    """Everything in params.yaml, validated."""

    task: Task
    data: DataSettings
    split: SplitSettings = SplitSettings()
    features: FeatureSettings = FeatureSettings()
    model: ModelSettings
    evaluate: EvaluateSettings = EvaluateSettings()
    gate: GateSettings = GateSettings()
    monitor: MonitorSettings = MonitorSettings()
    registry: RegistrySettings = RegistrySettings()
    engine: EngineSettings = EngineSettings()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.model.estimator in ESTIMATOR_TASKS and self.task not in ESTIMATOR_TASKS[self.model.estimator]:
            allowed = [e for e, tasks in ESTIMATOR_TASKS.items() if self.task in tasks]
            raise ValueError(
                f"model.estimator: '{self.model.estimator}' does not do {self.task};"
                f" choose one of: {', '.join(allowed)}"
            )
        if self.task == "regression" and self.split.policy == "stratified":
            raise ValueError("split.policy: 'stratified' needs classification; use 'random'")
        for i, rule in enumerate(self.gate.rules):
            where = f"gate.rules[{i}]"
            _known(where, rule.metric, catalog.figures(self.task), f"{self.task} figure")
            if rule.kind == "beat_baseline_by" and rule.metric not in catalog.quality_metrics(self.task):
                raise ValueError(
                    f"{where}.beat_baseline_by: only quality metrics have a baseline;"
                    f" choose one of: {', '.join(sorted(catalog.quality_metrics(self.task)))}"
                )
        for i, rule in enumerate(self.monitor.rules):
            where = f"monitor.rules[{i}]"
            _known(where, rule.metric, catalog.monitor_figures(self.task), f"{self.task} monitor figure")
            if rule.kind == "beat_baseline_by" or (
                rule.kind == "max_regression" and rule.metric not in catalog.quality_metrics(self.task)
            ):
                raise ValueError(
                    f"{where}: monitor rules take min, max, or max_regression (a quality metric against"
                    " the model's test figure)"
                )
        return self


def _known(where: str, metric: str, known: dict[str, Any], what: str) -> None:
    if metric not in known:
        choices = ", ".join(sorted(known))
        raise ValueError(f"{where}.metric: '{metric}' is not a {what}; choose one of: {choices}")


def load_settings(path: str | Path = PARAMS_FILE) -> Settings:
    """Read and validate ``path``; raise ``PipelineError`` naming every bad key."""
    data = read_yaml(path)
    dvc_can_read(Path(path).read_text(encoding="utf-8"), str(path))
    return parse_settings(data, source=str(path))


def dvc_can_read(text: str, source: str) -> None:
    """DVC reads params.yaml with libyaml (ruamel's C loader), stricter than this one where users
    meet it: ``derived: [project.features:ratio]`` (a colon inside [...]) stops `dvc repro` with
    "YAML file structure is corrupted". Said here, before DVC runs, with the fix."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError
    except ImportError:  # DVC is not installed here (a served container): nothing to match
        return
    try:
        YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        fix = (
            '; inside [...] quote a value with a colon (["project.features:ratio"]), or list it one per'
            " line (- project.features:ratio)"
            if "':'" in str(problem)
            else ""
        )
        raise PipelineError(f"{source}:{where}: DVC cannot read it: {problem}{fix}") from None


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's core schema, the dialect DVC reads and writes.

    Only true/false are booleans (`Yes`, `No`, `on` stay strings), numbers never have underscores
    or a sexagesimal form, and `0o17` / `0x1f` are the only non-decimal integers. Every YAML file
    the package reads goes through here, so one file never means two things.
    """


Yaml12Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if tag.rsplit(":", 1)[1] not in ("bool", "int", "float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def _yaml12_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text[2:] if base != 10 else text, base)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)


def load_yaml(text: str, source: str = "<text>") -> Any:
    """Parse YAML 1.2 text; a syntax error becomes one line naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PipelineError(f"{source}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found (run from the project root)")
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a mapping of keys at the top level")
    return data


def parse_settings(data: dict[str, Any], source: str = "params.yaml") -> Settings:
    """Validate an already-loaded mapping."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {format_error(err, Settings)}" for err in exc.errors()]
        raise PipelineError("\n".join(lines)) from None


def format_error(err: Any, root: type[BaseModel]) -> str:
    """Turn one pydantic error into 'key: problem; allowed values'."""
    loc = err["loc"]
    key = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{key}: unknown key{hint} (allowed keys here: {', '.join(allowed)})"
    if kind == "missing":
        return f"{key}: required key is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{key}: {err['input']!r} is not allowed; choose one of: {expected.replace(' or ', ', ')}"
    message = err["msg"].removeprefix("Value error, ")
    if not loc:
        return message
    field = re.match(r"([a-z_]+): (.*)", message)
    if field:  # a model-level check about one of its fields: name that field in the key
        return f"{key}.{field.group(1)}: {field.group(2)}"
    return f"{key}: {message} (got {err['input']!r})"


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return sorted(current.model_fields) if isinstance(current, type) else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
