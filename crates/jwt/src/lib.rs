//! JWT authorizer as API Gateway HTTP APIs run it.
//!
//! The steps, in AWS's documented order: take the token from the identity source
//! ([`token_from_identity`]), decode it ([`token`]), find the issuer's key (OIDC discovery →
//! JWKS, [`jwks`]), check the RSA signature ([`verify`]), then the claims ([`claims`]) and the
//! route's scopes. Every refusal carries a short `description` for the client's
//! `www-authenticate` header and a precise `reason` for the log.
//!
//! No JWT library is used: decoding is base64 + serde_json and verification is aws-lc-rs, so each
//! failure can be named exactly.

mod claims;
mod jwks;
mod stringify;
mod token;
mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

pub use jwks::{KeySettings, MAX_BODY as MAX_JWKS_BYTES};
pub use token::MAX_TOKEN_LEN;

/// One JWT authorizer's configuration (`JwtConfiguration`).
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `Issuer`: must equal the token's `iss` exactly; keys come from its OIDC discovery.
    pub issuer: String,
    /// `Audience`: the token's `aud` (or `client_id` when `aud` is absent) must be one of these.
    pub audience: Vec<String>,
}

/// A refusal before it becomes a [`Rejection::Unauthorized`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub description: &'static str,
    pub reason: String,
}

impl Failure {
    pub fn new(description: &'static str, reason: String) -> Self {
        Failure {
            description,
            reason,
        }
    }
    pub fn malformed(reason: String) -> Self {
        Failure::new("the token is malformed", reason)
    }
    pub fn alg(reason: String) -> Self {
        Failure::new("the token's signing algorithm is not supported", reason)
    }
}

impl From<Failure> for Rejection {
    fn from(f: Failure) -> Self {
        Rejection::Unauthorized {
            description: f.description.to_owned(),
            reason: f.reason,
        }
    }
}

/// A token whose signature checked out with the key of `key_issuer`. Claims are re-checked on
/// every request (time moves; another authorizer may want another audience).
#[derive(Debug)]
struct CachedToken {
    key_issuer: String,
    claims: Arc<Map<String, Value>>,
    exp: f64,
}

#[derive(Debug)]
struct Inner {
    keys: jwks::Keys,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

/// Shared, per-issuer cache of signing keys (discovery → `jwks_uri` → JWKS), plus a cache of
/// verified tokens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KeyCache {
    inner: Arc<Inner>,
}

impl KeyCache {
    /// `fetch_timeout`: AWS uses 1500 ms for discovery and for the JWKS.
    pub fn new(fetch_timeout: Duration) -> Self {
        KeyCache::with_settings(KeySettings {
            fetch_timeout,
            ..KeySettings::default()
        })
    }

    /// Every tunable (key TTL, unknown-`kid` refetch interval, token cache size).
    pub fn with_settings(settings: KeySettings) -> Self {
        KeyCache {
            inner: Arc::new(Inner {
                keys: jwks::Keys::new(settings),
                tokens: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Fetches `issuer`'s discovery document and JWKS now (AWS does this when an authorizer is
    /// created), so a wrong or unreachable issuer can be reported at startup. Returns the number
    /// of usable RSA keys, or the reason the fetch failed. Requests work without calling this.
    pub async fn prefetch(&self, issuer: &str) -> Result<usize, String> {
        self.inner.keys.prefetch(issuer).await
    }

    fn cached(&self, token: &str, issuer: &str) -> Option<Arc<Map<String, Value>>> {
        let map = self.inner.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .filter(|c| c.key_issuer == issuer)
            .map(|c| c.claims.clone())
    }

    fn remember(&self, token: &str, issuer: &str, claims: Arc<Map<String, Value>>, now_s: f64) {
        let Some(exp) = claims.get("exp").and_then(Value::as_f64) else {
            return;
        };
        if !exp.is_finite() || exp <= now_s {
            return;
        }
        let capacity = self.inner.keys.settings().token_cache_capacity;
        if capacity == 0 {
            return;
        }
        let mut map = self.inner.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= capacity {
            map.retain(|_, c| c.exp > now_s);
            if map.len() >= capacity {
                // Simple and bounded: start over rather than track recency.
                map.clear();
            }
        }
        map.insert(
            token.to_owned(),
            CachedToken {
                key_issuer: issuer.to_owned(),
                claims,
                exp,
            },
        );
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

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Unauthorized { reason, .. } => write!(f, "401 Unauthorized: {reason}"),
            Rejection::Forbidden { reason } => write!(f, "403 Forbidden: {reason}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Strips one `Bearer ` prefix (scheme case-insensitive, one or more spaces), else returns the
/// whole trimmed value. `None` when nothing is left.
pub fn token_from_identity(value: &str) -> Option<&str> {
    let value = value.trim();
    let bytes = value.as_bytes();
    let token = if bytes.len() > 6
        && bytes[..6].eq_ignore_ascii_case(b"bearer")
        && (bytes[6] == b' ' || bytes[6] == b'\t')
    {
        value[6..].trim_start()
    } else {
        value
    };
    (!token.is_empty()).then_some(token)
}

/// Verifies `token` for an authorizer and a route's `AuthorizationScopes` (empty = no scope check).
pub async fn authorize(
    keys: &KeyCache,
    config: &JwtConfig,
    token: &str,
    required_scopes: &[String],
    now: SystemTime,
) -> Result<Verified, Rejection> {
    let now_s = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    let claims = match keys.cached(token, &config.issuer) {
        Some(claims) => claims,
        None => {
            let parsed = token::parse(token)?;
            let key = keys
                .inner
                .keys
                .key_for(&config.issuer, parsed.kid.as_deref())
                .await
                .map_err(|mut f| {
                    // The usual cause of a missing key is a token from another issuer.
                    if let Some(iss) = parsed.claims.get("iss").and_then(Value::as_str)
                        && iss != config.issuer
                    {
                        f.reason.push_str(&format!(
                            " (note: token iss {iss:?} differs from the authorizer's issuer {:?})",
                            config.issuer
                        ));
                    }
                    f
                })?;
            verify::verify(
                &key,
                parsed.alg,
                parsed.signing_input.as_bytes(),
                &parsed.signature,
            )?;
            let claims = Arc::new(parsed.claims);
            keys.remember(token, &config.issuer, claims.clone(), now_s);
            claims
        }
    };
    claims::check(config, &claims, now_s)?;
    let scopes = claims::scopes(&claims);
    claims::check_scopes(&scopes, required_scopes)?;
    Ok(Verified {
        claims: (*claims).clone(),
        scopes,
    })
}

/// Claims as API Gateway puts them in the 2.0 event: every value a string (numbers and booleans
/// as text, arrays as `[a b]`, objects as JSON text, nulls left out).
pub fn stringify_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    stringify::claims(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_source_forms() {
        assert_eq!(token_from_identity("abc"), Some("abc"));
        assert_eq!(token_from_identity("  abc  "), Some("abc"));
        assert_eq!(token_from_identity("Bearer abc"), Some("abc"));
        assert_eq!(token_from_identity("bearer   abc"), Some("abc"));
        assert_eq!(token_from_identity("BEARER abc"), Some("abc"));
        assert_eq!(token_from_identity("Bearer Bearer abc"), Some("Bearer abc"));
        assert_eq!(token_from_identity("Bearerabc"), Some("Bearerabc"));
        assert_eq!(token_from_identity("Bearer "), Some("Bearer"));
        assert_eq!(token_from_identity("Bearer    "), Some("Bearer"));
        assert_eq!(token_from_identity(""), None);
        assert_eq!(token_from_identity("   "), None);
    }
}
