#!/usr/bin/env bash
# `make run`: serve the IDE at http://127.0.0.1:8080 with the local
# orchestrator. The hub prints a login URL carrying the admin token.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
exec build/playground serve --listen "${PLAYGROUND_LISTEN:-127.0.0.1:8080}" --data-dir "${PLAYGROUND_DATA_DIR:-data}" \
  --orchestrator "${PLAYGROUND_ORCHESTRATOR:-local}"
