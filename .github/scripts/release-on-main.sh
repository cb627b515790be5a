#!/usr/bin/env bash
# ci.yml's release on main: register the model at HEAD if it changed (make release, tag pushed),
# and say which version is new, as `version=vX.Y.Z` (or `version=` when nothing was released) in
# $GITHUB_OUTPUT: the deliver job runs only for a new version. Needs SHA (the commit released).
set -euo pipefail
out=${GITHUB_OUTPUT:-/dev/stdout}
before=$(git tag --points-at HEAD -l 'model@v*' | sort)
make --no-print-directory release NOTES="released by CI from ${SHA:-$(git rev-parse HEAD)}" PUSH=1
after=$(git tag --points-at HEAD -l 'model@v*' | sort)
new=$(comm -13 <(echo "$before") <(echo "$after") | head -n 1)
echo "version=${new#model@}" >>"$out"
