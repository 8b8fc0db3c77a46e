#!/usr/bin/env bash
# Starts the Docker engine if it is not answering yet. Idempotent: when
# `docker info` succeeds nothing is done. dockerd runs in the background with
# its log in ${PG_DOCKERD_LOG:-/var/log/playground-dockerd.log}; the script
# waits (up to 60 s) until the engine answers on /var/run/docker.sock.
#
# Notes for this kind of machine: the cgroup layout is hybrid (cgroup v1
# controllers plus a cgroup2 mount with only hugetlb). crun refuses it, runc
# works, so runc is the default runtime. No systemd: the cgroupfs driver.
set -euo pipefail
log=${PG_DOCKERD_LOG:-/var/log/playground-dockerd.log}
DOCKER=$(command -v docker || true)
[ -n "$DOCKER" ] || { echo "start-dockerd: no docker client (apt-get install docker.io)" >&2; exit 1; }
command -v dockerd >/dev/null || { echo "start-dockerd: no dockerd (apt-get install docker.io)" >&2; exit 1; }

if "$DOCKER" info >/dev/null 2>&1; then
  exit 0
fi

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
# A stale pid file from a dead daemon makes dockerd refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  $SUDO rm -f /var/run/docker.pid
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "start-dockerd: starting dockerd (log: $log)" >&2
  args=(--exec-opt native.cgroupdriver=cgroupfs)
  command -v runc >/dev/null && args+=(--default-runtime runc)
  # setsid + nohup: the daemon outlives this script and the caller's session.
  $SUDO setsid nohup dockerd "${args[@]}" >>"$log" 2>&1 < /dev/null &
fi
for _ in $(seq 1 120); do
  if "$DOCKER" info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 30 "$log" >&2 || true
exit 1
