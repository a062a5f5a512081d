#!/usr/bin/env bash
# Builds the BBMEET container image (Containerfile): `npm run image [-- options]`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'HELP'
Usage: npm run image [-- [--egress] [--tag NAME] [--no-base] [--tool podman|buildah|docker] [-- BUILD_ARGS...]]
       (or bash scripts/image.sh …)

Builds the container image of the BBMEET server from Containerfile: one image for every role
(`start` by default, `signalling`, `sfu`; see docs/deployment.md, "Container images").

  --egress        the egress variant (target `egress`: Debian's ffmpeg and packages/egress's npm
                  packages, EGRESS_ENABLED=true); same as EGRESS=1. Default tag bbmeet:egress.
  --tag NAME      the image's name (default bbmeet:latest, or bbmeet:egress)
  --no-base       reuse the base images already built (localhost/bbmeet-base:*)
  --tool NAME     podman, buildah or docker (default: the first of them installed; BBMEET_IMAGE_TOOL)
  --ca-file PEM   CA certificates the build's npm steps trust besides the usual ones, for a
                  TLS-intercepting proxy (default: NODE_EXTRA_CA_CERTS when set); passed as the
                  build secret npm-ca, never stored in the image
  -- ARGS         passed to the build command as they are (e.g. --ulimit nofile=4096:4096)

No image is pulled from a registry: the bases are Debian bookworm root filesystems made by
mmdebstrap from Debian packages and imported as local images (scripts/image-base.sh, run first
unless --no-base). Node 24 comes from the npm registry like in any install: `npm ci` in the build
stage installs the project's `node` package into node_modules/.bin/node.

Tools: podman (first choice), buildah or docker (with BuildKit, for the build secret), plus
mmdebstrap for the bases: Debian `apt-get install -y podman mmdebstrap` (or buildah). When none is
installed this script says so and stops: install one of them, or build on a machine that has one.
The image keeps its HEALTHCHECK: podman and buildah build in the docker image format.
HELP
}

egress=${EGRESS:-0}
tag=
base=1
tool=${BBMEET_IMAGE_TOOL:-}
ca_file=${NODE_EXTRA_CA_CERTS:-}
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage && exit 0 ;;
    --egress) egress=1 ;;
    --tag) tag=${2:?--tag needs a name} && shift ;;
    --no-base) base=0 ;;
    --tool) tool=${2:?--tool needs podman, buildah or docker} && shift ;;
    --ca-file) ca_file=${2:?--ca-file needs a PEM file} && shift ;;
    --) shift && extra=("$@") && break ;;
    *) echo "image: unknown option $1 (see npm run image -- --help)" >&2 && exit 2 ;;
  esac
  shift
done

if [ -z "$tool" ]; then
  for candidate in podman buildah docker; do
    if command -v "$candidate" >/dev/null 2>&1; then tool=$candidate && break; fi
  done
fi
if [ -z "$tool" ] || ! command -v "$tool" >/dev/null 2>&1; then
  echo "image: no container build tool (${tool:-podman, buildah or docker}) is installed." >&2
  echo "Install one (Debian: apt-get install -y podman buildah mmdebstrap) and run again; see --help." >&2
  exit 1
fi

target=runtime
[ -n "$tag" ] || tag=bbmeet:latest
if [ "$egress" = 1 ]; then
  target=egress
  [ "$tag" != bbmeet:latest ] || tag=bbmeet:egress
fi

if [ "$base" = 1 ]; then
  bases=(build runtime)
  [ "$egress" = 1 ] && bases+=(egress)
  BBMEET_IMAGE_TOOL=$tool bash scripts/image-base.sh "${bases[@]}"
fi

# The secret is always given (empty without a CA file), so the Containerfile needs no variant.
secret=$(mktemp)
trap 'rm -f "$secret"' EXIT
if [ -n "$ca_file" ]; then cat "$ca_file" >"$secret"; fi

build=("$tool" build)
[ "$tool" = buildah ] && build=(buildah bud)
# The docker image format keeps HEALTHCHECK (the OCI format has no field for it).
[ "$tool" = docker ] || build+=(--format docker)
echo "image: $tool building $tag (target $target)"
start=$(date +%s)
"${build[@]}" --file Containerfile --target "$target" --tag "$tag" \
  --secret id=npm-ca,src="$secret" "${extra[@]}" .
echo "image: built $tag in $(($(date +%s) - start)) s"
