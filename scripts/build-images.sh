#!/usr/bin/env bash
# Builds the playground images without any registry:
#   playground-base:<inputs-hash> (+ :latest)  debootstrap --variant=minbase
#       bookworm + the toolchains (deploy/docker/base-packages.txt) + the
#       shared libraries the playground binary needs, via `docker import`.
#       Skipped when an image with the same inputs hash exists.
#   playground-workspace:latest, playground-runner:latest  from
#       deploy/docker/Dockerfile, adding the built binary (Docker's layer
#       cache reuses every unchanged step).
# Usage: scripts/build-images.sh [path/to/playground]   (default: $BUILD/playground,
#        BUILD defaulting to build). Needs root (debootstrap) and a running
#        engine (scripts/start-dockerd.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$root/${BUILD:-build}/playground}
[ -x "$binary" ] || { echo "build-images: no playground binary at $binary (build it first)" >&2; exit 1; }
binary=$(readlink -f "$binary")
suite=bookworm
# The mirror apt uses here (deb822 sources or the classic list).
mirror=${PG_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}
"$DOCKER" info >/dev/null 2>&1 || { echo "build-images: the Docker engine does not answer (scripts/start-dockerd.sh)" >&2; exit 1; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

# Debian packages providing the binary's shared libraries (libssl3, ...).
libpkgs=()
while read -r lib; do
  [ -n "$lib" ] || continue
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1 || true)
  [ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1 || true)
  [ -n "$pkg" ] && libpkgs+=("$pkg")
done < <(ldd "$binary" | awk '/=> \// {print $3}')
mapfile -t pkgs < <( (grep -vE '^\s*(#|$)' "$root/deploy/docker/base-packages.txt"; printf '%s\n' "${libpkgs[@]}") | sort -u)
include=$(IFS=,; echo "${pkgs[*]}")
# Bump the version to force a new base image.
hash=$(printf 'base-v1\n%s\n%s\n%s\n' "$suite" "$mirror" "$include" | sha256sum | cut -c1-16)
base=playground-base:$hash

if "$DOCKER" image inspect "$base" >/dev/null 2>&1; then
  echo "build-images: $base is up to date"
else
  command -v debootstrap >/dev/null || { echo "build-images: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
  rootfs=$(mktemp -d /var/tmp/playground-rootfs.XXXXXX)
  trap '$SUDO rm -rf "$rootfs"' EXIT
  echo "build-images: debootstrap $suite from $mirror with $include" >&2
  start=$(date +%s)
  # Downloaded .debs are kept across rebuilds (debootstrap checks them).
  cache=${PG_DEBOOTSTRAP_CACHE:-/var/cache/playground-debootstrap}
  $SUDO mkdir -p "$cache"
  if ! $SUDO debootstrap --variant=minbase --cache-dir="$cache" --include="$include" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
    tail -n 40 "$rootfs.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2
    exit 1
  fi
  rm -f "$rootfs.log"
  # Lean: no package cache, lists, docs or man pages in the image.
  $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/tmp/* "$rootfs"/debootstrap
  $SUDO tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change "LABEL io.playground.base-inputs=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$base" >/dev/null
  echo "build-images: built $base in $(( $(date +%s) - start )) s" >&2
fi
"$DOCKER" tag "$base" playground-base:latest

ctx=$(mktemp -d)
trap '$SUDO rm -rf "${rootfs:-/nonexistent}" "$ctx"' EXIT
cp "$root/deploy/docker/Dockerfile" "$ctx/Dockerfile"
# Without debug info (a tenth of the size). Same content → same COPY
# checksum → cached layer, whatever the mtime.
strip --strip-debug -o "$ctx/playground" "$binary" 2>/dev/null || cp "$binary" "$ctx/playground"
for target in workspace runner; do
  # The classic builder: no buildx plugin is needed.
  if ! DOCKER_BUILDKIT=0 "$DOCKER" build -q --build-arg "BASE=$base" --target "$target" \
    --label "io.playground.base-inputs=$hash" -t "playground-$target:latest" "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2
    exit 1
  fi
  echo "build-images: playground-$target:latest ($("$DOCKER" image inspect -f '{{.Id}}' "playground-$target:latest" | cut -c8-19))"
done
# Dangling images of earlier builds only take disk.
"$DOCKER" image prune -f --filter label=io.playground.base-inputs >/dev/null 2>&1 || true
