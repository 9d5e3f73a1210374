#!/usr/bin/env python3
"""Drives stackgate and its baselines with wrk on loopback and prints the tables BENCHMARKS.md
quotes. Run it through scripts/bench, which builds the release binaries first.

Everything runs in one invocation so that figures can be read as ratios against baselines measured
on the same machine in the same minute (the machine is shared and noisy):
  - bare hyper: the ceiling for one HTTP exchange with wrk on this machine;
  - direct-invoke: the same function through its Runtime API (stackgate-runtime driving the real
    process) with no gateway and no HTTP client in front, sending the event the gateway builds;
  - serverless-offline 13 on Serverless Framework 3 (with --offline-baseline, or when already
    installed in ~/.cache/stackgate-bench/offline): the same Node handler behind an httpApi event
    with a JWT authorizer, in its default mode (worker threads) and with --useInProcess.

Bounded: about 3 minutes by default (--seconds 5), plus ~40 s for serverless-offline's two modes, plus
60 s with --soak (120 s with serverless-offline). Only 127.0.0.1 is used.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
STACKGATE = os.path.join(RELEASE, "stackgate")
CONNECTIONS = (1, 16, 64)
OFFLINE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "stackgate-bench", "offline")
OFFLINE_PACKAGES = ["serverless@3", "serverless-offline@13"]
OFFLINE_IN_PROCESS = "baseline: serverless-offline 13 --useInProcess"
NODE_HANDLER = """exports.handler = async function(event, context) {
  const response = {
    statusCode: 200,
    body: JSON.stringify('Hello from Lambda!')
  };
  return response;
};
"""

# Targets (issue 6), checked at the end.
TARGET_NODE_RPS_C16 = 11_500
TARGET_NODE_P99_C16_MS = 5.0
TARGET_RUST_C64_OF_BARE = 1 / 3
TARGET_OVERHEAD_P50_US = 100
TARGET_LAUNCH_MS = 300
TARGET_IDLE_RSS_MB = 30
TARGET_LOAD_RSS_MB = 60
TARGET_BIG_LOAD_MS = 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    """Processes whose parent is pid (function environments)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def cpu_seconds(pid):
    """User + system CPU seconds of pid and of its children still alive."""
    tick = os.sysconf("SC_CLK_TCK")

    def one(p):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return 0.0

    return one(pid), sum(one(c) for c in children(pid))


def wrk(url, connections, seconds, headers=()):
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise SystemExit(f"wrk gave no result for {url}:\n{out}")

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": float(m.group(1)),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def wait_for(url, token=None, deadline_s=20.0):
    """Polls url every 2 ms until 200; seconds taken, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        if get(url, token) == 200:
            return time.monotonic() - t0
        time.sleep(0.002)
    return None


class Stackgate:
    """`stackgate serve TEMPLATE` on free ports, default log level, log lines to a file."""

    def __init__(self, template, state_dir, issuer_port, log_path, log_filter=None):
        self.issuer_port = issuer_port
        self.log = open(log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [STACKGATE, "serve", template, "--port", "0", "--issuer-port", str(issuer_port), "--lambda-port", "0",
             "--state-dir", state_dir],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**{k: v for k, v in os.environ.items() if k != "STACKGATE_LOG"},
                 **({"STACKGATE_LOG": log_filter} if log_filter else {})},
        )
        self.url = None
        for line in self.proc.stdout:
            if line.startswith("Gateway:") and self.url is None:
                self.url = line.split()[1].rstrip("/")
            if line.startswith("stackgate: ready"):
                break
        self.ready_s = time.monotonic() - self.started
        if self.url is None:
            self.stop()
            raise SystemExit(f"stackgate did not start on {template}; its log: {log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def mint_token(template, state_dir, issuer_port):
    return subprocess.run(
        [STACKGATE, "token", template, "--issuer-port", str(issuer_port), "--state-dir", state_dir,
         "--expires-in", "2h"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def request(url, token=None):
    """(status, body) of a GET; status None when nothing answered."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return None, ""


def fetch(url, token=None):
    """The body of a 200, else None."""
    status, body = request(url, token)
    return body if status == 200 else None


def get(url, token=None):
    return request(url, token)[0]


def prepare_stack(work):
    stack = os.path.join(work, "stack")
    shutil.copytree(os.path.join(ROOT, "bench", "stack"), stack)
    os.makedirs(os.path.join(stack, "rust-fn"), exist_ok=True)
    shutil.copy(os.path.join(RELEASE, "rust-hello"), os.path.join(stack, "rust-fn", "bootstrap"))
    return os.path.join(stack, "template.yaml")


def generate_big_stack(work, routes=300, functions=100):
    """A template with `routes` routes over `functions` inline Node functions."""
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        "Resources:",
        "  Api:", "    Type: AWS::ApiGatewayV2::Api", "    Properties: {Name: big, ProtocolType: HTTP}",
        "  Stage:", "    Type: AWS::ApiGatewayV2::Stage",
        "    Properties: {ApiId: !Ref Api, StageName: $default, AutoDeploy: true}",
        "  Role:", "    Type: AWS::IAM::Role", "    Properties:",
        "      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}",
    ]
    for f in range(functions):
        lines += [
            f"  Fn{f}:", "    Type: AWS::Lambda::Function", "    Properties:",
            "      Runtime: nodejs22.x", "      Handler: index.handler", "      Role: !GetAtt Role.Arn",
            f"      Code: {{ZipFile: \"exports.handler = async () => ({{statusCode: 200, body: 'fn{f}'}});\"}}",
            f"  Int{f}:", "    Type: AWS::ApiGatewayV2::Integration", "    Properties:",
            f"      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      IntegrationUri: !GetAtt Fn{f}.Arn\n      PayloadFormatVersion: '2.0'",
            f"  Perm{f}:", "    Type: AWS::Lambda::Permission", "    Properties:",
            f"      Action: lambda:InvokeFunction\n      FunctionName: !Ref Fn{f}\n      Principal: apigateway.amazonaws.com",
            "      SourceArn: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*",
        ]
    for r in range(routes):
        lines += [
            f"  Route{r}:", "    Type: AWS::ApiGatewayV2::Route", "    Properties:",
            f"      ApiId: !Ref Api\n      RouteKey: GET /r{r}/{{id}}\n      Target: !Sub integrations/${{Int{r % functions}}}",
        ]
    os.makedirs(os.path.join(work, "big"), exist_ok=True)
    path = os.path.join(work, "big", "template.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def direct_invoke(runtime, handler, code_dir, connections, seconds, state, event_file):
    out = subprocess.run(
        [os.path.join(RELEASE, "direct-invoke"), runtime, handler, code_dir, str(connections), str(seconds), state,
         event_file],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"direct-invoke failed: {out.stderr}")
    d = json.loads(lines[-1])
    return {"rps": d["rps"], "p50_ms": d["p50_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
            "requests": d["requests"], "non2xx": 0}


# ---- serverless-offline baseline ------------------------------------------------------------

def offline_installed():
    return os.path.exists(os.path.join(OFFLINE_DIR, "node_modules", ".bin", "serverless")) and os.path.isdir(
        os.path.join(OFFLINE_DIR, "node_modules", "serverless-offline"))


def offline_install():
    """Installs Serverless Framework 3 + serverless-offline 13 into the cache dir; None or why not."""
    if shutil.which("npm") is None:
        return "npm is not installed"
    os.makedirs(OFFLINE_DIR, exist_ok=True)
    pkg = os.path.join(OFFLINE_DIR, "package.json")
    if not os.path.exists(pkg):
        with open(pkg, "w") as f:
            json.dump({"name": "stackgate-bench-offline", "private": True}, f)
    log(f"installing {' '.join(OFFLINE_PACKAGES)} into {OFFLINE_DIR} (npm)…")
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *OFFLINE_PACKAGES],
                           cwd=OFFLINE_DIR, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "npm install took more than 10 minutes"
    if r.returncode != 0:
        return "npm install failed: " + (r.stderr.strip().splitlines() or ["(no output)"])[-1]
    return None if offline_installed() else "npm install did not produce node_modules/.bin/serverless"


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def offline_service(work, token):
    """An equivalent serverless.yml: httpApi event, JWT authorizer (the token's issuer and
    audience), the seed's Node handler."""
    claims = jwt_claims(token)
    svc = os.path.join(work, "offline-service")
    os.makedirs(svc, exist_ok=True)
    with open(os.path.join(svc, "handler.js"), "w") as f:
        f.write(NODE_HANDLER)
    with open(os.path.join(svc, "serverless.yml"), "w") as f:
        f.write(f"""service: stackgate-bench
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  httpApi:
    authorizers:
      jwt:
        identitySource: $request.header.Authorization
        issuerUrl: {claims['iss']}
        audience:
          - {claims['aud']}
functions:
  hello:
    handler: handler.handler
    events:
      - httpApi:
          path: /test
          method: get
          authorizer:
            name: jwt
plugins:
  - serverless-offline
""")
    os.symlink(os.path.join(OFFLINE_DIR, "node_modules"), os.path.join(svc, "node_modules"))
    return svc


def tree_rss_kb(pid, field="VmRSS"):
    return rss_kb(pid, field) + sum(rss_kb(c, field) for c in children(pid))


class Offline:
    """`serverless offline` on the equivalent service, on free ports."""

    def __init__(self, work, svc, token, extra_args=()):
        port, lambda_port = free_port(), free_port()
        env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off", SLS_DEPRECATION_DISABLE="*",
                   AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
        self.logf = open(os.path.join(work, "offline.log"), "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [os.path.join(OFFLINE_DIR, "node_modules", ".bin", "serverless"), "offline", "--httpPort", str(port),
             "--lambdaPort", str(lambda_port), "--noPrependStageInUrl", "--ignoreJWTSignature", *extra_args],
            cwd=svc, stdout=self.logf, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}/test"
        ok = wait_for(self.url, token, 60)
        self.launch_ms = (time.monotonic() - t0) * 1000 if ok is not None else None
        self.idle_rss = tree_rss_kb(self.proc.pid)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logf.close()


def run_offline(work, token, secs, row, soak):
    """Measures serverless-offline: the load runs, and with `soak` a fresh instance's 60 s at 16
    connections; a dict of its launch time and memory, or why it could not run."""
    svc = offline_service(work, token)
    auth = [f"Authorization: Bearer {token}"]
    found = {}
    off = Offline(work, svc, token)
    try:
        if off.launch_ms is None:
            return "serverless offline did not answer 200 on GET /test within 60 s (log: offline.log)"
        found["launch_ms"], found["idle_rss"] = off.launch_ms, off.idle_rss
        wrk(off.url, 16, 2, auth)  # warm-up
        for c in CONNECTIONS:
            row("baseline: serverless-offline 13, JWT + Node.js", c, wrk(off.url, c, secs, auth))
        found["load_rss"] = tree_rss_kb(off.proc.pid)
    finally:
        off.stop()
    # Its fastest mode: handlers called inside its own process (no worker thread, no isolation).
    off = Offline(work, svc, token, ["--useInProcess"])
    try:
        if off.launch_ms is None:
            return "serverless offline --useInProcess did not answer 200 on GET /test within 60 s (log: offline.log)"
        wrk(off.url, 16, 2, auth)  # warm-up
        for c in CONNECTIONS:
            row(OFFLINE_IN_PROCESS, c, wrk(off.url, c, secs, auth))
    finally:
        off.stop()
    if soak:
        # A fresh instance, as the issue measured it: 2 s warm-up, then 60 s at 16 connections.
        log("  soak: serverless-offline at 16 connections for 60 s, in 10 s windows (fresh instance)")
        off = Offline(work, svc, token)
        try:
            if off.launch_ms is None:
                return "serverless offline did not restart for the soak (log: offline.log)"
            wrk(off.url, 16, 2, auth)  # the same warm-up as every run
            found["soak"] = []
            for _ in range(6):
                found["soak"].append(wrk(off.url, 16, 10, auth))
                found["soak"][-1]["rss"] = tree_rss_kb(off.proc.pid)
                log(f"    {fmt(found['soak'][-1]['rps'], 0)} req/s  p99 {fmt(found['soak'][-1]['p99_ms'])} ms  "
                    f"RSS {found['soak'][-1]['rss'] / 1024:.0f} MB")
        finally:
            off.stop()
    return found


# ---- main -----------------------------------------------------------------------------------

def mean_rps(windows):
    """Requests/s over equal windows: their requests over their time."""
    return sum(w["rps"] for w in windows) / len(windows) if windows else float("nan")


def fmt(x, digits=2):
    return "n/a" if x is None or x != x else f"{x:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of each load run (default 5)")
    parser.add_argument("--soak", action="store_true",
                        help="add 60 s of (a) at 16 connections in 10 s windows, and of serverless-offline when measured")
    parser.add_argument("--offline-baseline", action="store_true",
                        help=f"install serverless-offline 13 + Serverless 3 into {OFFLINE_DIR} if missing and measure it")
    parser.add_argument("--skip-offline", action="store_true", help="never run the serverless-offline baseline")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, generated stacks)")
    args = parser.parse_args()
    secs = args.seconds
    work = tempfile.mkdtemp(prefix="stackgate-bench-")
    rows = {}
    started = time.monotonic()

    def row(name, conns, r):
        rows[(name, conns)] = r
        log(f"  {name:<48} c={conns:<3} {fmt(r['rps'], 0):>9} req/s  p50 {fmt(r['p50_ms'])} ms  p99 {fmt(r['p99_ms'])} ms"
            + (f"  NON-2XX {r['non2xx']}" if r["non2xx"] else "")
            + (f"  socket errors: {r['socket_errors']}" if r.get("socket_errors") else ""))

    load = os.getloadavg()[0]
    log(f"stackgate benchmark: {os.cpu_count()} cores, load average {load:.2f} at start, {secs} s per run, work dir {work}")

    # Baseline (i): bare hyper.
    bare = subprocess.Popen([os.path.join(RELEASE, "bare-hyper")], stdout=subprocess.PIPE, text=True)
    bare_port = int(bare.stdout.readline().split()[-1])
    wrk(f"http://127.0.0.1:{bare_port}/", 16, 1)
    for c in CONNECTIONS:
        row("baseline: bare hyper, fixed body", c, wrk(f"http://127.0.0.1:{bare_port}/", c, secs))
    bare.terminate()
    bare.wait()

    template = prepare_stack(work)
    state = os.path.join(work, "state")
    issuer_port = free_port()
    token = mint_token(template, state, issuer_port)
    auth = [f"Authorization: Bearer {token}"]

    # Cold start: launch → first 200 on GET /test (JWT + Node.js, whose process starts then).
    t0 = time.monotonic()
    server = Stackgate(template, state, issuer_port, os.path.join(work, "stackgate.log"))
    ready_ms = server.ready_s * 1000
    rest = wait_for(f"{server.url}/test", token)
    launch_ms = (time.monotonic() - t0) * 1000 if rest is not None else None
    idle_rss = rss_kb(server.proc.pid)
    # First request to a function not started yet: Rust (provided.al2023) and Node.js.
    t1 = time.monotonic()
    cold_rust = get(f"{server.url}/rust/cold", token)
    cold_rust_ms = (time.monotonic() - t1) * 1000
    t1 = time.monotonic()
    cold_node = get(f"{server.url}/cold-node", token)
    cold_node_ms = (time.monotonic() - t1) * 1000
    if cold_rust != 200 or cold_node != 200:
        log(f"  warning: cold requests answered {cold_rust} (Rust) and {cold_node} (Node.js)")
    # The 2.0 event the gateway builds for a JWT route (that function answers with its event):
    # what the no-gateway baseline sends, so both deliver the same payload.
    event_file = os.path.join(work, "event.json")
    with open(event_file, "w") as f:
        f.write(fetch(f"{server.url}/cold-node", token) or "{}")

    cpu = {}
    scenarios = [
        ("(a) GET /test, JWT + Node.js function", "/test", auth),
        ("(b) GET /rust/x, JWT + Rust function", "/rust/x", auth),
        ("(c) GET /open, no authorizer, Node.js", "/open", []),
        ("(d) GET /python, JWT + Python function", "/python", auth),
    ]
    for name, path, headers in scenarios:
        wrk(f"{server.url}{path}", 16, 2, headers)  # warm-up: environments started, JIT warm
        for c in CONNECTIONS:
            before = cpu_seconds(server.proc.pid)
            r = wrk(f"{server.url}{path}", c, secs, headers)
            after = cpu_seconds(server.proc.pid)
            if r["requests"]:
                cpu[(name, c)] = tuple((a - b) / r["requests"] * 1e6 for a, b in zip(after, before))
            row(name, c, r)
    load_hwm = rss_kb(server.proc.pid, "VmHWM")
    load_rss = rss_kb(server.proc.pid)
    envs = len(children(server.proc.pid))
    server.stop()
    with open(os.path.join(work, "stackgate.log")) as f:
        access_lines = sum(1 for line in f if " access: " in line)
    soak = []
    if args.soak:
        # A fresh instance, as serverless-offline's soak below: 2 s warm-up, then 60 s at 16 connections.
        log("  soak: (a) at 16 connections for 60 s, in 10 s windows (fresh instance)")
        server = Stackgate(template, state, issuer_port, os.path.join(work, "stackgate-soak.log"))
        wrk(f"{server.url}/test", 16, 2, auth)  # the same warm-up as every run
        for _ in range(6):
            soak.append(wrk(f"{server.url}/test", 16, 10, auth))
            log(f"    {fmt(soak[-1]['rps'], 0)} req/s  p99 {fmt(soak[-1]['p99_ms'])} ms  RSS {rss_kb(server.proc.pid) / 1024:.1f} MB")
        load_hwm = max(load_hwm, rss_kb(server.proc.pid, "VmHWM"))
        server.stop()

    # Baseline (ii): the same functions through their Runtime API, no gateway.
    node_dir = os.path.join(work, "direct-node")
    os.makedirs(node_dir, exist_ok=True)
    with open(os.path.join(node_dir, "index.js"), "w") as f:
        f.write(NODE_HANDLER)
    direct = [
        ("baseline: Node.js via Runtime API, no gateway", "nodejs22.x", "index.handler", node_dir),
        ("baseline: Rust via Runtime API, no gateway", "provided.al2023", "bootstrap",
         os.path.join(work, "stack", "rust-fn")),
    ]
    for name, runtime, handler, code in direct:
        for c in CONNECTIONS:
            row(name, c, direct_invoke(runtime, handler, code, c, secs, os.path.join(work, f"direct-{runtime}-{c}"),
                                       event_file))

    # Baseline (iii): serverless-offline.
    offline_note = None
    offline = {}
    if args.skip_offline:
        offline_note = "skipped (--skip-offline)"
    elif not offline_installed() and not args.offline_baseline:
        offline_note = f"not installed in {OFFLINE_DIR}; run scripts/bench --offline-baseline to install and measure it"
    else:
        why = None if offline_installed() else offline_install()
        if why is None:
            got = run_offline(work, token, secs, row, args.soak)
            if isinstance(got, dict):
                offline = got
            else:
                why = got
        if why is not None:
            offline_note = f"skipped: {why}"
            log(f"  serverless-offline baseline {offline_note}")

    # Template load: 300 routes, 100 functions; no function process before its first request.
    big = generate_big_stack(work)
    big_server = Stackgate(big, os.path.join(work, "big-state"), free_port(), os.path.join(work, "big.log"))
    big_ready_ms = big_server.ready_s * 1000
    started_early = len(children(big_server.proc.pid))
    big_status = get(f"{big_server.url}/r7/x")
    started_after = len(children(big_server.proc.pid))
    big_server.stop()

    # ---- tables ----
    def ratio(a, b):
        return a / b if a and b and a == a and b == b else float("nan")

    print(f"\nstackgate benchmark — {os.cpu_count()} cores, load average {load:.2f} at start "
          f"(other work on the machine shows up there), {secs} s per run, wrk on 127.0.0.1\n")
    print("| scenario | conns | requests/s | p50 ms | p99 ms | CPU µs/request (stackgate + functions) |")
    print("|---|---:|---:|---:|---:|---:|")
    for (name, c), r in rows.items():
        cu = cpu.get((name, c))
        cu_s = f"{cu[0]:.0f} + {cu[1]:.0f}" if cu else ""
        print(f"| {name} | {c} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {cu_s} |")
    if offline_note:
        print(f"| baseline: serverless-offline 13 | | {offline_note} | | | |")

    A, B, C, _ = (s[0] for s in scenarios)
    bare_name, dnode, drust = "baseline: bare hyper, fixed body", direct[0][0], direct[1][0]
    off = "baseline: serverless-offline 13, JWT + Node.js"

    def r(name, c, key="rps"):
        v = rows.get((name, c))
        return v[key] if v else float("nan")

    print("\n| ratio | 1 | 16 | 64 |")
    print("|---|---:|---:|---:|")
    lines = [
        ("(a) req/s ÷ serverless-offline req/s", lambda c: ratio(r(A, c), r(off, c))),
        ("(a) req/s ÷ serverless-offline --useInProcess req/s", lambda c: ratio(r(A, c), r(OFFLINE_IN_PROCESS, c))),
        ("(a) req/s ÷ Node.js direct Runtime API req/s", lambda c: ratio(r(A, c), r(dnode, c))),
        ("(b) req/s ÷ bare hyper req/s", lambda c: ratio(r(B, c), r(bare_name, c))),
        ("(b) req/s ÷ Rust direct Runtime API req/s", lambda c: ratio(r(B, c), r(drust, c))),
        ("(c) req/s ÷ (a) req/s (cost of the JWT check)", lambda c: ratio(r(C, c), r(A, c))),
    ]
    for label, f in lines:
        print(f"| {label} | " + " | ".join(f"{f(c):.2f}" if f(c) == f(c) else "n/a" for c in CONNECTIONS) + " |")

    def over_us(scn, base, c=1):
        return (r(scn, c, "p50_ms") - r(base, c, "p50_ms")) * 1000

    print("\n| measure | value |")
    print("|---|---|")
    print(f"| gateway overhead, p50 at 1 connection: (a) − Node.js direct / (c) − Node.js direct / (b) − Rust direct | "
          f"{fmt(over_us(A, dnode), 0)} / {fmt(over_us(C, dnode), 0)} / {fmt(over_us(B, drust), 0)} µs |")
    print(f"| launch → first 200 on GET /test (JWT, Node.js process started by that request) | {fmt(launch_ms, 0)} ms (ready line after {ready_ms:.0f} ms) |")
    print(f"| first request to a not-yet-started function: Rust provided.al2023 / Node.js | {cold_rust_ms:.1f} / {cold_node_ms:.1f} ms |")
    print(f"| stackgate resident memory, idle after the first request | {idle_rss / 1024:.1f} MB |")
    print(f"| stackgate resident memory under load: peak (VmHWM) / at the end ({envs} function processes, not counted) | {load_hwm / 1024:.1f} / {load_rss / 1024:.1f} MB |")
    print(f"| launch → ready, generated stack of 300 routes / 100 functions | {big_ready_ms:.0f} ms |")
    print(f"| function processes before the first request (300/100 stack) → after GET /r7/x ({big_status}) | {started_early} → {started_after} |")
    print(f"| access lines written by stackgate (one per request) | {access_lines:,} |")
    if soak:
        first, last = soak[0], soak[-1]
        print(f"| soak, (a) at 16 connections, 6 × 10 s after a fresh start + 2 s warm-up: req/s first → last window; worst p99 | "
              f"{fmt(first['rps'], 0)} → {fmt(last['rps'], 0)} ({ratio(last['rps'], first['rps']):.2f}×); "
              f"{fmt(max(s['p99_ms'] for s in soak))} ms |")
    off_soak = offline.get("soak")
    if off_soak:
        print(f"| soak, serverless-offline at 16 connections, 6 × 10 s after a fresh start + 2 s warm-up: req/s per window | "
              + " → ".join(fmt(w["rps"], 0) for w in off_soak)
              + f" ({ratio(off_soak[-1]['rps'], off_soak[0]['rps']):.2f}×); worst p99 "
              f"{fmt(max(w['p99_ms'] for w in off_soak))} ms |")
        print(f"| serverless-offline resident memory over its soak (Node.js, handlers in-process), per window | "
              + " → ".join(f"{w['rss'] / 1024:.0f}" for w in off_soak) + " MB |")
    if soak and off_soak:
        print(f"| mean req/s over the 60 s at 16 connections: (a) / serverless-offline | "
              f"{fmt(mean_rps(soak), 0)} / {fmt(mean_rps(off_soak), 0)} ({ratio(mean_rps(soak), mean_rps(off_soak)):.1f}×) |")
    if offline.get("launch_ms"):
        print(f"| serverless-offline: launch → first 200 / resident memory idle / after the load runs | "
              f"{offline['launch_ms']:.0f} ms / {offline['idle_rss'] / 1024:.0f} MB / {offline.get('load_rss', 0) / 1024:.0f} MB |")
    # What the function processes alone allow: their CPU per request on 2 cores, with a gateway
    # (and a load generator) costing nothing.
    for label, scn, c, base in (("(a) Node.js", A, 16, None), ("(b) Rust", B, 64, bare_name)):
        cu = cpu.get((scn, c))
        if cu and cu[1] > 0:
            ceiling = (os.cpu_count() or 1) * 1e6 / cu[1]
            extra = f" = {ratio(ceiling, r(base, c)):.2f} of bare hyper" if base else ""
            if not base and (off, c) in rows:
                extra = f" = {ratio(ceiling, r(off, c)):.1f}× serverless-offline's short run"
                if (OFFLINE_IN_PROCESS, c) in rows:
                    extra += f", {ratio(ceiling, r(OFFLINE_IN_PROCESS, c)):.1f}× its --useInProcess mode"
            print(f"| ceiling set by the function processes alone, {label} at {c} connections: "
                  f"{os.cpu_count()} cores ÷ {cu[1]:.0f} µs of function CPU per request | {fmt(ceiling, 0)} req/s{extra} |")

    # Targets.
    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    rust_share = ratio(r(B, 64), r(bare_name, 64))
    checks = [
        (f"(a) at 16 connections ≥ {TARGET_NODE_RPS_C16:,} req/s", f"{fmt(r(A, 16), 0)}", r(A, 16) >= TARGET_NODE_RPS_C16),
        (f"(a) at 16 connections p99 ≤ {TARGET_NODE_P99_C16_MS} ms", f"{fmt(r(A, 16, 'p99_ms'))} ms",
         r(A, 16, "p99_ms") <= TARGET_NODE_P99_C16_MS),
        ("(b) at 64 connections ≥ 1/3 of bare hyper", f"{rust_share:.2f}", rust_share >= TARGET_RUST_C64_OF_BARE),
        (f"gateway overhead p50 ≤ {TARGET_OVERHEAD_P50_US} µs ((a) − direct, 1 connection)", f"{fmt(over_us(A, dnode), 0)} µs",
         over_us(A, dnode) <= TARGET_OVERHEAD_P50_US),
        (f"launch → first 200 ≤ {TARGET_LAUNCH_MS} ms", f"{fmt(launch_ms, 0)} ms",
         None if launch_ms is None else launch_ms <= TARGET_LAUNCH_MS),
        (f"RSS idle ≤ {TARGET_IDLE_RSS_MB} MB", f"{idle_rss / 1024:.1f} MB", idle_rss / 1024 <= TARGET_IDLE_RSS_MB),
        (f"RSS under load ≤ {TARGET_LOAD_RSS_MB} MB", f"{load_hwm / 1024:.1f} MB", load_hwm / 1024 <= TARGET_LOAD_RSS_MB),
        (f"300 routes / 100 functions load ≤ {TARGET_BIG_LOAD_MS} ms", f"{big_ready_ms:.0f} ms", big_ready_ms <= TARGET_BIG_LOAD_MS),
        ("no function process before its first request", f"{started_early}", started_early == 0),
    ]
    if soak:
        checks.append(("no slowdown over 60 s (last window ≥ 0.9 × first)",
                       f"{ratio(soak[-1]['rps'], soak[0]['rps']):.2f}×", soak[-1]["rps"] >= 0.9 * soak[0]["rps"]))
    if (off, 16) in rows:
        checks.append((f"(a) ≥ 10 × serverless-offline at 16 connections, {secs} s runs after a warm-up",
                       f"{ratio(r(A, 16), r(off, 16)):.1f}×", r(A, 16) >= 10 * r(off, 16)))
    if (OFFLINE_IN_PROCESS, 16) in rows:
        checks.append((f"(a) ≥ 5 × serverless-offline --useInProcess at 16 connections, {secs} s runs after a warm-up",
                       f"{ratio(r(A, 16), r(OFFLINE_IN_PROCESS, 16)):.1f}×", r(A, 16) >= 5 * r(OFFLINE_IN_PROCESS, 16)))
    if soak and off_soak:
        checks.append(("(a) ≥ 10 × serverless-offline at 16 connections, mean over 60 s, each after a fresh start + 2 s warm-up",
                       f"{ratio(mean_rps(soak), mean_rps(off_soak)):.1f}×", mean_rps(soak) >= 10 * mean_rps(off_soak)))
    print("\n| target | measured | |")
    print("|---|---|---|")
    for label, value, ok in checks:
        print(f"| {label} | {value} | {verdict(ok)} |")
    print(f"\n(total {time.monotonic() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f})")
    if args.keep:
        print(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
