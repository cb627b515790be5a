#!/usr/bin/env bash
# Tag HEAD vX.Y.Z, X.Y.Z being pyproject.toml's version, and push the tag; nothing when that tag
# exists (a version is never moved) or when this is not the template (no copier.yml).
set -euo pipefail
[ -f copier.yml ] || { echo "template-version: no copier.yml, not the template: nothing to tag"; exit 0; }
version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
tag="v$version"
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  echo "template-version: $tag exists ($(git rev-parse --short "$tag^{commit}")): nothing to tag"
  exit 0
fi
git tag -a "$tag" -m "mlpipeline template $tag"
git push --quiet origin "refs/tags/$tag"
echo "template-version: tagged and pushed $tag"
