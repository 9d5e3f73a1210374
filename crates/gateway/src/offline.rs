//! One request's event without a listener: `stackgate invoke --event-from "GET /path"` builds the
//! proxy event the matched route's function would receive, through the same stage and route
//! selection, authorization and event builders as a served request.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::HeaderMap;
use stackgate_template::{FunctionTarget, Model};

use crate::auth::{self, RouteAuth};
use crate::events::{self, AuthContext, EventInput};
use crate::response::PayloadVersion;
use crate::{Gateway, GatewayOptions, InvokeOutcome, Invoker, Target, request_id};

/// How a route's JWT authorizer treats the request's token.
#[derive(Debug, Clone)]
pub enum OfflineAuth {
    /// As the gateway does: the token is verified (keys fetched from the issuer) and the route's
    /// scopes are checked. `dev_issuer` stands for authorizers whose issuer has no value.
    Verify {
        dev_issuer: Option<String>,
        keys: stackgate_jwt::KeyCache,
    },
    /// The token's claims go into the event unverified (no signature, time, audience or scope
    /// check); the token is read from the authorizer's identity source all the same.
    DecodeOnly,
}

/// The request to build an event for.
#[derive(Debug, Clone)]
pub struct OfflineRequest<'a> {
    /// Logical id of the API; `None`: the template's first HTTP API.
    pub api: Option<&'a str>,
    pub method: &'a str,
    /// `/path?query`, as sent to the gateway (a named stage's prefix included).
    pub path_and_query: &'a str,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub auth: OfflineAuth,
}

/// The event and where it goes.
#[derive(Debug, Clone)]
pub struct OfflineEvent {
    pub function: FunctionTarget,
    /// The proxy event JSON.
    pub payload: Bytes,
    pub route_key: String,
    pub stage: String,
    /// `1.0` or `2.0`.
    pub payload_version: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("{0}")]
    Config(String),
    /// What the gateway would have answered instead of invoking (404, 401, 403, 500...), and why.
    #[error("the gateway would answer {status}: {reason}")]
    Refused { status: u16, reason: String },
}

/// Never called: building an event invokes nothing.
struct NoInvoker;

impl Invoker for NoInvoker {
    fn invoke<'a>(
        &'a self,
        _function: &'a FunctionTarget,
        _payload: Bytes,
        _request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = InvokeOutcome> + Send + 'a>> {
        Box::pin(async { InvokeOutcome::Rejected("no invoker offline".to_owned()) })
    }
}

/// Builds the event the route matching `method path_and_query` would send its function.
pub async fn build_event_for(
    model: &Model,
    request: OfflineRequest<'_>,
) -> Result<OfflineEvent, OfflineError> {
    let (dev_issuer, keys) = match &request.auth {
        OfflineAuth::Verify { dev_issuer, keys } => (dev_issuer.clone(), keys.clone()),
        // Authorizers still compile (they need an issuer): any placeholder will do.
        OfflineAuth::DecodeOnly => (
            Some("http://127.0.0.1/".to_owned()),
            stackgate_jwt::KeyCache::new(std::time::Duration::from_secs(1)),
        ),
    };
    let options = GatewayOptions {
        dev_issuer,
        keys: keys.clone(),
    };
    let invoker: Arc<dyn Invoker> = Arc::new(NoInvoker);
    let gw = match request.api {
        Some(api) => Gateway::for_api(model, api, invoker, options),
        None => Gateway::new(model, invoker, options),
    }
    .map_err(|e| OfflineError::Config(e.to_string()))?;

    let (raw_path, raw_query) = request
        .path_and_query
        .split_once('?')
        .unwrap_or((request.path_and_query, ""));
    if !raw_path.starts_with('/') {
        return Err(OfflineError::Config(format!(
            "the path must start with '/': {raw_path:?}"
        )));
    }
    let method = request.method.to_ascii_uppercase();
    let refused = |e: crate::GatewayError| OfflineError::Refused {
        status: e.answer().status.as_u16(),
        reason: e.reason().to_owned(),
    };
    let Some(stage) = gw.stages.select(raw_path) else {
        return Err(OfflineError::Refused {
            status: 404,
            reason: gw.no_stage_reason(raw_path),
        });
    };
    let Some(matched) = gw.router.select(&method, stage.route_path) else {
        return Err(OfflineError::Refused {
            status: 404,
            reason: gw.no_route_reason(&method, stage.stage, stage.route_path),
        });
    };
    let Some(route) = gw.routes.get(matched.id) else {
        return Err(OfflineError::Config(format!(
            "route table entry {} is missing (stackgate bug)",
            matched.id
        )));
    };
    let time = SystemTime::now();
    let authorizer = match &request.auth {
        OfflineAuth::Verify { .. } => {
            auth::authorize(&route.auth, &keys, &request.headers, raw_query, time)
                .await
                .map_err(refused)?
        }
        OfflineAuth::DecodeOnly => decode_only(&route.auth, &request.headers, raw_query)?,
    };
    let (function, version) = match &route.target {
        Target::Lambda {
            function, version, ..
        } => (function.clone(), *version),
        Target::Unusable(reason) => {
            return Err(OfflineError::Refused {
                status: 500,
                reason: reason.clone(),
            });
        }
    };
    let request_id = request_id::new_request_id();
    let input = EventInput {
        api: &gw.api,
        method: &method,
        raw_path,
        raw_query,
        headers: &request.headers,
        body: &request.body,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        local_port: 3000,
        request_id: &request_id,
        time,
        route_key: &route.key,
        stage: stage.stage,
        path_params: &matched.params,
        authorizer: authorizer.as_ref(),
    };
    let payload = match version {
        PayloadVersion::V1 => events::v1::build(&input),
        PayloadVersion::V2 => events::v2::build(&input),
    }
    .map_err(|e| OfflineError::Config(format!("could not serialize the event: {e}")))?;
    Ok(OfflineEvent {
        function,
        payload,
        route_key: route.key.clone(),
        stage: stage.stage.name.clone(),
        payload_version: version.as_str(),
    })
}

/// The route's authorizer context from the token's claims, unverified.
fn decode_only(
    plan: &RouteAuth,
    headers: &HeaderMap,
    raw_query: &str,
) -> Result<Option<AuthContext>, OfflineError> {
    let (authorizer, scopes) = match plan {
        RouteAuth::None => return Ok(None),
        RouteAuth::NotEmulated(reason) | RouteAuth::Misconfigured(reason) => {
            return Err(OfflineError::Refused {
                status: 500,
                reason: reason.clone(),
            });
        }
        RouteAuth::Jwt { authorizer, scopes } => (authorizer, scopes),
    };
    let value = authorizer.source.extract(headers, raw_query);
    let Some(token) = value
        .as_deref()
        .and_then(stackgate_jwt::token_from_identity)
    else {
        return Err(OfflineError::Refused {
            status: 401,
            reason: format!(
                "the route has JWT authorizer {}, which reads its token from the {}; pass --token",
                authorizer.name,
                match &authorizer.source {
                    auth::IdentitySource::Header(name) => format!("{name} header"),
                    auth::IdentitySource::Query(name) => format!("{name} query parameter"),
                }
            ),
        });
    };
    let claims = decode_claims(token).ok_or_else(|| OfflineError::Refused {
        status: 401,
        reason: "the token is not a JWT (header.payload.signature with a JSON object payload)"
            .to_owned(),
    })?;
    let token_scopes = token_scopes(&claims);
    Ok(Some(AuthContext {
        claims,
        scopes: (!scopes.is_empty()).then_some(token_scopes),
    }))
}

/// The payload of a JWT, not verified.
fn decode_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `scope` (space-separated) and `scp` (string or array), as the authorizer reads them.
fn token_scopes(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        for scope in s.split_whitespace() {
            if !out.iter().any(|o| o == scope) {
                out.push(scope.to_owned());
            }
        }
    };
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(serde_json::Value::String(s)) => push(s),
            Some(serde_json::Value::Array(items)) => {
                for item in items.iter().filter_map(serde_json::Value::as_str) {
                    push(item);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_claims_and_scopes() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","scope":"a b","scp":["b","c"]}"#);
        let claims = decode_claims(&format!("e30.{payload}.sig"));
        let claims = claims.unwrap_or_default();
        assert_eq!(claims.get("sub").and_then(|v| v.as_str()), Some("x"));
        assert_eq!(token_scopes(&claims), vec!["a", "b", "c"]);
        assert!(decode_claims("not-a-jwt").is_none());
        assert!(decode_claims("a.W10.c").is_none());
    }
}
