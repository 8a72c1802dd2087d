#!/usr/bin/env bash
# Records which task definition an app's ECS service runs in each region before a deployment, and puts every
# region back on it when the deployment fails.
#
#   ecs-revisions.sh record <file> <region>...    before anything is deployed: one JSON line per region
#                                                 {"region", "task_definition", "image"} into <file>
#   ecs-revisions.sh rollback <file>              after a failure: each region whose service no longer runs its
#                                                 recorded task definition is updated back to it; then waits
#                                                 until every service is stable and says what each region runs
#
# Environment: NAME (the ECS cluster, the deployment name), APP (the service and its container), AWS credentials.
# ROLLBACK_WAIT=false skips `aws ecs wait services-stable` (tests). Rollback appends its report to
# $GITHUB_STEP_SUMMARY when set, and exits 0 only when every region is back on its recorded task definition.
set -euo pipefail

usage() {
  echo "usage: ecs-revisions.sh record <file> <region>... | rollback <file>" >&2
  exit 2
}

cluster=${NAME:?NAME (the deployment name, the ECS cluster) must be set}
service=${APP:?APP (the service) must be set}

service_task_definition() {
  aws ecs describe-services --region "$1" --cluster "$cluster" --services "$service" \
    --query 'services[0].taskDefinition' --output text
}

task_definition_image() {
  aws ecs describe-task-definition --region "$1" --task-definition "$2" \
    --query "taskDefinition.containerDefinitions[?name=='$service'].image | [0]" --output text
}

report() {
  echo "$*"
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    echo "$*" >>"$GITHUB_STEP_SUMMARY"
  fi
}

record() {
  local file=$1 region td image
  shift
  (($# > 0)) || usage
  : >"$file"
  for region in "$@"; do
    td=$(service_task_definition "$region")
    if [[ -z "$td" || "$td" == None ]]; then
      echo "no ECS service $service in cluster $cluster in $region" >&2
      exit 1
    fi
    image=$(task_definition_image "$region" "$td")
    jq -cn --arg region "$region" --arg td "$td" --arg image "$image" \
      '{region: $region, task_definition: $td, image: $image}' >>"$file"
    echo "$region: $service runs $td ($image)"
  done
}

rollback() {
  local file=$1 line region td current failed=0
  [[ -s "$file" ]] || {
    echo "nothing recorded in $file: no region was touched" >&2
    exit 1
  }
  local regions=() recorded=()
  while IFS= read -r line; do
    regions+=("$(jq -r .region <<<"$line")")
    recorded+=("$(jq -r .task_definition <<<"$line")")
  done <"$file"

  for i in "${!regions[@]}"; do
    region=${regions[i]}
    td=${recorded[i]}
    current=$(service_task_definition "$region")
    if [[ "$current" == "$td" ]]; then
      echo "$region: $service already runs $td (not deployed, or rolled back by the circuit breaker)"
    else
      echo "$region: $service runs $current; rolling back to $td"
      aws ecs update-service --region "$region" --cluster "$cluster" --service "$service" \
        --task-definition "$td" --query 'service.taskDefinition' --output text >/dev/null
    fi
  done

  if [[ "${ROLLBACK_WAIT:-true}" != false ]]; then
    for region in "${regions[@]}"; do
      echo "$region: waiting for $service to be stable"
      aws ecs wait services-stable --region "$region" --cluster "$cluster" --services "$service" || {
        echo "$region: $service did not become stable" >&2
        failed=1
      }
    done
  fi

  # Each region pulls from its own registry: the same revision is the same repository and tag (or digest).
  local images=() image
  report "### Rollback of $service"
  for i in "${!regions[@]}"; do
    region=${regions[i]}
    current=$(service_task_definition "$region")
    image=$(task_definition_image "$region" "$current")
    images+=("${image#*/}")
    if [[ "$current" == "${recorded[i]}" ]]; then
      report "- $region runs $current ($image), as before this run"
    else
      report "- $region runs $current ($image), NOT the recorded ${recorded[i]}"
      failed=1
    fi
  done
  if ((failed)); then
    report "Rollback incomplete: fix the regions above by hand."
    exit 1
  fi
  if [[ "$(printf '%s\n' "${images[@]}" | sort -u | wc -l)" -eq 1 ]]; then
    report "Every region (${regions[*]}) runs the same known revision: ${images[0]}."
  else
    report "Every region runs what it ran before this run; those images differ between regions (they already did)."
  fi
}

case "${1:-}" in
  record)
    (($# >= 3)) || usage
    shift
    record "$@"
    ;;
  rollback)
    (($# == 2)) || usage
    rollback "$2"
    ;;
  *) usage ;;
esac
