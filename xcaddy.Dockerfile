# qfsign's image: the release build (scripts/xcaddy-build.sh, which CI also
# runs without Docker) on a minimal non-root runtime.
#
#   docker build -f xcaddy.Dockerfile \
#     --build-arg QFSIGN_VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg QFSIGN_COMMIT="$(git rev-parse HEAD)" \
#     -t ghcr.io/<you>/qfsign:"$(git describe --tags --always --dirty)" .
#
# Tag the image with qfsign's version, never Caddy's: the binary reports
# the same (`qfsign version`: qfsign-<version>+<commit> v2.11.9 ...).
#
# Base images are pinned to exact versions. To pin them by digest as well,
# pass the digests your registry shows, e.g.
#   --build-arg BUILDER_IMAGE=caddy:2.11.9-builder@sha256:<digest>
#   --build-arg RUNTIME_IMAGE=alpine:3.20.3@sha256:<digest>
#
# A binary built elsewhere (CI builds it with the same script): pass an
# image holding it at /out/qfsign, e.g. FROM scratch + COPY qfsign
# /out/qfsign, as --build-arg BINARY_IMAGE=<that image>; the builder stage
# is then not built (BuildKit, and podman build, skip unused stages). The
# runtime needs a shell, mkdir and chown for its data directory, wget for
# the health check, CA certificates, and /etc/passwd with uid 65532 or
# none (tests/image assembles one from busybox-static).
ARG BUILDER_IMAGE=caddy:2.11.9-builder
ARG RUNTIME_IMAGE=alpine:3.20.3
ARG BINARY_IMAGE=builder

FROM ${BUILDER_IMAGE} AS builder
ARG QFSIGN_VERSION=dev
ARG QFSIGN_COMMIT=unknown
# getcap for the build script's check that the binary has no capability.
RUN apk add --no-cache libcap
WORKDIR /src
COPY . /src
# The builder image sets XCADDY_SETCAP=1; the script sets it to 0, so the
# binary runs under capabilities: drop [ALL].
ENV XCADDY_SETCAP=0
RUN QFSIGN_VERSION="$QFSIGN_VERSION" QFSIGN_COMMIT="$QFSIGN_COMMIT" sh scripts/xcaddy-build.sh /out/qfsign

FROM ${BINARY_IMAGE} AS binary

# Not FROM caddy:2.11.9: that image runs as root, exposes the admin port
# 2019 and ships a setcap'd binary. Alpine keeps CA certificates (QFPay and
# Vault over TLS) and busybox wget for the health check.
FROM ${RUNTIME_IMAGE}
ARG QFSIGN_VERSION=dev
ARG QFSIGN_COMMIT=unknown
LABEL org.opencontainers.image.title="qfsign" \
	org.opencontainers.image.description="Signing gateway for the QFPay API (Caddy modules)" \
	org.opencontainers.image.version="${QFSIGN_VERSION}" \
	org.opencontainers.image.revision="${QFSIGN_COMMIT}"
COPY --from=binary /out/qfsign /usr/bin/qfsign
COPY Caddyfile.example /etc/qfsign/Caddyfile
RUN mkdir -p /var/lib/qfsign/data /var/lib/qfsign/config && chown -R 65532:65532 /var/lib/qfsign
# Caddy's state (autosave.json, locks) and the default file store
# (qfsign/store.db: out_trade_no records, notification acknowledgements) in
# a directory the user owns: mount a volume there (deployment.yaml), or
# the records go with the container.
ENV XDG_DATA_HOME=/var/lib/qfsign/data \
	XDG_CONFIG_HOME=/var/lib/qfsign/config \
	QFPAY_ENV=production
# QFPAY_ENV=production: credentials given to this image reach QFPay, never
# the embedded double; without credentials the config does not load. For
# a demo with the double: docker run -e QFPAY_ENV=embedded ...
USER 65532:65532
# Ports: 8080 (QFSIGN_PORT) for the application on loopback by default;
# set QFSIGN_BIND=0.0.0.0 to publish it. The admin API is not exposed.
EXPOSE 8080
# Keys loaded once (the startup probe of Caddyfile.example's site).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
	CMD wget -q -O /dev/null "http://127.0.0.1:${QFSIGN_PORT:-8080}/healthz/startup" || exit 1
ENTRYPOINT ["/usr/bin/qfsign"]
CMD ["run", "--config", "/etc/qfsign/Caddyfile", "--adapter", "caddyfile"]
