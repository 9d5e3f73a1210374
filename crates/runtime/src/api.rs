//! The Lambda Runtime API (`/2018-06-01/...`) as one execution environment sees it.
//!
//! Each environment gets its own listener on `127.0.0.1:0`, so every request on it comes from
//! exactly one process. The server enforces the RIE's state machine (400 `InvalidRequestID`,
//! 403 `InvalidStateTransition`, 413 over 6291556 bytes) and forwards what the process reports to
//! the environment's owner as [`ApiEvent`]s.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::held_writes::{HeldListener, Hold, NEXT_FOLLOWS};

/// RIE `MaxPayloadSize`: 6 MiB + 100 bytes.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;
/// Bodies beyond this are not even buffered (axum answers 413 itself).
const BODY_BUFFER_LIMIT: usize = 64 * 1024 * 1024;

/// One event handed to the process by `GET /next`.
#[derive(Debug)]
pub struct Work {
    pub request_id: Arc<str>,
    pub payload: Bytes,
    pub deadline_ms: u64,
    pub invoked_arn: String,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
}

/// What the process told the Runtime API.
#[derive(Debug)]
pub enum ApiEvent {
    /// The first `GET /next`: initialisation is over.
    Ready,
    Response {
        request_id: Arc<str>,
        payload: Bytes,
        content_type: Option<String>,
    },
    Error {
        request_id: Arc<str>,
        error_type: String,
        payload: Bytes,
    },
    /// `/response` body over [`MAX_RESPONSE_BYTES`].
    ResponseTooLarge {
        request_id: Arc<str>,
        size: usize,
    },
    InitError {
        error_type: String,
        payload: Bytes,
    },
}

#[derive(Debug)]
enum Phase {
    /// Started; no `/next` yet.
    Init,
    /// Waiting in (or about to call) `/next`.
    Idle,
    /// An event was delivered and not yet answered.
    Invoking(Arc<str>),
    /// The event was answered; the next call must be `/next`.
    Answered(Arc<str>),
    /// `/init/error` was posted.
    InitFailed,
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Init => "Init",
            Phase::Idle => "Idle",
            Phase::Invoking(_) => "Invoking",
            Phase::Answered(_) => "Answered",
            Phase::InitFailed => "InitFailed",
        }
    }
}

struct Shared {
    phase: Mutex<Phase>,
    work: tokio::sync::Mutex<mpsc::Receiver<Work>>,
    events: mpsc::UnboundedSender<ApiEvent>,
}

impl Shared {
    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The owner's side of one environment's Runtime API.
pub struct RuntimeApi {
    pub addr: std::net::SocketAddr,
    pub work: mpsc::Sender<Work>,
    pub events: mpsc::UnboundedReceiver<ApiEvent>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Binds `127.0.0.1:0` and serves the Runtime API until dropped.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (work_tx, work_rx) = mpsc::channel(1);
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            phase: Mutex::new(Phase::Init),
            work: tokio::sync::Mutex::new(work_rx),
            events: event_tx,
        });
        let app = router(shared).into_make_service_with_connect_info::<Hold>();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(HeldListener(listener), app).await {
                tracing::debug!(target: "lambda", error = %e, "runtime API server ended");
            }
        });
        Ok(RuntimeApi {
            addr,
            work: work_tx,
            events: event_rx,
            server,
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .route("/2018-06-01/ping", get(|| async { "pong" }))
        .layer(DefaultBodyLimit::max(BODY_BUFFER_LIMIT))
        .with_state(shared)
}

fn error_body(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn invalid_transition(from: &str, to: &str) -> Response {
    error_body(
        StatusCode::FORBIDDEN,
        "InvalidStateTransition",
        &format!(
            "State transition from {from} to {to} failed for runtime. Error: State transition is not allowed"
        ),
    )
}

fn invalid_request_id() -> Response {
    error_body(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "Invalid request ID",
    )
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

/// Releases the connection's held bytes when dropped: whatever `/next` answers goes out.
struct Release(Hold);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Holds the `202` of an answer whose `GET /next` is already on its way (see `held_writes`).
fn hold_if_next_follows(hold: &Hold, headers: &HeaderMap, response: Response) -> Response {
    if response.status() == StatusCode::ACCEPTED && headers.contains_key(NEXT_FOLLOWS) {
        hold.set();
    }
    response
}

async fn next(State(shared): State<Arc<Shared>>, ConnectInfo(hold): ConnectInfo<Hold>) -> Response {
    let _release = Release(hold);
    {
        let mut phase = shared.phase();
        match &*phase {
            Phase::Init => {
                let _ = shared.events.send(ApiEvent::Ready);
            }
            Phase::Idle | Phase::Answered(_) => {}
            other @ (Phase::Invoking(_) | Phase::InitFailed) => {
                return invalid_transition(other.name(), "Next");
            }
        }
        *phase = Phase::Idle;
    }
    let work = {
        let mut rx = shared.work.lock().await;
        rx.recv().await
    };
    let Some(work) = work else {
        // The environment is going away; the runtime should exit.
        return error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.ShuttingDown",
            "the execution environment is shutting down",
        );
    };
    *shared.phase() = Phase::Invoking(work.request_id.clone());

    let mut headers = HeaderMap::with_capacity(6);
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("lambda-runtime-aws-request-id", &work.request_id);
    put("lambda-runtime-deadline-ms", &work.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &work.invoked_arn);
    if let Some(t) = &work.trace_id {
        put("lambda-runtime-trace-id", t);
    }
    if let Some(c) = &work.client_context {
        put("lambda-runtime-client-context", c);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, work.payload).into_response()
}

/// Why `/response` or `/error` was refused.
enum Refusal {
    Transition(&'static str, &'static str),
    RequestId,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Transition(from, to) => invalid_transition(from, to),
            Refusal::RequestId => invalid_request_id(),
        }
    }
}

/// Checks that `id` is the invocation in progress and moves it to `Answered`.
fn answer(shared: &Shared, id: &str, to: &'static str) -> Result<Arc<str>, Refusal> {
    let mut phase = shared.phase();
    match &*phase {
        Phase::Invoking(current) if &**current == id => {
            let current = current.clone();
            *phase = Phase::Answered(current.clone());
            Ok(current)
        }
        Phase::Answered(current) if &**current == id => Err(Refusal::Transition("Answered", to)),
        Phase::Init | Phase::InitFailed => Err(Refusal::Transition(phase.name(), to)),
        _ => Err(Refusal::RequestId),
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(hold): ConnectInfo<Hold>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answered = answer_response(&shared, &id, &headers, body);
    hold_if_next_follows(&hold, &headers, answered)
}

fn answer_response(shared: &Shared, id: &str, headers: &HeaderMap, body: Bytes) -> Response {
    let request_id = match answer(shared, id, "Response") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    if body.len() > MAX_RESPONSE_BYTES {
        let _ = shared.events.send(ApiEvent::ResponseTooLarge {
            request_id,
            size: body.len(),
        });
        return error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = shared.events.send(ApiEvent::Response {
        request_id,
        payload: body,
        content_type,
    });
    accepted()
}

/// The error type: the body's `errorType`, else the `Lambda-Runtime-Function-Error-Type`
/// header, else `Unhandled`.
fn error_type(headers: &HeaderMap, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(rename = "errorType", borrow)]
        error_type: Option<std::borrow::Cow<'a, str>>,
    }
    if let Ok(Body {
        error_type: Some(t),
    }) = serde_json::from_slice::<Body<'_>>(body)
        && !t.is_empty()
    {
        return t.into_owned();
    }
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .unwrap_or("Unhandled")
        .to_owned()
}

async fn error(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(hold): ConnectInfo<Hold>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = match answer(&shared, &id, "Error") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let _ = shared.events.send(ApiEvent::Error {
        request_id,
        error_type: error_type(&headers, &body),
        payload: body,
    });
    hold_if_next_follows(&hold, &headers, accepted())
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    {
        let mut phase = shared.phase();
        if !matches!(*phase, Phase::Init) {
            return invalid_transition(phase.name(), "InitError");
        }
        *phase = Phase::InitFailed;
    }
    let _ = shared.events.send(ApiEvent::InitError {
        error_type: error_type(&headers, &body),
        payload: body,
    });
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn call(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    fn work(id: &str) -> Work {
        Work {
            request_id: id.into(),
            payload: Bytes::from_static(b"{\"a\":1}"),
            deadline_ms: 42,
            invoked_arn: "arn:aws:lambda:us-east-1:123456789012:function:f:live".into(),
            trace_id: None,
            client_context: None,
        }
    }

    #[tokio::test]
    async fn state_machine() {
        let mut api = RuntimeApi::start().await.expect("start");
        let addr = api.addr;
        // Before any /next, a response for anything is an invalid transition.
        let r = call(
            addr,
            "POST",
            "/2018-06-01/runtime/invocation/x/response",
            "1",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 403"), "{r}");
        assert!(r.contains("InvalidStateTransition"));

        api.work.send(work("id-1")).await.expect("send");
        let r = call(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.contains("lambda-runtime-aws-request-id: id-1"));
        assert!(r.contains("lambda-runtime-deadline-ms: 42"));
        assert!(r.contains("function:f:live"));
        assert!(r.ends_with("{\"a\":1}"));
        assert!(matches!(api.events.recv().await, Some(ApiEvent::Ready)));

        // /next while invoking: 403.
        let r = call(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        assert!(r.starts_with("HTTP/1.1 403"), "{r}");
        // Wrong id: 400.
        let r = call(
            addr,
            "POST",
            "/2018-06-01/runtime/invocation/nope/response",
            "1",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
        assert!(r.contains(r#""errorType":"InvalidRequestID""#));
        // Right id: 202.
        let r = call(
            addr,
            "POST",
            "/2018-06-01/runtime/invocation/id-1/response",
            "7",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 202"), "{r}");
        assert!(r.ends_with(r#"{"status":"OK"}"#));
        match api.events.recv().await {
            Some(ApiEvent::Response { payload, .. }) => assert_eq!(&payload[..], b"7"),
            other => panic!("unexpected {other:?}"),
        }
        // Twice: 403.
        let r = call(
            addr,
            "POST",
            "/2018-06-01/runtime/invocation/id-1/error",
            "{}",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 403"), "{r}");
        // init/error after init: 403.
        let r = call(addr, "POST", "/2018-06-01/runtime/init/error", "{}").await;
        assert!(r.starts_with("HTTP/1.1 403"), "{r}");
        let r = call(addr, "GET", "/2018-06-01/ping", "").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }

    /// Reads from `s` until `done(bytes so far)` or `wait` passes; what was read.
    async fn read_until(
        s: &mut tokio::net::TcpStream,
        wait: std::time::Duration,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(wait, async {
            let mut buf = [0u8; 4096];
            while !done(&String::from_utf8_lossy(&got)) {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        String::from_utf8_lossy(&got).into_owned()
    }

    #[tokio::test]
    async fn pipelined_answer_202_goes_out_with_the_next_event() {
        use std::time::Duration;
        let api = RuntimeApi::start().await.expect("start");
        let mut s = tokio::net::TcpStream::connect(api.addr)
            .await
            .expect("connect");
        let next = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n";
        let post = |id: &str, mark: bool| {
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nhost: x\r\n{}content-length: 2\r\n\r\nok",
                if mark {
                    "stackgate-next-follows: 1\r\n"
                } else {
                    ""
                }
            )
        };
        let long = Duration::from_secs(5);
        let short = Duration::from_millis(300);

        api.work.send(work("id-1")).await.expect("send");
        s.write_all(next.as_bytes()).await.expect("write");
        let r = read_until(&mut s, long, |r| r.ends_with("{\"a\":1}")).await;
        assert!(r.contains("lambda-runtime-aws-request-id: id-1"), "{r}");

        // Unmarked (the Rust client, curl): the 202 at once, as from AWS.
        s.write_all(post("id-1", false).as_bytes())
            .await
            .expect("write");
        let r = read_until(&mut s, long, |r| r.ends_with(r#"{"status":"OK"}"#)).await;
        assert!(r.starts_with("HTTP/1.1 202"), "{r}");

        api.work.send(work("id-2")).await.expect("send");
        s.write_all(next.as_bytes()).await.expect("write");
        let r = read_until(&mut s, long, |r| r.ends_with("{\"a\":1}")).await;
        assert!(r.contains("lambda-runtime-aws-request-id: id-2"), "{r}");

        // Marked, with its GET /next in the same write: the 202 waits for the next event.
        s.write_all(format!("{}{next}", post("id-2", true)).as_bytes())
            .await
            .expect("write");
        let r = read_until(&mut s, short, |r| !r.is_empty()).await;
        assert_eq!(r, "", "nothing goes out before the next event");
        api.work.send(work("id-3")).await.expect("send");
        let r = read_until(&mut s, long, |r| r.ends_with("{\"a\":1}")).await;
        assert!(r.starts_with("HTTP/1.1 202"), "{r}");
        let event = r.find("HTTP/1.1 200").expect("the event follows the 202");
        assert!(
            r[event..].contains("lambda-runtime-aws-request-id: id-3"),
            "{r}"
        );

        // A marked answer that is refused is answered at once.
        s.write_all(format!("{}{next}", post("nope", true)).as_bytes())
            .await
            .expect("write");
        let r = read_until(&mut s, long, |r| r.contains("InvalidRequestID")).await;
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    }

    #[test]
    fn error_type_prefers_body() {
        let mut h = HeaderMap::new();
        h.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("unhandled"),
        );
        assert_eq!(error_type(&h, br#"{"errorType":"TypeError"}"#), "TypeError");
        assert_eq!(error_type(&h, b"not json"), "unhandled");
        assert_eq!(error_type(&HeaderMap::new(), b"{}"), "Unhandled");
    }
}
