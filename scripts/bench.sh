#!/usr/bin/env bash
# `make bench`: every benchmark of the project, each printing its table with
# its peers measured in the same run. Area scripts live in bench/<area>.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
export PG_BINARY="$PWD/build/playground" PG_BUILD_DIR="$PWD/build" PG_SOURCE_DIR="$PWD" PG_SHARED_DIR="$PWD/../shared"
for b in bench/*.sh; do
  [ -f "$b" ] || continue
  echo
  echo "=== $(basename "$b" .sh) ==="
  bash "$b" || echo "($b failed with status $?)"
done
