# syntax=docker/dockerfile:1
# Build: docker build -t hookgate .
# Run:   docker run -p 8080:8080 -v "$PWD/hookgate.toml:/etc/hookgate/hookgate.toml:ro" hookgate

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# The manifest declares the benches and examples: cargo wants them present to read it.
COPY src ./src
COPY benches ./benches
COPY examples ./examples
RUN cargo build --release --locked --bin hookgate \
    && strip target/release/hookgate

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin hookgate \
    && mkdir -p /etc/hookgate
COPY --from=build /src/target/release/hookgate /usr/local/bin/hookgate
USER 10001
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/hookgate"]
CMD ["run", "--config", "/etc/hookgate/hookgate.toml"]
