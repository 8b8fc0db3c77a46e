#!/usr/bin/env bash
# Workspace server benchmark: the playground workspace server beside
# @y/websocket-server (the Yjs reference server), same run, same driver
# (tests/workspace/node/bench_driver.mjs), TCP loopback. Prints a table.
# Usage: bench/workspace.sh [BUILD_DIR]   (QUICK=1 for a short run)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${PG_BUILD_DIR:-$src/build}}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
bin=${PG_BINARY:-$build/playground}
if [ ! -x "$bin" ]; then echo "workspace bench: no binary at $bin (make build first)" >&2; exit 1; fi
json=$("$src/tests/workspace/node/run.sh" bench_driver.mjs --binary "$bin" ${QUICK:+--quick})
node -e '
const r = JSON.parse(process.argv[1])
const f = (x, d = 2) => x.toFixed(d)
const pad = (s, n) => String(s).padStart(n)
console.log("== workspace server vs @y/websocket-server (Yjs), one document, TCP loopback ==")
console.log("clients | fan-out p50 ms (pg / yjs) | fan-out p99 ms (pg / yjs) | accepted updates/s (pg / yjs) | ratio | pg, 10 updates a push")
for (const n of Object.keys(r.clients)) {
  const p = r.clients[n].playground, y = r.clients[n].yjs
  console.log(pad(n, 7) + " | " + pad(f(p.p50, 3) + " / " + f(y.p50, 3), 25) + " | " +
    pad(f(p.p99, 3) + " / " + f(y.p99, 3), 25) + " | " + pad(f(p.updatesPerSec, 0) + " / " + f(y.updatesPerSec, 0), 29) +
    " | " + pad(f(p.updatesPerSec / y.updatesPerSec, 1) + "x", 5) + " | " + pad(f(p.batchedPerSec, 0) + " (" +
    f(p.batchedPerSec / y.updatesPerSec, 1) + "x)", 21))
}
console.log("memory per open document (10 KB text): playground " + f(r.memory.playground.perDocKb, 1) +
  " KB, yjs " + f(r.memory.yjs.perDocKb, 1) + " KB")
const s = r.editCost.small, b = r.editCost.big
console.log("one edit, push -> ack (playground): 1 KB doc mean " + f(s.meanUs, 1) + " us (p50 " + f(s.p50Us, 1) +
  "), " + f(r.editCost.bigBytes / 1048576, 1) + " MB doc mean " + f(b.meanUs, 1) + " us (p50 " + f(b.p50Us, 1) +
  "); ratio " + f(b.meanUs / s.meanUs, 2) + "x")
' "$json"
if [ -x "$build/bench/workspace_bench" ]; then
  echo "-- server-side cost of applying one edit (Google Benchmark) --"
  "$build/bench/workspace_bench" --benchmark_min_time=0.2 2>/dev/null | grep -E "^(BM_|Benchmark|-)" || true
fi
