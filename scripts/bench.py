#!/usr/bin/env python3
"""Drives stackgate and its baselines with wrk on loopback and prints the table BENCHMARKS.md
quotes. Run through scripts/bench (which builds the release binaries first).

Everything runs in the same invocation so the figures can be read as ratios: the bare hyper
server is the ceiling for one HTTP exchange on this machine; direct-invoke is the same function
through its Runtime API with no gateway in front.
"""
import argparse
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
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
STACKGATE = os.path.join(RELEASE, "stackgate")
CONNECTIONS = (1, 16, 64)


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


def wrk(url, connections, seconds, headers=()):
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


class Stackgate:
    """A `stackgate serve` of a template, on free ports."""

    def __init__(self, template, state_dir, issuer_port=None, env=None):
        self.issuer_port = issuer_port or free_port()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [STACKGATE, "serve", template, "--port", "0", "--issuer-port", str(self.issuer_port),
             "--lambda-port", "0", "--state-dir", state_dir],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, STACKGATE_LOG="warn", **(env or {})),
        )
        self.url = None
        for line in self.proc.stdout:
            if line.startswith("Gateway:") and self.url is None:
                self.url = line.split()[1]
            if line.startswith("stackgate: ready"):
                break
        self.ready_s = time.monotonic() - self.started
        if self.url is None:
            raise SystemExit("stackgate did not start")

    def token(self, template, state_dir):
        return subprocess.run(
            [STACKGATE, "token", template, "--issuer-port", str(self.issuer_port), "--state-dir", state_dir,
             "--expires-in", "2h"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


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


def fmt(x, digits=2):
    return "n/a" if x != x else f"{x:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5, help="length of each load run")
    args = parser.parse_args()
    secs = args.seconds
    work = tempfile.mkdtemp(prefix="stackgate-bench-")
    rows = []

    def row(name, conns, r):
        rows.append((name, conns, r))
        print(f"  {name:<44} c={conns:<3} {fmt(r['rps'], 0):>9} req/s  p50 {fmt(r['p50_ms'])} ms  p99 {fmt(r['p99_ms'])} ms"
              + (f"  NON-2XX {r['non2xx']}" if r["non2xx"] else ""), file=sys.stderr)

    print(f"stackgate benchmark: {os.cpu_count()} cores, {secs}s per run, work dir {work}", file=sys.stderr)

    # Baseline (i): bare hyper.
    bare = subprocess.Popen([os.path.join(RELEASE, "bare-hyper")], stdout=subprocess.PIPE, text=True)
    bare_port = int(bare.stdout.readline().split()[-1])
    for c in CONNECTIONS:
        row("baseline: bare hyper, fixed body", c, wrk(f"http://127.0.0.1:{bare_port}/", c, secs))
    bare.terminate()
    bare.wait()

    template = prepare_stack(work)
    state = os.path.join(work, "state")

    # Cold start: launch -> first 200 on GET /test (token minted before launch, same key and port).
    issuer_port = free_port()
    warm_token = None
    probe = Stackgate(template, state, issuer_port)
    warm_token = probe.token(template, state)
    probe.stop()
    t0 = time.monotonic()
    server = Stackgate(template, state, issuer_port)
    first = None
    while time.monotonic() - t0 < 20:
        if server.url and get(f"{server.url}/test", warm_token) == 200:
            first = time.monotonic() - t0
            break
        time.sleep(0.002)
    idle_rss = rss_kb(server.proc.pid)
    # First request to a not-yet-started function (Rust), then a warm one.
    t1 = time.monotonic()
    get(f"{server.url}/rust/cold", warm_token)
    cold_rust_ms = (time.monotonic() - t1) * 1000
    t1 = time.monotonic()
    get(f"{server.url}/open", None)
    t2 = time.monotonic()
    get(f"{server.url}/open", None)
    warm_ms = (time.monotonic() - t2) * 1000

    auth = [f"Authorization: Bearer {warm_token}"]
    for c in CONNECTIONS:
        row("(a) GET /test, JWT + Node.js function", c, wrk(f"{server.url}/test", c, secs, auth))
    for c in CONNECTIONS:
        row("(b) GET /rust/x, JWT + Rust function", c, wrk(f"{server.url}/rust/x", c, secs, auth))
    for c in CONNECTIONS:
        row("(c) GET /open, no authorizer, Node.js", c, wrk(f"{server.url}/open", c, secs))
    load_hwm = rss_kb(server.proc.pid, "VmHWM")
    server.stop()

    # Baseline (ii): the same Node function through its Runtime API, no gateway.
    node_dir = os.path.join(work, "direct-node")
    os.makedirs(node_dir, exist_ok=True)
    with open(os.path.join(node_dir, "index.js"), "w") as f:
        f.write("exports.handler = async function(event, context) {\n"
                "  return { statusCode: 200, body: JSON.stringify('Hello from Lambda!') };\n};\n")
    for c in CONNECTIONS:
        out = subprocess.run(
            [os.path.join(RELEASE, "direct-invoke"), "nodejs22.x", "index.handler", node_dir, str(c), str(secs),
             os.path.join(work, "direct-state")],
            capture_output=True, text=True, timeout=secs + 60,
        ).stdout
        d = json.loads(out.strip().splitlines()[-1])
        row("baseline: Node.js via Runtime API, no gateway", c,
            {"rps": d["rps"], "p50_ms": d["p50_us"] / 1000, "p99_ms": d["p99_us"] / 1000, "non2xx": 0})

    # Template load: 300 routes, 100 functions; no function process before its first request.
    big = generate_big_stack(work)
    big_server = Stackgate(big, os.path.join(work, "big-state"))
    big_ready = big_server.ready_s
    started_early = len(children(big_server.proc.pid))
    big_status = get(f"{big_server.url}/r7/x")
    big_server.stop()

    print("\n| scenario | connections | requests/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, c, r in rows:
        print(f"| {name} | {c} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} |")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| launch → first 200 on GET /test (example stack, Node.js cold start included) | {fmt(first * 1000 if first else float('nan'), 0)} ms |")
    print(f"| first request to a not-yet-started function (Rust, JWT) | {fmt(cold_rust_ms, 1)} ms |")
    print(f"| a warm request (GET /open, one connection, urllib client) | {fmt(warm_ms, 2)} ms |")
    print(f"| stackgate resident memory, idle after the first request | {idle_rss / 1024:.1f} MB |")
    print(f"| stackgate peak resident memory under load (VmHWM; function processes not counted) | {load_hwm / 1024:.1f} MB |")
    print(f"| launch → ready, 300 routes / 100 functions | {big_ready * 1000:.0f} ms |")
    print(f"| function processes started before the first request (300/100 stack) | {started_early} (then GET /r7/x → {big_status}) |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
