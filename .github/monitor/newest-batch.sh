#!/usr/bin/env bash
# The hook monitor.yml calls to find the batch to check: print the path of the newest batch.
# Replace the body with wherever your new rows land (an export, an object store, the serving
# log of `make serve LOG=...`); it runs after `make repro`, so DVC-tracked data is pulled.
# Default: the last file by name in data/batches/ (DVC-tracked; name batches by date). No batch
# yet (a new project, or one that adopted its data): print nothing, and the monitor waits.
set -euo pipefail
newest=$(ls -1 data/batches/*.csv data/batches/*.jsonl 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$newest" ]; then
  echo "newest-batch: no batch in data/batches/ yet" >&2
  exit 0
fi
echo "$newest"
