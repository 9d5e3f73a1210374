//! Lambda functions as real local processes behind a faithful Runtime API.
//!
//! Each function has a pool of execution environments ([`pool`]); each environment is one
//! process with its own Runtime API listener ([`environment`], [`api`]). Managed runtimes run an
//! embedded shim on the local interpreter ([`runtimes`]); `provided.*` runs the code's
//! `bootstrap`. Output becomes CloudWatch-style log lines ([`logs`]).

mod api;
mod code;
mod environment;
pub mod event_queue;
mod held_writes;
pub mod invoke_api;
mod logs;
mod pool;
mod runtimes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;

/// Threads for the host's own async work next to function processes: `TOKIO_WORKER_THREADS` if
/// set, else half the cores (at least one), as the function processes need the other half. On 2
/// cores one worker serves 10–28% more requests than two (fewer hand-offs between threads; see
/// BENCHMARKS.md), and stackgate itself needs about half a core at 14,000 requests/s.
pub fn worker_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
}

/// Everything needed to run one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Function name (`AWS_LAMBDA_FUNCTION_NAME`); the key `invoke` takes.
    pub name: String,
    /// Unqualified ARN.
    pub arn: String,
    /// e.g. `nodejs22.x`, `python3.12`, `provided.al2023`.
    pub runtime: String,
    pub handler: String,
    pub code: CodeSource,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// `ReservedConcurrentExecutions`: a hard limit; beyond it invokes are throttled.
    pub reserved_concurrency: Option<u64>,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// Inline source (`Code.ZipFile`), written as `index.js` / `index.py` by runtime family.
    Inline(String),
    /// A directory, or a .zip file, holding the code.
    Path(PathBuf),
}

#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Most execution environments per function when it has no reserved concurrency
    /// (`--max-environments`, default 10); further invokes wait for a free one.
    pub max_environments: usize,
    /// Where shims and materialised code go (e.g. `.stackgate/` beside the template).
    pub work_dir: PathBuf,
}

/// One invocation request.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub payload: Bytes,
    /// Alias or version the caller named (for `Lambda-Runtime-Invoked-Function-Arn`).
    pub qualifier: Option<String>,
    /// Decoded client context JSON (`Lambda-Runtime-Client-Context`).
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<String>,
    /// Id of whoever asked (e.g. the gateway request id), for log lines.
    pub caller_request_id: Option<String>,
    /// The Lambda request id to use; a fresh one when `None` (the Invoke API chooses it up front
    /// for `Event` invocations, whose 202 answer carries it).
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InvocationResult {
    /// The Lambda request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    pub outcome: Outcome,
    /// This invocation's log, START … REPORT (for `X-Amz-Log-Type: Tail`).
    pub log: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The runtime posted `/response`.
    Response {
        payload: Bytes,
        content_type: Option<String>,
    },
    /// The runtime posted `/error`, or the platform failed the invocation: `Sandbox.Timedout`,
    /// `Runtime.ExitError`, init errors, `Function.ResponseSizeTooLarge`... `payload` is the
    /// error JSON exactly as Lambda returns it to the caller.
    FunctionError { error_type: String, payload: Bytes },
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("function not found: {0}")]
    NotFound(String),
    #[error("rate exceeded: function {function} has reserved concurrency {limit}")]
    Throttled { function: String, limit: u64 },
    #[error("could not prepare function {function}: {message}")]
    Setup { function: String, message: String },
}

/// All functions of a stack; each with its pool of execution environments.
pub struct Runtime {
    /// Swapped function by function by [`Runtime::update`]; an invoke holds the lock only to
    /// clone its pool's `Arc`.
    pools: RwLock<HashMap<String, Arc<pool::FunctionPool>>>,
    shared: Arc<pool::Shared>,
    max_environments: usize,
}

/// What [`Runtime::update`] did, by function name (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Configuration or code changed: a fresh pool; the old environments finish their
    /// invocations and are shut down.
    pub replaced: Vec<String>,
}

impl UpdateSummary {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.replaced.is_empty()
    }
}

impl Runtime {
    /// Starts nothing: environments start at their function's first invoke.
    pub fn new(functions: Vec<FunctionSpec>, options: RuntimeOptions) -> Self {
        let shared = pool::Shared::new(options.work_dir);
        let max_environments = options.max_environments;
        let pools = functions
            .into_iter()
            .map(|spec| {
                let name = spec.name.clone();
                let pool = pool::FunctionPool::new(spec, shared.clone(), max_environments);
                (name, pool)
            })
            .collect();
        Runtime {
            pools: RwLock::new(pools),
            shared,
            max_environments,
        }
    }

    fn pool(&self, function: &str) -> Option<Arc<pool::FunctionPool>> {
        self.pools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(function)
            .cloned()
    }

    /// Runs one invocation in a free (or new) environment and waits for its end. Dropping the
    /// returned future does not stop the invocation (the function runs to its own timeout).
    pub async fn invoke(
        &self,
        function: &str,
        invocation: Invocation,
    ) -> Result<InvocationResult, InvokeError> {
        let pool = self
            .pool(function)
            .ok_or_else(|| InvokeError::NotFound(function.to_owned()))?;
        let permit = pool.acquire().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let result = pool.run(invocation).await;
            drop(permit);
            let _ = tx.send(result);
        });
        rx.await.unwrap_or_else(|_| {
            Err(InvokeError::Setup {
                function: function.to_owned(),
                message: "the invocation task ended without a result".into(),
            })
        })
    }

    /// The function called `name`, as last given to [`Runtime::new`] or [`Runtime::update`].
    pub fn function(&self, name: &str) -> Option<FunctionSpec> {
        self.pool(name).map(|p| p.spec().clone())
    }

    /// Every function, sorted by name.
    pub fn functions(&self) -> Vec<FunctionSpec> {
        let mut all: Vec<FunctionSpec> = self
            .pools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|p| p.spec().clone())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Replaces the set of functions (hot reload). A function whose spec is unchanged and whose
    /// name is not in `code_changed` keeps its pool and warm environments. A changed one gets a
    /// fresh pool: new invocations start new environments (reading the code anew), invocations
    /// in flight finish on the old environments, which are then shut down. Removed functions are
    /// shut down the same way; added ones start on their first invoke.
    pub fn update(
        &self,
        specs: Vec<FunctionSpec>,
        code_changed: &HashSet<String>,
    ) -> UpdateSummary {
        let mut summary = UpdateSummary::default();
        let mut retired = Vec::new();
        {
            let mut pools = self.pools.write().unwrap_or_else(PoisonError::into_inner);
            let mut next = HashMap::with_capacity(specs.len());
            for spec in specs {
                let name = spec.name.clone();
                match pools.remove(&name) {
                    Some(old) if old.spec() == &spec && !code_changed.contains(&name) => {
                        next.insert(name, old);
                    }
                    Some(old) => {
                        let pool = pool::FunctionPool::replacing(
                            &old,
                            spec,
                            self.shared.clone(),
                            self.max_environments,
                        );
                        retired.push(old);
                        next.insert(name.clone(), pool);
                        summary.replaced.push(name);
                    }
                    None => {
                        let pool = pool::FunctionPool::new(
                            spec,
                            self.shared.clone(),
                            self.max_environments,
                        );
                        next.insert(name.clone(), pool);
                        summary.added.push(name);
                    }
                }
            }
            for (name, old) in pools.drain() {
                retired.push(old);
                summary.removed.push(name);
            }
            *pools = next;
        }
        for pool in retired {
            pool.retire();
        }
        summary.added.sort();
        summary.removed.sort();
        summary.replaced.sort();
        summary
    }

    /// Stops every environment process.
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let pools: Vec<_> = self
            .pools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for pool in pools {
            pool.clear();
        }
        self.shared.kill_all();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.kill_all();
    }
}
