//! Lambda functions as real local processes. INTERFACE STUB: signatures are the contract, bodies
//! are being written.
#![allow(clippy::todo, unused_variables)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

/// Everything needed to run one function.
#[derive(Debug, Clone)]
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
    Response { payload: Bytes, content_type: Option<String> },
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
pub struct Runtime {}

impl Runtime {
    pub fn new(functions: Vec<FunctionSpec>, options: RuntimeOptions) -> Self {
        todo!()
    }

    /// Runs one invocation in a free (or new) environment and waits for its end. Dropping the
    /// returned future does not stop the invocation (the function runs to its own timeout).
    pub async fn invoke(
        &self,
        function: &str,
        invocation: Invocation,
    ) -> Result<InvocationResult, InvokeError> {
        todo!()
    }

    /// Stops every environment process.
    pub async fn shutdown(&self) {
        todo!()
    }
}
