#!/usr/bin/env bash
# The egress install (EGRESS_ENABLED), apart from the core install: Debian's ffmpeg (and ffprobe)
# when missing, as root; packages/egress's npm packages from its own lockfile; then what egress
# serves is built (`build` script of packages/egress, when it has one).
# Usage: npm run setup:egress (or bash scripts/setup-egress.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup:egress: installing Debian's ffmpeg"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
  else
    echo "setup:egress: ffmpeg and ffprobe are missing; run as root: apt-get install -y --no-install-recommends ffmpeg" >&2
    echo "then run npm run setup:egress again (or run it as root, which installs them)" >&2
    exit 1
  fi
fi

echo "setup:egress: npm packages of packages/egress (its own lockfile)"
npm ci --prefix packages/egress --no-audit --no-fund --loglevel=error

echo "setup:egress: building what egress serves"
npm --prefix packages/egress run build --if-present
