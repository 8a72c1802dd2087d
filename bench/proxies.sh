#!/usr/bin/env bash
# The gateway beside nginx and HAProxy as reverse proxies, each pinned alone to one core, in one run.
#
# The proxy under test runs on core 0 with one worker (WORKER_THREADS=1, worker_processes 1,
# nbthread 1); the upstream (nginx answering a fixed JSON body, the services' identity shape) and
# wrk run on the other cores. nginx and HAProxy keep upstream connections alive (keepalive,
# http-reuse always). Each proxy runs twice: with a JSON access line per request written to
# /dev/null, and without. Rounds interleave the six proxies; the medians of req/s, p50, p99, the
# proxy's own CPU per request (user+system from /proc), errors and RSS are printed, at 1 connection
# (the latency one hop adds) and at CONNECTIONS, then the gateway's ratios to nginx.
# UPSTREAM_FRAMING=chunked makes the upstream answer with `transfer-encoding: chunked` (nginx's SSI
# filter drops the length), as services that stream JSON do; the default is content-length.
# A benchmark, not a test: it prints figures and asserts nothing.
#
#   bench/proxies.sh                               # 5 rounds of 5 s, 64 connections
#   ROUNDS=7 DURATION=10s CONNECTIONS=128 bench/proxies.sh
#   UPSTREAM_FRAMING=chunked bench/proxies.sh
#
# Needs wrk, nginx and haproxy (Debian: apt-get install wrk nginx-light haproxy) and taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-64}
BASE_PORT=${BASE_PORT:-29080}
UPSTREAM_FRAMING=${UPSTREAM_FRAMING:-length}
UP_PORT=$BASE_PORT

for tool in wrk nginx haproxy taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done
CPUS=$(nproc)
[ "$CPUS" -ge 2 ] || { echo "bench: needs at least 2 CPUs (one for the proxy, one for the rest)" >&2; exit 2; }
PROXY_CPU=0
OTHER_CPUS="1-$((CPUS - 1))"

cargo build --release --quiet -p gateway
BIN=target/release
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$WORK"/*.pid; do
    if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# The upstream: a fixed identity body, on the other cores.
IDENTITY='{"message":"Hello from service1","region":"us-east-1"}'
case "$UPSTREAM_FRAMING" in
  length) FRAMING="" ;;
  chunked) FRAMING="ssi on; ssi_types application/json;" ;;
  *) echo "bench: UPSTREAM_FRAMING must be length or chunked" >&2; exit 2 ;;
esac
cat >"$WORK/upstream.conf" <<NGINX
worker_processes 1;
pid $WORK/upstream.pid;
error_log /dev/null;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / { default_type application/json; $FRAMING return 200 '$IDENTITY'; }
  }
}
NGINX
taskset -c "$OTHER_CPUS" nginx -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null
wait_port "$UP_PORT"

# A JSON line per request with the fields the gateway's access line has (variables for nginx and
# HAProxy to expand, hence single quotes).
# shellcheck disable=SC2016
NGINX_JSON='{"request_id":"$request_id","method":"$request_method","path":"$uri","route":"service1","status":$status,"upstream":"$upstream_addr","upstream_region":"","retries":0,"error":"","latency_us":$request_time}'
HAPROXY_JSON='{"request_id":"%ID","method":"%HM","path":"%HPO","route":"service1","status":%ST,"upstream":"%si:%sp","upstream_region":"","retries":%rc,"error":"","latency_us":%Ta}'

targets=() # name port pid-file-or-pid
start_nginx() { # name port log(on|off)
  local name=$1 port=$2 log=$3 access="access_log off;"
  [ "$log" = on ] && access="log_format json escape=json '$NGINX_JSON'; access_log /dev/null json;"
  cat >"$WORK/$name.conf" <<NGINX
worker_processes 1;
pid $WORK/$name.pid;
error_log /dev/null;
events { worker_connections 4096; }
http {
  $access
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP_PORT; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$port;
    location /service1/ { proxy_pass http://up/; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /service1 { proxy_pass http://up/; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
  taskset -c "$PROXY_CPU" nginx -c "$WORK/$name.conf" -p "$WORK" 2>/dev/null
  wait_port "$port"
  targets+=("$name $port $(pgrep -P "$(cat "$WORK/$name.pid")" | head -1)")
}
start_haproxy() { # name port log(on|off)
  local name=$1 port=$2 log=$3 logging=""
  [ "$log" = on ] && logging="log stdout format raw local0
  log-format '$HAPROXY_JSON'
  option httplog"
  cat >"$WORK/$name.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 2s
  timeout client 75s
  timeout server 60s
  http-reuse always
  $logging
frontend fe
  bind 127.0.0.1:$port
  http-request set-path %[path,regsub(^/service1/?,/)]
  default_backend up
backend up
  server s1 127.0.0.1:$UP_PORT
HAPROXY
  taskset -c "$PROXY_CPU" haproxy -f "$WORK/$name.cfg" -db >/dev/null 2>&1 &
  pids+=("$!")
  wait_port "$port"
  targets+=("$name $port $!")
}
start_gateway() { # name port log(on|off)
  local name=$1 port=$2 log=$3 filter=info
  [ "$log" = off ] && filter="info,access=off"
  REGION=us-east-1 PORT=$port ADMIN_PORT=$((port + 100)) WORKER_THREADS=1 RUST_LOG=$filter \
    SERVICE1_URL="http://127.0.0.1:$UP_PORT" taskset -c "$PROXY_CPU" "$BIN/gateway" >/dev/null &
  pids+=("$!")
  wait_port "$port"
  targets+=("$name $port $!")
}

start_nginx nginx-log $((BASE_PORT + 1)) on
start_nginx nginx-nolog $((BASE_PORT + 2)) off
start_haproxy haproxy-log $((BASE_PORT + 3)) on
start_haproxy haproxy-nolog $((BASE_PORT + 4)) off
start_gateway gateway-log $((BASE_PORT + 5)) on
start_gateway gateway-nolog $((BASE_PORT + 6)) off
sleep 0.5
declare -A IDLE
for t in "${targets[@]}"; do
  read -r name _ pid <<<"$t"
  IDLE[$name]=$(rss_kb "$pid" VmRSS)
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_all() { # connections
  local c=$1 t name port pid before after rps
  for t in "${targets[@]}"; do : >"$WORK/${t%% *}.$c"; done
  for _ in $(seq 1 "$ROUNDS"); do
    for t in "${targets[@]}"; do
      read -r name port pid <<<"$t"
      before=$(cpu_ticks "$pid")
      taskset -c "$OTHER_CPUS" wrk -t1 -c"$c" -d"$DURATION" --latency "http://127.0.0.1:$port/service1" >"$WORK/out" 2>&1
      after=$(cpu_ticks "$pid")
      rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/out")
      printf '%s %s %s %s %s\n' "$rps" \
        "$(awk '$1=="50%" {print $2}' "$WORK/out" | to_us)" \
        "$(awk '$1=="99%" {print $2}' "$WORK/out" | to_us)" \
        "$(awk -v t=$((after - before)) -v r="$rps" -v d="${DURATION%s}" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / (r * d)}')" \
        "$(grep -cE 'Non-2xx|Socket errors' "$WORK/out" || true)" >>"$WORK/$name.$c"
    done
  done
  for t in "${targets[@]}"; do
    read -r name port pid <<<"$t"
    for i in 1 2 3 4; do
      cut -d' ' -f"$i" "$WORK/$name.$c" | median >"$WORK/$name.$c.m$i"
    done
    printf '%-14s c=%-4s %9.0f req/s   p50 %6s us   p99 %6s us   CPU %5s us/req   errors %s   RSS %s MiB (peak %s)\n' \
      "$name" "$c" "$(cat "$WORK/$name.$c.m1")" "$(cat "$WORK/$name.$c.m2")" "$(cat "$WORK/$name.$c.m3")" \
      "$(cat "$WORK/$name.$c.m4")" "$(cut -d' ' -f5 "$WORK/$name.$c" | paste -sd+ | bc)" \
      "$(mib "$(rss_kb "$pid" VmRSS)")" "$(mib "$(rss_kb "$pid" VmHWM)")"
  done
}
ratio() { # connections field a b
  awk -v a="$(cat "$WORK/$3.$1.m$2")" -v b="$(cat "$WORK/$4.$1.m$2")" 'BEGIN {printf "%.2f", a / b}'
}

echo "# proxy alone on CPU $PROXY_CPU (one worker), upstream and wrk on CPUs $OTHER_CPUS; wrk -t1 -d$DURATION x $ROUNDS interleaved rounds (medians); $(date -u +%F)"
echo "# upstream answers framed by: $UPSTREAM_FRAMING"
echo "# CPU us/req: the proxy's own user+system CPU per request; log: a JSON access line per request to /dev/null"
echo "## idle RSS: $(for t in "${targets[@]}"; do n=${t%% *}; printf '%s %s MiB  ' "$n" "$(mib "${IDLE[$n]}")"; done)"
echo "## latency at one connection"
run_all 1
echo "## throughput at $CONNECTIONS connections"
run_all "$CONNECTIONS"
echo "## gateway / nginx (throughput: higher is better; CPU per request and p99: lower is better)"
for log in log nolog; do
  echo "$log: throughput $(ratio "$CONNECTIONS" 1 "gateway-$log" "nginx-$log")x   CPU/req $(ratio "$CONNECTIONS" 4 "gateway-$log" "nginx-$log")x   p99 $(ratio "$CONNECTIONS" 3 "gateway-$log" "nginx-$log")x   p50 at c=1 $(ratio 1 2 "gateway-$log" "nginx-$log")x"
done
echo "## gateway / haproxy"
for log in log nolog; do
  echo "$log: throughput $(ratio "$CONNECTIONS" 1 "gateway-$log" "haproxy-$log")x   CPU/req $(ratio "$CONNECTIONS" 4 "gateway-$log" "haproxy-$log")x   p99 $(ratio "$CONNECTIONS" 3 "gateway-$log" "haproxy-$log")x"
done
