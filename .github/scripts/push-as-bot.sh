#!/usr/bin/env bash
# Let this job push tags as github-actions[bot] with the job's token: git's identity and origin's
# push URL, nothing else. The token stays in this job's checkout (.git/config), which the runner
# discards. Needs GH_TOKEN, SERVER (github.server_url) and REPOSITORY (github.repository).
set -euo pipefail
: "${GH_TOKEN:?GH_TOKEN: the job token (github.token) is not set}"
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
git remote set-url --push origin "${SERVER/https:\/\//https://x-access-token:$GH_TOKEN@}/$REPOSITORY.git"
