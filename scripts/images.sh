#!/usr/bin/env bash
# Builds the three images exactly as the Dockerfiles say, with podman, on a machine that has no
# Docker engine and reaches no image registry (../shared/docs/containers-here.md):
#   1. localhost/debian:bookworm-slim — debootstrap (minbase) from the machine's own Debian mirror;
#   2. localhost/swift:6.3.1-bookworm — a stand-in for the official Swift image: that Debian base, the
#      packages the toolchain needs, and this machine's git `insteadOf` rules (the Swift package mirror);
#      the toolchain and the mirror are bind-mounted read-only at their own paths during the build;
#   3. localhost/mediapipeline/{uploader,processor,devstorage}:test from the unchanged Dockerfiles.
# Base images stay in podman's store between runs on the same machine; a new machine builds them.
# Only this script knows about the stand-ins: the Dockerfiles stay valid against Docker Hub.
#
#   scripts/images.sh                 # base images if missing, then the three images
#   TAG=dev scripts/images.sh         # another tag
#   scripts/images.sh binaries DIR    # also copy the release binaries out of the shared build stage
#                                     # (what the images ship, plus storagetool) for Tests/deploy
set -euo pipefail
cd "$(dirname "$0")/.."

export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/Tests/images/containers.conf}
TAG=${TAG:-test}
SWIFT_IMAGE=$(awk '/^FROM swift:/{print $2; exit}' Dockerfile.uploader)          # swift:6.3.1-bookworm
BASE_IMAGE=debian:bookworm-slim

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The toolchain root (…/usr/bin/swift → …) and the package mirror (the insteadOf rules' target).
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
mirrors=$(git config --system --get-regexp '^url\..*\.insteadof$' | awk '{sub(/^url\./,"",$1); sub(/\.insteadof$/,"",$1); print $1}' | sort -u)

base_image() {
    if podman image exists "localhost/$BASE_IMAGE"; then return; fi
    local mirror rootfs
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    rootfs=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
    log "debootstrap bookworm (minbase) from the machine's Debian mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
    # What the official slim image also leaves out: package caches and lists.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - "localhost/$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
}

swift_image() {
    if podman image exists "localhost/$SWIFT_IMAGE"; then return; fi
    local dir
    dir=$(mktemp -d)
    # The same insteadOf rules as this machine, so `swift package resolve` reads the local mirror.
    git config --system --get-regexp '^url\..*\.insteadof$' | while read -r key value; do
        git config --file "$dir/gitconfig" --add "$key" "$value"
    done
    cat >"$dir/Containerfile" <<EOF
FROM localhost/$BASE_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils git gnupg2 libc6-dev \\
      libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev \\
      libz3-dev pkg-config tzdata zlib1g-dev ca-certificates libncurses6 libicu72 libuuid1 \\
 && rm -rf /var/lib/apt/lists/*
COPY gitconfig /etc/gitconfig
ENV PATH=$toolchain/usr/bin:\$PATH
EOF
    log "stand-in for $SWIFT_IMAGE (toolchain $toolchain, bind-mounted at build time)"
    podman build -q --network host -t "localhost/$SWIFT_IMAGE" "$dir" >/dev/null
    rm -rf "$dir"
}

mounts=(-v "$toolchain:$toolchain:ro")
for m in $mirrors; do mounts+=(-v "$m:$m:ro"); done

build() {
    local name=$1
    log "podman build Dockerfile.$name → localhost/mediapipeline/$name:$TAG"
    # --format docker: the OCI format has no HEALTHCHECK. --layers: the build stage, identical in the
    # three Dockerfiles, is compiled once and reused from the layer cache.
    if ! podman build --format docker --layers --network host "${mounts[@]}" \
        -f "Dockerfile.$name" -t "localhost/mediapipeline/$name:$TAG" . >"$logs/$name.log" 2>&1; then
        tail -40 "$logs/$name.log" >&2
        log "podman build of Dockerfile.$name failed (whole log: $logs/$name.log)"
        return 1
    fi
    log "$(grep -c -- '--> Using cache' "$logs/$name.log") of $(grep -c '^\[.*STEP' "$logs/$name.log") steps from the layer cache"
}

logs=${IMAGES_LOG_DIR:-$(mktemp -d /tmp/images-build.XXXXXX)}
# The build stage all three Dockerfiles share, tagged (from the layer cache: no second compile), and
# its binaries copied out, so the deployment checks test exactly what the images ship.
binaries() {
    local dest=$1
    mkdir -p "$dest"
    podman build --format docker --layers --network host "${mounts[@]}" --target build -f Dockerfile.uploader \
        -t "localhost/mediapipeline/build:$TAG" . >"$logs/build-stage.log" 2>&1 \
        || { tail -40 "$logs/build-stage.log" >&2; return 1; }
    podman run --rm --network none -v "$(readlink -f "$dest"):/dest" "localhost/mediapipeline/build:$TAG" \
        sh -c 'cp /out/* /dest/'
    log "release binaries from the build stage in $dest: $(cd "$dest" && echo *)"
}

start=$(date +%s)
base_image
swift_image
for name in ${IMAGES:-uploader processor devstorage}; do build "$name"; done
if [ "${1:-}" = binaries ]; then binaries "${2:?binaries DIR}"; fi
# Untagged layers of earlier runs would fill the disk run after run; the last days' stay as cache.
podman image prune -f --filter until=72h >/dev/null || true
log "images ready in $(( $(date +%s) - start )) s"
podman images --format "{{.Repository}}:{{.Tag}} {{.Size}}" | grep "mediapipeline/.*:$TAG" >&2 || true
