//! Test harness: starts the real `stackgate` binary on loopback and talks to it over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test (built by cargo for this test target).
pub fn stackgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stackgate"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("stackgate-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A running `stackgate serve`. Stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub issuer: Option<String>,
    pub banner: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `stackgate serve TEMPLATE --port 0 --issuer-port 0 --state-dir …` plus `extra`
    /// arguments, and waits until it has printed its banner.
    pub fn start(template: &Path, extra: &[&str]) -> Server {
        Self::start_with_env(template, extra, &[])
    }

    /// [`Server::start`] with environment variables set for stackgate.
    pub fn start_with_env(template: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(stackgate_bin());
        command.arg("serve").arg(template);
        if !extra.contains(&"--state-dir") {
            command.arg("--state-dir").arg(temp_dir("state"));
        }
        command.envs(env.iter().copied());
        Self::spawn(command, extra)
    }

    /// Starts `stackgate serve TEMPLATE --port 0 --issuer-port 0` the way a user types it: from
    /// `dir`, with a relative template path and the default state directory.
    pub fn start_in(dir: &Path, template: &str, extra: &[&str]) -> Server {
        let mut command = Command::new(stackgate_bin());
        command.current_dir(dir).arg("serve").arg(template);
        Self::spawn(command, extra)
    }

    fn spawn(mut command: Command, extra: &[&str]) -> Server {
        command.args(["--port", "0", "--issuer-port", "0"]);
        if !extra.contains(&"--lambda-port") {
            command.args(["--lambda-port", "0"]);
        }
        command
            .args(extra)
            .env("STACKGATE_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("stackgate starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            let mut pipe = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let reader = BufReader::new(stdout);
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    banner.push_str(&line);
                    banner.push('\n');
                    if line.starts_with("stackgate: ready") {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "stackgate did not become ready.\nstdout:\n{banner}\nstderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
        }
        let field = |prefix: &str| {
            banner
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|s| s.trim().to_string())
        };
        // Empty when the template has no HTTP API (only the Lambda API serves).
        let url = field("Gateway:")
            .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
            .unwrap_or_default();
        let issuer = field("Dev issuer:");
        Server {
            child,
            url,
            issuer,
            banner,
            stderr,
        }
    }

    /// Everything stackgate wrote to stderr so far (logs).
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to 5 s for `needle` to show up in the logs.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let logs = self.logs();
            if logs.contains(needle) || Instant::now() > deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token from a dev issuer's Auth0-style `/oauth/token`.
pub async fn dev_token(issuer: &str, audience: &str, scope: Option<&str>) -> String {
    let mut body = serde_json::json!({
        "client_id": "test-client",
        "client_secret": "test-secret",
        "audience": audience,
        "grant_type": "client_credentials",
    });
    if let Some(scope) = scope {
        body["scope"] = scope.into();
    }
    let response = reqwest::Client::new()
        .post(format!("{issuer}oauth/token"))
        .json(&body)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    json["access_token"].as_str().unwrap().to_string()
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request is answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send(reqwest::Client::new().get(url)).await
}

/// `GET url` with `Authorization: Bearer token`.
pub async fn get_bearer(url: &str, token: &str) -> Reply {
    send(reqwest::Client::new().get(url).bearer_auth(token)).await
}
