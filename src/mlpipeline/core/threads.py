"""How many native threads prediction may use."""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_limits

# Below this many rows one thread scores faster: starting OpenMP/BLAS thread teams for a single
# row cost a hist-gradient-boosting model 65-427 ms at p95 where one thread took 21 ms.
SMALL_BATCH_ROWS = 1000


def threads_for(rows: int) -> Any:
    """A context that limits native thread pools to one thread for small batches."""
    return threadpool_limits(limits=1 if rows < SMALL_BATCH_ROWS else None)
