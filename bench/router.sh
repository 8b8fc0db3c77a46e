#!/usr/bin/env bash
# Router (issue 5): route lookup time with 10 … 100,000 playgrounds, then
# proxied HTTP requests per second and WebSocket echo latency through the
# hub, direct to the backend, through nginx and through
# configurable-http-proxy (CHP, the JupyterHub proxy), measured in the same
# run, interleaved round by round.
#
# The backend is one `router_bench backend` process (pg::http::Server, one
# event loop) that answers GET with 128 bytes and echoes WebSocket messages.
# The hub reaches a playground only through the playground's unix socket, so
# the backend takes over the workspace socket of a real playground created
# on the hub (the playground's own workspace server keeps running, unlinked);
# the same process also listens on a second unix socket (nginx, unprivileged)
# and on TCP (wrk direct, and CHP, which uses its keep-alive agent for TCP
# targets only). Every path serves the same route: /p/<id>/... → the
# backend's /... (CHP with --no-include-prefix). Each proxy runs one worker
# (the hub has one event-loop thread, CHP is one node process).
#
# Load: wrk (-t1 -c$CONNS) for HTTP, `router_bench ws` (C++, Beast) for
# WebSocket echo: $WS_CONNS connections, each one message in flight.
# The proxy's CPU time per HTTP request (its worker's utime+stime over the
# run) is printed beside: on a machine shared with other work, req/s and
# tail latencies move with the load, CPU per request much less.
# Targets (issue 5): hub ≥ 5× CHP's requests/s, hub WS p99 ≤ 1.3× nginx's.
set -euo pipefail

BENCH="$PG_BUILD_DIR/bench/router_bench"
SECONDS_PER_RUN="${PG_ROUTER_SECONDS:-3}"
ROUNDS="${PG_ROUTER_ROUNDS:-3}"
CONNS="${PG_ROUTER_CONNS:-32}"
WS_CONNS="${PG_ROUTER_WS_CONNS:-8}"

"$BENCH" lookup
echo

for tool in wrk nginx node npm curl setpriv python3; do
  command -v "$tool" >/dev/null || { echo "router bench: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

# configurable-http-proxy, project-local and pinned; installed once.
CHP_DIR="$PG_SOURCE_DIR/bench"
CHP="$CHP_DIR/node_modules/configurable-http-proxy/bin/configurable-http-proxy"
if [ ! -f "$CHP" ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CHP_DIR" configurable-http-proxy@5.3.0 >/dev/null
fi

T="$(mktemp -d /tmp/pg-router-bench.XXXXXX)"
chmod 755 "$T"
PIDS=()
HUB_URL=""
TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ID=""
cleanup() {
  if [ -n "$ID" ] && [ -n "$HUB_URL" ]; then
    curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "$HUB_URL/api/v1/playgrounds/$ID" || true
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: until it answers anything
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "router bench: $1 did not come up"; return 1
}

# The hub, rate limits off.
HP=$(free_port)
HUB_URL="http://127.0.0.1:$HP"
mkdir -p "$T/hub"
PLAYGROUND_ADMIN_TOKEN="$TOKEN" "$PG_BINARY" serve --listen "127.0.0.1:$HP" --data-dir "$T/hub" \
  --rate-limit-api 0 --rate-limit-runs 0 >"$T/hub.log" 2>&1 &
PIDS+=($!)
wait_http "$HUB_URL/healthz" || { cat "$T/hub.log"; exit 1; }
CREATED=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"template":"blank"}' "$HUB_URL/api/v1/playgrounds")
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$CREATED") || { echo "create: $CREATED"; exit 1; }
SOCK="$T/hub/run/$ID/sock/workspace.sock"
[ -S "$SOCK" ] || { echo "router bench: no workspace socket at $SOCK"; exit 1; }

# The backend on the playground's socket, a socket for nginx, and TCP.
BP=$(free_port)
"$BENCH" backend --listen "unix:$SOCK" --listen "unix:$T/backend.sock" --listen "127.0.0.1:$BP" >"$T/backend.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q ready "$T/backend.log" && break; sleep 0.05; done
grep -q ready "$T/backend.log" || { cat "$T/backend.log"; exit 1; }

# nginx: unprivileged (nobody), its own prefix and config, one worker.
NP=$(free_port)
mkdir -p "$T/nginx/tmp"
chown -R 65534:65534 "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx/tmp/body;
  proxy_temp_path $T/nginx/tmp/proxy;
  fastcgi_temp_path $T/nginx/tmp/fastcgi;
  uwsgi_temp_path $T/nginx/tmp/uwsgi;
  scgi_temp_path $T/nginx/tmp/scgi;
  upstream backend {
    server unix:$T/backend.sock;
    keepalive 64;
  }
  map \$http_upgrade \$connection_upgrade {
    default upgrade;
    ''      '';
  }
  server {
    listen 127.0.0.1:$NP;
    location /p/$ID/ {
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 600s;
    }
  }
}
EOF
setpriv --reuid=65534 --regid=65534 --clear-groups nginx -p "$T/nginx/" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" &
PIDS+=($!)

# configurable-http-proxy: one route, /p/<id> → the backend over TCP.
CP=$(free_port)
CAP=$(free_port)
CONFIGPROXY_AUTH_TOKEN="$TOKEN" node "$CHP" --ip 127.0.0.1 --port "$CP" --api-ip 127.0.0.1 --api-port "$CAP" \
  --no-include-prefix --log-level warn >"$T/chp.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$CAP/api/routes" || { cat "$T/chp.log"; exit 1; }
curl -s -f -o /dev/null -X POST -H "Authorization: token $TOKEN" -d "{\"target\":\"http://127.0.0.1:$BP\"}" \
  "http://127.0.0.1:$CAP/api/routes/p/$ID"
wait_http "http://127.0.0.1:$NP/p/$ID/files/bench.txt" || { cat "$T/nginx/error.log"; exit 1; }

# name, base URL, path of the route, pid of the proxy's worker (none for
# direct): the CPU each proxy spends per request is measured from
# /proc/<pid>/stat, which the other load on a shared machine does not skew.
NGINX_WORKER=$(pgrep -P "${PIDS[2]}" | head -1)
ROWS=("hub|127.0.0.1:$HP|/p/$ID|${PIDS[0]}" "direct|127.0.0.1:$BP||" "nginx|127.0.0.1:$NP|/p/$ID|$NGINX_WORKER"
  "chp|127.0.0.1:$CP|/p/$ID|${PIDS[3]}")
TICK=$(getconf CLK_TCK)
cpu_ticks() { if [ -n "$1" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi; }

# Every path answers the backend's body before anything is measured.
for row in "${ROWS[@]}"; do
  IFS='|' read -r name addr prefix pid <<<"$row"
  got=$(curl -s -H "Authorization: Bearer $TOKEN" "http://$addr$prefix/files/bench.txt")
  case "$got" in
    "hello from the bench backend"*) ;;
    *) echo "router bench: $name does not reach the backend: $got"; exit 1 ;;
  esac
done

RESULTS="$T/results.tsv"
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name addr prefix pid <<<"$row"
    c0=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" \
      "http://$addr$prefix/files/bench.txt")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    c1=$(cpu_ticks "$pid")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu_us=$(awk -v d=$((c1 - c0)) -v t="$TICK" -v n="$n" 'BEGIN { if (n > 0 && d > 0) printf "%.1f", d * 1e6 / t / n; else print "nan" }')
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print "errors"}' <<<"$out" | tr '\n' ' ')
    printf 'http\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$bad" >>"$RESULTS"
  done
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name addr prefix pid <<<"$row"
    out=$("$BENCH" ws --host "${addr%:*}" --port "${addr##*:}" --path "$prefix/workspace" \
      --header "Authorization: Bearer $TOKEN" --conns "$WS_CONNS" --seconds "$SECONDS_PER_RUN" --size 64 || true)
    printf 'ws\t%s\t%s\t%s\n' "$round" "$name" "$(tr ' ' '\t' <<<"$out")" >>"$RESULTS"
  done
done

python3 - "$RESULTS" "$ROUNDS" "$SECONDS_PER_RUN" "$CONNS" "$WS_CONNS" <<'EOF'
import statistics, sys
path, rounds, secs, conns, ws_conns = sys.argv[1:]
def ms(s):  # wrk latency: 812.00us, 1.20ms, 1.01s
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float("nan")
http, ws, notes = {}, {}, []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[0] == "http":
        http.setdefault(f[2], []).append((float(f[3] or "nan"), ms(f[4]), ms(f[5]), float(f[6])))
        if len(f) > 7 and f[7].strip():
            notes.append(f"{f[2]} round {f[1]}: HTTP errors/non-2xx {f[7].strip()}")
    elif f[0] == "ws" and len(f) >= 7:
        ws.setdefault(f[2], []).append((float(f[3]), float(f[4]), float(f[5])))
        if f[6] != "0":
            notes.append(f"{f[2]} round {f[1]}: {f[6]} WebSocket errors")
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"proxied HTTP (wrk -t1 -c{conns}, GET 128 B) and WebSocket echo ({ws_conns} connections, 64 B, one in flight each);")
print(f"median of {rounds} interleaved rounds of {secs} s each")
hdr = ("path", "HTTP req/s", "HTTP p50 ms", "HTTP p99 ms", "proxy CPU us/req", "WS msg/s", "WS p50 ms", "WS p99 ms")
print("%-8s %11s %12s %12s %17s %9s %10s %10s" % hdr)
row = {}
for name in ("hub", "direct", "nginx", "chp"):
    h, w = http.get(name, []), ws.get(name, [])
    r = (med([x[0] for x in h]), med([x[1] for x in h]), med([x[2] for x in h]), med([x[3] for x in h]),
         med([x[2] for x in w]), med([x[0] for x in w]), med([x[1] for x in w]))
    row[name] = r
    print("%-8s %11.0f %12.3f %12.3f %17s %9.0f %10.3f %10.3f" % ((name,) + r[:3] + ("-" if name == "direct" else "%.1f" % r[3],) + r[4:]))
for n in notes:
    print("note:", n)
ratio = row["hub"][0] / row["chp"][0] if row["chp"][0] else float("nan")
p99 = row["hub"][6] / row["nginx"][6] if row["nginx"][6] else float("nan")
cpu = row["chp"][3] / row["hub"][3] if row["hub"][3] else float("nan")
print(f"target: hub HTTP req/s >= 5x CHP's: {ratio:.2f}x -> {'met' if ratio >= 5 else 'MISSED'}"
      f" (per CPU second: {cpu:.2f}x; nginx {row['chp'][3] / row['nginx'][3]:.2f}x)")
print(f"target: hub WS p99 <= 1.3x nginx's: {p99:.2f}x -> {'met' if p99 <= 1.3 else 'MISSED'}")
EOF
