//! One execution environment: one process, its own Runtime API listener, its log.
//!
//! The owner (the pool) holds an `Environment` exclusively while it runs an invocation, so the
//! invocation's ending (response, error, timeout, process exit) is observed in one place.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::process::{Child, Command};

use crate::api::{ApiEvent, MAX_RESPONSE_BYTES, RuntimeApi, Work};
use crate::logs::{self, LogSink, Report, ReportStatus};
use crate::runtimes::{Family, Launch, provided};
use crate::{Invocation, InvocationResult, Outcome};

/// Lambda's on-demand init limit.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What every environment of one function shares.
#[derive(Debug)]
pub struct EnvConfig {
    pub function: Arc<str>,
    pub arn: String,
    pub family: Family,
    pub launch: Launch,
    pub code_dir: PathBuf,
    /// Every variable but the per-environment ones (`AWS_LAMBDA_RUNTIME_API`, log stream).
    pub base_env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u64,
}

/// Why an environment could not start.
pub enum StartError {
    /// `bootstrap` missing or not executable: a `Runtime.InvalidEntrypoint` function error.
    InvalidEntrypoint(String),
    /// Anything else: the platform's fault (a Setup error).
    Setup(String),
}

pub struct Environment {
    child: Child,
    pid: u32,
    api: RuntimeApi,
    sink: Arc<LogSink>,
    spawned_at: Instant,
    ready: bool,
    readers: [tokio::task::JoinHandle<()>; 2],
    /// Last VmHWM reading (MB) and when it was taken: REPORT's "Max Memory Used".
    peak_memory: Option<(u64, Instant)>,
}

impl Drop for Environment {
    fn drop(&mut self) {
        // Only while the leader is unreaped is its pid certainly still this group's id.
        if matches!(self.child.try_wait(), Ok(None)) {
            kill_group(self.pid);
        }
        for r in &self.readers {
            r.abort();
        }
    }
}

/// SIGKILL to the whole process group the environment's process leads (its children too).
pub fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// How an invocation ended, as far as the environment's fate goes.
pub struct Ended {
    pub result: InvocationResult,
    /// Whether the environment can take another invocation.
    pub reusable: bool,
}

impl Environment {
    pub async fn start(cfg: &EnvConfig) -> Result<Environment, StartError> {
        let launch = &cfg.launch;
        if cfg.family == Family::Provided
            && let Some(problem) = provided::entrypoint_problem(&launch.program).await
        {
            return Err(StartError::InvalidEntrypoint(problem));
        }
        let api = RuntimeApi::start()
            .await
            .map_err(|e| StartError::Setup(format!("cannot bind a Runtime API listener: {e}")))?;
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .env_clear()
            .envs(cfg.base_env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", logs::log_stream_name())
            .current_dir(&cfg.code_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if cfg.family == Family::Provided => {
                return Err(StartError::InvalidEntrypoint(format!(
                    "fork/exec {}: {e}",
                    launch.program.display()
                )));
            }
            Err(e) => {
                return Err(StartError::Setup(format!(
                    "cannot start {}: {e}",
                    launch.program.display()
                )));
            }
        };
        let pid = child.id().unwrap_or(0);
        let sink = LogSink::new(cfg.function.clone());
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            kill_group(pid);
            return Err(StartError::Setup("process started without pipes".into()));
        };
        let readers = [
            logs::spawn_reader(stdout, sink.clone()),
            logs::spawn_reader(stderr, sink.clone()),
        ];
        Ok(Environment {
            child,
            pid,
            api,
            sink,
            spawned_at: Instant::now(),
            ready: false,
            readers,
            peak_memory: None,
        })
    }

    /// Peak resident memory in MB. Reading /proc/PID/status costs the kernel a full status
    /// render (~8% of stackgate's CPU at thousands of invokes/s), so a reading is reused for up to
    /// a second; the first invocation of an environment always reads it.
    fn peak_memory_mb(&mut self) -> Option<u64> {
        const FRESH_FOR: Duration = Duration::from_secs(1);
        if let Some((mb, at)) = self.peak_memory
            && at.elapsed() < FRESH_FOR
        {
            return Some(mb);
        }
        let mb = logs::max_memory_mb(self.pid)?;
        self.peak_memory = Some((mb, Instant::now()));
        Some(mb)
    }

    /// Whether the process is still running (it may have exited while idle).
    pub fn is_alive(&mut self) -> bool {
        let alive = matches!(self.child.try_wait(), Ok(None));
        if !alive {
            // Whatever the process left behind in its group goes too.
            kill_group(self.pid);
        }
        alive
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Runs one invocation to its end. `None`: the process had died before it took the event
    /// (e.g. it exited right after reporting the previous one), so the invocation never began
    /// and can run in a fresh environment.
    pub async fn invoke(
        &mut self,
        cfg: &EnvConfig,
        request_id: Arc<str>,
        invocation: &Invocation,
    ) -> Option<Ended> {
        let mut init_duration = None;
        let mut started = Instant::now();
        let mut end = None;
        if !self.ready {
            // As in CloudWatch, what the process prints while it initialises (and an
            // INIT_REPORT if that fails) comes before the invocation's START.
            match self.wait_ready(&request_id).await {
                Ok(d) => {
                    init_duration = Some(d);
                    started = Instant::now();
                }
                Err(e) => end = Some(e),
            }
            // Lines printed during init are usually already in the pipe: let the readers log
            // them first.
            tokio::task::yield_now().await;
        }
        self.sink.begin(&request_id);
        let end = match end {
            Some(e) => e,
            None => self.run(cfg, &request_id, invocation).await?,
        };
        let duration = started.elapsed();
        if matches!(end.status, EndStatus::Timeout) {
            self.sink.platform_line(&format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                logs::iso8601(SystemTime::now()),
                cfg.timeout.as_secs_f64()
            ));
        }
        if !end.reusable {
            // Let the readers drain what the process printed before it died.
            kill_group(self.pid);
            let _ = self.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_millis(200), self.child.wait()).await;
            for r in &mut self.readers {
                let _ = tokio::time::timeout(Duration::from_millis(100), r).await;
            }
        } else {
            // Lines printed just before the response are usually already in the pipe.
            tokio::task::yield_now().await;
        }
        self.sink
            .platform_line(&format!("END RequestId: {request_id}"));
        let status = match &end.status {
            EndStatus::Ok => ReportStatus::Ok,
            EndStatus::Timeout => ReportStatus::Timeout,
            EndStatus::Error(t) => ReportStatus::Error(t),
        };
        let report = Report {
            request_id: &request_id,
            duration,
            memory_mb: cfg.memory_mb,
            max_memory_mb: self.peak_memory_mb().unwrap_or(cfg.memory_mb),
            init_duration,
            status,
        };
        self.sink.platform_line(&report.line());
        Some(Ended {
            result: InvocationResult {
                request_id: request_id.to_string(),
                outcome: end.outcome,
                log: self.sink.finish(),
            },
            reusable: end.reusable,
        })
    }

    /// Waits for the first `GET /next`; the init duration, or how the invocation ended.
    async fn wait_ready(&mut self, request_id: &str) -> Result<Duration, End> {
        let deadline = tokio::time::Instant::from_std(self.spawned_at + INIT_TIMEOUT);
        loop {
            tokio::select! {
                biased;
                ev = self.api.events.recv() => match ev {
                    Some(ApiEvent::Ready) => {
                        self.ready = true;
                        return Ok(self.spawned_at.elapsed());
                    }
                    Some(ApiEvent::InitError { error_type, payload }) => {
                        return Err(self.init_failed(error_type, payload));
                    }
                    Some(_) => continue,
                    None => return Err(exit_end(request_id, None)),
                },
                status = self.child.wait() => {
                    if let Ok(ApiEvent::InitError { error_type, payload }) = self.api.events.try_recv() {
                        return Err(self.init_failed(error_type, payload));
                    }
                    return Err(exit_end(request_id, status.ok()));
                }
                () = tokio::time::sleep_until(deadline) => {
                    let message = format!(
                        "RequestId: {request_id} Error: Init phase timed out after {:.2} seconds",
                        INIT_TIMEOUT.as_secs_f64()
                    );
                    return Err(End {
                        outcome: platform_error("Sandbox.Timedout", &message),
                        status: EndStatus::Timeout,
                        reusable: false,
                    });
                }
            }
        }
    }

    fn init_failed(&self, error_type: String, payload: Bytes) -> End {
        self.sink.platform_line(&format!(
            "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}",
            self.spawned_at.elapsed().as_secs_f64() * 1000.0
        ));
        End {
            status: EndStatus::Error(error_type.clone()),
            outcome: Outcome::FunctionError {
                error_type,
                payload,
            },
            reusable: false,
        }
    }

    async fn run(
        &mut self,
        cfg: &EnvConfig,
        request_id: &Arc<str>,
        inv: &Invocation,
    ) -> Option<End> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let invoked_arn = match &inv.qualifier {
            Some(q) => format!("{}:{q}", cfg.arn),
            None => cfg.arn.clone(),
        };
        let work = Work {
            request_id: request_id.clone(),
            payload: inv.payload.clone(),
            deadline_ms: now_ms + cfg.timeout.as_millis() as u64,
            invoked_arn,
            trace_id: inv.trace_id.clone(),
            client_context: inv.client_context.clone(),
        };
        let deadline = tokio::time::Instant::now() + cfg.timeout;
        if self.api.work.try_send(work).is_err() {
            return Some(End {
                outcome: platform_error(
                    "Sandbox.Failure",
                    &format!(
                        "RequestId: {request_id} Error: the runtime is not polling for events"
                    ),
                ),
                status: EndStatus::Error("Sandbox.Failure".into()),
                reusable: false,
            });
        }
        loop {
            tokio::select! {
                biased;
                ev = self.api.events.recv() => match ev {
                    Some(ev) => if let Some(end) = answer(request_id, ev) { return Some(end) },
                    None => return Some(exit_end(request_id, None)),
                },
                status = self.child.wait() => {
                    while let Ok(ev) = self.api.events.try_recv() {
                        if let Some(end) = answer(request_id, ev) { return Some(end) }
                    }
                    if self.api.work.capacity() == 0 {
                        // The event is still queued: the process never took it.
                        self.sink.finish();
                        return None;
                    }
                    return Some(exit_end(request_id, status.ok()));
                }
                () = tokio::time::sleep_until(deadline) => {
                    let message = format!(
                        "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                        cfg.timeout.as_secs_f64()
                    );
                    return Some(End {
                        outcome: platform_error("Sandbox.Timedout", &message),
                        status: EndStatus::Timeout,
                        reusable: false,
                    });
                }
            }
        }
    }
}

enum EndStatus {
    Ok,
    Timeout,
    Error(String),
}

struct End {
    outcome: Outcome,
    status: EndStatus,
    reusable: bool,
}

/// The invocation's end if `ev` answers `request_id`.
fn answer(request_id: &str, ev: ApiEvent) -> Option<End> {
    let end = match ev {
        ApiEvent::Response {
            request_id: id,
            payload,
            content_type,
        } if &*id == request_id => End {
            outcome: Outcome::Response {
                payload,
                content_type,
            },
            status: EndStatus::Ok,
            reusable: true,
        },
        ApiEvent::Error {
            request_id: id,
            error_type,
            payload,
        } if &*id == request_id => End {
            outcome: Outcome::FunctionError {
                error_type,
                payload,
            },
            status: EndStatus::Ok,
            reusable: true,
        },
        ApiEvent::ResponseTooLarge {
            request_id: id,
            size,
        } if &*id == request_id => End {
            outcome: platform_error(
                "Function.ResponseSizeTooLarge",
                &format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                ),
            ),
            status: EndStatus::Error("Function.ResponseSizeTooLarge".into()),
            reusable: true,
        },
        _ => return None,
    };
    Some(end)
}

/// `{"errorType": ..., "errorMessage": ...}` as the platform reports its own errors.
pub fn platform_error(error_type: &str, message: &str) -> Outcome {
    let payload = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    Outcome::FunctionError {
        error_type: error_type.to_owned(),
        payload: Bytes::from(payload.to_string()),
    }
}

fn exit_end(request_id: &str, status: Option<ExitStatus>) -> End {
    let reason = match status {
        Some(s) if s.code() == Some(0) => "Runtime exited without providing a reason".to_owned(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("Runtime exited with error: exit status {code}"),
            (None, Some(sig)) => format!("Runtime exited with error: signal: {}", signal_name(sig)),
            (None, None) => "Runtime exited with error".to_owned(),
        },
        None => "Runtime exited without providing a reason".to_owned(),
    };
    End {
        outcome: platform_error(
            "Runtime.ExitError",
            &format!("RequestId: {request_id} Error: {reason}"),
        ),
        status: EndStatus::Error("Runtime.ExitError".into()),
        reusable: false,
    }
}

/// Go's names for signals (Lambda's platform is written in Go).
fn signal_name(sig: i32) -> String {
    match sig {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        3 => "quit".into(),
        4 => "illegal instruction".into(),
        6 => "aborted".into(),
        7 => "bus error".into(),
        8 => "floating point exception".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        n => format!("signal {n}"),
    }
}
