//! One request, top to bottom. Each phase is a plain async fn over concrete types; every phase
//! either moves on or returns a [`GatewayError`], and [`handle`] turns the result into the
//! response and the access line in one place.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use stackgate_template::FunctionTarget;

use crate::access_log::{self, AccessRecord};
use crate::error::{Answer, GatewayError};
use crate::events::{self, EventInput};
use crate::response::{self, PayloadVersion};
use crate::{
    Gateway, InvokeOutcome, MAX_BODY_BYTES, RouteEntry, Target, auth, permissions, request_id,
};

/// The connection a request came in on.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// Per-request facts gathered along the way, for the access line.
struct Ctx {
    request_id: String,
    started: Instant,
    time: SystemTime,
    route_key: Option<String>,
    function: Option<String>,
}

/// Answers one request. Never fails: every error becomes AWS's response.
pub async fn handle(gw: &Gateway, conn: ConnInfo, req: Request<Incoming>) -> Response<Full<Bytes>> {
    // Phase: accept → request id, time, source ip.
    let mut ctx = Ctx {
        request_id: request_id::new_request_id(),
        started: Instant::now(),
        time: SystemTime::now(),
        route_key: None,
        function: None,
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let result = run(gw, conn, &mut ctx, req).await;
    finish(&ctx, &method, &path, result)
}

/// The phases between accepting and finishing.
async fn run(
    gw: &Gateway,
    conn: ConnInfo,
    ctx: &mut Ctx,
    req: Request<Incoming>,
) -> Result<Answer, GatewayError> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    let method = parts.method.as_str();

    // Phase: a declared body over the quota is refused before anything else runs.
    if let Some(len) = declared_length(&parts.headers).filter(|l| *l > MAX_BODY_BYTES) {
        return Err(too_large(Some(len)));
    }

    // Phase: stage + route match → 404.
    let Some(stage) = gw.stages.select(raw_path) else {
        return Err(GatewayError::NotFound {
            reason: gw.no_stage_reason(raw_path),
        });
    };
    let Some(matched) = gw.router.select(method, stage.route_path) else {
        return Err(GatewayError::NotFound {
            reason: gw.no_route_reason(method, stage.stage, stage.route_path),
        });
    };
    let Some(route) = gw.routes.get(matched.id) else {
        return Err(GatewayError::Internal {
            reason: format!(
                "route table entry {} is missing (stackgate bug)",
                matched.id
            ),
        });
    };
    ctx.route_key = Some(route.key.clone());

    // Phase: authorize → 401 / 403 (the integration never runs on a rejection).
    let auth = auth::authorize(&route.auth, &gw.keys, &parts.headers, raw_query, ctx.time).await?;

    // Phase: find the integration → 500 when it cannot be invoked.
    let (function, version, timeout) = integration(route)?;
    ctx.function = Some(function.function_name.clone());

    // Phase: may the gateway invoke it? (role or AWS::Lambda::Permission) → 500.
    permissions::check(&route.access, &stage.stage.name, method, stage.route_path)?;

    // Phase: read the body (≤ 10 MB) → 413.
    let body = read_body(body).await?;

    // Phase: build the event.
    let input = EventInput {
        api: &gw.api,
        method,
        raw_path,
        raw_query,
        headers: &parts.headers,
        body: &body,
        source_ip: conn.peer.ip(),
        local_port: conn.local.port(),
        request_id: &ctx.request_id,
        time: ctx.time,
        route_key: &route.key,
        stage: stage.stage,
        path_params: &matched.params,
        authorizer: auth.as_ref(),
    };
    let event = build_event(version, &input)?;
    drop(body);

    // Phase: invoke under the integration timeout → 503; function errors → 500.
    let outcome = tokio::time::timeout(
        timeout,
        gw.invoker.invoke(function, event, &ctx.request_id),
    )
    .await
    .map_err(|_| GatewayError::ServiceUnavailable {
        reason: format!(
            "integration timeout: function {} did not answer within {} ms (the integration's TimeoutInMillis); raise TimeoutInMillis (max 30000) or make the function faster",
            function.function_name,
            timeout.as_millis()
        ),
    })?;
    let payload = match outcome {
        InvokeOutcome::Response(payload) => payload,
        InvokeOutcome::FunctionError {
            error_type,
            payload,
        } => {
            return Err(GatewayError::Internal {
                reason: format!(
                    "function {} failed with {error_type}: {}",
                    function.function_name,
                    error_message(&payload)
                ),
            });
        }
        InvokeOutcome::Rejected(why) => {
            return Err(GatewayError::Internal {
                reason: format!(
                    "Lambda could not invoke function {}: {why}",
                    function.function_name
                ),
            });
        }
    };

    // Phase: map the function's response → 500 when malformed.
    response::map(version, &payload).map_err(|e| GatewayError::Internal {
        reason: format!(
            "function {} returned a malformed response: {}; {}. It returned: {}",
            function.function_name, e.problem, e.expected, e.got
        ),
    })
}

/// The route's Lambda target, payload version and timeout, or why it has none.
fn integration(
    route: &RouteEntry,
) -> Result<(&FunctionTarget, PayloadVersion, Duration), GatewayError> {
    match &route.target {
        Target::Lambda {
            function,
            version,
            timeout,
        } => Ok((function, *version, *timeout)),
        Target::Unusable(reason) => Err(GatewayError::Internal {
            reason: reason.clone(),
        }),
    }
}

fn build_event(version: PayloadVersion, input: &EventInput<'_>) -> Result<Bytes, GatewayError> {
    let built = match version {
        PayloadVersion::V1 => events::v1::build(input),
        PayloadVersion::V2 => events::v2::build(input),
    };
    built.map_err(|e| GatewayError::Internal {
        reason: format!("could not serialize the {} event: {e}", version.as_str()),
    })
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn too_large(len: Option<u64>) -> GatewayError {
    let size = len.map_or_else(|| "more than 10 MB".to_owned(), |l| format!("{l} bytes"));
    GatewayError::PayloadTooLarge {
        reason: format!(
            "request body is {size}; API Gateway HTTP APIs accept at most 10 MB (10485760 bytes) — upload large files elsewhere (e.g. S3 presigned URLs)"
        ),
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, GatewayError> {
    match Limited::new(body, usize::try_from(MAX_BODY_BYTES).unwrap_or(usize::MAX))
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(None)),
        Err(e) => Err(GatewayError::Internal {
            reason: format!("could not read the request body: {e}"),
        }),
    }
}

/// `errorMessage` of a Lambda error payload, else the payload's start.
fn error_message(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| response::truncate(payload))
}

/// Phase: finish. Turns the result into the response (adding `apigw-requestid`) and writes the
/// access line.
fn finish(
    ctx: &Ctx,
    method: &str,
    path: &str,
    result: Result<Answer, GatewayError>,
) -> Response<Full<Bytes>> {
    let (answer, cause) = match result {
        Ok(answer) => (answer, None),
        Err(e) => (e.answer(), Some(e)),
    };
    access_log::write(&AccessRecord {
        request_id: &ctx.request_id,
        method,
        path,
        route_key: ctx.route_key.as_deref(),
        function: ctx.function.as_deref(),
        status: answer.status.as_u16(),
        latency: ctx.started.elapsed(),
        cause: cause.as_ref().map(GatewayError::reason),
    });
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        // Framing is hyper's job; a function cannot set it.
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        headers.append(name, value);
    }
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert("apigw-requestid", id);
    }
    response
}
