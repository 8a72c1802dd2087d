#!/usr/bin/env bash
# Runs the DR drill on loopback at a fixed request rate and prints, per switch, how long traffic took
# to move and how many requests failed, in arc mode and in dns mode. A benchmark, not a test: it
# prints figures (the assertions live in drill/tests/drill.rs).
#
#   bench/failover.sh                  # 300 req/s, arc poll 200 ms, DNS TTL 1 s
#   RATE=500 POLL=100ms TTL=5 bench/failover.sh
#
# Targets: arc mode moves within 1 s (aim: 250 ms), dns mode within TTL + 1 s, no failed request.
# The external API's own switch reaches clients through DNS in both modes, so it is bound by the TTL.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-300}
POLL=${POLL:-200ms}
TTL=${TTL:-1}
cargo build --release --quiet -p drill -p arc-local -p gateway -p service1 -p service2
echo "# $(nproc) CPUs, $(date -u +%F)"
target/release/drill --mode arc --rate "$RATE" --poll-interval "$POLL"
target/release/drill --mode dns --rate "$RATE" --ttl "$TTL"
