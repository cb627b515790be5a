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
