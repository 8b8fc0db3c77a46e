#!/usr/bin/env bash
# `make test`: install what is missing, build (release and ASan+UBSan),
# start the services the tests need (dockerd, with the images built), and run
# every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
jobs=$(nproc)

scripts/install-deps.sh all
make --no-print-directory build

# Docker: the docker orchestrator's tests need an engine and the images.
if [ -x scripts/start-dockerd.sh ] && scripts/start-dockerd.sh && [ -x scripts/build-images.sh ]; then
  scripts/build-images.sh
else
  echo "test.sh: no Docker engine: docker tests will be skipped" >&2
fi

mkdir -p test-output
status=0
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900 || status=1

# The ASan+UBSan build runs the C++ tests again (not the browser, web and
# docker suites, which test the same code through the release binary).
make --no-print-directory asan
GTEST_FILTER='-*/docker' ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 \
  -LE 'e2e|web|docker|hostile|bench' || status=1
exit $status
