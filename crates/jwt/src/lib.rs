//! JWT authorizer (API Gateway HTTP API semantics). INTERFACE STUB: the signatures below are the
//! contract other crates compile against; the bodies are being written.
#![allow(clippy::todo, unused_variables)]

use std::time::{Duration, SystemTime};

/// One JWT authorizer's configuration (`JwtConfiguration`).
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `Issuer`: must equal the token's `iss` exactly; keys come from its OIDC discovery.
    pub issuer: String,
    /// `Audience`: the token's `aud` (or `client_id` when `aud` is absent) must be one of these.
    pub audience: Vec<String>,
}

/// Shared, per-issuer cache of signing keys (discovery → `jwks_uri` → JWKS). Cheap to clone.
#[derive(Debug, Clone)]
pub struct KeyCache {}

impl KeyCache {
    /// `fetch_timeout`: AWS uses 1500 ms for discovery and for the JWKS.
    pub fn new(fetch_timeout: Duration) -> Self {
        todo!()
    }
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The token's claims as JSON.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The token's scopes (from `scope` or `scp`).
    pub scopes: Vec<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 401 `{"message":"Unauthorized"}`. `description` goes into `www-authenticate`'s
    /// `error_description`; `reason` is the precise cause for the log line.
    Unauthorized { description: String, reason: String },
    /// 403 `{"message":"Forbidden"}`: valid token, none of the route's scopes.
    Forbidden { reason: String },
}

/// Strips one `Bearer ` prefix (scheme case-insensitive, one or more spaces), else returns the
/// whole trimmed value. `None` when nothing is left.
pub fn token_from_identity(value: &str) -> Option<&str> {
    todo!()
}

/// Verifies `token` for an authorizer and a route's `AuthorizationScopes` (empty = no scope check).
pub async fn authorize(
    keys: &KeyCache,
    config: &JwtConfig,
    token: &str,
    required_scopes: &[String],
    now: SystemTime,
) -> Result<Verified, Rejection> {
    todo!()
}

/// Claims as API Gateway puts them in the 2.0 event: every value a string (numbers and booleans
/// as text, arrays as `[a b]`, objects as JSON text, nulls left out).
pub fn stringify_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    todo!()
}
