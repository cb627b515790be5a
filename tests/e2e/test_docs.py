"""The documentation site: built strictly with `make docs`, its failures named, and its pages drawn
in a real browser (the tutorial is run command by command in tests/template/test_tutorial.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.browser import browser_or_skip, draw
from tests.conftest import Repo, free_port

e2e = pytest.mark.e2e


@pytest.fixture(scope="module")
def site(template_repo: Repo) -> Path:
    """The sample project's site, built once by `make docs` for this module's tests."""
    built = template_repo.make("docs")
    assert "docs: built build/site/index.html" in built.stdout
    return template_repo.path / "build/site"


@e2e
def test_make_docs_builds_every_page_with_the_generated_reference(site: Path) -> None:
    params = (site / "reference/params/index.html").read_text()
    for key in ("split.sample_fraction", "features.derived", "gate.rules[].max_regression", "engine.address"):
        assert key in params, key
    assert "make new-project" in (site / "reference/make/index.html").read_text()
    assert "mlpipeline.core.split" in (site / "reference/modules/index.html").read_text()


@e2e
def test_make_docs_fails_on_what_would_mislead_naming_each(repo: Repo) -> None:
    """A link to nowhere, an anchor that does not exist, a command for a make target that does
    not exist: the strict build fails and says each."""
    page = repo.path / "docs/how-to/team.md"
    page.write_text(
        page.read_text()
        + "\nSee [nowhere](nowhere.md) and [a section](own-data.md#no-such-section).\n"
        + "\n```bash\nmake reproduce\n```\n"
    )
    failed = repo.make("docs", check=False)
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "nowhere.md" in said and "no-such-section" in said
    assert "a shell block runs `make reproduce`, which the Makefile does not have" in said


@pytest.fixture
def browser() -> str:
    return browser_or_skip()


@pytest.mark.slow  # the theme's rendering moves with mkdocs-material's version, not with a pull request
def test_every_kind_of_page_renders_in_a_real_browser(site: Path, browser: str, tmp_path: Path) -> None:
    """The built site served on loopback, as GitHub Pages serves it, and drawn by headless
    Chromium with no network beyond it: no script error, the page's own heading shown."""
    port = free_port()
    server = subprocess.Popen(
        ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pages = {
            "": "",  # the template's home, or a generated project's own
            "how-to/own-code/": "Your own features and models",
            "reference/params/": "params.yaml",
            "reference/modules/": "Modules",
            "explanation/gate/": "How the gate decides",
        }
        for path, heading in pages.items():
            dom, console = draw(browser, f"http://127.0.0.1:{port}/{path}", tmp_path / "profile")
            assert not [line for line in console if "Uncaught" in line], (path, console)
            assert re.search(rf"<h1[^>]*>{re.escape(heading)}", dom), (path, dom[-1500:])
            assert "404" not in dom.split("<h1", 1)[-1][:200], (path, "not found")
            assert 'class="md-nav' in dom  # the theme drew its navigation
    finally:
        server.terminate()
        server.wait(timeout=10)
