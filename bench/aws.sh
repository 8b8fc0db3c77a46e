#!/usr/bin/env bash
# AWS client benchmark: SigV4 signing of the orchestrator's real requests
# (ECS RunTask, ELBv2 CreateRule) by src/aws beside botocore's SigV4Auth
# (the AWS SDK for Python, the same requests, same run), and XML parsing of a
# 100-rule DescribeRules answer. Usage: bench/aws.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${PG_BUILD_DIR:-$src/build}}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
bin="$build/bench/aws_bench"
if [ ! -x "$bin" ]; then echo "aws bench: no $bin (build with -DPG_BENCH=ON)" >&2; exit 1; fi
ours=$("$bin" --benchmark_format=json --benchmark_min_time=0.3 2>/dev/null)
peer=$(python3 - <<'PY' 2>/dev/null || echo '{}'
import json, timeit, datetime
try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("{}"); raise SystemExit
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example")
body_ecs = '{"cluster":"playground","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/pg-abcdefghijklmnopqrstuvwxyz:1","launchType":"FARGATE","count":1,"clientToken":"pg-abcdefghijklmnopqrstuvwxyz-0123456789abcdef","startedBy":"playground","networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-0a1b2c3d","subnet-1a2b3c4d"],"securityGroups":["sg-0a1b2c3d4e5f6071"],"assignPublicIp":"DISABLED"}},"tags":[{"key":"playground-id","value":"abcdefghijklmnopqrstuvwxyz"}]}'
def ecs():
    r = AWSRequest("POST", "https://ecs.us-east-1.amazonaws.com/", data=body_ecs,
                   headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RunTask"})
    SigV4Auth(creds, "ecs", "us-east-1").add_auth(r)
body_elb = "Action=CreateRule&Version=2015-12-01&Priority=17&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fp%2Fabcdefghijklmnopqrstuvwxyz%2F%2A&Actions.member.1.Type=forward"
def elb():
    r = AWSRequest("POST", "https://elasticloadbalancing.us-east-1.amazonaws.com/", data=body_elb,
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(creds, "elasticloadbalancing", "us-east-1").add_auth(r)
out = {}
for name, fn in (("BM_SignEcsRunTask", ecs), ("BM_SignElbCreateRule", elb)):
    n = 2000
    t = min(timeit.repeat(fn, number=n, repeat=3)) / n
    out[name] = t * 1e9
import botocore
out["version"] = botocore.__version__
print(json.dumps(out))
PY
)
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = {b["name"]: b for b in json.loads(sys.argv[1])["benchmarks"]}
peer = json.loads(sys.argv[2])
def ns(b): return b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
print("== SigV4 signing: src/aws vs botocore %s SigV4Auth (same requests, same run) ==" % peer.get("version", "(not installed)"))
print("%-24s | %14s | %14s | %7s" % ("request", "src/aws us/op", "botocore us/op", "speedup"))
for name, label in (("BM_SignEcsRunTask", "ECS RunTask (JSON 1.1)"), ("BM_SignElbCreateRule", "ELBv2 CreateRule (Query)")):
    o = ns(ours[name]) / 1e3
    p = peer.get(name)
    print("%-24s | %14.2f | %14s | %7s" % (label, o, "%.2f" % (p / 1e3) if p else "n/a", "%.0fx" % (p / 1e3 / o) if p else "n/a"))
x = ours["BM_ParseDescribeRules100"]
print("XML: DescribeRules answer with 100 rules parsed in %.1f us (%.0f MB/s)" % (ns(x) / 1e3, x.get("bytes_per_second", 0) / 1e6))
PY
