#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent: packages already present are skipped, and apt is only touched
# when something is missing. Usage: scripts/install-deps.sh [build|test|all]
set -euo pipefail
what=${1:-all}

build_pkgs=(g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libsqlite3-dev libssl-dev libseccomp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libspdlog-dev libfmt-dev
  python3 gcc util-linux iproute2 e2fsprogs procps)
test_pkgs=(chromium bubblewrap nginx-light wrk hyperfine debootstrap docker.io
  bash sqlite3 curl python3-botocore)

pkgs=("${build_pkgs[@]}")
if [ "$what" != build ]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js may come from elsewhere (it ships its own npm); only fall back to
# Debian's packages when there is no node or npm at all.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
