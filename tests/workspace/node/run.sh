#!/usr/bin/env bash
# Runs a node script of this directory, installing its npm dependencies
# (from the committed package-lock.json) first when they are missing.
# Usage: run.sh SCRIPT.mjs [ARGS...]   or   run.sh --install
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$dir/node_modules/@codemirror/collab" ] || [ ! -d "$dir/node_modules/ws" ] || \
   [ ! -d "$dir/node_modules/@y/websocket-server" ]; then
  (cd "$dir" && flock "$dir/.npm-lock" npm ci --no-audit --no-fund --loglevel=error >&2)
fi
[ "${1:-}" = --install ] && exit 0
script=$1
shift
case "$script" in *.test.mjs) exec node --test "$dir/$script" "$@" ;; *) exec node "$dir/$script" "$@" ;; esac
