#!/usr/bin/env bash
# Builds the kitshop image without pulling anything: the static binary is
# compiled here, on the host (Go's build cache makes a rebuild cheap), packed
# with an empty /data owned by the image's user into a root file system that
# `docker import` turns into a local image, and the Dockerfile's `runtime`
# stage puts the image's settings (user, entrypoint, healthcheck, volume) on
# top of it. Online, `docker compose up --build` compiles in golang:1.26
# instead; both give the same image. See docs/CONTAINERS.md.
#
#   scripts/docker-build-offline.sh              tags kitshop:local, as docker-compose.yml expects
#   KITSHOP_IMAGE=kitshop:dev scripts/docker-build-offline.sh
#
# Needs: go, docker, tar (GNU or bsdtar).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${KITSHOP_IMAGE:-kitshop:local}
rootfs_tag="kitshop-rootfs:build-$$"
uid=65532 # the Dockerfile's USER

work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	docker rmi "$rootfs_tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The engine may run elsewhere (Docker Desktop, a remote host): build for its
# OS and architecture, not the host's.
arch=$(docker version --format '{{.Server.Arch}}')
echo "== go build ./cmd/shop (linux/$arch, static)"
root="$work/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/data"
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
	go build -trimpath -ldflags="-s -w" -o "$root/usr/local/bin/shop" ./cmd/shop

# CA certificates, as the golang:1.26 build copies them (for TLS to a
# database); the first bundle found on the host.
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
	if [[ -f $bundle ]]; then
		cp "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"
		break
	fi
done
[[ -f $root/etc/ssl/certs/ca-certificates.crt ]] || {
	echo "no CA bundle found on this host; the image will have none (only TLS needs it)" >&2
	rmdir "$root/etc/ssl/certs" "$root/etc/ssl" "$root/etc"
}
chmod 0755 "$root" "$root/data"

# Everything belongs to root except /data, which the service user must be
# able to write; a new named volume on /data copies that owner.
tarball="$work/rootfs.tar"
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
	same=(--numeric-owner --sort=name --mtime=@0)
	tar -C "$root" "${same[@]}" --owner=0 --group=0 --exclude=./data -cf "$tarball" .
	tar -C "$root" "${same[@]}" --owner="$uid" --group="$uid" -rf "$tarball" ./data
else # bsdtar (macOS)
	tar -C "$root" --numeric-owner --uid 0 --gid 0 --exclude ./data -cf "$tarball" .
	tar -C "$root" --numeric-owner --uid "$uid" --gid "$uid" -rf "$tarball" ./data
fi
docker import --message "kitshop root file system, built on the host" "$tarball" "$rootfs_tag" >/dev/null

echo "== docker build --target runtime -t $image (FROM $rootfs_tag: nothing to pull)"
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
mkdir "$work/context" # the runtime stage copies nothing from a context
docker build --force-rm --target runtime --build-arg ROOTFS="$rootfs_tag" \
	-f Dockerfile -t "$image" "$work/context"

# The image this build replaced is now untagged: remove it unless a container still uses it.
current=$(docker image inspect --format '{{.Id}}' "$image")
if [[ -n $previous && $previous != "$current" && -z $(docker image inspect --format '{{join .RepoTags " "}}' "$previous" 2>/dev/null) ]]; then
	docker rmi "$previous" >/dev/null 2>&1 || true
fi

size=$(docker image inspect --format '{{.Size}}' "$image")
echo "== $image: $((size / 1000)) kB ($(docker image inspect --format '{{.Id}}' "$image" | cut -c1-19))"
