#!/usr/bin/env bash
# Loads the gateway in front of service1 on loopback and prints requests per second and p50/p99
# latency beside hitting service1 directly (and nginx as a reverse proxy, when installed), plus the
# gateway's idle and peak RSS. A benchmark, not a test: it prints figures and asserts nothing.
#
#   bench/gateway.sh                 # defaults: 10 s per run, 64 connections
#   DURATION=30s CONNECTIONS=128 bench/gateway.sh
#
# Needs wrk (Debian: apt-get install wrk); nginx is optional (apt-get install nginx-light).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
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

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on $1" >&2
  exit 1
}
rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }

REGION=us-east-1 PORT=$SVC_PORT LOG_FORMAT=json "$BIN/service1" >/dev/null &
pids+=($!)
REGION=us-east-1 PORT=$GW_PORT ADMIN_PORT=$GW_ADMIN SERVICE1_URL="http://127.0.0.1:$SVC_PORT" \
  SERVICE2_URL="http://127.0.0.1:$SVC_PORT" "$BIN/gateway" >/dev/null &
GW_PID=$!
pids+=("$GW_PID")
wait_port "$SVC_PORT"
wait_port "$GW_PORT"
sleep 0.5
IDLE_RSS=$(rss_kb "$GW_PID" VmRSS)

targets=("service1-direct http://127.0.0.1:$SVC_PORT/" "gateway http://127.0.0.1:$GW_PORT/service1")
if command -v nginx >/dev/null; then
  cat >"$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log /dev/null;
events { worker_connections 4096; }
http {
  access_log off;
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
  targets+=("nginx http://127.0.0.1:$NGINX_PORT/service1")
fi

run() { # name url connections
  wrk -t"$THREADS" -c"$3" -d"$DURATION" --latency "$2" >"$WORK/out" 2>&1
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/out")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/out")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/out" | tr '\n' ' ')
  printf '%-16s c=%-4s %12s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "$errs"
}

echo "# $(nproc) CPUs, wrk -t$THREADS -d$DURATION, GET of the identity body ($(date -u +%F))"
echo "## latency at one connection (what one hop adds)"
for t in "${targets[@]}"; do run ${t% *} ${t#* } 1; done
echo "## throughput at $CONNECTIONS connections"
for t in "${targets[@]}"; do run ${t% *} ${t#* } "$CONNECTIONS"; done
PEAK_RSS=$(rss_kb "$GW_PID" VmHWM)
echo "## gateway memory"
echo "idle RSS: $((IDLE_RSS / 1024)).$(((IDLE_RSS % 1024) * 10 / 1024)) MiB   peak RSS under load: $((PEAK_RSS / 1024)).$(((PEAK_RSS % 1024) * 10 / 1024)) MiB"
