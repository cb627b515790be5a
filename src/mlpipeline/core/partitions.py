"""Merge what each partition of a partitioned table reported into one table's verdict and figures.

A partition is checked on its own (column rules, its rows' split sides); the rules about the whole
table (row count, duplicated rows, the rarest class, unique columns across partitions, a class on
both sides of the split) are judged here, on sums and hashes, without the rows in one process.

Repeats are counted by bucket: each partition cuts its 64-bit hashes into buckets by value
(``by_bucket``), one bucket of every partition is counted at a time (``repeats``), and the
buckets' counts add up, as equal hashes always share a bucket. No process holds every hash.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from mlpipeline.core.contract import EXAMPLES_SHOWN, Contract, Failure
from mlpipeline.core.frames import quality_from_counts


def merge_failures(parts: list[dict[str, Any]]) -> list[Failure]:
    """One failure per (column, check): counts summed, a few examples, and the partitions named."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for part in parts:
        for found in part["failures"]:
            into = merged.setdefault(
                (found["column"], found["check"]), {"count": 0, "examples": [], "partitions": []}
            )
            into["count"] += found["count"]
            into["examples"] += [e for e in found["examples"] if e not in into["examples"]]
            into["partitions"].append(part["name"])
    return [
        Failure(column, check, m["count"], m["examples"][:EXAMPLES_SHOWN], m["partitions"])
        for (column, check), m in sorted(merged.items())
    ]


def by_bucket(hashes: np.ndarray, buckets: int) -> list[np.ndarray]:
    """``hashes`` cut into ``buckets`` arrays by value (hash modulo ``buckets``)."""
    bucket = (hashes % np.uint64(buckets)).astype(np.int64)
    ends = np.cumsum(np.bincount(bucket, minlength=buckets))[:-1]
    return np.split(hashes[np.argsort(bucket, kind="stable")], ends)


def repeats(hashes: np.ndarray) -> tuple[int, np.ndarray]:
    """How many rows repeat an earlier row's hash (what pandera counts for ``unique`` in one
    table, and ``duplicated()`` for rows), and the hashes that occur more than once."""
    values, counts = np.unique(hashes, return_counts=True)
    return int((counts[counts > 1] - 1).sum()), values[counts > 1]


def table_figures(parts: list[dict[str, Any]], target: str | None, duplicates: int) -> dict[str, float]:
    """Rows, the share of rows repeating an earlier one, the rarest class's share: as
    ``contract.table_figures`` gives for one table, from the partitions' counts and ``duplicates``
    (the buckets' ``repeats`` of the row hashes, summed)."""
    rows = sum(p["rows"] for p in parts)
    figures = {"rows": float(rows), "duplicate_share": duplicates / rows if rows else 0.0}
    if target is not None:
        counts = _sum_counts(p["raw_class_counts"] for p in parts)
        figures["min_class_share"] = min(counts.values()) / rows if counts and rows else 0.0
    return figures


def table_failures(figures: dict[str, float], contract: Contract, target: str | None) -> list[Failure]:
    """The contract's table rules judged on the merged figures, worded as a one-file run words them."""
    rules = contract.table
    found = []
    if figures["rows"] < rules.min_rows:
        found.append(
            Failure("(table)", f"table: at least {rules.min_rows} rows", 1, [f"{figures['rows']:.0f}"])
        )
    if rules.max_duplicate_share < 1 and figures["duplicate_share"] > rules.max_duplicate_share:
        found.append(
            Failure(
                "(table)",
                f"table: duplicated rows at most {rules.max_duplicate_share:.1%}",
                1,
                [f"{figures['duplicate_share']:.2%}"],
            )
        )
    if target and rules.min_class_share is not None and figures["min_class_share"] < rules.min_class_share:
        found.append(
            Failure(
                "(table)",
                f"table: rarest class of '{target}' at least {rules.min_class_share:.1%}",
                1,
                [f"{figures['min_class_share']:.2%}"],
            )
        )
    return found


def quality_figures(parts: list[dict[str, Any]], task: str, duplicate_share: float) -> dict[str, Any]:
    """``frames.quality_figures`` of the whole prepared table, from the partitions' counts."""
    classes = dict(_sum_counts(p["class_counts"] for p in parts)) if task == "classification" else None
    return quality_from_counts(
        sum(p["prepared_rows"] for p in parts),
        dict(_sum_counts(p["null_counts"] for p in parts)),
        classes,
        duplicate_share,
    )


def one_sided_classes(parts: list[dict[str, Any]]) -> list[str]:
    """Classes of two rows or more that landed all on one side of the split."""
    train = _sum_counts(p["train_classes"] for p in parts)
    test = _sum_counts(p["test_classes"] for p in parts)
    return sorted(c for c in set(train) | set(test) if train[c] + test[c] >= 2 and not (train[c] and test[c]))


def _sum_counts(counts: Any) -> Counter[str]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return total


def by_partition(parts: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """One figure of every partition, by partition name (the report's per-partition table)."""
    return {p["name"]: p[key] for p in parts}
