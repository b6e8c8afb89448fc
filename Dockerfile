# tokenmint container image (docs/operations.md, "Deployment").
#   docker build -t tokenmint .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://... -e TOKENMINT_PUBLIC_URL=https://... \
#     -e TOKENMINT_MASTER_KEY=... -e TOKENMINT_ADMIN_TOKEN=... tokenmint
# Production mode needs a PostgreSQL DATABASE_URL; migrations are embedded in the binary.
#
# What this builds is what CI (.ci/run) checks, and .ci/run fails when the two drift apart:
# - toolchain: the builder image's Rust version is rust-toolchain.toml's channel, exactly;
# - dependencies: `--locked`, the committed Cargo.lock, as every cargo command of .ci/run;
# - features: the defaults (the crate defines no features; neither side passes any);
# - platform: Debian bookworm, x86_64 glibc, like CI's machine.
# The one difference is the profile: CI compiles, lints and tests the dev profile; the image is
# `--release` (Cargo.toml [profile.release]: thin LTO), the profile bench/run.sh measures. No code
# depends on the profile (there is no cfg(debug_assertions) in src/).

# ---- build ----------------------------------------------------------------------------------
FROM rust:1.95.0-bookworm AS builder
WORKDIR /src
COPY . .
# The image tag already pins the toolchain; rust-toolchain.toml would only make rustup fetch
# extra components (rustfmt, clippy) that a release build does not need.
RUN rm -f rust-toolchain.toml
# Cache mounts (BuildKit, the default builder) keep the crate registry and compiled dependencies
# between builds.
# The target dir is a cache mount, so the binary is copied out within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin tokenmint \
    && cp target/release/tokenmint /usr/local/bin/tokenmint

# ---- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim
# DL3008 (pin apt versions): ca-certificates must follow Debian's security updates, and bookworm
# drops superseded versions from its archive, so an exact pin would break the build the day the
# package is updated. The base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 tokenmint \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin tokenmint
WORKDIR /app
COPY --from=builder /usr/local/bin/tokenmint /usr/local/bin/tokenmint
# Read-only for the service user. Config is read from ./config (compiled-in copies otherwise);
# migrations are embedded in the binary and copied only for reference.
COPY config ./config
COPY migrations ./migrations
# Writable only where sandbox mode keeps its SQLite database (data/ relative to /app).
RUN install -d -o tokenmint -g tokenmint -m 0750 /app/data
# DL3064 (sensitive data in ENV) matches the "TOKEN" in the product's name: these are the listen
# address, the mode and the config folder. No secret is ever baked into the image; pass
# TOKENMINT_MASTER_KEY, TOKENMINT_ADMIN_TOKEN and DATABASE_URL at run time.
# hadolint ignore=DL3064
ENV TOKENMINT_LISTEN=0.0.0.0:8080 \
    TOKENMINT_MODE=production \
    TOKENMINT_CONFIG_DIR=/app/config
EXPOSE 8080
# Numeric, so an orchestrator can check it is not root (runAsNonRoot) without an /etc/passwd.
USER 10001:10001
# `tokenmint healthcheck` GETs http://127.0.0.1:8080/healthz and exits 0 or 1 (no curl needed).
# With another TOKENMINT_LISTEN port, override it: --health-cmd 'tokenmint healthcheck --url ...'.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/tokenmint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tokenmint"]
CMD ["serve"]
