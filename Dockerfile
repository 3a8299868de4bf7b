# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are compiled in a layer of their own (cargo-chef), so a
# change to casebridge's code rebuilds only casebridge.

FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# The same SQLite build flag as .cargo/config.toml (one page cache per connection, no shared
# mutex), set before the dependency layer is cooked so that layer is built with it too.
ENV LIBSQLITE3_FLAGS=-USQLITE_ENABLE_MEMORY_MANAGEMENT
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json -p casebridge-api
COPY . .
RUN cargo build --release -p casebridge-api --bin casebridge \
 && install -D target/release/casebridge /out/casebridge

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 casebridge \
 && useradd --system --uid 10001 --gid casebridge --home-dir /data --shell /usr/sbin/nologin casebridge \
 && mkdir -p /data && chown casebridge:casebridge /data
COPY --from=builder /out/casebridge /usr/local/bin/casebridge
USER casebridge:casebridge
ENV CASEBRIDGE_BIND=0.0.0.0:8080 \
    CASEBRIDGE_DATA_DIR=/data \
    CASEBRIDGE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["casebridge", "healthcheck"]
ENTRYPOINT ["casebridge"]
CMD ["serve"]
