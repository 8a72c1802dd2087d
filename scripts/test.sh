#!/usr/bin/env bash
# Runs every test of the project. This is the README's test command; CI runs it too (.ci/run).
#   1. Rust: unit tests and integration tests that start the real binaries and routers on 127.0.0.1.
#   2. Infrastructure: terraform fmt/validate/test with mocked AWS, checkov, actionlint (infra/test.sh).
#   3. Containers: hadolint and checkov over the Dockerfile, `docker compose config`, and the failover
#      drill in containers under load (scripts/drill.sh: static binaries, prebuilt images, dns and arc
#      modes, always `docker compose down -v`), then the README's compose blocks word for word against a
#      fresh stack (scripts/readme-compose.sh). SKIP_CONTAINER_DRILL=1 skips both.
# Needs: cargo and terraform >= 1.7. Everything else a fresh Debian machine lacks (Python tools in
# user-owned venvs, Debian packages when root, the Docker engine and compose plugin) is prepared first by
# scripts/prepare.sh, idempotently; SKIP_PREPARE=1 skips that step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${SKIP_PREPARE:-0} != 1 ]]; then
  echo "==> prepare (scripts/prepare.sh)"
  # shellcheck source=scripts/prepare.sh
  source scripts/prepare.sh
fi

echo "==> cargo test (workspace)"
cargo test --workspace --locked

echo "==> infrastructure checks"
bash infra/test.sh

echo "==> shellcheck (scripts, .ci/run)"
shellcheck scripts/*.sh .ci/run
echo "shellcheck: no findings"

echo "==> hadolint (Dockerfile)"
hadolint Dockerfile
echo "hadolint: no findings"

echo "==> checkov (Dockerfile)"
checkov -f Dockerfile --framework dockerfile --quiet --compact --skip-download

echo "==> docker compose config"
docker compose config --quiet
GATEWAY_FAILOVER_MODE=arc BUILD_TARGET_SUFFIX=-prebuilt docker compose --profile tools config --quiet
echo "compose.yaml is valid"

if [[ ${SKIP_CONTAINER_DRILL:-0} == 1 ]]; then
  echo "==> container drill skipped (SKIP_CONTAINER_DRILL=1)"
else
  echo "==> container drill (scripts/drill.sh)"
  bash scripts/drill.sh
  echo "==> the README's compose commands, as written (scripts/readme-compose.sh)"
  bash scripts/readme-compose.sh
fi
