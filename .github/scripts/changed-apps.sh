#!/usr/bin/env bash
# Which apps a push changes: prints apps=<JSON array> (and appends it to $GITHUB_OUTPUT when set).
#
#   changed-apps.sh <base-commit> [<head-commit>]
#
# gateway/**, service1/**, service2/** deploy that app only; crates/** (shared by every app), Cargo.lock,
# Cargo.toml, Dockerfile and .dockerignore deploy all three. A missing or all-zero base commit (first push of a
# branch, manual run) deploys all three.
set -euo pipefail

all='["gateway","service1","service2"]'
base=${1:-}
head=${2:-HEAD}

emit() {
  echo "apps=$1"
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    echo "apps=$1" >>"$GITHUB_OUTPUT"
  fi
}

if [[ -z "$base" || "$base" =~ ^0+$ ]] || ! git cat-file -e "${base}^{commit}" 2>/dev/null; then
  emit "$all"
  exit 0
fi

gateway=false
service1=false
service2=false
while IFS= read -r file; do
  case "$file" in
    crates/* | Cargo.lock | Cargo.toml | Dockerfile | .dockerignore)
      gateway=true
      service1=true
      service2=true
      ;;
    gateway/*) gateway=true ;;
    service1/*) service1=true ;;
    service2/*) service2=true ;;
  esac
done < <(git diff --name-only "$base" "$head")

apps=()
[[ $gateway == true ]] && apps+=('"gateway"')
[[ $service1 == true ]] && apps+=('"service1"')
[[ $service2 == true ]] && apps+=('"service2"')

joined=$(
  IFS=,
  echo "${apps[*]:-}"
)
emit "[${joined}]"
