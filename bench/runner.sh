#!/usr/bin/env bash
# Runner server round trips (Python and precompiled C hello world) beside
# bare fork/exec and docker run --rm, and sustained runs/second; see
# bench/runner_bench.cc.
# Usage: bench/runner.sh [BUILD_DIR]   (ROUNDS=n, default 30; PG_RUNNER_ISOLATION=sandbox|process|auto)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-${PG_BUILD_DIR:-$src/build}}}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
b="$build/bench/runner_bench"
if [ ! -x "$b" ]; then echo "runner bench: no $b (build with -DPG_BENCH=ON)" >&2; exit 1; fi
export PG_BINARY=${PG_BINARY:-$build/playground}
"$b" "${ROUNDS:-30}"
