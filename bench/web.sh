#!/usr/bin/env bash
# Web IDE benchmarks: bundle size (gzip, per chunk and total), and the
# client-side cost of collaborative editing (our CollabDoc beside bare
# @codemirror/collab, same run). Prints readable tables.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
"$repo/scripts/build-web.sh"
cd "$repo/web"
echo "== web: built JavaScript (gzip -9) =="
node -e '
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const dir = "dist/assets"; let total = 0, rows = [];
for (const f of fs.readdirSync(dir)) if (f.endsWith(".js")) {
  const raw = fs.statSync(path.join(dir, f)).size, gz = zlib.gzipSync(fs.readFileSync(path.join(dir, f)), {level: 9}).length;
  total += gz; rows.push([f, raw, gz]);
}
rows.sort((a, b) => b[2] - a[2]);
for (const [f, raw, gz] of rows.slice(0, 6)) console.log(`${f.padEnd(32)} ${(raw/1024).toFixed(1).padStart(8)} KiB ${(gz/1024).toFixed(1).padStart(8)} KiB gz`);
console.log(`${"total (" + rows.length + " chunks)".padEnd(32)} ${"".padStart(12)} ${(total/1024).toFixed(1).padStart(8)} KiB gz  (limit 1024)`);
'
echo
echo "== web: collaborative editing, client side =="
npx --no-install vitest bench --run bench/ 2>&1 | grep -v '^\s*$' | sed -e 's/\x1b\[[0-9;]*m//g'
