#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need (Debian's chromium,
# firefox-esr, postgresql, redis-server, coturn and nftables when missing, as root; the npm dependencies, which bring Node 24),
# then runs the static checks and every test. Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The Firefox tests drive Firefox ESR over WebDriver BiDi (puppeteer-core).
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need+=(firefox-esr)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The TURN tests run Debian's coturn (turnserver) on loopback ports.
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
# The QoS tests impair one subscriber's link with tc (iproute2) and nftables.
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
command -v tc >/dev/null 2>&1 || [ -x /usr/sbin/tc ] || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test setup: missing ${need[*]}; install them (Debian: apt-get install ${need[*]}) or run this as root" >&2
    exit 1
  fi
fi

echo "test setup: npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

echo "checks: typecheck, lint, module boundaries, dependency tree"
npm run --silent check
npm run --silent check:deps

echo "tests"
npm test

echo "fuzzing: every fuzz target, bounded pass (at least 1 million inputs)"
npm run --silent fuzz:ci
