# One Dockerfile for every binary of the workspace. Each image is FROM scratch: one static executable at
# /<binary>, run as the non-root user 65532, nothing else in it (no shell, no package manager), so it
# also runs with a read-only root filesystem (compose: read_only: true; ECS: readonlyRootFilesystem).
# Its HEALTHCHECK runs the binary's own `healthcheck` subcommand, as the ECS task definitions do.
#
# Two ways to the same images:
#
#   From source (the default; pulls the official Rust image and crates):
#     docker build --target gateway -t multi-region-api/gateway .
#     targets: gateway, service1, service2, arc-local, failover
#
#   Prebuilt, for machines without an image registry (pulls nothing):
#     scripts/build-static.sh     # static binaries into target/x86_64-unknown-linux-gnu/release/
#     docker build --target gateway-prebuilt -t multi-region-api/gateway .
#     targets: gateway-prebuilt, service1-prebuilt, service2-prebuilt, arc-local-prebuilt, failover-prebuilt
#
# Stage order matters. Without BuildKit the legacy builder builds every stage from the top down to the
# requested target, so all the prebuilt stages come before the first stage that names a remote image
# (the Rust builder): building a *-prebuilt target never touches a registry.
#
# Build arguments: VERSION, REVISION (git commit), SOURCE (repository URL) become OCI labels;
# RUST_VERSION picks the builder image; BIN_DIR is where the prebuilt binaries are in the context.
# REVISION is also compiled into the source path's binaries as BUILD_COMMIT, which every binary reports
# in /health ({"status":"ok","version":...,"commit":...}); a prebuilt binary carries the BUILD_COMMIT of
# its host build (scripts/build-static.sh sets it to the checkout's HEAD). Without REVISION, the source
# path reads the commit from the context's .git/HEAD and refs (crates/bootstrap/build.rs).

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/example/multi-region-api
ARG RUST_VERSION=1.95
ARG BIN_DIR=target/x86_64-unknown-linux-gnu/release

# ---------------------------------------------------------------------------------------------------
# Common runtime: labels, the unprivileged user, an empty /data owned by that user (arc-local keeps its
# state there; a named volume mounted on it starts with this ownership). scratch is not pulled.
FROM scratch AS runtime
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT-0" \
      org.opencontainers.image.vendor="example.com" \
      org.opencontainers.image.title="multi-region-api" \
      org.opencontainers.image.description="Multi-region REST API with independent failover"
# compose/empty/ holds only a .gitkeep, which .dockerignore leaves out: this creates an empty directory.
COPY --chown=65532:65532 compose/empty /data
USER 65532:65532

# ---------------------------------------------------------------------------------------------------
# Prebuilt path: static binaries from the host (scripts/build-static.sh). No remote image above here.
# The legacy builder also runs these stages on its way to a source-path target, on machines that never
# built the static binaries: so each COPY names the binary by a pattern plus the always-present empty
# directory, and copies nothing (instead of failing) when the binary is absent. A prebuilt image made
# without running scripts/build-static.sh first then fails at start with "/gateway: no such file".

FROM runtime AS service1-prebuilt
ARG BIN_DIR
COPY compose/empty ${BIN_DIR}/service1* /
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service1", "healthcheck"]
ENTRYPOINT ["/service1"]

FROM runtime AS service2-prebuilt
ARG BIN_DIR
COPY compose/empty ${BIN_DIR}/service2* /
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service2", "healthcheck"]
ENTRYPOINT ["/service2"]

FROM runtime AS arc-local-prebuilt
ARG BIN_DIR
COPY compose/empty ${BIN_DIR}/arc-local* /
ENV ARC_LOCAL_STATE=/data/state.json
EXPOSE 8600-8604 8653/udp 8653/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/arc-local", "healthcheck"]
ENTRYPOINT ["/arc-local"]

# failover is an operator's command, not a server: nothing to check.
FROM runtime AS failover-prebuilt
ARG BIN_DIR
COPY compose/empty ${BIN_DIR}/failover* /
HEALTHCHECK NONE
ENTRYPOINT ["/failover"]
CMD ["--help"]

FROM runtime AS gateway-prebuilt
ARG BIN_DIR
COPY compose/empty ${BIN_DIR}/gateway* /
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]

# ---------------------------------------------------------------------------------------------------
# Source path: build in the official Rust image (`cargo build --locked`, static glibc, as
# scripts/build-static.sh does on the host). Stages from here on pull it.

# The workspace's manifests, each package given stub sources: what the dependency layer below needs.
# Whatever else changes in the context, this stage's output stays the same (COPY's cache key is the
# files' contents, not their times), so the dependencies are rebuilt only when a manifest changes.
FROM rust:${RUST_VERSION}-slim-bookworm AS manifests
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
RUN rm -rf target \
 && find . -type f ! -name Cargo.toml ! -name Cargo.lock -delete \
 && find . -mindepth 2 -name Cargo.toml -printf '%h\n' | while read -r dir; do \
      mkdir -p "$dir/src" && : > "$dir/src/lib.rs" && echo 'fn main() {}' > "$dir/src/main.rs"; \
    done

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    RUSTFLAGS="-C target-feature=+crt-static"
# Dependency layer: ~300 crates compiled once, from the manifests and stubs only.
COPY --from=manifests /src ./
RUN cargo build --release --locked --target x86_64-unknown-linux-gnu
# The workspace itself. touch: the copied sources may carry mtimes older than the stub build's outputs.
# BUILD_COMMIT (after the dependency layer, which it would otherwise invalidate per commit): the commit
# every binary reports in /health.
ARG REVISION
ENV BUILD_COMMIT=${REVISION} \
    BUILD_COMMIT_FROM_GIT=1
COPY . .
RUN rm -rf target/x86_64-unknown-linux-gnu/release/gateway target/x86_64-unknown-linux-gnu/release/service1 \
      target/x86_64-unknown-linux-gnu/release/service2 target/x86_64-unknown-linux-gnu/release/arc-local \
      target/x86_64-unknown-linux-gnu/release/failover \
 && find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --target x86_64-unknown-linux-gnu \
      --bin gateway --bin service1 --bin service2 --bin arc-local --bin failover \
 && mkdir /out \
 && cp target/x86_64-unknown-linux-gnu/release/gateway \
       target/x86_64-unknown-linux-gnu/release/service1 \
       target/x86_64-unknown-linux-gnu/release/service2 \
       target/x86_64-unknown-linux-gnu/release/arc-local \
       target/x86_64-unknown-linux-gnu/release/failover /out/

# ---------------------------------------------------------------------------------------------------
# Final images of the source path: the same as the prebuilt ones, binaries from the builder.

FROM runtime AS service1
COPY --from=builder /out/service1 /service1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service1", "healthcheck"]
ENTRYPOINT ["/service1"]

FROM runtime AS service2
COPY --from=builder /out/service2 /service2
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service2", "healthcheck"]
ENTRYPOINT ["/service2"]

FROM runtime AS arc-local
COPY --from=builder /out/arc-local /arc-local
ENV ARC_LOCAL_STATE=/data/state.json
EXPOSE 8600-8604 8653/udp 8653/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/arc-local", "healthcheck"]
ENTRYPOINT ["/arc-local"]

FROM runtime AS failover
COPY --from=builder /out/failover /failover
HEALTHCHECK NONE
ENTRYPOINT ["/failover"]
CMD ["--help"]

# Last, so a plain `docker build .` gives the external API.
FROM runtime AS gateway
COPY --from=builder /out/gateway /gateway
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]
