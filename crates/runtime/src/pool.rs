//! Per-function pools of warm execution environments.
//!
//! An invoke takes an idle environment (the most recently used, the warmest) or starts one,
//! bounded by reserved concurrency (a hard limit: beyond it, throttled) or `max_environments`
//! (beyond it, wait). Environments start lazily: none exists before the first invoke.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::environment::{self, EnvConfig, Environment, StartError};
use crate::logs::{self, LogSink, Report, ReportStatus};
use crate::runtimes::{self, Family, Interpreters};
use crate::{FunctionSpec, Invocation, InvocationResult, InvokeError, code};

/// Variables Lambda reserves: a function's `Environment.Variables` cannot override them.
const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    // Not reserved by Lambda, but it switches runtimes into Managed Instances mode.
    "AWS_LAMBDA_MAX_CONCURRENCY",
];

/// Fixed, obviously fake credentials: code that signs requests works, nothing reaches AWS.
pub const DUMMY_ACCESS_KEY_ID: &str = "ASIASTACKGATELOCAL00";
pub const DUMMY_SECRET_ACCESS_KEY: &str = "stackgate/local/dummy/secret/access/key00";
pub const DUMMY_SESSION_TOKEN: &str = "stackgate-local-dummy-session-token";

/// What all pools share.
pub struct Shared {
    pub work_dir: PathBuf,
    pub interpreters: Interpreters,
    warned: Mutex<HashSet<String>>,
    /// Process-group leaders of every live environment, for `shutdown`.
    live: Mutex<HashMap<u64, u32>>,
    next_env: AtomicU64,
    pub closed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(work_dir: PathBuf) -> Arc<Self> {
        Arc::new(Shared {
            work_dir,
            interpreters: Interpreters::default(),
            warned: Mutex::new(HashSet::new()),
            live: Mutex::new(HashMap::new()),
            next_env: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })
    }

    /// Kills every environment process still alive.
    pub fn kill_all(&self) {
        for (_, pid) in lock(&self.live).drain() {
            environment::kill_group(pid);
        }
    }
}

/// An environment registered in [`Shared::live`] for as long as it exists.
struct Tracked {
    env: Environment,
    key: u64,
    shared: Arc<Shared>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&self.shared.live).remove(&self.key);
    }
}

pub struct FunctionPool {
    spec: FunctionSpec,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    idle: Mutex<Vec<Tracked>>,
    config: OnceCell<Arc<EnvConfig>>,
    /// Replaced or removed by a reload: environments finishing an invocation are shut down
    /// instead of kept warm.
    retired: AtomicBool,
}

impl FunctionPool {
    pub fn new(spec: FunctionSpec, shared: Arc<Shared>, max_environments: usize) -> Arc<Self> {
        let permits = match spec.reserved_concurrency {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => max_environments.max(1),
        }
        .min(Semaphore::MAX_PERMITS);
        Self::with_limit(spec, shared, Arc::new(Semaphore::new(permits)))
    }

    fn with_limit(spec: FunctionSpec, shared: Arc<Shared>, limit: Arc<Semaphore>) -> Arc<Self> {
        Arc::new(FunctionPool {
            spec,
            shared,
            limit,
            idle: Mutex::new(Vec::new()),
            config: OnceCell::new(),
            retired: AtomicBool::new(false),
        })
    }

    /// The pool that replaces `old` (hot reload). With the same concurrency limit it shares
    /// `old`'s slots, so invocations still running on the old environments count against the
    /// limit, as in Lambda; a changed limit starts afresh.
    pub fn replacing(
        old: &FunctionPool,
        spec: FunctionSpec,
        shared: Arc<Shared>,
        max_environments: usize,
    ) -> Arc<Self> {
        if old.spec.reserved_concurrency == spec.reserved_concurrency {
            Self::with_limit(spec, shared, old.limit.clone())
        } else {
            Self::new(spec, shared, max_environments)
        }
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// A concurrency slot: at once or throttled with reserved concurrency, else waits.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, InvokeError> {
        match self.spec.reserved_concurrency {
            Some(limit) => {
                self.limit
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| InvokeError::Throttled {
                        function: self.spec.name.clone(),
                        limit,
                    })
            }
            None => self
                .limit
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| self.setup_error("the runtime is shut down".into())),
        }
    }

    fn setup_error(&self, message: String) -> InvokeError {
        InvokeError::Setup {
            function: self.spec.name.clone(),
            message,
        }
    }

    /// Runs one invocation (the caller holds a permit from [`Self::acquire`]).
    pub async fn run(&self, invocation: Invocation) -> Result<InvocationResult, InvokeError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(self.setup_error("the runtime is shut down".into()));
        }
        let cfg = self
            .config
            .get_or_try_init(|| self.prepare())
            .await
            .map_err(|m| self.setup_error(m))?
            .clone();
        let request_id: Arc<str> = invocation
            .request_id
            .clone()
            .unwrap_or_else(logs::uuid_v4)
            .into();
        // A second attempt only when the first environment died before taking the event.
        for attempt in 0..2 {
            let mut tracked = match self.warm_environment() {
                Some(t) if attempt == 0 => t,
                _ => match Environment::start(&cfg).await {
                    Ok(env) => self.track(env),
                    Err(StartError::Setup(m)) => return Err(self.setup_error(m)),
                    Err(StartError::InvalidEntrypoint(problem)) => {
                        return Ok(invalid_entrypoint(&cfg, &request_id, &problem));
                    }
                },
            };
            let Some(ended) = tracked
                .env
                .invoke(&cfg, request_id.clone(), &invocation)
                .await
            else {
                continue;
            };
            if ended.reusable
                && !self.shared.closed.load(Ordering::Acquire)
                && !self.retired.load(Ordering::Acquire)
            {
                let mut idle = lock(&self.idle);
                // Checked again under the lock: `retire` clears the idle list under it.
                if !self.retired.load(Ordering::Acquire) {
                    idle.push(tracked);
                }
            }
            return Ok(ended.result);
        }
        Err(self.setup_error("the function's process exits before taking an event".into()))
    }

    /// The most recently used idle environment still alive.
    fn warm_environment(&self) -> Option<Tracked> {
        let mut idle = lock(&self.idle);
        while let Some(mut t) = idle.pop() {
            if t.env.is_alive() {
                return Some(t);
            }
        }
        None
    }

    fn track(&self, env: Environment) -> Tracked {
        let key = self.shared.next_env.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.live).insert(key, env.pid());
        Tracked {
            env,
            key,
            shared: self.shared.clone(),
        }
    }

    /// Once per function: its code directory, how to start it, its environment variables.
    async fn prepare(&self) -> Result<Arc<EnvConfig>, String> {
        let spec = &self.spec;
        let family = Family::of(&spec.runtime).ok_or_else(|| {
            format!(
                "runtime {} is not supported locally; stackgate runs nodejs*, python3.* and provided (provided.al2, provided.al2023)",
                spec.runtime
            )
        })?;
        let code_dir =
            code::materialise(&spec.name, family, &spec.code, &self.shared.work_dir).await?;
        let shims_dir = self.shared.work_dir.join("shims");
        let (launch, warning) = match family {
            Family::Node => {
                runtimes::node::launch(&spec.runtime, &self.shared.interpreters, &shims_dir).await?
            }
            Family::Python => {
                runtimes::python::launch(&spec.runtime, &self.shared.interpreters, &shims_dir)
                    .await?
            }
            Family::Provided => (runtimes::provided::launch(&code_dir), None),
        };
        if let Some(w) = warning
            && lock(&self.shared.warned).insert(spec.runtime.clone())
        {
            tracing::warn!(target: "lambda", "{w}");
        }
        for key in spec.environment.keys() {
            if RESERVED.contains(&key.as_str()) {
                tracing::warn!(
                    target: "lambda",
                    function = %spec.name,
                    "environment variable {key} is reserved by Lambda; the function's value is ignored"
                );
            }
        }
        let base_env = base_env(spec, &launch, &code_dir, &shims_dir);
        Ok(Arc::new(EnvConfig {
            function: spec.name.as_str().into(),
            arn: spec.arn.clone(),
            family,
            launch,
            code_dir,
            base_env,
            timeout: spec.timeout,
            memory_mb: spec.memory_mb,
        }))
    }

    /// Kills the idle environments.
    pub fn clear(&self) {
        lock(&self.idle).clear();
    }

    /// Takes the pool out of service (its function was replaced or removed): idle environments
    /// are shut down now, busy ones when their invocation ends.
    pub fn retire(&self) {
        let idle = {
            let mut idle = lock(&self.idle);
            self.retired.store(true, Ordering::Release);
            std::mem::take(&mut *idle)
        };
        drop(idle);
    }
}

fn base_env(
    spec: &FunctionSpec,
    launch: &runtimes::Launch,
    code_dir: &std::path::Path,
    shims_dir: &std::path::Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(32);
    for (k, v) in launch.defaults {
        env.push(((*k).into(), (*v).into()));
    }
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            env.push((key.into(), v));
        }
    }
    for (k, v) in &spec.environment {
        if !RESERVED.contains(&k.as_str()) {
            env.push((k.clone(), v.clone()));
        }
    }
    let mut reserved = |k: &str, v: String| env.push((k.into(), v));
    reserved("_HANDLER", spec.handler.clone());
    reserved("AWS_REGION", spec.region.clone());
    reserved("AWS_DEFAULT_REGION", spec.region.clone());
    if let Some(e) = &launch.execution_env {
        reserved("AWS_EXECUTION_ENV", e.clone());
    }
    reserved("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone());
    reserved(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        spec.memory_mb.to_string(),
    );
    reserved("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    reserved("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    reserved(
        "AWS_LAMBDA_LOG_GROUP_NAME",
        format!("/aws/lambda/{}", spec.name),
    );
    reserved("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID.into());
    reserved("AWS_ACCESS_KEY", DUMMY_ACCESS_KEY_ID.into());
    reserved("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY.into());
    reserved("AWS_SESSION_TOKEN", DUMMY_SESSION_TOKEN.into());
    reserved("LAMBDA_TASK_ROOT", code_dir.display().to_string());
    reserved("LAMBDA_RUNTIME_DIR", shims_dir.display().to_string());
    reserved("TZ", ":UTC".into());
    env
}

/// `bootstrap` could not be executed: Lambda's `Runtime.InvalidEntrypoint`.
fn invalid_entrypoint(cfg: &EnvConfig, request_id: &Arc<str>, problem: &str) -> InvocationResult {
    let sink = LogSink::new(cfg.function.clone());
    sink.begin(request_id);
    let message = format!("RequestId: {request_id} Error: {problem}");
    sink.platform_line(&format!("END RequestId: {request_id}"));
    sink.platform_line(
        &Report {
            request_id,
            duration: std::time::Duration::ZERO,
            memory_mb: cfg.memory_mb,
            max_memory_mb: 0,
            init_duration: None,
            status: ReportStatus::Error("Runtime.InvalidEntrypoint"),
        }
        .line(),
    );
    InvocationResult {
        request_id: request_id.to_string(),
        outcome: environment::platform_error("Runtime.InvalidEntrypoint", &message),
        log: sink.finish(),
    }
}
