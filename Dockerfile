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

FROM runtime AS service1-prebuilt
ARG BIN_DIR
COPY ${BIN_DIR}/service1 /service1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service1", "healthcheck"]
ENTRYPOINT ["/service1"]

FROM runtime AS service2-prebuilt
ARG BIN_DIR
COPY ${BIN_DIR}/service2 /service2
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/service2", "healthcheck"]
ENTRYPOINT ["/service2"]

FROM runtime AS arc-local-prebuilt
ARG BIN_DIR
COPY ${BIN_DIR}/arc-local /arc-local
ENV ARC_LOCAL_STATE=/data/state.json
EXPOSE 8600-8604 8653/udp 8653/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/arc-local", "healthcheck"]
ENTRYPOINT ["/arc-local"]

# failover is an operator's command, not a server: nothing to check.
FROM runtime AS failover-prebuilt
ARG BIN_DIR
COPY ${BIN_DIR}/failover /failover
HEALTHCHECK NONE
ENTRYPOINT ["/failover"]
CMD ["--help"]

FROM runtime AS gateway-prebuilt
ARG BIN_DIR
COPY ${BIN_DIR}/gateway /gateway
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]

# ---------------------------------------------------------------------------------------------------
# Source path: build in the official Rust image. Stages from here on pull it.

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    RUSTFLAGS="-C target-feature=+crt-static"

# Dependency layer: the manifests and stub sources only, so editing the code does not rebuild the
# ~300 dependencies. Keep this list in step with the workspace members in Cargo.toml.
COPY Cargo.toml Cargo.lock ./
COPY crates/bootstrap/Cargo.toml crates/bootstrap/
COPY crates/sample-service/Cargo.toml crates/sample-service/
COPY crates/recovery/Cargo.toml crates/recovery/
COPY gateway/Cargo.toml gateway/
COPY service1/Cargo.toml service1/
COPY service2/Cargo.toml service2/
COPY arc-local/Cargo.toml arc-local/
COPY failover/Cargo.toml failover/
RUN for crate in crates/bootstrap crates/sample-service crates/recovery gateway service1 service2 arc-local failover; do \
      mkdir -p "$crate/src" && : > "$crate/src/lib.rs" && echo 'fn main() {}' > "$crate/src/main.rs"; \
    done \
 && cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && rm -rf crates/*/src gateway/src service1/src service2/src arc-local/src failover/src

# The workspace itself. touch: the copied sources may carry mtimes older than the stub build.
COPY crates crates
COPY gateway gateway
COPY service1 service1
COPY service2 service2
COPY arc-local arc-local
COPY failover failover
RUN find crates gateway service1 service2 arc-local failover -name '*.rs' -exec touch {} + \
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
