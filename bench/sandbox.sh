#!/usr/bin/env bash
# Sandbox start->exit latency beside bare fork/exec, unshare, bwrap and
# docker (see bench/sandbox_bench.cc). Needs root for the cgroup row.
# Usage: bench/sandbox.sh [BUILD_DIR]   (ROUNDS=n, default 40)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-${PG_BUILD_DIR:-$src/build}}}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
b="$build/bench/sandbox_bench"
if [ ! -x "$b" ]; then echo "sandbox bench: no $b (build with -DPG_BENCH=ON)" >&2; exit 1; fi
"$b" "${ROUNDS:-40}"
