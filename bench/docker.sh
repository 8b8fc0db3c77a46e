#!/usr/bin/env bash
# Playground create→ready and delete latency, docker orchestrator beside the
# local one, in the same run, through the hub REST API:
#   POST /api/v1/playgrounds {"template":"python","wait":true}  (returns when both servers answer)
#   DELETE /api/v1/playgrounds/{id}
# N (default 10) sequential creates then N deletes per orchestrator; prints
# p50/p99 and failures. Needs PG_BINARY; the docker row needs a running
# engine and the images (scripts/start-dockerd.sh, scripts/build-images.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${PG_BINARY:-$PWD/build/playground}
n=${PG_BENCH_N:-10}
exec python3 - "$bin" "$n" <<'PY'
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request, urllib.error

binary, n = sys.argv[1], int(sys.argv[2])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def call(method, url, token, body=None, timeout=120):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "Bearer " + token)
    if body is not None: req.add_header("Content-Type", "application/json")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read(); status = r.status
    except urllib.error.HTTPError as e:
        data = e.read(); status = e.code
    except Exception as e:
        return time.monotonic() - t0, 0, {"error": str(e)}
    try: parsed = json.loads(data) if data else {}
    except ValueError: parsed = {"raw": data[:200].decode(errors="replace")}
    return time.monotonic() - t0, status, parsed

def pct(xs, p):
    if not xs: return float("nan")
    xs = sorted(xs); k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]

def measure(orch):
    d = tempfile.mkdtemp(prefix="pgbench-" + orch + "-")
    port = free_port()
    log = open(os.path.join(d, "hub.log"), "w")
    hub = subprocess.Popen([binary, "serve", "--orchestrator", orch, "--data-dir", d, "--listen", "127.0.0.1:%d" % port],
                           stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port
    try:
        token = None
        for _ in range(300):
            if hub.poll() is not None: break
            tf = os.path.join(d, "admin-token")
            if os.path.exists(tf):
                token = open(tf).read().strip()
                _, st, _ = call("GET", base + "/api/v1/playgrounds", token, timeout=2)
                if st == 200: break
            time.sleep(0.1)
        else:
            token = None
        if hub.poll() is not None or not token:
            log.flush()
            tail = open(os.path.join(d, "hub.log")).read().strip().splitlines()[-3:]
            return {"error": "hub did not start: " + " | ".join(tail)}
        created, deleted, ids, fails, reason = [], [], [], 0, ""
        for _ in range(n):
            dt, st, body = call("POST", base + "/api/v1/playgrounds", token, {"template": "python", "wait": True})
            if st in (200, 201) and body.get("status") == "running":
                created.append(dt); ids.append(body["id"])
            else:
                fails += 1; reason = reason or (body.get("reason") or json.dumps(body)[:160])
                if body.get("id"): ids.append(body["id"])
        for pid in ids:
            dt, st, body = call("DELETE", base + "/api/v1/playgrounds/" + pid, token)
            if st == 204: deleted.append(dt)
            else:
                fails += 1; reason = reason or ("delete: HTTP %d %s" % (st, json.dumps(body)[:120]))
        return {"created": created, "deleted": deleted, "fails": fails, "reason": reason}
    finally:
        hub.terminate()
        try: hub.wait(10)
        except subprocess.TimeoutExpired: hub.kill(); hub.wait()
        shutil.rmtree(d, ignore_errors=True)

def docker_ready():
    try:
        out = subprocess.run(["docker", "image", "inspect", "playground-workspace:latest", "playground-runner:latest"],
                             capture_output=True, timeout=20)
        return out.returncode == 0
    except Exception:
        return False

rows = [("local", measure("local"))]
rows.append(("docker", measure("docker") if docker_ready() else {"error": "no engine or images (scripts/start-dockerd.sh, scripts/build-images.sh)"}))

print("playground lifecycle over the hub REST API, %d sequential creates (template python) then deletes" % n)
print("%-8s %8s %12s %12s %12s %12s %6s" % ("orch", "ok", "create p50", "create p99", "delete p50", "delete p99", "fails"))
for name, r in rows:
    if "error" in r:
        print("%-8s %s" % (name, "skipped: " + r["error"])); continue
    ms = lambda x: "%9.0f ms" % (x * 1000) if x == x else "         - "
    print("%-8s %8s %12s %12s %12s %12s %6d" % (name, "%d/%d" % (len(r["created"]), n), ms(pct(r["created"], 50)), ms(pct(r["created"], 99)),
                                          ms(pct(r["deleted"], 50)), ms(pct(r["deleted"], 99)), r["fails"]))
    if r["reason"]: print("         first failure: " + r["reason"])
PY
