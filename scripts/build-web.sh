#!/usr/bin/env bash
# Builds the web IDE into web/dist from the committed package-lock.json.
# Skips npm ci when node_modules matches the lock file, and the build when
# nothing under web/ changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/../web"
[ -f package.json ] || exit 0
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lock-stamp; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lock-stamp
fi
stamp=dist/.build-stamp
if [ -f "$stamp" ] && [ -z "$(find . -path ./node_modules -prune -o -path ./dist -prune -o -type f -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
npm run --silent build
touch "$stamp"
