#!/usr/bin/env bash
# Runs the web IDE's end-to-end tests (ide.test.mjs) with node's test runner:
# installs this directory's npm packages when missing or stale, builds
# web/dist when needed (scripts/build-web.sh is incremental), then runs the
# tests against $PG_BINARY (set by ctest).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lock-stamp; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lock-stamp
fi
"$repo/scripts/build-web.sh"
export PG_SOURCE_DIR="${PG_SOURCE_DIR:-$repo}"
: "${PG_BINARY:?PG_BINARY must point at the built playground binary}"
exec node --test --test-concurrency=1 --test-reporter=spec "$here/ide.test.mjs"
