"""Where a cluster's training rows sit: checked before a distributed fit depends on it."""

from __future__ import annotations

from typing import Any


def classes_missing_per_worker(
    block_classes: list[set[int]], block_holders: list[list[str]], classes: list[Any]
) -> dict[str, list[Any]]:
    """Which classes each worker holding training rows has none of (``block_classes``: the class
    codes in each block of the target; ``block_holders``: the workers each block is on). LightGBM's
    Dask training fits a model per worker and merges them: a worker without a class encodes labels
    and counts classes differently from the others (LightGBM's issue #2419: a hang, or labels
    silently shifted)."""
    held: dict[str, set[int]] = {}
    for found, workers in zip(block_classes, block_holders, strict=True):
        for worker in workers:
            held.setdefault(worker, set()).update(found)
    return {
        worker: [classes[c] for c in range(len(classes)) if c not in got]
        for worker, got in sorted(held.items())
        if len(got) < len(classes)
    }
