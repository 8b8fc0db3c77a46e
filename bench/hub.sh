#!/usr/bin/env bash
# Lifecycle latency and idle memory of the local orchestrator (issue 2).
set -euo pipefail
"$PG_BUILD_DIR/bench/hub_bench" "${PG_BENCH_N:-100}" local
