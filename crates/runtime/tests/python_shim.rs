//! The Python shim's own Runtime API client parses what a server may send: Content-Length and
//! chunked bodies, split anywhere across reads, several responses in one read.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

const CHECK: &str = r#"
import importlib.util, os, sys
os.environ["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:1"
spec = importlib.util.spec_from_file_location("shim", sys.argv[1])
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)

class Reads:
    def __init__(self, data, step):
        self.data, self.step = data, step
    def recv(self, n):
        out, self.data = self.data[:self.step], self.data[self.step:]
        return out

raw = (b"HTTP/1.1 202 Accepted\r\ncontent-length: 15\r\n\r\n{\"status\":\"OK\"}"
       b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id: abc\r\n\r\n"
       b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n"
       b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
client = shim._Client()
for step in (1, 2, 3, 7, 64, 100000):
    client.sock, client.buf = Reads(raw, step), b""
    a, b, c = client.response(), client.response(), client.response()
    assert a[0] == 202 and a[2] == b'{"status":"OK"}', (step, a)
    assert b[0] == 200 and b[2] == b'{"a":1}', (step, b)
    assert b[1].get("Lambda-Runtime-Aws-Request-Id") == "abc", (step, b)
    assert c[0] == 200 and c[2] == b"", (step, c)
client.sock, client.buf = Reads(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab", 100), b""
try:
    client.response()
    raise SystemExit("a body cut short must fail")
except ConnectionError:
    pass
print("parsed")
"#;

#[test]
fn python_shim_client_parses_responses() {
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/shims/python_runtime.py");
    let out = Command::new("python3")
        .arg("-c")
        .arg(CHECK)
        .arg(&shim)
        .output()
        .expect("python3 runs (scripts/test checks it is installed)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("parsed"),
        "{stdout}\n{stderr}"
    );
}
