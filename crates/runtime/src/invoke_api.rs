//! The Lambda Invoke API (`rest-json`, API version 2015-03-31) over the runtime, so the AWS CLI
//! and SDKs pointed at it with `--endpoint-url` can call the stack's functions directly.
//!
//! Operations: `Invoke` (`RequestResponse`, `Event`, `DryRun`; `X-Amz-Log-Type: Tail`;
//! `X-Amz-Client-Context`), the deprecated `InvokeAsync`, `ListFunctions`, `GetFunction` and
//! `GetFunctionConfiguration`. Service errors are answered the way botocore parses them: the
//! shape name in `x-amzn-ErrorType`, the body `{"Type":"User","Message":"…"}`. Signatures are not
//! checked: any `Authorization` header (or none) is accepted.
//!
//! The runtime knows nothing of templates: whoever starts the API passes the other names a
//! function answers to (the template's logical ids) and the configuration fields the runtime does
//! not have ([`ApiFunction`]).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::event_queue;
pub use crate::event_queue::{AsyncConfig, RetryTiming};
use crate::{CodeSource, FunctionSpec, Invocation, InvokeError, Outcome, Runtime, logs};

/// Largest synchronous request payload (`RequestResponse`, `DryRun`).
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous request payload (`Event`).
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;
/// `X-Amz-Log-Result` carries at most the last 4 KB of the invocation's log.
const TAIL_BYTES: usize = 4096;

/// What the runtime does not know about a function but the Invoke API shows.
#[derive(Debug, Clone, Default)]
pub struct ApiFunction {
    /// The function's name (the key of [`Runtime::invoke`]).
    pub name: String,
    /// Other names it answers to here (e.g. its logical id in the template).
    pub aliases: Vec<String>,
    /// Execution role ARN (`Role`).
    pub role: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// Retries and maximum age of its asynchronous invocations (`AWS::Lambda::EventInvokeConfig`).
    pub async_config: AsyncConfig,
}

/// The Invoke API of one runtime.
pub struct InvokeApi {
    runtime: Arc<Runtime>,
    /// The event queue's waits between attempts of an asynchronous invocation.
    timing: RetryTiming,
    /// Replaced by [`InvokeApi::update`] when the functions change (hot reload).
    directory: RwLock<Directory>,
    last_modified: String,
}

/// Names, details and revisions of the functions the API answers for.
#[derive(Default)]
struct Directory {
    /// Every name a function answers to → its function name.
    names: HashMap<String, String>,
    details: HashMap<String, ApiFunction>,
    revisions: HashMap<String, String>,
}

impl Directory {
    /// `revisions` of functions that keep theirs (unchanged since the previous directory).
    fn build(
        runtime: &Runtime,
        functions: Vec<ApiFunction>,
        mut revisions: HashMap<String, String>,
    ) -> Self {
        let mut names = HashMap::new();
        let mut kept = HashMap::new();
        for spec in runtime.functions() {
            names.insert(spec.name.clone(), spec.name.clone());
            let revision = revisions.remove(&spec.name).unwrap_or_else(logs::uuid_v4);
            kept.insert(spec.name.clone(), revision);
        }
        let mut details = HashMap::new();
        for f in functions {
            if !kept.contains_key(&f.name) {
                continue;
            }
            for alias in &f.aliases {
                // A real function name wins over another function's alias.
                names.entry(alias.clone()).or_insert_with(|| f.name.clone());
            }
            details.insert(f.name.clone(), f);
        }
        Directory {
            names,
            details,
            revisions: kept,
        }
    }
}

impl InvokeApi {
    pub fn new(runtime: Arc<Runtime>, functions: Vec<ApiFunction>) -> Self {
        let directory = Directory::build(&runtime, functions, HashMap::new());
        InvokeApi {
            runtime,
            timing: RetryTiming::default(),
            directory: RwLock::new(directory),
            last_modified: last_modified(SystemTime::now()),
        }
    }

    /// Waits of the asynchronous event queue other than AWS's (tests shorten them).
    pub fn with_retry_timing(mut self, timing: RetryTiming) -> Self {
        self.timing = timing;
        self
    }

    /// `function`'s asynchronous-invocation settings.
    fn async_config(&self, function: &str) -> AsyncConfig {
        self.directory()
            .details
            .get(function)
            .map(|d| d.async_config)
            .unwrap_or_default()
    }

    /// Queues an asynchronous invocation: it runs (and is retried) in the background.
    fn queue_event(&self, function: &str, invocation: Invocation) {
        let config = self.async_config(function);
        tokio::spawn(event_queue::run(
            self.runtime.clone(),
            function.to_owned(),
            invocation,
            config,
            self.timing,
        ));
    }

    /// After [`Runtime::update`]: the functions' names and details anew; `changed` functions
    /// (replaced) get a new `RevisionId`.
    pub fn update(&self, functions: Vec<ApiFunction>, changed: &[String]) {
        let mut directory = self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut revisions = std::mem::take(&mut directory.revisions);
        for name in changed {
            revisions.remove(name);
        }
        *directory = Directory::build(&self.runtime, functions, revisions);
    }

    fn directory(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The axum router answering the Invoke API.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/2015-03-31/functions", get(list_functions))
            .route("/2015-03-31/functions/", get(list_functions))
            .route("/2015-03-31/functions/{name}", get(get_function))
            .route(
                "/2015-03-31/functions/{name}/configuration",
                get(get_configuration),
            )
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route(
                "/2014-11-13/functions/{name}/invoke-async",
                post(invoke_async),
            )
            .route(
                "/2014-11-13/functions/{name}/invoke-async/",
                post(invoke_async),
            )
            .fallback(unknown_operation)
            .with_state(self)
    }

    /// Answers on `listener` until the process ends.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Resolves a `FunctionName` (name, logical id, full or partial ARN, with an optional
    /// `:qualifier`) and the `Qualifier` query parameter to a function.
    fn resolve(&self, raw: &str, query_qualifier: Option<&str>) -> Result<FunctionSpec, ApiError> {
        let parsed = parse_function_name(raw).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            ))
        })?;
        let qualifier = match (parsed.qualifier, query_qualifier.filter(|q| !q.is_empty())) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::invalid_parameter(
                    "The derived qualifier from the function name does not match the specified qualifier.".to_owned(),
                ));
            }
            (a, b) => a.or(b),
        };
        let name = self.directory().names.get(parsed.name).cloned();
        let spec = name.and_then(|name| self.runtime.function(&name));
        let not_found = |spec_arn: Option<&str>| {
            let base = spec_arn.map_or_else(
                || self.arn_for_unknown(parsed.region, parsed.account, parsed.name),
                str::to_owned,
            );
            let arn = match qualifier {
                Some(q) => format!("{base}:{q}"),
                None => base,
            };
            ApiError::not_found(format!("Function not found: {arn}"))
        };
        let Some(spec) = spec else {
            return Err(not_found(None));
        };
        // An ARN must name this function's region and account.
        let mut arn_parts = spec.arn.split(':');
        let region = arn_parts.nth(3).unwrap_or("");
        let account = arn_parts.next().unwrap_or("");
        if parsed.region.is_some_and(|r| r != region)
            || parsed.account.is_some_and(|a| a != account)
        {
            return Err(not_found(None));
        }
        match qualifier {
            None | Some("$LATEST") => Ok(spec),
            // No versions or aliases are published locally.
            Some(_) => Err(not_found(Some(&spec.arn))),
        }
    }

    fn arn_for_unknown(&self, region: Option<&str>, account: Option<&str>, name: &str) -> String {
        let sample = self.runtime.functions().first().map(|s| s.arn.clone());
        let mut parts = sample.as_deref().unwrap_or("").split(':');
        let partition = parts.nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
        let default_region = parts
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("us-east-1");
        let default_account = parts
            .next()
            .filter(|p| !p.is_empty())
            .unwrap_or("123456789012");
        format!(
            "arn:{partition}:lambda:{}:{}:function:{name}",
            region.unwrap_or(default_region),
            account.unwrap_or(default_account)
        )
    }

    /// `FunctionConfiguration` (reference §5.2).
    fn configuration(&self, spec: &FunctionSpec) -> Value {
        let directory = self.directory();
        let details = directory.details.get(&spec.name);
        let mut config = json!({
            "FunctionName": spec.name,
            "FunctionArn": spec.arn,
            "Runtime": spec.runtime,
            "Role": details.and_then(|d| d.role.clone()).unwrap_or_else(|| role_for_unknown(&spec.arn)),
            "Handler": spec.handler,
            "CodeSize": code_size(&spec.code),
            "Description": details.and_then(|d| d.description.clone()).unwrap_or_default(),
            "Timeout": spec.timeout.as_secs(),
            "MemorySize": spec.memory_mb,
            "LastModified": self.last_modified,
            "CodeSha256": code_sha256(&spec.code),
            "Version": "$LATEST",
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": directory.revisions.get(&spec.name).cloned().unwrap_or_default(),
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [architecture()],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", spec.name)},
        });
        if !spec.environment.is_empty()
            && let Some(object) = config.as_object_mut()
        {
            object.insert(
                "Environment".to_owned(),
                json!({ "Variables": spec.environment }),
            );
        }
        config
    }
}

/// A `FunctionName` taken apart.
#[derive(Debug, PartialEq, Eq)]
struct FunctionName<'a> {
    region: Option<&'a str>,
    account: Option<&'a str>,
    name: &'a str,
    qualifier: Option<&'a str>,
}

/// `name[:q]`, `account:function:name[:q]`, `arn:partition:lambda:region:account:function:name[:q]`.
fn parse_function_name(raw: &str) -> Option<FunctionName<'_>> {
    if raw.is_empty() || raw.len() > 256 {
        return None;
    }
    let parts: Vec<&str> = raw.split(':').collect();
    let (region, account, rest) = match parts.as_slice() {
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            "function",
            rest @ ..,
        ] if partition.starts_with("aws") => (Some(*region), Some(*account), rest),
        [account, "function", rest @ ..] => (None, Some(*account), rest),
        rest => (None, None, rest),
    };
    let (name, qualifier) = match rest {
        [name] => (*name, None),
        [name, qualifier] => (*name, Some(*qualifier)),
        _ => return None,
    };
    let name_ok = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let qualifier_ok = qualifier.is_none_or(|q| {
        !q.is_empty()
            && q.len() <= 128
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$' | '.'))
    });
    let account_ok = account.is_none_or(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()));
    (name_ok && qualifier_ok && account_ok).then_some(FunctionName {
        region,
        account,
        name,
        qualifier,
    })
}

/// A service error, answered as botocore parses rest-json errors.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    reason: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        ApiError {
            status,
            code,
            message,
            reason: None,
        }
    }
    fn not_found(message: String) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }
    fn invalid_parameter(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message,
        )
    }
    fn validation(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }
    fn invalid_content(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            message,
        )
    }
    fn too_large(limit: usize, operation: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        )
    }

    fn from_invoke(error: InvokeError) -> Self {
        match error {
            InvokeError::NotFound(name) => Self::not_found(format!("Function not found: {name}")),
            InvokeError::Throttled { .. } => ApiError {
                reason: Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequestsException",
                    "Rate Exceeded.".to_owned(),
                )
            },
            InvokeError::Setup { .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                "ServiceException",
                error.to_string(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        let mut body = json!({"Type": kind, "Message": self.message});
        if let (Some(reason), Some(object)) = (self.reason, body.as_object_mut()) {
            object.insert("Reason".to_owned(), reason.into());
        }
        tracing::info!(
            target: "stackgate::lambda_api",
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        );
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        insert(headers, "x-amzn-RequestId", &logs::uuid_v4());
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

type Api = State<Arc<InvokeApi>>;
type Params = Query<HashMap<String, String>>;

async fn list_functions(State(api): Api, Query(query): Params) -> Result<Response, ApiError> {
    let all = api.runtime.functions();
    let start = match query.get("Marker").filter(|m| !m.is_empty()) {
        Some(marker) => marker
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_parameter(format!("Invalid marker: {marker}")))?,
        None => 0,
    };
    let max = match query.get("MaxItems") {
        Some(raw) => match raw.parse::<usize>() {
            Ok(n @ 1..=10_000) => n.min(50),
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                )));
            }
        },
        None => 50,
    };
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|spec| api.configuration(spec))
        .collect();
    let next = start + page.len();
    let next_marker = (next < all.len()).then(|| next.to_string());
    Ok(ok_json(
        json!({"Functions": page, "NextMarker": next_marker}),
    ))
}

async fn get_function(
    State(api): Api,
    Path(name): Path<String>,
    Query(query): Params,
) -> Result<Response, ApiError> {
    let spec = api.resolve(&name, query.get("Qualifier").map(String::as_str))?;
    let location = match &spec.code {
        CodeSource::Inline(_) => "inline (Code.ZipFile in the template)".to_owned(),
        CodeSource::Path(path) => format!("file://{}", path.display()),
    };
    let mut body = json!({
        "Configuration": api.configuration(&spec),
        "Code": {"RepositoryType": "S3", "Location": location},
        "Tags": {},
    });
    if let (Some(n), Some(object)) = (spec.reserved_concurrency, body.as_object_mut()) {
        object.insert(
            "Concurrency".to_owned(),
            json!({"ReservedConcurrentExecutions": n}),
        );
    }
    Ok(ok_json(body))
}

async fn get_configuration(
    State(api): Api,
    Path(name): Path<String>,
    Query(query): Params,
) -> Result<Response, ApiError> {
    let spec = api.resolve(&name, query.get("Qualifier").map(String::as_str))?;
    Ok(ok_json(api.configuration(&spec)))
}

fn ok_json(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    insert(response.headers_mut(), "x-amzn-RequestId", &logs::uuid_v4());
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

async fn invoke(
    State(api): Api,
    Path(name): Path<String>,
    Query(query): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let kind = match header("x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => InvocationType::RequestResponse,
        "Event" => InvocationType::Event,
        "DryRun" => InvocationType::DryRun,
        other => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )));
        }
    };
    let tail = match header("x-amz-log-type").unwrap_or("None") {
        "None" => false,
        "Tail" => true,
        other => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
            )));
        }
    };
    let spec = api.resolve(&name, query.get("Qualifier").map(String::as_str))?;
    let (limit, operation) = match kind {
        InvocationType::Event => (MAX_ASYNC_PAYLOAD, "InvokeAsync"),
        _ => (MAX_SYNC_PAYLOAD, "InvokeFunction"),
    };
    let payload = read_payload(body, limit, operation).await?;
    let client_context = match header("x-amz-client-context").filter(|c| !c.is_empty()) {
        Some(encoded) => Some(decode_client_context(encoded)?),
        None => None,
    };
    let request_id = logs::uuid_v4();
    tracing::info!(
        target: "stackgate::lambda_api",
        function = %spec.name,
        request_id = %request_id,
        "Invoke ({kind:?}) {name}"
    );
    let invocation = Invocation {
        payload,
        qualifier: None,
        client_context,
        trace_id: None,
        caller_request_id: None,
        request_id: Some(request_id.clone()),
    };
    match kind {
        InvocationType::DryRun => Ok(empty(StatusCode::NO_CONTENT, &request_id)),
        InvocationType::Event => {
            api.queue_event(&spec.name, invocation);
            Ok(empty(StatusCode::ACCEPTED, &request_id))
        }
        InvocationType::RequestResponse => {
            let result = api
                .runtime
                .invoke(&spec.name, invocation)
                .await
                .map_err(ApiError::from_invoke)?;
            let (payload, content_type, function_error) = match result.outcome {
                Outcome::Response {
                    payload,
                    content_type,
                } => (payload, content_type, false),
                Outcome::FunctionError { payload, .. } => (payload, None, true),
            };
            let mut response = Response::new(Body::from(payload));
            let headers = response.headers_mut();
            insert(
                headers,
                "content-type",
                content_type.as_deref().unwrap_or("application/json"),
            );
            insert(headers, "x-amzn-RequestId", &result.request_id);
            headers.insert(
                "X-Amz-Executed-Version",
                HeaderValue::from_static("$LATEST"),
            );
            if function_error {
                headers.insert(
                    "X-Amz-Function-Error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            if tail {
                insert(headers, "X-Amz-Log-Result", &log_tail(&result.log));
            }
            Ok(response)
        }
    }
}

/// `InvokeAsync` (deprecated): an `Event` invoke answered `202 {"Status":202}`.
async fn invoke_async(
    State(api): Api,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let spec = api.resolve(&name, None)?;
    let payload = read_payload(body, MAX_ASYNC_PAYLOAD, "InvokeAsync").await?;
    let request_id = logs::uuid_v4();
    let invocation = Invocation {
        payload,
        request_id: Some(request_id.clone()),
        ..Invocation::default()
    };
    api.queue_event(&spec.name, invocation);
    let mut response = (StatusCode::ACCEPTED, axum::Json(json!({"Status": 202}))).into_response();
    insert(response.headers_mut(), "x-amzn-RequestId", &request_id);
    Ok(response)
}

async fn unknown_operation(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!(
            "stackgate's Lambda API does not implement {method} {}; it answers Invoke, InvokeAsync, ListFunctions, GetFunction and GetFunctionConfiguration",
            uri.path()
        ),
    )
}

fn empty(status: StatusCode, request_id: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    insert(response.headers_mut(), "x-amzn-RequestId", request_id);
    response
}

/// The body (≤ `limit`), which must be JSON when not empty; an empty body becomes `{}`.
async fn read_payload(body: Body, limit: usize, operation: &str) -> Result<Bytes, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit, operation))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(ApiError::invalid_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        )));
    }
    Ok(bytes)
}

fn decode_client_context(encoded: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::invalid_content(
            "Client context must be a valid Base64-encoded JSON object.".to_owned(),
        )
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    if decoded.len() > 3583 {
        return Err(ApiError::invalid_parameter(
            "Client context must be at most 3583 bytes once decoded.".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(&decoded) {
        Ok(Value::Object(_)) => String::from_utf8(decoded).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// base64 of the last 4 KB of the log.
fn log_tail(log: &str) -> String {
    let bytes = log.as_bytes();
    let start = bytes.len().saturating_sub(TAIL_BYTES);
    STANDARD.encode(&bytes[start..])
}

/// `YYYY-MM-DDThh:mm:ss.sss+0000`, Lambda's `LastModified` format.
fn last_modified(t: SystemTime) -> String {
    let iso = logs::iso8601(t);
    match iso.strip_suffix('Z') {
        Some(base) => format!("{base}+0000"),
        None => iso,
    }
}

fn architecture() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    }
}

fn role_for_unknown(arn: &str) -> String {
    let account = arn.split(':').nth(4).unwrap_or("123456789012");
    format!("arn:aws:iam::{account}:role/stackgate-local")
}

/// Bytes of inline source, of a .zip, or of every file under a directory.
fn code_size(code: &CodeSource) -> u64 {
    match code {
        CodeSource::Inline(source) => source.len() as u64,
        CodeSource::Path(path) => {
            let mut total = 0;
            walk(path, &mut |_, meta| total += meta.len());
            total
        }
    }
}

/// A stable digest of the code (not the digest of the package AWS would build from it): four
/// FNV-1a lanes over the inline source, or over the files' paths and sizes.
fn code_sha256(code: &CodeSource) -> String {
    let mut lanes = [
        0xcbf2_9ce4_8422_2325_u64,
        0x8422_2325_cbf2_9ce4,
        0x9e37_79b9_7f4a_7c15,
        0x2545_f491_4f6c_dd1d,
    ];
    let mut write = |bytes: &[u8]| {
        for lane in &mut lanes {
            for b in bytes {
                *lane ^= u64::from(*b);
                *lane = lane.wrapping_mul(0x0100_0000_01b3);
            }
        }
    };
    match code {
        CodeSource::Inline(source) => write(source.as_bytes()),
        CodeSource::Path(path) => walk(path, &mut |file, meta| {
            write(file.to_string_lossy().as_bytes());
            write(&meta.len().to_le_bytes());
        }),
    }
    let mut digest = Vec::with_capacity(32);
    for lane in lanes {
        digest.extend_from_slice(&lane.to_be_bytes());
    }
    STANDARD.encode(digest)
}

/// Every file under `path` (or `path` itself), depth-limited, in sorted order.
fn walk(path: &std::path::Path, visit: &mut dyn FnMut(&std::path::Path, &std::fs::Metadata)) {
    fn go(
        path: &std::path::Path,
        depth: usize,
        visit: &mut dyn FnMut(&std::path::Path, &std::fs::Metadata),
    ) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_file() {
            visit(path, &meta);
        } else if meta.is_dir() && depth < 16 {
            let Ok(entries) = std::fs::read_dir(path) else {
                return;
            };
            let mut children: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for child in children {
                go(&child, depth + 1, visit);
            }
        }
    }
    go(path, 0, visit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_name_forms() {
        let p = |s| parse_function_name(s);
        assert_eq!(
            p("echo"),
            Some(FunctionName {
                region: None,
                account: None,
                name: "echo",
                qualifier: None
            })
        );
        assert_eq!(p("echo:$LATEST").and_then(|f| f.qualifier), Some("$LATEST"));
        let full = p("arn:aws:lambda:us-east-1:123456789012:function:echo:live");
        assert_eq!(
            full,
            Some(FunctionName {
                region: Some("us-east-1"),
                account: Some("123456789012"),
                name: "echo",
                qualifier: Some("live")
            })
        );
        let partial = p("123456789012:function:echo");
        assert_eq!(partial.as_ref().map(|f| f.name), Some("echo"));
        assert_eq!(partial.and_then(|f| f.account), Some("123456789012"));
        for bad in [
            "",
            "a:b:c",
            "bad name",
            "arn:aws:s3:::bucket",
            "12:function:x",
            "x:",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn tail_is_the_last_4kb() {
        let log = "x".repeat(5000) + "REPORT";
        let decoded = STANDARD.decode(log_tail(&log)).unwrap_or_default();
        assert_eq!(decoded.len(), 4096);
        assert!(decoded.ends_with(b"REPORT"));
    }

    #[test]
    fn client_context_is_base64_json() {
        let encoded = STANDARD.encode(br#"{"custom":{"a":1}}"#);
        assert_eq!(
            decode_client_context(&encoded).ok().as_deref(),
            Some(r#"{"custom":{"a":1}}"#)
        );
        assert!(decode_client_context("!!").is_err());
        assert!(decode_client_context(&STANDARD.encode(b"[1]")).is_err());
    }

    #[test]
    fn last_modified_format() {
        assert_eq!(
            last_modified(std::time::UNIX_EPOCH),
            "1970-01-01T00:00:00.000+0000"
        );
    }
}
