#!/usr/bin/env bash
# Which region of an app is active (serves its traffic) and which is passive (deployed first).
#
#   deploy-plan.sh <app>          app: gateway | service1 | service2
#
# Reads the repository variables passed in as environment variables:
#   DEPLOY_REGIONS                 the two regions, space separated (default "us-east-1 us-west-2")
#   ACTIVE_REGION_EXTERNAL_API     active region of the external API (the gateway)   default: first region
#   ACTIVE_REGION_SERVICE1         active region of service1                          default: first region
#   ACTIVE_REGION_SERVICE2         active region of service2                          default: first region
# Keep them in step with the routing controls: after `failover --cluster cluster.json activate service1 us-west-2`
# run `gh variable set ACTIVE_REGION_SERVICE1 --body us-west-2`.
#
# Prints (and appends to $GITHUB_OUTPUT when set): active, passive, cluster_app (the app's name in the cluster
# document and in its JSON body) and hostname_label (first label of its hostnames).
set -euo pipefail

app=${1:?usage: deploy-plan.sh <gateway|service1|service2>}
read -r -a regions <<<"${DEPLOY_REGIONS:-us-east-1 us-west-2}"
if [[ ${#regions[@]} -ne 2 ]]; then
  echo "DEPLOY_REGIONS must name exactly two regions, got: ${DEPLOY_REGIONS:-}" >&2
  exit 1
fi

case "$app" in
  gateway)
    cluster_app=external-api
    hostname_label=externalapi
    active=${ACTIVE_REGION_EXTERNAL_API:-}
    ;;
  service1)
    cluster_app=service1
    hostname_label=service1
    active=${ACTIVE_REGION_SERVICE1:-}
    ;;
  service2)
    cluster_app=service2
    hostname_label=service2
    active=${ACTIVE_REGION_SERVICE2:-}
    ;;
  *)
    echo "unknown app: $app" >&2
    exit 1
    ;;
esac

active=${active:-${regions[0]}}
if [[ $active == "${regions[0]}" ]]; then
  passive=${regions[1]}
elif [[ $active == "${regions[1]}" ]]; then
  passive=${regions[0]}
else
  echo "the active region of $cluster_app ($active) is not one of: ${regions[*]}" >&2
  exit 1
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
