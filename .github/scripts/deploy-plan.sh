#!/usr/bin/env bash
# Which region of an app is active (serves its traffic) and which is passive (deployed first), read live from
# the app's routing controls: `failover status --json` against the cluster document (FAILOVER_CLUSTER).
#
#   deploy-plan.sh <app>          app: gateway | service1 | service2
#
# Environment:
#   FAILOVER_CLUSTER               the cluster document (infra/global output cluster_document), a file
#   FAILOVER                       the failover command (default: failover on PATH)
#   DEPLOY_REGIONS                 the two regions, space separated (default "us-east-1 us-west-2")
#   ACTIVE_REGION_EXTERNAL_API, ACTIVE_REGION_SERVICE1, ACTIVE_REGION_SERVICE2
#                                  optional: the region the operator expects to be active. When set and the
#                                  routing controls say otherwise, the plan stops (a failover happened that the
#                                  variable does not know about, or the other way round).
#
# It stops (exit 1) rather than guess when the routing controls cannot be read, when no control or every control
# of the app is On (no region is clearly standing by), or when the app's regions are not DEPLOY_REGIONS.
#
# Prints (and appends to $GITHUB_OUTPUT when set): active, passive, cluster_app (the app's name in the cluster
# document and in its JSON body) and hostname_label (first label of its hostnames).
set -euo pipefail

app=${1:?usage: deploy-plan.sh <gateway|service1|service2>}
failover=${FAILOVER:-failover}
read -r -a regions <<<"${DEPLOY_REGIONS:-us-east-1 us-west-2}"
if [[ ${#regions[@]} -ne 2 ]]; then
  echo "DEPLOY_REGIONS must name exactly two regions, got: ${DEPLOY_REGIONS:-}" >&2
  exit 1
fi

case "$app" in
  gateway)
    cluster_app=external-api
    hostname_label=externalapi
    expected=${ACTIVE_REGION_EXTERNAL_API:-}
    variable=ACTIVE_REGION_EXTERNAL_API
    ;;
  service1)
    cluster_app=service1
    hostname_label=service1
    expected=${ACTIVE_REGION_SERVICE1:-}
    variable=ACTIVE_REGION_SERVICE1
    ;;
  service2)
    cluster_app=service2
    hostname_label=service2
    expected=${ACTIVE_REGION_SERVICE2:-}
    variable=ACTIVE_REGION_SERVICE2
    ;;
  *)
    echo "unknown app: $app" >&2
    exit 1
    ;;
esac

stop() {
  echo "deploy-plan: $cluster_app: $*" >&2
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then
    echo "::error title=deploy plan::$cluster_app: $*"
  fi
  exit 1
}

[[ -n "${FAILOVER_CLUSTER:-}" ]] || stop "FAILOVER_CLUSTER (the cluster document) is not set: the live state cannot be read"
if ! status=$("$failover" status --json); then
  stop "cannot read the routing controls (failover status failed): not deploying on a guess"
fi

# The app's controls: {"region": "On"|"Off"|null, ...}, the region Route 53 answers from, and warnings.
app_status=$(jq -ce --arg app "$cluster_app" '.apps[$app] // empty' <<<"$status") ||
  stop "the cluster document has no app $cluster_app"
states=$(jq -r '.regions | to_entries | map("\(.key) \(.value // "unknown")") | join(", ")' <<<"$app_status")
echo "routing controls of $cluster_app: $states"

mapfile -t app_regions < <(jq -r '.regions | keys[]' <<<"$app_status")
if [[ "$(printf '%s\n' "${app_regions[@]}" | sort | tr '\n' ' ')" != "$(printf '%s\n' "${regions[@]}" | sort | tr '\n' ' ')" ]]; then
  stop "its routing controls are in ${app_regions[*]}, but DEPLOY_REGIONS is ${regions[*]}"
fi
warnings=$(jq -r '.warnings | map(.message) | join("; ")' <<<"$app_status")
if [[ -n "$warnings" ]]; then
  stop "no region is clearly standing by ($warnings)"
fi
mapfile -t on < <(jq -r '.regions | to_entries[] | select(.value == "On") | .key' <<<"$app_status")
if [[ ${#on[@]} -ne 1 ]]; then
  stop "expected exactly one region On, found ${#on[@]} ($states)"
fi
active=${on[0]}
if [[ "$active" != "$(jq -r .active_region <<<"$app_status")" ]]; then
  stop "the control On ($active) is not the region Route 53 answers from ($(jq -r .active_region <<<"$app_status"))"
fi
if [[ -n "$expected" && "$expected" != "$active" ]]; then
  stop "the repository variable $variable says $expected is active, the routing controls say $active: update it (gh variable set $variable --body $active) or delete it"
fi
if [[ $active == "${regions[0]}" ]]; then
  passive=${regions[1]}
else
  passive=${regions[0]}
fi

out=(
  "active=$active"
  "passive=$passive"
  "cluster_app=$cluster_app"
  "hostname_label=$hostname_label"
)
printf '%s\n' "${out[@]}"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  printf '%s\n' "${out[@]}" >>"$GITHUB_OUTPUT"
fi
