//! The issuer's HTTP endpoints.
//!
//! `POST /oauth/token` follows Auth0's client-credentials grant. The body is JSON or
//! `application/x-www-form-urlencoded`, with:
//! - `grant_type`: must be `client_credentials`;
//! - `client_id`, `client_secret`: any values (this is a development issuer); `client_id` may also
//!   come from HTTP Basic authentication;
//! - `audience`: the token's `aud` (else the issuer's default audience, else Auth0's 403);
//! - `scope` (optional): space-separated scopes, copied into the token and the answer;
//! - `claims` (optional, stackgate only): a JSON object of extra claims merged into the token last,
//!   so it may also replace standard ones (`exp`, `iss`, …) to test rejections. In a form body it
//!   is the JSON text of the object.
//!
//! Errors use Auth0's body shape `{"error":…,"error_description":…}`; nothing a client sends can
//! make a handler panic.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::DevIssuer;

/// Lifetime of `/oauth/token` tokens (Auth0's default for APIs).
pub const EXPIRES_IN_S: u64 = 86_400;

pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth/token", post(token))
        .with_state(issuer)
}

type State = axum::extract::State<Arc<DevIssuer>>;

async fn discovery(axum::extract::State(issuer): State) -> Response {
    axum::Json(issuer.discovery()).into_response()
}

async fn jwks(axum::extract::State(issuer): State) -> Response {
    axum::Json(issuer.jwks()).into_response()
}

/// An OAuth error answer: `{"error":…,"error_description":…}` with its status.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        (self.status, axum::Json(body)).into_response()
    }
}

fn error(status: StatusCode, error: &'static str, description: &str) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.to_owned(),
    }
}

fn invalid(description: String) -> OAuthError {
    error(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

/// The request's parameters as a JSON object, whichever encoding it came in.
fn parameters(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| invalid(format!("the form body cannot be parsed: {e}")))?;
        let mut map = Map::new();
        for (k, v) in pairs {
            let value = if k == "claims" {
                serde_json::from_str(&v)
                    .map_err(|e| invalid(format!("claims must be a JSON object: {e}")))?
            } else {
                Value::String(v)
            };
            map.insert(k, value);
        }
        return Ok(map);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(
            "the request has no body; send JSON or a form".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("the JSON body must be an object".into())),
        Err(e) => Err(invalid(format!("the body is not valid JSON: {e}"))),
    }
}

fn string(params: &Map<String, Value>, name: &str) -> Result<Option<String>, OAuthError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

/// `client_id` from `Authorization: Basic base64(id:secret)`, as OAuth clients may send it.
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, _) = text.split_once(':')?;
    (!id.is_empty()).then(|| id.to_owned())
}

async fn token(axum::extract::State(issuer): State, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&issuer, &headers, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn issue(issuer: &DevIssuer, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let params = parameters(headers, body)?;
    let Some(grant_type) = string(&params, "grant_type")? else {
        return Err(invalid("Missing required parameter: grant_type".into()));
    };
    if grant_type != "client_credentials" {
        return Err(error(
            StatusCode::FORBIDDEN,
            "unsupported_grant_type",
            &format!("Grant type '{grant_type}' not allowed for the client."),
        ));
    }
    let client_id = match string(&params, "client_id")? {
        Some(id) => id,
        None => basic_client_id(headers)
            .ok_or_else(|| invalid("Missing required parameter: client_id".into()))?,
    };
    let audience = match string(&params, "audience")? {
        Some(a) => a,
        None => issuer.default_audience().map(str::to_owned).ok_or_else(|| {
            error(
                StatusCode::FORBIDDEN,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
            )
        })?,
    };
    let scope = string(&params, "scope")?;
    let extra = match params.get("claims") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("claims must be a JSON object".into())),
    };

    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(format!("{client_id}@clients")));
    claims.insert("aud".into(), Value::String(audience));
    if let Some(scope) = &scope {
        claims.insert("scope".into(), Value::String(scope.clone()));
    }
    claims.insert("azp".into(), Value::String(client_id));
    claims.insert("gty".into(), Value::String("client-credentials".into()));
    claims.extend(extra);
    let access_token = issuer.mint(claims, EXPIRES_IN_S).map_err(|e| {
        tracing::error!(error = %e, "dev issuer could not sign a token");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        )
    })?;
    let mut answer = json!({"access_token": access_token});
    if let Some(scope) = scope {
        answer["scope"] = Value::String(scope);
    }
    answer["expires_in"] = EXPIRES_IN_S.into();
    answer["token_type"] = "Bearer".into();
    Ok(axum::Json(answer).into_response())
}
