#!/usr/bin/env bash
# The egress stage of CI, after the core stage (scripts/test-all.sh): installs what egress needs
# (npm run setup:egress: Debian's ffmpeg as root, packages/egress's npm packages), typechecks the
# egress code, checks that it reaches the core only through its contracts, and runs the egress
# tests one file at a time. Usage: npm run test:egress
# (--skip-setup: the egress install is already done, e.g. while developing)
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's Node 24 and tools, also when this script is run with bash directly.
export PATH="$PWD/node_modules/.bin:$PATH"

if [ "${1:-}" != "--skip-setup" ]; then
  bash scripts/setup-egress.sh
fi

echo "egress checks: typecheck, module boundaries"
tsc --noEmit -p packages/egress/tsconfig.json
npm run --silent boundaries:egress

echo "egress tests"
node --test --test-reporter=spec --test-concurrency=1 "packages/egress/src/**/*.test.ts" "packages/egress/test/**/*.test.ts"
