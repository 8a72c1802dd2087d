#!/usr/bin/env bash
# The region an evacuation of REGION activates, from the cluster document: for every app with REGION among its
# regions, its primary region, or its secondary when REGION is the primary (as `failover evacuate` chooses). Prints
# region=<target> (and appends it to $GITHUB_OUTPUT when set); the evacuate workflow takes its AWS credentials
# there, never in the region being left.
#
#   evacuation-target.sh CLUSTER_FILE REGION
set -euo pipefail

file=${1:?usage: evacuation-target.sh CLUSTER_FILE REGION}
region=${2:?usage: evacuation-target.sh CLUSTER_FILE REGION}

# The document may be the object or a JSON string holding it (terraform output -json).
targets=$(jq -r --arg r "$region" '
  (if type == "string" then fromjson else . end) | .apps[]
  | select(.regions | has($r))
  | if .primary_region == $r then .secondary_region else .primary_region end' "$file" | sort -u)

if [[ -z "$targets" ]]; then
  echo "no app of the cluster document runs in $region" >&2
  exit 1
fi
if [[ $(wc -l <<<"$targets") -gt 1 ]]; then
  echo "the apps of $region move to more than one region ($(tr '\n' ' ' <<<"$targets")); credentials are taken in the first" >&2
fi
target=$(head -n 1 <<<"$targets")
if [[ "$target" == "$region" ]]; then
  echo "an app has no region besides $region" >&2
  exit 1
fi
echo "region=$target"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  echo "region=$target" >>"$GITHUB_OUTPUT"
fi
