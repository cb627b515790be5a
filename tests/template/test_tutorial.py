"""The tutorial (docs/tutorial.md) run as written, command by command, in a copy of the template on
its sample: what the reader is told to type is what the suite runs. Template-only, as the page is."""

from __future__ import annotations

import re
import socket

import pytest

from tests.conftest import ROOT, Repo, free_port

SHELL_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def tutorial_script(port: int) -> str:
    """docs/tutorial.md's shell blocks, in order, as one script (its port made this run's own)."""
    blocks = SHELL_BLOCK.findall((ROOT / "docs/tutorial.md").read_text())
    assert blocks, "docs/tutorial.md has no ```bash blocks"
    # Job control on, as in a terminal: `kill %1` stops the whole background job (make and the
    # service it started), not only make.
    return "set -meuo pipefail\n" + "\n".join(blocks).replace("8765", str(port))


@pytest.mark.slow
def test_the_tutorial_runs_as_written(repo: Repo) -> None:
    """Every command of the tutorial, in a fresh copy of the template on its sample: the gate
    judges the branch, the release is v1.0.0, the served model answers."""
    port = free_port()
    done = repo.run("bash", "-c", tutorial_script(port), check=False, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "gate: PASSED" in out  # make ci, against main
    assert "registered model v1.0.0" in out
    assert '"status":"ok"' in out.replace(" ", "") or '"ok"' in out  # /health
    assert '"predictions"' in out and '"proba_Yes"' in out  # /predict answered
    predicted = (repo.path / "predictions.csv").read_text().splitlines()
    assert len(predicted) == 4 and predicted[0].startswith("customer_id,prediction")  # make predict
    with socket.socket() as s:  # the tutorial's last command stopped the service
        assert s.connect_ex(("127.0.0.1", port)) != 0
