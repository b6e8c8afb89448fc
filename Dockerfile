# tokenmint container image.
#   docker build -t tokenmint .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://... -e TOKENMINT_ADMIN_TOKEN=... tokenmint
# Production mode needs a PostgreSQL DATABASE_URL; migrations are embedded in the binary.

# ---- build ----------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
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
ENV TOKENMINT_LISTEN=0.0.0.0:8080 \
    TOKENMINT_MODE=production \
    TOKENMINT_CONFIG_DIR=/app/config
EXPOSE 8080
USER tokenmint
# `tokenmint healthcheck` GETs http://127.0.0.1:8080/healthz and exits 0 or 1 (no curl needed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/tokenmint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tokenmint"]
CMD ["serve"]
