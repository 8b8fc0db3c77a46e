#!/usr/bin/env bash
# Router (issue 5): route lookup time with 10 … 100,000 playgrounds.
set -euo pipefail
"$PG_BUILD_DIR/bench/router_bench"
