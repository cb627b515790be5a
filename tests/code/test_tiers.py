"""The test tiers' own rules (tests/conftest.py): one tier a test, and no process in the fast one."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import TIERS, tier_of


class Item:
    """Just what tier_of reads of a pytest item."""

    nodeid = "tests/x.py::test_x"

    def __init__(self, *names: str) -> None:
        self.marks = [pytest.Mark(name, (), {}) for name in names]

    def iter_markers(self):
        return iter(self.marks)


def test_a_test_without_a_tier_marker_is_fast_and_a_marked_one_is_in_its_tier() -> None:
    assert tier_of(Item()) == "fast"
    assert tier_of(Item("parametrize")) == "fast"
    assert [tier_of(Item(t)) for t in TIERS] == list(TIERS)


def test_two_tiers_on_one_test_are_refused() -> None:
    with pytest.raises(pytest.UsageError, match=r"tests/x.py::test_x: in tiers \['e2e', 'slow'\]"):
        tier_of(Item("e2e", "slow"))


def test_a_fast_test_cannot_start_a_process() -> None:
    with pytest.raises(AssertionError, match=r"mark it @pytest\.mark\.integration"):
        subprocess.run(["true"], check=False)


@pytest.mark.integration
def test_an_integration_test_can() -> None:
    assert subprocess.run(["true"], check=False).returncode == 0


def test_the_tests_own_make_runs_get_none_of_the_outer_makes_variables(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make test WORKERS=3` passes WORKERS to every child make through MAKEFLAGS: a test's
    `make serve` would start three workers, and its `make test` in a generated project three."""
    from tests.conftest import tool_env

    monkeypatch.setenv("MAKEFLAGS", " -- WORKERS=3")
    monkeypatch.setenv("MAKELEVEL", "1")
    monkeypatch.setenv("MFLAGS", "")
    env = tool_env(tmp_path)
    assert not {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"} & set(env)
    assert env["HOME"] == str(tmp_path / "home")
