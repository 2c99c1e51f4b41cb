# syntax=docker/dockerfile:1
#
# hookd container image.
#
#   docker build -t hookd .
#   docker run -d -p 8080:8080 -v hookd:/data hookd
#
# Build stage: the official Rust image (stable), on Debian 12 "bookworm" so the binary's glibc
# requirement matches the runtime stage below (a binary built on a newer Debian can need a
# newer glibc than distroless/cc-debian12 ships).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and build artefacts between builds (BuildKit); the
# binary is copied out of the mounted target dir so the next stage can see it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin hookd \
    && install -D -m 0755 target/release/hookd /out/hookd
# The data dir, owned by the runtime stage's non-root user (distroless "nonroot", uid/gid
# 65532): distroless has no shell to mkdir/chown in, and a fresh named volume mounted on
# /data takes this directory's ownership, so hookd can write its store there.
RUN install -d -o 65532 -g 65532 -m 0750 /out/data

# Runtime stage: distroless with glibc and libgcc (the binary links glibc dynamically), no
# shell, no package manager, running as the non-root user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/hookd /hookd
COPY --from=build --chown=65532:65532 /out/data /data
ENV HOOKD_LISTEN=0.0.0.0:8080 \
    HOOKD_DATA_DIR=/data
USER 65532:65532
VOLUME /data
EXPOSE 8080
# `hookd healthcheck` GETs /healthz on the listen address (0.0.0.0 is reached as 127.0.0.1)
# and exits 0 on a 200 within 2 s: no shell or curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/hookd", "healthcheck"]
ENTRYPOINT ["/hookd"]
CMD ["serve"]
