"""A real browser for the tests that look at pages: headless Chromium, with no network but loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browser_or_skip() -> str:
    """The browser; a skip without one, a failure where CI said it installed one."""
    if BROWSER is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no chromium on PATH (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on PATH; CI installs it (see .ci/run)")
    return BROWSER


def draw(browser: str, url: str, profile: Path, budget_ms: int = 5000) -> tuple[str, list[str]]:
    """The page's DOM once drawn (scripts run for ``budget_ms`` of virtual time), and the console
    lines Chromium logged."""
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--proxy-server=127.0.0.1:9",  # anything but loopback would fail
            "--proxy-bypass-list=127.0.0.1",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout, [line for line in done.stderr.splitlines() if "CONSOLE" in line]
