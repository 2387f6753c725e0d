# syntax=docker/dockerfile:1
# The okienko image: the release binary, the five demo cities, nothing else.
#
#   docker build -t okienko:0.1.0 .
#   docker run --rm -p 8080:8080 -v okienko-data:/var/lib/okienko okienko:0.1.0
#
# The builder is Debian 12 (bookworm) like the runtime, so the binary finds the same glibc.
# SQLite is compiled into the binary and TLS is rustls with its own root certificates: the
# runtime needs nothing but libc and libgcc (distroless/cc). No Docker engine runs where this
# project is built and tested, so this file is checked by helm/tests/test_chart.py (it agrees
# with the chart) but not built there.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin okienko \
    && install -D -m 0755 target/release/okienko /out/okienko \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/okienko /usr/local/bin/okienko
COPY policies /usr/share/okienko/policies
# The data directory (SQLite, e-mail files, sms.log, secret.key) belongs to the runtime user;
# everything else is root's and read-only to it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/okienko
ENV OKIENKO_LISTEN=0.0.0.0:8080 OKIENKO_DATA_DIR=/var/lib/okienko OKIENKO_POLICIES=/usr/share/okienko/policies
WORKDIR /var/lib/okienko
VOLUME /var/lib/okienko
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/okienko"]
CMD ["serve"]
