# The kitshop image: the static `shop` binary on an empty (scratch) root, run
# as a non-root user. One image runs any service - `shop usersvc`,
# `shop productsvc`, `shop ordersvc`, `shop gateway` - or, with no arguments,
# the whole shop in one container. docs/CONTAINERS.md explains the choices.
#
#   docker build -t kitshop:local .        compile in golang:1.26 (needs the network)
#   scripts/docker-build-offline.sh        compile on the host, pull nothing
#
# There is deliberately no "# syntax=" line (BuildKit would pull a frontend
# image for it) and nothing BuildKit-only (RUN --mount, COPY --chmod): the
# file builds with BuildKit and with the legacy builder that docker-compose v1
# uses on an engine without buildx.

ARG GO_IMAGE=golang:1.26
ARG ROOTFS=scratch

# ---- runtime: the image's settings ------------------------------------------
# Over scratch here; the default target below adds the compiled files. The
# offline build instead sets ROOTFS to a root file system imported from a
# binary built on the host and builds --target runtime. This stage comes
# first because the legacy builder runs every stage up to its target: built
# alone it never reaches golang:1.26, and there is nothing to pull.
FROM ${ROOTFS} AS runtime
WORKDIR /
# The default DATABASE_URL of each service, sqlite:./data/<service>.db, is
# then /data/<service>.db: the volume the non-root user owns.
USER 65532:65532
EXPOSE 8080 8081 8082 8083
STOPSIGNAL SIGTERM
# The default command runs the whole shop, whose gateway is on :8080. A
# single service checks itself with `shop <service> -healthcheck` (GET
# /healthz on its HTTP_ADDR); docker-compose.yml sets that per service.
HEALTHCHECK --interval=5s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/shop", "gateway", "-healthcheck"]
ENTRYPOINT ["/usr/local/bin/shop"]
CMD []
VOLUME ["/data"]

# ---- build: one static binary -----------------------------------------------
FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/shop ./cmd/shop \
 && mkdir -p /out/data \
 && cp /etc/ssl/certs/ca-certificates.crt /out/

# ---- image (default target): the settings above plus the compiled files -----
FROM runtime AS image
COPY --from=build /out/shop /usr/local/bin/shop
# For TLS to a database (a postgres:// DATABASE_URL with sslmode=verify-full).
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# scratch has no mkdir: the empty directory is made in the build stage and
# copied with its owner, which a new named volume on /data then inherits.
COPY --from=build --chown=65532:65532 /out/data /data
