#!/usr/bin/env bash
# The README's compose commands, run as written (scripts/test.sh runs this after the container drill).
#
# Every README.md block marked `<!-- compose-test: NAME -->` runs word for word, in one bash shell per
# block (`set -euo pipefail`), in this order: up-prebuilt (the registry-less path this machine can take),
# try (the commands against the stack, inside the network), host (the same from the host). One change is
# made, and only to `docker compose up`: it runs detached and waits for health (`-d --wait`), as a
# terminal left running would; every other command is the README's. The host block finds `failover` on
# PATH (the static release build, as `cargo install --path failover` would put it there).
#
# Besides each command's exit status, it checks what a reader is told to expect: the routed JSON, the
# probe naming each region, `failover check` passing, arc-local's DNS answering on 127.0.0.1:8653, the
# regional gateways' /ready on the host, the console's URL in the logs, and every image's /health
# naming the commit it was built from (not "unknown"). `docker compose down -v` always runs at the end.
# Traffic goes only to 127.0.0.1 and between the project's containers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

say() { printf '\n==> %s\n' "$*"; }
die() { echo "readme-compose: $*" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  local rc=$?
  say "cleanup: docker compose down -v"
  (cd "$repo" && docker compose --profile tools down -v --remove-orphans --timeout 10 >"$work/down.log" 2>&1) ||
    cat "$work/down.log" >&2
  rm -rf "$work" "$repo/arc-ca.pem"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A stack left by an interrupted run would hold the ports.
docker compose --profile tools down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true

# block NAME: the shell text of the README block marked compose-test: NAME (the fenced block after it).
block() {
  python3 - "$1" "$repo/README.md" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
m = re.search(r"<!-- compose-test: " + re.escape(name) + r" -->\s*```sh\n(.*?)```", text, re.S)
if not m:
    sys.exit(f"README.md has no block marked compose-test: {name}")
print(m.group(1), end="")
PY
}

# run NAME: runs the block in a fresh shell; its output is kept in $work/NAME.out and shown.
run() {
  local name=$1 script="$work/$1.sh"
  {
    echo 'set -euo pipefail'
    # `docker compose up` as a terminal left running: detached, waiting until every service is healthy.
    # shellcheck disable=SC2016 # written into the script, expanded when it runs
    echo 'docker() { if [[ "$1 $2" == "compose up" ]]; then shift 2; command docker compose up -d --wait --wait-timeout 180 "$@"; else command docker "$@"; fi; }'
    block "$name"
  } >"$script"
  say "README block '$name'"
  sed 's/^/    | /' < <(block "$name")
  if ! (cd "$repo" && PATH="$repo/target/x86_64-unknown-linux-gnu/release:$PATH" bash "$script") \
      >"$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    docker compose ps -a >&2 || true
    docker compose logs --tail 20 >&2 || true
    die "README block '$name' failed"
  fi
  cat "$work/$name.out"
}

expect() { # expect NAME PATTERN WHAT
  grep -Eq -- "$2" "$work/$1.out" || die "README block '$1': expected $3 (/$2/) in its output"
}

run up-prebuilt
run try
expect try '"service": "service1"' "service1's JSON from curl"
expect try 'us-west-2' "the probe and status naming us-west-2 after the switches"
expect try 'http://127\.0\.0\.1:8700' "the console's URL in its log"
run host
expect host '(^|[[:space:]])ready: ' "failover check's verdict (ready: ...)"
expect host '^[0-9]+(\.[0-9]+){3}$' "an address from arc-local's DNS on 127.0.0.1:8653"
expect host '"status": ?"ready"' "gateway-us-east-1's /ready on 127.0.0.1:8081"
expect host '^gateway_requests_total' "gateway-us-east-1's metrics on its admin port 127.0.0.1:9091"

say "every image reports the commit it was built from"
commit=$(git rev-parse HEAD)
for port in 8080 8081 8082 8181 8182 8281 8282; do
  health=$(curl -fsS "http://127.0.0.1:$port/health")
  [[ $health == *"\"commit\":\"$commit\""* ]] || die "127.0.0.1:$port/health says $health, not commit $commit"
done
echo "all seven report $commit"
echo "readme-compose: 3 passed, 0 failed"
