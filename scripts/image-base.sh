#!/usr/bin/env bash
# Builds the base images of the container build from Debian packages (no registry image is pulled):
# mmdebstrap writes a Debian bookworm root filesystem as a tarball, and podman, buildah or docker
# imports it as a local image. Usage: bash scripts/image-base.sh [build|runtime|egress]... (default: build runtime)
#
#   localhost/bbmeet-base:build    minbase + Debian's nodejs and npm (only to run `npm ci`, which
#                                  installs the project's Node 24 from the npm `node` package),
#                                  build-essential and python3 (node-gyp, for the native addon)
#   localhost/bbmeet-base:runtime  essential packages + libstdc++6 (Node 24 links it) and
#                                  ca-certificates; user bbmeet (uid 10001) owning /var/lib/bbmeet
#   localhost/bbmeet-base:egress   the runtime base + Debian's ffmpeg (for EGRESS=1)
#
# Environment:
#   BBMEET_DEBIAN_MIRROR  a mirror URL or an APT sources file (default: this machine's
#                         /etc/apt/sources.list.d/debian.sources when it is there, else mmdebstrap's default)
#   BBMEET_IMAGE_TOOL     podman, buildah or docker (default: the first one installed)
#   BBMEET_IMAGE_CACHE    where the tarballs are written (default: .tmp/image in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
CACHE=${BBMEET_IMAGE_CACHE:-.tmp/image}
# Leave out documentation, manual pages and translations: nothing in a server image reads them.
SLIM=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*')
# The runtime user: a fixed uid so that volumes can be prepared on the host (chown 10001).
# "$1" is the root filesystem, expanded by mmdebstrap when it runs the hook, not here.
# shellcheck disable=SC2016
USER_HOOKS=(--customize-hook='echo "bbmeet:x:10001:10001:BBMEET:/var/lib/bbmeet:/usr/sbin/nologin" >> "$1/etc/passwd"'
  --customize-hook='echo "bbmeet:x:10001:" >> "$1/etc/group"'
  --customize-hook='mkdir -p "$1/var/lib/bbmeet" && chown 10001:10001 "$1/var/lib/bbmeet"')

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "image-base: mmdebstrap is missing; install it (Debian: apt-get install -y mmdebstrap)" >&2
  exit 1
fi
tool=${BBMEET_IMAGE_TOOL:-}
if [ -z "$tool" ]; then
  for candidate in podman buildah docker; do
    if command -v "$candidate" >/dev/null 2>&1; then tool=$candidate && break; fi
  done
fi
if [ -z "$tool" ]; then
  echo "image-base: none of podman, buildah or docker is installed (Debian: apt-get install -y podman buildah)" >&2
  exit 1
fi

mirror=()
if [ -n "${BBMEET_DEBIAN_MIRROR:-}" ]; then
  mirror=("$BBMEET_DEBIAN_MIRROR")
elif [ -f /etc/apt/sources.list.d/debian.sources ] && grep -q "$SUITE" /etc/apt/sources.list.d/debian.sources; then
  mirror=(/etc/apt/sources.list.d/debian.sources)
fi

# Imports root filesystem tarball $1 as image $2.
import_image() {
  case "$tool" in
    # buildah has no import: an empty container gets the tarball unpacked (buildah add extracts it).
    buildah)
      local container
      container=$(buildah from scratch)
      buildah add --quiet "$container" "$1" / >/dev/null
      buildah commit --quiet --rm "$container" "$2" >/dev/null
      ;;
    *) "$tool" import "$1" "$2" >/dev/null ;;
  esac
}

build_base() {
  local name=$1 variant=$2 include=$3
  shift 3
  local tarball="$CACHE/bbmeet-base-$name.tar"
  echo "image-base: $name: mmdebstrap $SUITE ($variant + $include)"
  mmdebstrap --quiet --variant="$variant" --include="$include" "${SLIM[@]}" "$@" \
    "$SUITE" "$tarball" "${mirror[@]}" </dev/null
  echo "image-base: $name: importing $tarball as localhost/bbmeet-base:$name ($tool)"
  import_image "$tarball" "localhost/bbmeet-base:$name"
  rm -f "$tarball"
}

mkdir -p "$CACHE"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(build runtime)
for target in "${targets[@]}"; do
  case "$target" in
    build) build_base build minbase 'nodejs,npm,build-essential,python3,ca-certificates' ;;
    runtime) build_base runtime essential 'libstdc++6,ca-certificates' "${USER_HOOKS[@]}" ;;
    egress) build_base egress essential 'libstdc++6,ca-certificates,ffmpeg' "${USER_HOOKS[@]}" ;;
    *)
      echo "image-base: unknown base '$target' (build, runtime or egress)" >&2
      exit 2
      ;;
  esac
done
