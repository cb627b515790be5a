"""An opt-in log of the rows `make serve` scored, for `make monitor` to read.

One JSON object per line: the row's contract columns (as checked), the prediction, the model
version and the time. The file is rotated by size like logrotate (``served.jsonl`` becomes
``served.jsonl.1``, and so on, the oldest dropped), so it never grows without bound. Nothing is
logged unless the user asks for it (`make serve LOG=...`).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

MAX_BYTES = 50 * 1024 * 1024
KEEP = 5


class RowLog:
    """Append scored rows to ``path``; safe across threads and across the service's worker processes
    (an advisory lock on the log's folder around each append and rotation: no file of its own)."""

    def __init__(
        self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP, columns: list[str] | None = None
    ) -> None:
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        # Only the contract's columns are logged: a client may send fields of its own (a name, a
        # token) that the model drops and that have no business in a file on disk.
        self.columns = columns
        self.lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, rows: list[dict[str, Any]], scored: Any, context: dict[str, Any]) -> None:
        """Log ``rows`` (as checked) with their predictions (``scored.column("prediction")``)."""
        predicted = scored.column("prediction")
        lines = [
            json.dumps(
                {
                    **(row if self.columns is None else {k: v for k, v in row.items() if k in self.columns}),
                    "_prediction": _plain(p),
                    "_version": context.get("version"),
                    "_served_at": context["time"],
                },
                default=_iso,
            )
            for row, p in zip(rows, predicted, strict=True)
        ]
        data = ("\n".join(lines) + "\n").encode()
        with self.lock:
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                fcntl.flock(folder, fcntl.LOCK_EX)
                if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
                    self._rotate()
                with self.path.open("ab") as fh:
                    fh.write(data)
            finally:
                os.close(folder)  # releases the lock

    def _rotate(self) -> None:
        oldest = self.path.with_name(f"{self.path.name}.{self.keep}")
        oldest.unlink(missing_ok=True)
        for i in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _iso(value: Any) -> str:
    """Dates (the only non-JSON values a checked row holds) as ISO 8601 text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
