#!/usr/bin/env bash
# Downloads the newest unexpired workflow artefact with one of the given names (in order of preference) made on the
# default branch, into DEST. The artefacts live in GitHub, outside AWS: they are there when a region is not.
#
#   fetch-artifact.sh DEST NAME [NAME...]
#
# Environment: GH_TOKEN (a token allowed actions: read), GITHUB_REPOSITORY, DEFAULT_BRANCH. Prints the run and
# artefact it took; exits 1 when none of the names has an unexpired artefact. Every *.sha256 file the artefact
# holds is checked (the failover binary is published with failover.sha256).
set -euo pipefail

dest=${1:?usage: fetch-artifact.sh DEST NAME [NAME...]}
shift
[[ $# -gt 0 ]] || { echo "usage: fetch-artifact.sh DEST NAME [NAME...]" >&2; exit 2; }
: "${GITHUB_REPOSITORY:?}" "${DEFAULT_BRANCH:?}" "${GH_TOKEN:?}"

for name in "$@"; do
  run=$(gh api "repos/$GITHUB_REPOSITORY/actions/artifacts?name=$name&per_page=100" --jq \
    "[.artifacts[] | select(.expired | not) | select(.workflow_run.head_branch == \"$DEFAULT_BRANCH\")]
     | sort_by(.created_at) | last | .workflow_run.id // empty")
  if [[ -z "$run" ]]; then
    echo "no unexpired artefact named $name from $DEFAULT_BRANCH" >&2
    continue
  fi
  mkdir -p "$dest"
  gh run download "$run" --repo "$GITHUB_REPOSITORY" --name "$name" --dir "$dest"
  for sum in "$dest"/*.sha256; do
    if [[ -f "$sum" ]]; then (cd "$dest" && sha256sum --check --strict "${sum##*/}"); fi
  done
  echo "took artefact $name from run $run"
  exit 0
done
exit 1
