"""The offline plots page really renders: headless Chromium, no network, no script errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser_or_skip, draw
from tests.conftest import Repo

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser() -> str:
    return browser_or_skip()


def test_plots_page_renders_every_chart_offline(repo: Repo, browser: str, tmp_path: Path) -> None:
    repo.make("plots")
    page = repo.path / "dvc_plots/index.html"
    dom, console = draw(browser, page.as_uri(), tmp_path / "profile", budget_ms=8000)
    assert not [line for line in console if "Uncaught" in line], "\n".join(console)
    # One drawn Vega view per plot in dvc.yaml: confusion, ROC, PR, calibration, importance.
    assert dom.count('class="marks"') == 5, dom[-2000:]
