#!/usr/bin/env bash
# Prints `machinery=true` when the commits since BASE change what the end-to-end tests exercise
# (the code, the tests, the wiring, the environment), else `machinery=false`: a pull request that
# changes only data, params or docs is judged by the gate and the fast tiers (docs/development.md, "Tests").
# Usage: machinery-changed.sh BASE   (a git ref; run in the repository)
set -euo pipefail
base=${1:?usage: machinery-changed.sh BASE}
# Two trees compared, not a merge base: a shallow clone holds no history, and where BASE moved on
# since the branch left it, its changes count too (an extra run, never a missed one).
changed=$(git diff --name-only "$base" HEAD --)
machinery='^(src/|tests/|benchmarks/|\.github/|\.ci/|\.copier/|copier\.yml$|\.dvc/config$|Makefile$|dvc\.yaml$|pyproject\.toml$|requirements[^/]*\.lock$|Containerfile$)'
if grep -Eq "$machinery" <<< "$changed"; then
  echo "machinery=true"
else
  echo "machinery=false"
fi
