#!/usr/bin/env bash
# Smoke test of one app in one region, through that region's load balancer (the regional hostname, which does not
# depend on the failover records):
#   GET <base>/health answers 200, and GET <base>/ answers {"service": "<cluster_app>", "region": "<region>"}.
# For the external API it also checks that /service1 and /service2 reach the services.
#
#   smoke-test.sh <base-url> <cluster_app> <region>
#
# Retries for up to SMOKE_TEST_SECONDS (default 120) while a fresh deployment settles.
set -euo pipefail

base=${1:?usage: smoke-test.sh <base-url> <cluster_app> <region>}
expected_service=${2:?usage: smoke-test.sh <base-url> <cluster_app> <region>}
expected_region=${3:?usage: smoke-test.sh <base-url> <cluster_app> <region>}
deadline=$((SECONDS + ${SMOKE_TEST_SECONDS:-120}))

# check <path> <jq filter that must print true>
check() {
  local path=$1 filter=$2 body
  while true; do
    if body=$(curl --fail --silent --show-error --max-time 10 "$base$path") && jq -e "$filter" >/dev/null 2>&1 <<<"$body"; then
      echo "ok   GET $base$path -> $body"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "FAIL GET $base$path -> ${body:-no answer}" >&2
      return 1
    fi
    sleep 5
  done
}

health() {
  while ! curl --fail --silent --show-error --max-time 10 --output /dev/null "$base/health"; do
    if ((SECONDS >= deadline)); then
      echo "FAIL GET $base/health" >&2
      return 1
    fi
    sleep 5
  done
  echo "ok   GET $base/health"
}

health
check / ".service == \"$expected_service\" and .region == \"$expected_region\""
if [[ $expected_service == external-api ]]; then
  check /service1 '.service == "service1"'
  check /service2 '.service == "service2"'
fi
