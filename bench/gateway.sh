#!/usr/bin/env bash
# Loads the gateway in front of service1 on loopback and prints requests per second and p50/p99
# latency beside hitting service1 directly (and nginx as a reverse proxy, when installed), plus the
# gateway's idle and peak RSS. A benchmark, not a test: it prints figures and asserts nothing.
#
#   bench/gateway.sh                 # defaults: 3 rounds of 5 s per target, 64 connections
#   ROUNDS=5 DURATION=10s CONNECTIONS=128 bench/gateway.sh
#   BASELINE_GATEWAY=/path/to/older/gateway bench/gateway.sh   # also load another build, side by side
#
# Needs wrk (Debian: apt-get install wrk); nginx is optional (apt-get install nginx-light).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
BASE_PORT=${BASE_PORT:-28080}
SVC_PORT=$BASE_PORT
GW_PORT=$((BASE_PORT + 1))
GW_ADMIN=$((BASE_PORT + 2))
NGINX_PORT=$((BASE_PORT + 3))

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p gateway -p service1
BIN=target/release
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT


REGION=us-east-1 PORT=$SVC_PORT LOG_FORMAT=json "$BIN/service1" >/dev/null &
SVC_PID=$!
pids+=("$SVC_PID")
REGION=us-east-1 PORT=$GW_PORT ADMIN_PORT=$GW_ADMIN SERVICE1_URL="http://127.0.0.1:$SVC_PORT" \
  SERVICE2_URL="http://127.0.0.1:$SVC_PORT" "$BIN/gateway" >/dev/null &
GW_PID=$!
pids+=("$GW_PID")
wait_port "$SVC_PORT"
wait_port "$GW_PORT"
sleep 0.5
IDLE_RSS=$(rss_kb "$GW_PID" VmRSS)

targets=("service1-direct http://127.0.0.1:$SVC_PORT/ $SVC_PID" "gateway http://127.0.0.1:$GW_PORT/service1 $GW_PID")
if [[ -n "${BASELINE_GATEWAY:-}" ]]; then
  BASE_GW_PORT=$((BASE_PORT + 4))
  REGION=us-east-1 PORT=$BASE_GW_PORT ADMIN_PORT=$((BASE_PORT + 5)) SERVICE1_URL="http://127.0.0.1:$SVC_PORT" \
    SERVICE2_URL="http://127.0.0.1:$SVC_PORT" "$BASELINE_GATEWAY" >/dev/null &
  BASE_GW_PID=$!
  pids+=("$BASE_GW_PID")
  wait_port "$BASE_GW_PORT"
  targets+=("gateway-baseline http://127.0.0.1:$BASE_GW_PORT/service1 $BASE_GW_PID")
fi
if command -v nginx >/dev/null; then
  cat >"$WORK/nginx.conf" <<NGINX
worker_processes $(nproc);
pid $WORK/nginx.pid;
error_log /dev/null;
events { worker_connections 4096; }
http {
  # One JSON line per request, like the gateway's, so both pay for an access log.
  log_format json escape=json '{"request_id":"\$request_id","method":"\$request_method","path":"\$uri","status":\$status,"upstream":"\$upstream_addr","latency":\$request_time}';
  access_log /dev/null json;
  upstream service1 { server 127.0.0.1:$SVC_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /service1/ { proxy_pass http://service1/; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /service1 { proxy_pass http://service1/; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
  nginx -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null
  wait_port "$NGINX_PORT"
  targets+=("nginx http://127.0.0.1:$NGINX_PORT/service1 $(pgrep -d' ' -P "$(cat "$WORK/nginx.pid")")")
fi

cpu_ticks() { # total user+system clock ticks of a process and its children processes' workers
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}

# Rounds interleave the targets so that a noisy neighbour hurts all of them alike; medians are printed.
run_all() { # connections
  local c=$1 round t name url pids before after rps
  for t in "${targets[@]}"; do : >"$WORK/${t%% *}.$c"; done
  for round in $(seq 1 "$ROUNDS"); do
    for t in "${targets[@]}"; do
      read -r name url pids <<<"$t"
      before=$(cpu_ticks $pids)
      wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "$url" >"$WORK/out" 2>&1
      after=$(cpu_ticks $pids)
      rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/out")
      printf '%s %s %s %s %s\n' "$rps" \
        "$(awk '$1=="50%" {print $2}' "$WORK/out" | to_us)" \
        "$(awk '$1=="99%" {print $2}' "$WORK/out" | to_us)" \
        "$(awk -v t=$((after - before)) -v r="$rps" -v d="${DURATION%s}" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / (r * d)}')" \
        "$(grep -cE 'Non-2xx|Socket errors' "$WORK/out" || true)" >>"$WORK/$name.$c"
    done
  done
  for t in "${targets[@]}"; do
    name=${t%% *}
    printf '%-16s c=%-4s %9.0f req/s   p50 %6s us   p99 %6s us   CPU %5s us/req   runs with errors: %s\n' "$name" "$c" \
      "$(cut -d' ' -f1 "$WORK/$name.$c" | median)" "$(cut -d' ' -f2 "$WORK/$name.$c" | median)" \
      "$(cut -d' ' -f3 "$WORK/$name.$c" | median)" "$(cut -d' ' -f4 "$WORK/$name.$c" | median)" \
      "$(cut -d' ' -f5 "$WORK/$name.$c" | paste -sd+ | bc)"
  done
}

echo "# $(nproc) CPUs, wrk -t$THREADS -d$DURATION x $ROUNDS interleaved rounds (medians), GET of the identity body, $(date -u +%F)"
echo "# CPU us/req: the proxy's own user+system CPU per request (service1-direct: service1's)"
echo "## latency at one connection (what one hop adds)"
run_all 1
echo "## throughput at $CONNECTIONS connections"
run_all "$CONNECTIONS"
PEAK_RSS=$(rss_kb "$GW_PID" VmHWM)
echo "## gateway memory"
echo "idle RSS: $((IDLE_RSS / 1024)).$(((IDLE_RSS % 1024) * 10 / 1024)) MiB   peak RSS under load: $((PEAK_RSS / 1024)).$(((PEAK_RSS % 1024) * 10 / 1024)) MiB"
