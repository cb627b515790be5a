"""The data contract: a catalogue of bad inputs, each stopped at validate and named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipeline.adapters.files import file_md5
from mlpipeline.config import Settings
from mlpipeline.core import contract as c
from mlpipeline.errors import PipelineError
from mlpipeline.layout import Layout
from mlpipeline.stages.validate import run
from tests.conftest import SAMPLE

Frame = pd.DataFrame


@pytest.fixture
def project(tmp_path: Path, sample: Path, sample_frame: Frame) -> Layout:
    """A project folder with the sample data, its contract and outputs of an earlier run."""
    layout = Layout(tmp_path)
    (tmp_path / "data/raw").mkdir(parents=True)
    shutil.copy(sample / "contract.yaml", tmp_path / "data/contract.yaml")
    sample_frame.to_csv(tmp_path / "data/raw/telco_churn.csv", index=False)
    for path in (layout.train, layout.test, layout.model, layout.metrics):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"earlier run: " + path.name.encode())
    return layout


def earlier_outputs(layout: Layout) -> dict[Path, str]:
    return {p: file_md5(p) for p in (layout.train, layout.test, layout.model, layout.metrics)}


def raw(layout: Layout) -> Path:
    return layout.root / "data/raw/telco_churn.csv"


def frame_case(mutate: Callable[[Frame], Frame | None]) -> Callable[[Layout, Frame], None]:
    def write(layout: Layout, frame: Frame) -> None:
        frame = frame.copy()
        out = mutate(frame)
        (frame if out is None else out).to_csv(raw(layout), index=False)

    return write


def bytes_case(content: bytes) -> Callable[[Layout, Frame], None]:
    def write(layout: Layout, frame: Frame) -> None:
        del frame
        raw(layout).write_bytes(content)

    return write


def set_cell(column: str, value: object, row: int = 3) -> Callable[[Layout, Frame], None]:
    def mutate(frame: Frame) -> None:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value

    return frame_case(mutate)


def _renamed(frame: Frame) -> Frame:
    return frame.rename(columns={"tenure": "tenure_months"})


def _few_rows(frame: Frame) -> Frame:
    return frame.head(500)


def _duplicated_rows(frame: Frame) -> Frame:
    return pd.concat([frame, frame.head(100)], ignore_index=True)


def _rare_positive(frame: Frame) -> Frame:
    yes = frame[frame["churn"] == "Yes"].head(100)
    return pd.concat([frame[frame["churn"] == "No"], yes], ignore_index=True)


def _semicolons(layout: Layout, frame: Frame) -> None:
    frame.head(50).to_csv(raw(layout), index=False, sep=";")


def _latin1(layout: Layout, frame: Frame) -> None:
    frame = frame.head(50).copy()
    frame.loc[1, "payment_method"] = "Chèque"
    frame.to_csv(raw(layout), index=False, encoding="latin-1")


def _missing_file(layout: Layout, frame: Frame) -> None:
    raw(layout).unlink()


def _directory(layout: Layout, frame: Frame) -> None:
    raw(layout).unlink()
    raw(layout).mkdir()


def _ragged(layout: Layout, frame: Frame) -> None:
    lines = frame.head(20).to_csv(index=False).splitlines()
    lines[5] += ",surplus,fields"
    raw(layout).write_text("\n".join(lines) + "\n")


def _header_only(layout: Layout, frame: Frame) -> None:
    raw(layout).write_text(",".join(frame.columns) + "\n")


def _duplicate_header(layout: Layout, frame: Frame) -> None:
    text = frame.head(20).to_csv(index=False).replace(",tenure,", ",female,", 1)
    raw(layout).write_text(text)


def _parquet(layout: Layout, frame: Frame) -> None:
    frame.head(20).to_parquet(raw(layout))


CASES: dict[str, tuple[Callable[[Layout, Frame], None], list[str]]] = {
    # ---- columns ------------------------------------------------------------------------------
    "missing required column": (
        frame_case(lambda f: f.drop(columns=["tenure"])),
        ["tenure", "missing column"],
    ),
    "unexpected extra column": (
        frame_case(lambda f: f.assign(favourite_colour="blue")),
        ["favourite_colour", "unexpected column"],
    ),
    "renamed column": (frame_case(_renamed), ["tenure_months", "unexpected column", "missing column"]),
    "text in a float column": (set_cell("monthly_charges", "abc"), ["monthly_charges", "type float"]),
    "n/a marker in a non-nullable column": (
        set_cell("monthly_charges", "n/a"),
        ["monthly_charges", "not null"],
    ),
    "text in an integer column": (set_cell("tenure", "twelve"), ["tenure", "type integer"]),
    "fraction in an integer column": (set_cell("tenure", 1.5), ["tenure", "type integer"]),
    # ---- nulls ------------------------------------------------------------------------------
    "missing target": (set_cell("churn", None), ["churn", "not null"]),
    "null in a non-nullable column": (set_cell("contract", None), ["contract", "not null"]),
    "column entirely empty": (
        frame_case(lambda f: f.assign(monthly_charges=np.nan)),
        ["monthly_charges", "not null"],
    ),
    # ---- ranges and allowed values -----------------------------------------------------------
    "negative tenure": (set_cell("tenure", -5), ["tenure", "min 0"]),
    "tenure above max": (set_cell("tenure", 500), ["tenure", "max 120"]),
    "negative charge": (set_cell("monthly_charges", -20.0), ["monthly_charges", "min 0"]),
    "negative nullable charge": (set_cell("total_charges", -1.0), ["total_charges", "min 0"]),
    "target outside its values": (set_cell("churn", "Maybe"), ["churn", "allowed values", "Maybe"]),
    "target as 0/1 instead of Yes/No": (
        frame_case(lambda f: f.assign(churn=(f["churn"] == "Yes").astype(int))),
        ["churn", "allowed values"],
    ),
    "unseen category": (set_cell("contract", "Three year"), ["contract", "allowed values", "Three year"]),
    "category with stray whitespace": (
        set_cell("payment_method", "Mailed check "),
        ["payment_method", "allowed values"],
    ),
    "flag outside 0/1": (set_cell("female", 2), ["female", "allowed values"]),
    "id breaking its pattern": (set_cell("customer_id", "X-1"), ["customer_id", "matches"]),
    "duplicate id": (set_cell("customer_id", "C00001", row=10), ["customer_id", "unique"]),
    # ---- table rules ------------------------------------------------------------------------
    "too few rows": (frame_case(_few_rows), ["(table)", "at least 1000 rows"]),
    "duplicated rows": (frame_case(_duplicated_rows), ["duplicated rows"]),
    "rarest class too rare": (frame_case(_rare_positive), ["rarest class of 'churn'"]),
    # ---- unreadable input --------------------------------------------------------------------
    "empty file": (bytes_case(b""), ["file is empty"]),
    "blank lines only": (bytes_case(b"\n\n  \n"), ["file is empty"]),
    "header only": (_header_only, ["header but no data rows"]),
    "not a CSV (parquet bytes)": (_parquet, ["not a text CSV"]),
    "wrong delimiter": (_semicolons, ["separated by ';'"]),
    "bad encoding": (_latin1, ["not UTF-8"]),
    "file does not exist": (_missing_file, ["file not found", "dvc pull"]),
    "a directory of no partitions": (_directory, ["a directory with no .parquet or .csv files"]),
    "ragged rows": (_ragged, ["could not be parsed as CSV"]),
    "duplicated header": (_duplicate_header, ["header repeats", "female"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_at_validate_named_and_changes_nothing(
    case: str, project: Layout, settings: Settings, sample_frame: Frame
) -> None:
    write, expected = CASES[case]
    write(project, sample_frame)
    before = earlier_outputs(project)
    with pytest.raises(PipelineError) as exc:
        run(settings, project)
    message = str(exc.value)
    for fragment in expected:
        assert fragment in message, f"{case}: {fragment!r} not in:\n{message}"
    assert "Traceback" not in message
    assert earlier_outputs(project) == before


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_all_problems_reported_at_once(project: Layout, settings: Settings, sample_frame: Frame) -> None:
    frame = sample_frame.copy().astype({"tenure": object, "contract": object})
    frame.loc[1, "tenure"] = -1
    frame.loc[2, "contract"] = "Forever"
    frame = frame.drop(columns=["female"])
    frame.to_csv(raw(project), index=False)
    with pytest.raises(PipelineError) as exc:
        run(settings, project)
    message = str(exc.value)
    assert "3 problem(s)" in message
    assert all(word in message for word in ("tenure", "contract", "female"))
    report = yaml.safe_load((project.validation).read_text())
    assert {f["column"] for f in report["failures"]} == {"tenure", "contract", "female"}
    counts = {f["column"]: f["count"] for f in report["failures"]}
    assert counts["tenure"] == 1 and counts["contract"] == 1


def test_failure_counts_rows_and_shows_examples(
    project: Layout, settings: Settings, sample_frame: Frame
) -> None:
    frame = sample_frame.copy()
    frame.loc[:49, "tenure"] = -3
    frame.to_csv(raw(project), index=False)
    with pytest.raises(PipelineError):
        run(settings, project)
    report = yaml.safe_load(project.validation.read_text())
    (failure,) = report["failures"]
    assert failure["count"] == 50 and failure["examples"] == ["-3"]


def test_extra_columns_can_be_dropped_with_a_warning(
    project: Layout, settings: Settings, sample_frame: Frame, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_frame.assign(notes="x").to_csv(raw(project), index=False)
    path = project.root / "data/contract.yaml"
    path.write_text(path.read_text().replace("extra_columns: error", "extra_columns: drop"))
    report = run(settings, project)
    assert report["dropped_columns"] == ["notes"]
    assert "notes" not in pd.read_parquet(project.train).columns
    assert "dropped columns not in the contract: notes" in capsys.readouterr().err


def test_sample_data_passes_with_quality_figures(project: Layout, settings: Settings) -> None:
    report = run(settings, project)
    quality = report["quality"]
    assert report["ok"] and quality["rows"] == 7043
    assert quality["null_share"]["total_charges"] == pytest.approx(11 / 7043, abs=1e-6)
    assert quality["class_balance"]["Yes"] == pytest.approx(1869 / 7043, abs=1e-6)
    assert quality["duplicate_share"] == 0.0
    assert report["split"]["policy"] == "stratified"


def test_bad_contract_file_is_named(project: Layout, settings: Settings) -> None:
    path = project.root / "data/contract.yaml"
    path.write_text(path.read_text().replace("min_rows: 1000", "min_row: 1000"))
    with pytest.raises(PipelineError, match=r"contract\.yaml: table\.min_row: unknown key"):
        run(settings, project)


@pytest.mark.integration  # the stage as its own process
def test_stage_prints_no_traceback(project: Layout, sample: Path, sample_frame: Frame) -> None:
    shutil.copy(sample / "params.yaml", project.root / "params.yaml")
    sample_frame.drop(columns=["tenure"]).to_csv(raw(project), index=False)
    done = subprocess.run(
        [sys.executable, "-m", "mlpipeline.stages.validate"], cwd=project.root, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "tenure" in done.stderr and "missing column" in done.stderr


# ---- starter contract --------------------------------------------------------------------------


def test_inferred_contract_accepts_its_own_data(sample_frame: Frame) -> None:
    inferred = c.infer_contract(sample_frame, "churn", "customer_id")
    contract = c.Contract.model_validate(inferred)
    _, failures, _ = c.check(sample_frame, contract, "churn")
    assert failures == []
    assert inferred["columns"]["customer_id"]["unique"] is True
    assert inferred["columns"]["churn"]["allowed"] == ["No", "Yes"]
    assert inferred["columns"]["total_charges"]["nullable"] is True
    # tenure spans 0..72: 10% headroom above, none below 0 for a column without negatives.
    assert inferred["columns"]["tenure"] == {"dtype": "integer", "min": 0, "max": 80}
    assert inferred["serving"] == {"out_of_contract": "warn"}


def test_inferred_contract_round_trips_through_yaml_and_rejects_drift(sample_frame: Frame) -> None:
    text = c.contract_yaml(c.infer_contract(sample_frame, "churn", "customer_id"), "sample")
    contract = c.Contract.model_validate(yaml.safe_load(text))
    drifted = sample_frame.copy()
    drifted.loc[0, "tenure"] = 78  # beyond the data, inside the headroom
    assert c.check(drifted.copy(), contract, "churn")[1] == []
    drifted.loc[0, "tenure"] = 99
    _, failures, _ = c.check(drifted, contract, "churn")
    assert [(f.column, f.check) for f in failures] == [("tenure", "max 80")]
    assert "headroom" in text


def test_iso_dates_are_inferred_as_datetime_and_other_text_is_not() -> None:
    frame = pd.DataFrame(
        {
            "day": ["2024-05-31", "2024-06-01", None],
            "stamp": ["2024-05-31 14:02:00", "2024-06-01T09:00:00", "2024-06-02 00:00"],
            "zones": ["2024-05-31 14:02:00", "2024-06-01T09:00:00Z", "2024-06-02 00:00"],
            "code": ["2024", "A-1", "B-2"],
            "y": ["a", "b", "a"],
        }
    )
    columns = c.infer_contract(frame, "y")["columns"]
    kinds = [columns[n]["dtype"] for n in ("day", "stamp", "zones", "code")]
    assert kinds == ["datetime", "datetime", "string", "string"]


@pytest.mark.integration  # the command as its own process
def test_infer_command_writes_a_contract(tmp_path: Path, sample_frame: Frame) -> None:
    out = tmp_path / "contract.yaml"
    data = tmp_path / "sample.csv"
    sample_frame.to_csv(data, index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlpipeline.commands.contract",
            "infer",
            "--data",
            str(data),
            "--target",
            "churn",
            "--id",
            "customer_id",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert c.load_contract(out, "churn").columns["customer_id"].unique


def test_infer_refuses_unknown_target(sample_frame: Frame) -> None:
    with pytest.raises(PipelineError, match="target 'nope' is not a column"):
        c.infer_contract(sample_frame, "nope")


def test_a_fraction_in_an_integer_column_is_counted_and_shown(sample_frame: Frame) -> None:
    contract = c.load_contract(SAMPLE / "contract.yaml", "churn")
    frame = sample_frame.copy()
    frame["tenure"] = frame["tenure"].astype(float)
    frame.loc[[3, 7, 9], "tenure"] = [41.5, 2.25, 41.5]
    _, failures, _ = c.check(frame, contract, "churn")
    (failure,) = [f for f in failures if f.column == "tenure"]
    assert failure.check == "type integer (has a fractional part)"
    assert failure.count == 3 and failure.examples == ["41.5", "2.25"]


def test_the_fast_serving_coercion_gives_exactly_what_pandera_gives(sample_frame: Frame) -> None:
    """Clean batches skip pandera (10 ms a row); the frame the model sees must not change."""
    import pandera.pandas as pa

    contract = c.load_contract(Path(__file__).parents[1] / "fixtures/sample/contract.yaml")
    specs = {n: s for n, s in contract.columns.items() if n != "churn"}
    frame = sample_frame.drop(columns="churn")
    nullable = {n for n, s in specs.items() if s.nullable} | {"tenure", "contract"}
    schema = pa.DataFrameSchema(
        {
            n: pa.Column(c.PANDAS_DTYPES[s.dtype], nullable=n in nullable, coerce=True, name=n)
            for n, s in specs.items()
        },
        strict="filter",
        coerce=True,
    )
    expected = schema.validate(frame.copy(), lazy=True)
    as_json = pd.DataFrame(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))
    for given in (frame, as_json):  # a CSV's dtypes, and JSON rows' objects with None
        pd.testing.assert_frame_equal(c._coerce_clean(given.copy(), specs, nullable), expected)
    broken = as_json.astype({"tenure": object})
    broken.loc[3, "tenure"] = "soon"
    assert c._coerce_clean(broken, specs, nullable) is None  # pandera's turn: it names the problem
    assert c.serving_check(broken, contract, "churn", ["tenure"]).failures[0].column == "tenure"
