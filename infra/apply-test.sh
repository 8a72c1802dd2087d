#!/usr/bin/env bash
# The apply stage of infra/test.sh: applies the three roots exactly as infra/README.md tells a user, against
# emulators on 127.0.0.1, and destroys them again in the documented order.
#
#   moto's server     every AWS API the roots use (ACM, EC2, ELBv2, ECS, ECR, IAM, KMS, S3, CloudWatch Logs,
#                     Application Auto Scaling, Route 53, STS)
#   arc-local         the Route 53 ARC configuration API (clusters, control panels, routing controls, safety
#                     rules) and the clusters' data plane, which the failover command talks to
#
# It runs every README block marked `<!-- apply-test: NAME -->`, word for word, in a scratch copy of the
# repository whose roots get one extra file, emulator_override.tf (provider endpoints on 127.0.0.1), and where
# the placeholder hosted zone ID of the example files is the emulator's zone (the edit the README asks for). The
# deployment's blocks (steps 0 to 4) run one after the other in one shell started at the repository's root, as a
# user pasting them would. `terraform` in those blocks is a shell function that runs the same command as a saved
# plan: plan, keep the plan as JSON, apply that plan. Then it checks:
#   - no variable the steps write to a *.auto.tfvars.json file is also set in a file the README has the user edit;
#   - the arc-mode step's plans replace the gateway's task definition (arc environment) in both regions;
#   - a region's state with the addresses of before infra/region/migrations.tf plans only its moves;
#   - a second plan of every root and region is empty (apart from the emulator gaps listed in infra/README.md);
#   - a plan in a workspace that is not its region fails, the default workspace included;
#   - the scale-up of an evacuation (the calls of failover's scale step) survives the next plan, and the documented
#     -replace puts the configured bounds back;
#   - `failover --cluster <cluster document> status`, `check` (the document's safety rules) and `activate` work
#     against what was applied;
#   - the deploy pipeline's live-state and rollback scripts against the applied services;
#   - after the cleanup block, every state is empty and the emulator holds nothing.
#
# Needs: terraform, jq, curl, the AWS CLI, cargo (builds failover and arc-local), and a python with moto[server]
# and boto3: MOTO_PYTHON (default python3). TF_PLUGIN_DIR: provider mirror (the blocks' plain `terraform init` is pointed at
# it through a CLI configuration file); unset, providers come from the registry.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stage_started=$SECONDS

say() { printf '\n--> apply stage: %s\n' "$*"; }
die() {
  printf '\nFAIL (apply stage): %s\n' "$*" >&2
  exit 1
}

for tool in terraform jq curl python3 aws cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
py=${MOTO_PYTHON:-python3}
"$py" -c 'import moto.server, flask, boto3' 2>/dev/null || die "$py has no moto[server]: pip install 'moto[server]' (or set MOTO_PYTHON)"
aws --version >/dev/null 2>&1 || die "the AWS CLI does not run (aws --version)"

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n ${APPLY_TEST_KEEP:-} ]]; then
    echo "apply stage: kept $work (APPLY_TEST_KEEP)" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {
  local url=$1 what=$2 pid=$3 i
  for i in $(seq 1 150); do
    if curl -s -o /dev/null "$url"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$what exited: $(tail -n 20 "$work/$what.log")"
    sleep 0.2
  done
  die "$what did not answer $url within 30 s"
}

# --- Binaries: failover (the operator's command) and arc-local. ---
bin_dir="$repo_root/target/debug"
say "building failover and arc-local (cargo build; nothing to do when the tests built them)"
(cd "$repo_root" && nice -n 10 cargo build --quiet --locked -p failover -p arc-local) || die "cargo build of failover and arc-local"

# --- Emulators, on 127.0.0.1 only. ---
export AWS_ACCESS_KEY_ID=apply-test AWS_SECRET_ACCESS_KEY=apply-test AWS_SESSION_TOKEN=
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

moto_port=$(free_port)
say "moto server on 127.0.0.1:$moto_port"
# MOTO_ACM_VALIDATION_WAIT: certificates are issued at once. MOTO_ECS_SERVICE_RUNNING: every service reports its
# two tasks running, so "services-stable" waits end.
MOTO_ACM_VALIDATION_WAIT=0 MOTO_ECS_SERVICE_RUNNING=2 \
  "$py" "$repo_root/infra/apply-test/moto_server.py" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$moto_port/moto-api/" moto "${pids[-1]}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"

arc_config_port=$(free_port)
arc_api_port=$(free_port)
# arc-local's data plane takes five consecutive ports: find a free run.
while ! python3 - "$arc_api_port" <<'EOF'; do
import socket, sys
base = int(sys.argv[1])
for p in range(base, base + 5):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
EOF
  arc_api_port=$(free_port)
done
arc_dns_port=$(free_port)
say "arc-local: configuration API on 127.0.0.1:$arc_config_port, data plane on $arc_api_port-$((arc_api_port + 4))"
# The account of moto's ARNs, so that every ARN of the apply names one account.
"$bin_dir/arc-local" --bind 127.0.0.1 --api-port "$arc_api_port" --dns-port "$arc_dns_port" \
  --config-port "$arc_config_port" --account-id 123456789012 --state "$work/arc-local-state.json" \
  >"$work/arc-local.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$arc_api_port/health" arc-local "${pids[-1]}"

# --- A scratch copy of the repository: what the README's commands run in. ---
copy="$work/repo"
mkdir -p "$copy/.github" "$copy/target"
tar -C "$repo_root" --exclude='.terraform' --exclude='*.tfstate*' --exclude='terraform.tfstate.d' \
  --exclude='*.auto.tfvars*' --exclude='terraform.tfvars' --exclude='cluster.json' -cf - infra .github/scripts |
  tar -C "$copy" -xf -

zone_id=$("$py" "$repo_root/infra/apply-test/emulator.py" hosted-zone example.com)
say "hosted zone example.com: $zone_id"
# The README asks the user to set hosted_zone_id in these files, and to set github_repository for the deploy role.
sed -i "s/Z0123456789ABCDEFGHIJ/$zone_id/" \
  "$copy"/infra/certificates/terraform.tfvars.example "$copy"/infra/global/terraform.tfvars.example \
  "$copy"/infra/region/regions/*.tfvars
sed -i 's/^# github_repository = /github_repository = /' "$copy"/infra/global/terraform.tfvars.example
grep -q '^github_repository = ' "$copy"/infra/global/terraform.tfvars.example ||
  die "infra/global/terraform.tfvars.example has no github_repository line to set"

# Provider endpoints of every root: moto for AWS, arc-local for the ARC configuration API.
endpoints() {
  cat <<EOF
    acm                           = "http://127.0.0.1:$moto_port"
    appautoscaling                = "http://127.0.0.1:$moto_port"
    ec2                           = "http://127.0.0.1:$moto_port"
    ecr                           = "http://127.0.0.1:$moto_port"
    ecs                           = "http://127.0.0.1:$moto_port"
    elbv2                         = "http://127.0.0.1:$moto_port"
    iam                           = "http://127.0.0.1:$moto_port"
    kms                           = "http://127.0.0.1:$moto_port"
    logs                          = "http://127.0.0.1:$moto_port"
    route53                       = "http://127.0.0.1:$moto_port"
    s3                            = "http://127.0.0.1:$moto_port"
    sts                           = "http://127.0.0.1:$moto_port"
    route53recoverycontrolconfig  = "http://127.0.0.1:$arc_config_port"
EOF
}
provider_override() {
  local alias=${1:-}
  echo 'provider "aws" {'
  [[ -n $alias ]] && echo "  alias = \"$alias\""
  cat <<EOF
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
$(endpoints)
  }
}
EOF
}
{
  provider_override first
  echo
  provider_override second
} >"$copy/infra/certificates/emulator_override.tf"
provider_override >"$copy/infra/region/emulator_override.tf"
provider_override >"$copy/infra/global/emulator_override.tf"

# The blocks' plain `terraform init` installs from the mirror, as it would from the registry.
if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
  plugin_dir="$(cd "$TF_PLUGIN_DIR" && pwd)"
  cat >"$work/terraformrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$plugin_dir"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF
  export TF_CLI_CONFIG_FILE="$work/terraformrc"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0

# --- Running the README's blocks. ---
plans="$work/plans"
mkdir -p "$plans"
echo 0 >"$plans/seq"
export PLANS="$plans"

# terraform apply/destroy in the blocks named in PLAN_BLOCKS as plan + saved plan: the same change, and the plan
# kept for the checks (`terraform show -json` later); in the other blocks, the same command approved.
export PLAN_BLOCKS="arc-mode"
terraform() {
  local args=("$@") pre=() i=0
  while ((i < ${#args[@]})) && [[ ${args[i]} == -* ]]; do
    pre+=("${args[i]}")
    i=$((i + 1))
  done
  local sub=${args[i]:-}
  local rest=("${args[@]:i+1}")
  case "$sub" in
    apply | destroy)
      if [[ " $PLAN_BLOCKS " != *" $BLOCK "* ]]; then
        # A block whose plans nobody reads: the same command, approved.
        command terraform "${pre[@]}" "$sub" -auto-approve -input=false -no-color "${rest[@]}" >"$PLANS/$BLOCK.$sub.log" 2>&1 ||
          { cat "$PLANS/$BLOCK.$sub.log" >&2; return 1; }
        echo "terraform ${pre[*]} $sub ${rest[*]}: $(grep -E '^(Apply|Destroy) complete' "$PLANS/$BLOCK.$sub.log" || echo "done")"
        return 0
      fi
      local n plan ws
      n=$(($(cat "$PLANS/seq") + 1))
      echo "$n" >"$PLANS/seq"
      plan="$PLANS/$n.tfplan"
      ws=$(command terraform "${pre[@]}" workspace show)
      if [[ $sub == destroy ]]; then
        command terraform "${pre[@]}" plan -destroy -input=false -no-color "${rest[@]}" -out="$plan" >"$PLANS/$n.plan.log" 2>&1 ||
          { cat "$PLANS/$n.plan.log" >&2; return 1; }
      else
        command terraform "${pre[@]}" plan -input=false -no-color "${rest[@]}" -out="$plan" >"$PLANS/$n.plan.log" 2>&1 ||
          { cat "$PLANS/$n.plan.log" >&2; return 1; }
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$BLOCK" "$PWD" "${pre[*]}" "$ws" "$sub ${rest[*]}" >>"$PLANS/index.tsv"
      command terraform "${pre[@]}" apply -input=false -no-color "$plan" >"$PLANS/$n.apply.log" 2>&1 ||
        { cat "$PLANS/$n.apply.log" >&2; return 1; }
      echo "terraform ${pre[*]} $sub ${rest[*]} [workspace $ws]: $(grep -E '^(Apply|Destroy) complete' "$PLANS/$n.apply.log" || echo "done")"
      ;;
    init)
      command terraform "$@" >"$PLANS/init.log" 2>&1 || { cat "$PLANS/init.log" >&2; return 1; }
      echo "terraform ${pre[*]} init: ok"
      ;;
    *)
      command terraform "$@"
      ;;
  esac
}
export -f terraform

readme="$copy/infra/README.md"
# The text of the README block marked NAME.
block_text() {
  awk -v name="$1" '
    $0 == "<!-- apply-test: " name " -->" { marked = 1; next }
    marked && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' "$readme"
}

# Runs the named blocks, in order, as one script in one shell started at the copy's root: a block that changes
# directory and does not come back breaks the next one, as it would for a user pasting them.
run_blocks() {
  local script="$work/blocks-$1.sh" name text
  : >"$script"
  for name in "$@"; do
    text=$(block_text "$name")
    [[ -n $text ]] || die "infra/README.md has no block marked apply-test: $name"
    printf '\n# --- block %s ---\nBLOCK=%s\n%s\n' "$name" "$name" "$text" >>"$script"
  done
  say "README blocks $*, in one shell"
  sed 's/^/    | /' "$script"
  (cd "$copy" && PATH="$bin_dir:$PATH" bash -euo pipefail "$script") || die "README blocks $* (one shell) failed"
}

# Plans of one block, as "<n> <block> <directory> <terraform options> <workspace> <command>" lines.
block_plans() {
  awk -F'\t' -v b="$1" '$2 == b' "$plans/index.tsv"
}

# The JSON of saved plan <n>, made where it was planned.
plan_json() {
  local n=$1 dir pre
  dir=$(awk -F'\t' -v n="$n" '$1 == n { print $3 }' "$plans/index.tsv")
  pre=$(awk -F'\t' -v n="$n" '$1 == n { print $4 }' "$plans/index.tsv")
  # shellcheck disable=SC2086 # the terraform options as recorded (-chdir=...), no spaces
  (cd "$dir" && command terraform $pre show -json "$plans/$n.tfplan") >"$plans/$n.json"
}

counts=()
record_count() {
  local label=$1
  shift
  local n
  n=$(command terraform "$@" state list | grep -cvE '(^|\.)data\.' || true)
  counts+=("$label: $n resources")
}

run_blocks certificates ecr regions global controls arc-mode
record_count "infra/certificates" -chdir="$copy/infra/certificates"
for r in us-east-1 us-west-2; do
  command terraform -chdir="$copy/infra/region" workspace select "$r" >/dev/null
  record_count "infra/region ($r, after arc mode)" -chdir="$copy/infra/region"
done
record_count "infra/global" -chdir="$copy/infra/global"

# Terraform reads terraform.tfvars before the *.auto.tfvars files and -var-file after them: a variable the steps
# write to an auto file and the user also sets in terraform.tfvars (from the example) silently loses, and one
# set in regions/*.tfvars silently wins. Neither may happen.
say "no variable of a *.auto.tfvars.json file is also set in a file the README has the user edit"
for root in certificates region global; do
  for auto in "$copy/infra/$root"/*.auto.tfvars.json; do
    [[ -e $auto ]] || continue
    for key in $(jq -r 'keys[]' "$auto"); do
      for edited in "$copy/infra/$root/terraform.tfvars" "$copy/infra/$root"/regions/*.tfvars; do
        [[ -e $edited ]] || continue
        if grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$edited"; then
          die "${edited#"$copy"/} sets $key, which ${auto#"$copy"/} (written by the README's steps) also sets: one of them is silently ignored"
        fi
      done
      echo "${auto#"$copy"/}: $key set nowhere else"
    done
  done
done

say "the cluster document points the failover command at arc-local's data plane"
jq -e --argjson first "$arc_api_port" '
  [.endpoints[].url | capture("^http://127\\.0\\.0\\.1:(?<port>[0-9]+)") | .port | tonumber] as $ports
  | ($ports | length) == 5 and ($ports | sort) == [range($first; $first + 5)]
' "$copy/cluster.json" >/dev/null || die "cluster.json's endpoints are not arc-local's data plane: $(jq -c .endpoints "$copy/cluster.json")"
jq -c '.endpoints' "$copy/cluster.json"

say "the arc-mode step's plans replace the gateway's task definition"
arc_plans=$(block_plans arc-mode | cut -f1)
[[ $(wc -w <<<"$arc_plans") -eq 2 ]] || die "expected two plans (one per region) in the arc-mode step, got: $arc_plans"
for n in $arc_plans; do
  plan_json "$n"
  "$py" "$repo_root/infra/apply-test/emulator.py" arc-mode-plan "$plans/$n.json" ||
    die "the README's arc-mode step did not switch the gateway to arc mode (plan $n: $("$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/$n.json" | tr '\n' ' '))"
  echo "plan $n (workspace $(awk -F'\t' -v n="$n" '$1 == n { print $5 }' "$plans/index.tsv")): $("$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/$n.json" | tr '\n' ' ')"
done

# --- A state from before the moved blocks: the plan only moves addresses. ---
say "infra/region/migrations.tf: a state with the earlier addresses plans only moves, and applies them"
moves=$(awk '
  /^moved[[:space:]]*\{/ { inside = 1; from = ""; to = ""; next }
  inside && $1 == "from" { from = $3 }
  inside && $1 == "to" { to = $3 }
  inside && /^}/ { print from "\t" to; inside = 0 }
' "$copy/infra/region/migrations.tf")
[[ -n "$moves" ]] || die "infra/region/migrations.tf has no moved block"
command terraform -chdir="$copy/infra/region" workspace select us-east-1 >/dev/null
while IFS=$'\t' read -r from to; do
  # The address as an earlier version of the root wrote it.
  command terraform -chdir="$copy/infra/region" state mv "$to" "$from" >/dev/null || die "state mv $to $from"
done <<<"$moves"
command terraform -chdir="$copy/infra/region" plan -input=false -no-color -var-file=regions/us-east-1.tfvars \
  -out="$plans/migration.tfplan" >"$plans/migration.log" 2>&1 || { cat "$plans/migration.log" >&2; die "the migration plan failed"; }
command terraform -chdir="$copy/infra/region" show -json "$plans/migration.tfplan" >"$plans/migration.json"
changed=$("$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/migration.json")
[[ -z "$changed" ]] || die "the earlier addresses plan changes, not only moves:
$changed"
while IFS=$'\t' read -r from to; do
  jq -e --arg from "$from" --arg to "$to" \
    'any(.resource_changes[]; .address == $to and .previous_address == $from and .change.actions == ["no-op"])' \
    "$plans/migration.json" >/dev/null || die "the plan does not move $from to $to"
  echo "moved, unchanged: $from -> $to"
done <<<"$moves"
command terraform -chdir="$copy/infra/region" apply -input=false -no-color "$plans/migration.tfplan" >"$plans/migration.apply.log" 2>&1 ||
  { cat "$plans/migration.apply.log" >&2; die "applying the moves failed"; }

# --- A second plan of everything: nothing to change. ---
second_plan() {
  local label=$1 dir=$2
  shift 2
  local rc=0
  command terraform -chdir="$dir" plan -detailed-exitcode -input=false -no-color "$@" -out="$plans/second-$label.tfplan" \
    >"$plans/second-$label.log" 2>&1 || rc=$?
  case $rc in
    0) echo "$label: no changes" ;;
    2)
      command terraform -chdir="$dir" show -json "$plans/second-$label.tfplan" >"$plans/second-$label.json"
      "$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/second-$label.json" >&2
      die "$label: the second plan is not empty"
      ;;
    *)
      cat "$plans/second-$label.log" >&2
      die "$label: the second plan failed"
      ;;
  esac
}
say "a second plan of every root and region is empty"
second_plan certificates "$copy/infra/certificates"
for r in us-east-1 us-west-2; do
  command terraform -chdir="$copy/infra/region" workspace select "$r" >/dev/null
  second_plan "region-$r" "$copy/infra/region" -var-file="regions/$r.tfvars"
done
second_plan global "$copy/infra/global"

# A log with Terraform's wrapped diagnostics on one line (the wrapping and the box-drawing margin removed).
one_line() {
  sed -E 's/^[│╷╵ ]+//' "$1" | tr '\n' ' ' | tr -s ' '
}

# --- One state per region: a plan in another region's workspace, or in the default one, fails. ---
say "a plan outside the region's workspace fails"
for ws in us-west-2 default; do
  command terraform -chdir="$copy/infra/region" workspace select "$ws" >/dev/null
  if command terraform -chdir="$copy/infra/region" plan -input=false -no-color -lock=false -refresh=false \
    -var-file=regions/us-east-1.tfvars >"$plans/wrong-workspace-$ws.log" 2>&1; then
    die "workspace $ws planned regions/us-east-1.tfvars: $(grep -E '^Plan:' "$plans/wrong-workspace-$ws.log")"
  fi
  one_line "$plans/wrong-workspace-$ws.log" | grep -q "The selected workspace is $ws, but region is us-east-1" ||
    { cat "$plans/wrong-workspace-$ws.log" >&2; die "workspace $ws: the plan failed, but not for the workspace"; }
  echo "workspace $ws with regions/us-east-1.tfvars: refused"
done

# --- An evacuation's scale-up survives the next apply. ---
# The calls failover's scale step makes (failover/src/capacity.rs) for every app in us-west-2, the standby of all
# three: the autoscaling minimum and the desired count to 4. The next plan of that region must keep them.
say "an evacuation's scale-up of us-west-2 survives the next plan"
scaled=4
for app in gateway service1 service2; do
  resource="service/mrapi/$app"
  max=$(aws application-autoscaling describe-scalable-targets --region us-west-2 --service-namespace ecs \
    --resource-ids "$resource" --scalable-dimension ecs:service:DesiredCount --query 'ScalableTargets[0].MaxCapacity' --output text)
  aws application-autoscaling register-scalable-target --region us-west-2 --service-namespace ecs --resource-id "$resource" \
    --scalable-dimension ecs:service:DesiredCount --min-capacity "$scaled" --max-capacity "$((max > scaled ? max : scaled))" >/dev/null
  aws ecs update-service --region us-west-2 --cluster mrapi --service "$app" --desired-count "$scaled" >/dev/null
done
command terraform -chdir="$copy/infra/region" workspace select us-west-2 >/dev/null
# No resource change (the ecs_services output shows the new bounds: that is an output change only).
command terraform -chdir="$copy/infra/region" plan -input=false -no-color -var-file=regions/us-west-2.tfvars \
  -out="$plans/second-region-us-west-2-after-evacuation.tfplan" >"$plans/second-region-us-west-2-after-evacuation.log" 2>&1 ||
  { cat "$plans/second-region-us-west-2-after-evacuation.log" >&2; die "the plan after the evacuation failed"; }
command terraform -chdir="$copy/infra/region" show -json "$plans/second-region-us-west-2-after-evacuation.tfplan" \
  >"$plans/second-region-us-west-2-after-evacuation.json"
undo=$("$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/second-region-us-west-2-after-evacuation.json")
[[ -z "$undo" ]] || die "the plan after the evacuation changes resources (it would undo the scale-up):
$undo"
one_line "$plans/second-region-us-west-2-after-evacuation.log" |
  grep -q "Autoscaling bounds set outside Terraform are kept: gateway has 4-6 tasks, apps.gateway says 2-6" ||
  { cat "$plans/second-region-us-west-2-after-evacuation.log" >&2; die "the plan does not warn that the bounds differ from apps"; }
echo "the plan keeps minimum $scaled and desired count $scaled, and warns that they differ from apps"
# The documented way back (infra/README.md, "After an evacuation"): -replace registers the configured bounds again.
command terraform -chdir="$copy/infra/region" plan -input=false -no-color -var-file=regions/us-west-2.tfvars \
  -replace='module.app["service1"].aws_appautoscaling_target.this' -out="$plans/back.tfplan" >"$plans/back.log" 2>&1 ||
  { cat "$plans/back.log" >&2; die "the plan back to the configured bounds failed"; }
command terraform -chdir="$copy/infra/region" show -json "$plans/back.tfplan" >"$plans/back.json"
back=$("$py" "$repo_root/infra/apply-test/emulator.py" plan-changes "$plans/back.json" | sort | tr '\n' ' ')
[[ $back == *'module.app["service1"].aws_appautoscaling_policy.cpu'*'module.app["service1"].aws_appautoscaling_policy.requests'*'module.app["service1"].aws_appautoscaling_target.this'* &&
  $(wc -w <<<"$back") -le 6 ]] || die "going back should replace service1's scalable target and its two policies only: $back"
command terraform -chdir="$copy/infra/region" apply -input=false -no-color "$plans/back.tfplan" >"$plans/back.apply.log" 2>&1 ||
  { cat "$plans/back.apply.log" >&2; die "applying the way back failed"; }
bounds=$(aws application-autoscaling describe-scalable-targets --region us-west-2 --service-namespace ecs --resource-ids service/mrapi/service1 \
  --query 'ScalableTargets[0].[MinCapacity,MaxCapacity]' --output text | tr '\t' ' ')
policies=$(aws application-autoscaling describe-scaling-policies --region us-west-2 --service-namespace ecs --resource-id service/mrapi/service1 \
  --query 'length(ScalingPolicies)')
[[ $bounds == "2 6" && $policies == 2 ]] || die "service1 after -replace: bounds $bounds, $policies scaling policies (want 2 6, 2)"
echo "-replace put service1 back on 2-6 tasks with its two scaling policies; gateway and service2 keep the evacuation's $scaled"

# --- One owner per certificate validation record. ---
say "every certificate validation record has one owner: infra/certificates"
for r in us-east-1 us-west-2; do
  command terraform -chdir="$copy/infra/region" workspace select "$r" >/dev/null
  owned=$(command terraform -chdir="$copy/infra/region" state list | grep -E 'aws_route53_record\.validation|aws_acm_certificate' || true)
  [[ -z "$owned" ]] || die "infra/region ($r) owns certificate resources: $owned"
done
owned=$(command terraform -chdir="$copy/infra/certificates" state list | grep -c '^aws_route53_record\.validation\[' || true)
in_zone=$("$py" "$repo_root/infra/apply-test/emulator.py" validation-records "$zone_id" | wc -l)
[[ $owned -eq 9 && $in_zone -eq 9 ]] ||
  die "expected the 9 validation records (3 global + 3 per region names) once in infra/certificates and in the zone; state: $owned, zone: $in_zone"
echo "9 validation records in the zone, all in infra/certificates' state; no regional state owns one"

# --- The operator's command against what was applied. ---
failover_cmd() {
  (cd "$copy" && "$bin_dir/failover" --cluster cluster.json "$@")
}
active_of() {
  failover_cmd status --json | jq -r --arg app "$1" '.apps[$app] | "\(.active_region) \(.regions | to_entries | map("\(.key)=\(.value)") | join(","))"'
}
say "failover status and activate against the applied cluster"
failover_cmd status || die "failover status"
for app in external-api service1 service2; do
  [[ "$(active_of "$app")" == "us-east-1 us-east-1=On,us-west-2=Off" ]] || die "$app after the README's step 3: $(active_of "$app")"
done
# failover check evaluates an activate against the safety rules of the document Terraform wrote. The regional URLs
# (https://<label>.<region>.example.com) have no load balancer behind them here: point them at a closed loopback
# port, so that only the health findings fail.
closed_port=$(free_port)
jq --arg url "http://127.0.0.1:$closed_port" '.apps[].regions[].url = $url' "$copy/cluster.json" >"$work/cluster-check.json"
(cd "$copy" && "$bin_dir/failover" --cluster "$work/cluster-check.json" check --json --health-timeout 1s) >"$work/check.json" 2>"$work/check.err" || true
jq -e '.standbys | length > 0' "$work/check.json" >/dev/null || die "failover check gave no readings: $(cat "$work/check.err")"
jq -r '.standbys[] | "\(.app) \(.region): \([.checks[] | select(.check == "controls")][0].detail)"' "$work/check.json"
jq -e '[.standbys[] | [.checks[] | select(.check == "controls")][0]]
  | all(.result == "ok" and (.detail | test("at-least-one-on passes")) and (.detail | contains("no safety rules") | not))' \
  "$work/check.json" >/dev/null || die "failover check does not evaluate the cluster document's safety rules"
failover_cmd activate service1 us-west-2 || die "failover activate service1 us-west-2"
[[ "$(active_of service1)" == "us-west-2 us-east-1=Off,us-west-2=On" ]] || die "service1 after activate: $(active_of service1)"
[[ "$(active_of service2)" == "us-east-1 us-east-1=On,us-west-2=Off" ]] || die "activate service1 moved service2: $(active_of service2)"
echo "service1 active in us-west-2; external-api and service2 unchanged in us-east-1"

# --- The deploy pipeline's scripts against the applied services and routing controls. ---
say "deploy pipeline: the passive region from the live routing controls"
export FAILOVER="$bin_dir/failover" FAILOVER_CLUSTER="$copy/cluster.json"
plan_out=$(cd "$copy" && .github/scripts/deploy-plan.sh service1) || die "deploy-plan.sh service1"
echo "$plan_out"
grep -qx 'passive=us-east-1' <<<"$plan_out" || die "after the failover of service1, us-east-1 must be its passive region"
plan_out=$(cd "$copy" && .github/scripts/deploy-plan.sh service2) || die "deploy-plan.sh service2"
grep -qx 'passive=us-west-2' <<<"$plan_out" || die "service2's passive region is us-west-2"
if (cd "$copy" && ACTIVE_REGION_SERVICE1=us-east-1 .github/scripts/deploy-plan.sh service1 >/dev/null 2>"$work/stale.err"); then
  die "deploy-plan.sh went on with a stale ACTIVE_REGION_SERVICE1"
fi
echo "a stale ACTIVE_REGION_SERVICE1 stops the plan: $(tail -n 1 "$work/stale.err")"

say "deploy pipeline: a failed smoke test rolls the region back"
export NAME=mrapi APP=service1
revisions="$work/revisions.jsonl"
(cd "$copy" && .github/scripts/ecs-revisions.sh record "$revisions" us-east-1 us-west-2) || die "ecs-revisions.sh record"
# What the render and deploy actions do: a new revision of the family with the new image, and the service on it.
deploy_revision() {
  local region=$1 image=$2 td arn
  td=$(aws ecs describe-task-definition --region "$region" --task-definition "$NAME-$APP" --query taskDefinition)
  jq --arg image "$image" '{family, taskRoleArn, executionRoleArn, networkMode, requiresCompatibilities, cpu, memory,
      containerDefinitions: (.containerDefinitions | map(.image = $image))} | with_entries(select(.value != null))' \
    <<<"$td" >"$work/task-definition.json"
  arn=$(aws ecs register-task-definition --region "$region" --cli-input-json "file://$work/task-definition.json" \
    --query taskDefinition.taskDefinitionArn --output text)
  echo "$region $arn" >>"$work/simulated-revisions"
  aws ecs update-service --region "$region" --cluster "$NAME" --service "$APP" --task-definition "$arn" \
    --query service.taskDefinition --output text
}
service_td() {
  aws ecs describe-services --region "$1" --cluster "$NAME" --services "$APP" --query 'services[0].taskDefinition' --output text
}
recorded() {
  jq -r --arg r "$1" 'select(.region == $r) | .task_definition' "$revisions"
}
deploy_revision us-east-1 "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/service1:broken" >/dev/null
[[ "$(service_td us-east-1)" != "$(recorded us-east-1)" ]] || die "the simulated deployment did not change us-east-1"
# The new revision answers from the wrong region: the smoke test must fail.
smoke_port=$(free_port)
"$py" - "$smoke_port" >"$work/smoke-server.log" 2>&1 <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"service": "service1", "region": "us-west-2"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
pids+=($!)
wait_http "http://127.0.0.1:$smoke_port/health" smoke-server "${pids[-1]}"
if (cd "$copy" && SMOKE_TEST_SECONDS=1 .github/scripts/smoke-test.sh "http://127.0.0.1:$smoke_port" service1 us-east-1); then
  die "the smoke test passed an answer from the wrong region"
fi
rollback_out=$(cd "$copy" && .github/scripts/ecs-revisions.sh rollback "$revisions") || die "rollback after the passive region failed"
echo "$rollback_out"
[[ "$(service_td us-east-1)" == "$(recorded us-east-1)" ]] || die "us-east-1 is not back on $(recorded us-east-1)"
[[ "$(service_td us-west-2)" == "$(recorded us-west-2)" ]] || die "us-west-2 was touched"
grep -q "runs the same known revision" <<<"$rollback_out" || die "the rollback does not say both regions run the same revision"

say "deploy pipeline: a failed active region takes both regions back"
deploy_revision us-east-1 "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/service1:next" >/dev/null
deploy_revision us-west-2 "123456789012.dkr.ecr.us-west-2.amazonaws.com/mrapi/service1:next" >/dev/null
rollback_out=$(cd "$copy" && .github/scripts/ecs-revisions.sh rollback "$revisions") || die "rollback after the active region failed"
echo "$rollback_out"
for r in us-east-1 us-west-2; do
  [[ "$(service_td "$r")" == "$(recorded "$r")" ]] || die "$r is not back on $(recorded "$r")"
done
# The revisions the simulated deployments registered are the pipeline's, not Terraform's: deregister them, as a
# lifecycle rule would, so that the check after the cleanup sees only what the roots left.
while read -r region arn; do
  aws ecs deregister-task-definition --region "$region" --task-definition "$arn" >/dev/null
done <"$work/simulated-revisions"
unset NAME APP FAILOVER FAILOVER_CLUSTER

# --- Cleanup as documented, and nothing left. ---
run_blocks cleanup
say "every state is empty and the emulators hold nothing"
for root in certificates global; do
  left=$(command terraform -chdir="$copy/infra/$root" state list)
  [[ -z "$left" ]] || die "infra/$root still has state: $left"
done
for r in us-east-1 us-west-2; do
  command terraform -chdir="$copy/infra/region" workspace select "$r" >/dev/null
  left=$(command terraform -chdir="$copy/infra/region" state list)
  [[ -z "$left" ]] || die "infra/region ($r) still has state: $left"
done
left=$("$py" "$repo_root/infra/apply-test/emulator.py" inventory us-east-1 us-west-2)
[[ -z "$left" ]] || die "left in moto after the cleanup:
$left"
clusters=$(curl -s "http://127.0.0.1:$arc_config_port/cluster" | jq -c '[.Clusters[]? | .ClusterArn]')
[[ "$clusters" == "[]" ]] || die "left in arc-local after the cleanup: $clusters"
echo "nothing left in moto or arc-local"

printf '\nResources as applied:\n'
printf '  %s\n' "${counts[@]}"
say "done in $((SECONDS - stage_started)) s"
