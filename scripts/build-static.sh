#!/usr/bin/env bash
# Builds the workspace's binaries as static release executables on the host, for container images that
# start FROM scratch without pulling anything (the Dockerfile's `*-prebuilt` targets copy them from
# target/x86_64-unknown-linux-gnu/release/).
#
#   scripts/build-static.sh            # gateway service1 service2 arc-local failover
#   scripts/build-static.sh --check    # also fail unless every binary is statically linked
#
# Static glibc (crt-static) binaries resolve names through /etc/hosts and /etc/resolv.conf, which is
# all a container on a Docker network needs (the embedded DNS server at 127.0.0.11).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=x86_64-unknown-linux-gnu
BINARIES=(gateway service1 service2 arc-local failover)
out="target/$TARGET/release"

# /health names the commit the images were built from (the caller's BUILD_COMMIT wins).
BUILD_COMMIT=${BUILD_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
export BUILD_COMMIT

bin_args=()
for b in "${BINARIES[@]}"; do bin_args+=(--bin "$b"); done

echo "==> static release build ($TARGET, crt-static): ${BINARIES[*]}"
started=$SECONDS
# Append to any RUSTFLAGS the caller set; crt-static makes glibc link statically.
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" "${bin_args[@]}"

for b in "${BINARIES[@]}"; do
  f="$out/$b"
  [[ -x "$f" ]] || { echo "build-static: $f is missing" >&2; exit 1; }
  # A dynamically linked executable has a PT_INTERP program header; a static one has none.
  if LC_ALL=C readelf -lW "$f" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "build-static: $f is dynamically linked" >&2
    exit 1
  fi
  printf '%-10s %6s KiB  %s\n' "$b" "$(( $(stat -c %s "$f") / 1024 ))" "$f"
done
echo "==> static binaries built in $((SECONDS - started)) s"
