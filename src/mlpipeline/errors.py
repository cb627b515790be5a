"""One error type for problems a user can cause, and the edge that reports it."""

from __future__ import annotations

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A problem in the user's data, config, git refs or remotes: reported, never a traceback."""


def run_main(main: Callable[[], int | None]) -> None:
    """Run a stage's ``main`` and turn a ``PipelineError`` into one clear line and exit code 1.

    Any other exception is a bug of ours and keeps its traceback.
    """
    try:
        code = main()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: no output was changed", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
