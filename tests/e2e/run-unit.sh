#!/usr/bin/env bash
# Runs the web client's unit tests (web/test) with vitest. Installs web/'s
# npm packages first when they are missing or stale (idempotent).
set -euo pipefail
web="$(cd "$(dirname "$0")/../../web" && pwd)"
cd "$web"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lock-stamp; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lock-stamp
fi
exec npx --no-install vitest run --reporter=default
