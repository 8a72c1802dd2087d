#!/usr/bin/env bash
# The failover rehearsal in containers, under continuous load (CI runs it from scripts/test.sh).
#
#   1. Builds the static binaries (scripts/build-static.sh) and the prebuilt images (pulls nothing),
#      checks each image is under 25 MB.
#   2. For each mode (dns, then arc): `docker compose up -d --wait` with GATEWAY_FAILOVER_MODE=<mode>,
#      then the original scenario against the entry point 127.0.0.1:8080 while a load client sends a
#      few hundred requests per second of mixed requests (GET, POST, PUT, HEAD, a streamed body) over
#      /, /service1 and /service2 and counts every failed one:
#        start:  external API and service1 in us-east-1, service2 in us-west-2
#        step 1: failover activate service2 us-east-1
#        unplanned: docker compose kill service1-us-east-1 while it is the active region, keep the
#                load on for DRILL_OUTAGE seconds (default 10), start it again; nobody flips a
#                control. The gateways serve /service1 from us-west-2 meanwhile (regional fallback)
#                and return to us-east-1 once its /health answers. Reported: failed requests (those
#                started before the kill, which may have been in flight on the killed container, are
#                counted apart and allowed), time to the first answer from us-west-2, time to return.
#        step 2: failover activate service1 us-west-2
#        step 3: failover activate external-api us-west-2
#        step 4: docker compose kill service1-us-east-1 (service1 is already served from us-west-2)
#      After each step it asserts where responses come from (x-gateway-region, x-service-region), that
#      no request failed, and prints the switch time (from the activate call returning until responses
#      come only from the new region).
#   3. `docker compose down -v` always, even on failure.
#
# Environment:
#   DRILL_MODES       modes to run, in order (default "dns arc")
#   DRILL_RATE        target requests per second of the load client (default 300)
#   DRILL_OUTAGE      seconds service1-us-east-1 stays killed in the unplanned step (default 10)
#   DRILL_SKIP_BUILD  1: use the existing static binaries and images
#   COMPOSE_PROJECT_NAME  default multi-region-api-drill (kept apart from a stack you run yourself;
#                     the ports 127.0.0.1:8080 and 8600-8604 must be free)
# Needs: docker with the compose plugin, python3, and what scripts/build-static.sh needs.
# Traffic goes only to 127.0.0.1 (the published ports) and between the project's containers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODES=${DRILL_MODES:-dns arc}
RATE=${DRILL_RATE:-300}
OUTAGE=${DRILL_OUTAGE:-10}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-multi-region-api-drill}
export BUILD_TARGET_SUFFIX=-prebuilt
export IMAGE_TAG=${IMAGE_TAG:-local}
export REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
FAILOVER=target/x86_64-unknown-linux-gnu/release/failover
MAX_IMAGE_BYTES=25000000

log() { printf '\n==> %s\n' "$*"; }

workdir=$(mktemp -d)
cleanup() {
  local rc=$?
  log "cleanup: docker compose down -v"
  docker compose down -v --remove-orphans --timeout 10 >"$workdir/down.log" 2>&1 \
    || { cat "$workdir/down.log" >&2; true; }
  rm -rf "$workdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

compose_quiet() {
  # Compose's classic-builder output is long; keep it for failures only.
  if ! docker compose "$@" >"$workdir/compose.log" 2>&1; then
    tail -n 60 "$workdir/compose.log" >&2
    return 1
  fi
}

# A leftover stack of this project (an interrupted run) would hold the ports.
docker compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true

if [[ ${DRILL_SKIP_BUILD:-0} != 1 ]]; then
  bash scripts/build-static.sh
  log "images (prebuilt path, nothing pulled)"
  started=$SECONDS
  compose_quiet --profile tools build
  echo "built in $((SECONDS - started)) s"
fi

# compose/cluster.json (arc-local's topology in compose, the gateways' arc mode, the failover service)
# is exactly what arc-local serves from it.
ARC_LOCAL=target/x86_64-unknown-linux-gnu/release/arc-local
log "compose/cluster.json matches \`arc-local --tls --topology compose/cluster.json document --api-host arc-local\`"
if ! "$ARC_LOCAL" --tls --topology compose/cluster.json document --api-host arc-local \
    | diff -u compose/cluster.json -; then
  echo "drill: compose/cluster.json is not what arc-local serves from it (endpoints, default rules, layout); rewrite it with:" >&2
  echo "  $ARC_LOCAL --tls --topology compose/cluster.json document --api-host arc-local > cluster.json.new && mv cluster.json.new compose/cluster.json" >&2
  exit 1
fi
# compose/cluster.host.json is the same document as the host sees it: every URL a service publishes on
# loopback rewritten to 127.0.0.1 and its published port (README "Run it", `failover check` on the host).
log "compose/cluster.host.json matches compose/cluster.json through compose.yaml's published ports"
if ! docker compose --profile tools config --format json | python3 scripts/host-cluster.py compose/cluster.json \
    | diff -u compose/cluster.host.json -; then
  echo "drill: compose/cluster.host.json is stale; rewrite it with:" >&2
  echo "  docker compose --profile tools config --format json | scripts/host-cluster.py compose/cluster.json > compose/cluster.host.json" >&2
  exit 1
fi
# The host reaches the same data plane through the published ports, over HTTPS with arc-local's CA
# (copied out of its volume once the stack is up).
"$ARC_LOCAL" --tls --topology compose/cluster.json document --api-host 127.0.0.1 >"$workdir/host-cluster.json"
export FAILOVER_CLUSTER="$workdir/host-cluster.json" ARC_CA_FILE="$workdir/arc-ca.pem"
echo "up to date"

log "image sizes (limit $((MAX_IMAGE_BYTES / 1000000)) MB)"
docker images --format 'table {{.Repository}}:{{.Tag}}\t{{.Size}}' \
  | grep -E "REPOSITORY|^multi-region-api/.*:${IMAGE_TAG}\b"
for image in gateway service1 service2 arc-local failover; do
  size=$(docker image inspect -f '{{.Size}}' "multi-region-api/$image:$IMAGE_TAG")
  if ((size >= MAX_IMAGE_BYTES)); then
    echo "drill: multi-region-api/$image:$IMAGE_TAG is $size bytes, over the limit" >&2
    exit 1
  fi
done

# The load client and scenario runner. It talks only to 127.0.0.1.
cat >"$workdir/drill.py" <<'PY'
import argparse, http.client, json, os, subprocess, sys, threading, time

PATHS = ["/", "/service1", "/service2"]
# Mixed traffic: (method, path, body, the PATHS entry whose regions it is checked against).
REQUESTS = [
    ("GET", "/", None, "/"),
    ("GET", "/service1", None, "/service1"),
    ("GET", "/service2", None, "/service2"),
    ("POST", "/service1/echo", b"drill", "/service1"),
    ("PUT", "/service2/items/drill", b'{"drill": true}', "/service2"),
    ("HEAD", "/service1", None, "/service1"),
    ("GET", "/service2/stream?count=2&interval_ms=1", None, "/service2"),
]
ap = argparse.ArgumentParser()
ap.add_argument("--mode", required=True)
ap.add_argument("--rate", type=float, default=300)
ap.add_argument("--threads", type=int, default=8)
ap.add_argument("--port", type=int, default=8080)
ap.add_argument("--failover", required=True)
ap.add_argument("--switch-timeout", type=float, default=20.0)
ap.add_argument("--settle", type=float, default=2.0)
ap.add_argument("--max-duration", type=float, default=300.0)
ap.add_argument("--outage", type=float, default=10.0)
ap.add_argument("--summary", required=True)
args = ap.parse_args()

def now():
    return time.monotonic()

class Load:
    """Threads with keep-alive connections, each paced to rate/threads requests per second."""
    def __init__(self):
        self.records = []           # (t_start, t_end, path, status, gateway_region, service_region, error)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(args.threads)]
        self.deadline = now() + args.max_duration   # bounded, whatever happens
    def start(self):
        for t in self.threads: t.start()
    def worker(self, idx):
        interval = args.threads / args.rate
        nxt = now() + idx * interval / args.threads
        conn, i = None, idx
        while not self.stop.is_set() and now() < self.deadline:
            delay = nxt - now()
            if delay > 0:
                time.sleep(delay)
            nxt = max(nxt + interval, now() - interval)   # no burst after a stall
            method, target, body, path = REQUESTS[i % len(REQUESTS)]
            i += 1
            t0 = now()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                headers = {"User-Agent": "drill", "Content-Type": "application/json"}
                conn.request(method, target, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                rec = (t0, now(), path, r.status, r.getheader("x-gateway-region"),
                       r.getheader("x-service-region"), None)
                if r.will_close:
                    conn.close(); conn = None
            except Exception as e:  # every transport error counts as a failed request
                rec = (t0, now(), path, 0, None, None, f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
            self.records.append(rec)
    def halt(self):
        self.stop.set()
        for t in self.threads: t.join(timeout=15)

def failed(rec):
    return rec[6] is not None or not (200 <= rec[3] < 300)

def state_of(rec):
    return (rec[4], rec[5])

def fmt_state(path, st):
    gw, svc = st
    return f"{gw}" if path == "/" else f"{gw}>{svc}"

load = Load()
T0 = now()
report = {"mode": args.mode, "steps": [], "failed": 0, "requests": 0}
ok = True
last_view = [0]        # index of the first record not yet shown in the per-second view

def per_second_view(since_idx):
    """One line per second: rate, failures, and the regions each path answered from."""
    recs = load.records[since_idx:]
    latest, fails = {}, 0
    for r in recs:
        if failed(r): fails += 1
        elif r[2] not in latest or r[1] > latest[r[2]][0]:
            latest[r[2]] = (r[1], state_of(r))
    parts = [f"{p} {fmt_state(p, latest[p][1]) if p in latest else '-'}" for p in PATHS]
    print(f"  t+{now() - T0:6.1f}s  {len(recs):4d} req  {fails} failed  | " + "  ".join(parts), flush=True)

def watch(expected, t_ref, timeout, changed, label):
    """Waits until every path has answered only as `expected` for `settle` seconds. Returns
    (first response from the new state, last response from another state) per changed path, in
    seconds after t_ref, or None on timeout."""
    idx = 0
    first_new = {p: None for p in changed}
    last_bad = {p: None for p in PATHS}      # t_end of the last non-matching (non-failed) response
    seen_good_after = {p: False for p in PATHS}
    next_view = now() + 1.0
    view_idx = len(load.records)
    while True:
        recs = load.records
        n = len(recs)
        for r in recs[idx:n]:
            if failed(r):
                continue
            p = r[2]
            if state_of(r) == expected[p]:
                if p in first_new and first_new[p] is None and r[0] >= t_ref:
                    first_new[p] = r[1]
                seen_good_after[p] = True
            else:
                last_bad[p] = r[1]
                seen_good_after[p] = False
        idx = n
        t = now()
        if t >= next_view:
            per_second_view(view_idx); view_idx = n; next_view += 1.0
        quiet_since = max([t_ref] + [v for v in last_bad.values() if v is not None])
        if all(seen_good_after.values()) and t - quiet_since >= args.settle \
                and all(first_new[p] is not None for p in changed):
            return {p: (first_new[p] - t_ref,
                        (last_bad[p] - t_ref) if last_bad[p] and last_bad[p] > t_ref else 0.0)
                    for p in changed}
        if t - t_ref > timeout:
            per_second_view(view_idx)
            print(f"  TIMEOUT: {label}: responses did not settle within {timeout:.0f} s", flush=True)
            for p in PATHS:
                print(f"    expected {p}: {fmt_state(p, expected[p])}", flush=True)
            return None
        time.sleep(0.05)

def run_failover(*cmd):
    out = subprocess.run([args.failover, *cmd], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        print(out.stdout + out.stderr, flush=True)
        raise SystemExit(f"failover {' '.join(cmd)} exited {out.returncode}")
    return out.stdout

def step(name, expected, changed, action):
    global ok
    print(f"\n-- {name}", flush=True)
    start_idx = len(load.records)
    t_start = now()
    action()
    t_ref = now()                      # the activate call (or kill) has returned
    res = watch(expected, t_ref, args.switch_timeout, changed, name)
    recs = load.records[start_idx:]
    fails = [r for r in recs if failed(r)]
    entry = {"step": name, "requests": len(recs), "failed": len(fails)}
    if res is None:
        ok = False
        entry["switch_s"] = None
    else:
        for p, (first, last_old) in res.items():
            sw = max(first, last_old)
            print(f"  {p}: first response from the new region {first * 1000:.0f} ms after the call returned; "
                  f"only new-region responses after {sw * 1000:.0f} ms", flush=True)
        entry["switch_s"] = max([max(v) for v in res.values()], default=0.0)
    for r in fails[:5]:
        print(f"  FAILED {r[2]}: status {r[3]} {r[6] or ''}", flush=True)
    if fails:
        ok = False
    where = "  ".join(f"{p} {fmt_state(p, expected[p])}" for p in PATHS)
    sw = "timeout" if entry["switch_s"] is None else f"{entry['switch_s'] * 1000:.0f} ms"
    print(f"  => {where} | switch {sw} | {len(recs)} requests, {len(fails)} failed", flush=True)
    report["steps"].append(entry)

E1, W2 = "us-east-1", "us-west-2"
def expect(ext, s1, s2):
    return {"/": (ext, None), "/service1": (ext, s1), "/service2": (ext, s2)}

def compose(*cmd):
    subprocess.run(["docker", "compose", *cmd], check=True, capture_output=True, timeout=120)

def unplanned():
    """service1's active region lost without a control flip: served from us-west-2 meanwhile."""
    global ok
    name = f"unplanned: kill service1-us-east-1 for {args.outage:.0f} s, start it again"
    print(f"\n-- {name}", flush=True)
    start_idx = len(load.records)
    t_kill = now()
    compose("kill", "service1-us-east-1")
    t_killed = now()
    end = now() + args.outage
    while now() < end:
        per_second_view(max(0, len(load.records) - int(args.rate))); time.sleep(1.0)
    compose("start", "service1-us-east-1")
    t_back = now()
    # Back once its /health answers the gateways' probe: at most eject_max (10 s) after it listens.
    res = watch(expect(E1, E1, E1), t_back, args.switch_timeout + 10, ["/service1"], name)
    recs = load.records[start_idx:]
    fails = [r for r in recs if failed(r)]
    in_flight = [r for r in fails if r[0] <= t_killed]
    after = [r for r in fails if r[0] > t_killed]
    served = [r for r in recs if r[2] == "/service1" and not failed(r) and r[5] == W2]
    first = min((r[1] for r in served if r[1] >= t_kill), default=None)
    first_s = None if first is None else first - t_kill
    back_s = None if res is None else max(res["/service1"])
    print(f"  first answer from us-west-2 {'never' if first_s is None else f'{first_s * 1000:.0f} ms'} after the kill; "
          f"{len(served)} /service1 requests served there", flush=True)
    print(f"  back in us-east-1 {'timeout' if back_s is None else f'{back_s * 1000:.0f} ms'} after the start", flush=True)
    for r in after[:5]:
        print(f"  FAILED {r[2]}: status {r[3]} {r[6] or ''}", flush=True)
    print(f"  => {len(recs)} requests, {len(fails)} failed ({len(in_flight)} started before the kill returned, "
          f"{len(after)} after)", flush=True)
    if after or res is None or first_s is None:
        ok = False
    report["steps"].append({"step": name, "requests": len(recs), "failed": len(after),
                            "in_flight_failed": len(in_flight), "switch_s": back_s,
                            "first_fallback_s": first_s})

try:
    load.start()
    step("baseline (primaries On): all apps in us-east-1",
         expect(E1, E1, E1), [], lambda: None)
    step("start: failover activate service2 us-west-2",
         expect(E1, E1, W2), ["/service2"], lambda: run_failover("activate", "service2", W2))
    step("step 1: failover activate service2 us-east-1",
         expect(E1, E1, E1), ["/service2"], lambda: run_failover("activate", "service2", E1))
    unplanned()
    step("step 2: failover activate service1 us-west-2",
         expect(E1, W2, E1), ["/service1"], lambda: run_failover("activate", "service1", W2))
    step("step 3: failover activate external-api us-west-2",
         expect(W2, W2, E1), PATHS, lambda: run_failover("activate", "external-api", W2))
    def kill():
        subprocess.run(["docker", "compose", "kill", "service1-us-east-1"], check=True,
                       capture_output=True, timeout=60)
        time.sleep(3)    # whatever would break, give it time to
        ps = subprocess.run(["docker", "compose", "ps", "-a", "--format", "{{.Service}}: {{.Status}}",
                             "service1-us-east-1"], capture_output=True, text=True, timeout=30)
        print(f"  {ps.stdout.strip()}", flush=True)
    step("step 4: docker compose kill service1-us-east-1",
         expect(W2, W2, E1), [], kill)
    print("\n" + run_failover("status"), flush=True)
finally:
    load.halt()

recs = load.records
report["requests"] = len(recs)
# Requests in flight on the container the unplanned step killed fail as they must: reported, allowed.
report["in_flight_failed"] = sum(s.get("in_flight_failed", 0) for s in report["steps"])
report["failed"] = sum(1 for r in recs if failed(r)) - report["in_flight_failed"]
elapsed = max(r[1] for r in recs) - min(r[0] for r in recs) if recs else 0
report["rate"] = round(len(recs) / elapsed, 1) if elapsed else 0
report["ok"] = ok and report["failed"] == 0
print(f"load: {len(recs)} requests in {elapsed:.1f} s ({report['rate']} per second), "
      f"{report['failed']} failed", flush=True)
with open(args.summary, "w") as f:
    json.dump(report, f)
sys.exit(0 if report["ok"] else 1)
PY

status=0
for mode in $MODES; do
  log "drill, $mode mode: docker compose up -d --wait (GATEWAY_FAILOVER_MODE=$mode)"
  started=$SECONDS
  if ! GATEWAY_FAILOVER_MODE=$mode compose_quiet up -d --wait --wait-timeout 120; then
    docker compose ps -a >&2 || true
    docker compose logs --tail 20 >&2 || true
    exit 1
  fi
  echo "up and healthy in $((SECONDS - started)) s"
  docker compose ps --format 'table {{.Service}}\t{{.Status}}'
  compose_quiet cp arc-local:/data/tls/ca.pem "$ARC_CA_FILE"
  rc=0
  python3 "$workdir/drill.py" --mode "$mode" --rate "$RATE" --failover "$FAILOVER" --outage "$OUTAGE" \
    --summary "$workdir/summary-$mode.json" || rc=$?
  if ((rc != 0)); then
    status=1
    echo "drill ($mode mode) FAILED; last log lines:" >&2
    docker compose logs --tail 15 >&2 || true
  fi
  compose_quiet down -v --remove-orphans --timeout 10
done

log "drill summary"
# The last line counts steps (per mode) as passed or failed: "drill: N passed, N failed".
python3 - "$MODES" "$workdir" <<'PY'
import json, os, sys
modes, workdir = sys.argv[1].split(), sys.argv[2]
passed = failed = 0
for mode in modes:
    try:
        r = json.load(open(os.path.join(workdir, f"summary-{mode}.json")))
    except (OSError, ValueError):
        print(f"{mode} mode: did not finish, FAIL")
        failed += 1
        continue
    print(f"{r['mode']} mode: {r['requests']} requests at {r['rate']}/s, {r['failed']} failed "
          f"(and {r.get('in_flight_failed', 0)} in flight on the killed container), "
          f"{'PASS' if r['ok'] else 'FAIL'}")
    for s in r["steps"]:
        good = s["failed"] == 0 and s["switch_s"] is not None
        passed += good
        failed += not good
        sw = "timeout" if s["switch_s"] is None else f"{s['switch_s'] * 1000:.0f} ms"
        extra = ""
        if "first_fallback_s" in s:
            ff = s["first_fallback_s"]
            extra = (f"  first fallback {'never' if ff is None else f'{ff * 1000:.0f} ms'}"
                     f"  in flight failed {s['in_flight_failed']}")
        print(f"  {s['step'][:52]:52s} switch {sw:>8s}  failed {s['failed']}/{s['requests']}{extra}")
    if len(r["steps"]) < 7:
        print(f"  ({7 - len(r['steps'])} steps did not run)")
        failed += 7 - len(r["steps"])
print(f"drill: {passed} passed, {failed} failed")
PY
if ((status != 0)); then
  echo "drill FAILED" >&2
  exit 1
fi
