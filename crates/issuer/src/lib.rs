//! The embedded OIDC development issuer: an RSA key kept in the state directory, OIDC discovery,
//! a JWKS, and an Auth0-compatible `POST /oauth/token` (client credentials) so that the same
//! `curl` a developer runs against Auth0 works locally.

mod http;
mod key;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub use key::KEY_FILE;

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("dev issuer state in {path}: {message}")]
    State { path: String, message: String },
    #[error("dev issuer key: {0}")]
    Key(String),
}

/// An RSA signing key (RS256) with its `kid`, and the issuer URL it signs for.
pub struct DevIssuer {
    key: key::SigningKey,
    issuer_url: String,
    default_audience: Option<String>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("kid", &self.key.kid)
            .field("default_audience", &self.default_audience)
            .finish()
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl DevIssuer {
    /// Loads the signing key from `state_dir/dev-issuer-key.pk8` (PKCS#8 DER), or generates a
    /// 2048-bit key and saves it there, so tokens survive restarts. `issuer_url` is e.g.
    /// `http://127.0.0.1:3001/` (Auth0 style: trailing slash).
    pub fn load_or_create(state_dir: &Path, issuer_url: String) -> Result<Self, IssuerError> {
        Ok(DevIssuer {
            key: key::SigningKey::load_or_create(state_dir)?,
            issuer_url,
            default_audience: None,
        })
    }

    /// The audience of `/oauth/token` tokens when the request names none (Auth0's "default
    /// audience" tenant setting). Without either, `/oauth/token` answers Auth0's 403.
    pub fn with_default_audience(mut self, audience: Option<String>) -> Self {
        self.default_audience = audience;
        self
    }

    /// The issuer URL (`iss` of minted tokens).
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The default audience, if any.
    pub fn default_audience(&self) -> Option<&str> {
        self.default_audience.as_deref()
    }

    /// The signing key's `kid` (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.key.kid
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.key.jwk()] })
    }

    /// The issuer URL without its trailing slash, the base of every endpoint.
    fn base(&self) -> &str {
        self.issuer_url
            .strip_suffix('/')
            .unwrap_or(&self.issuer_url)
    }

    /// The OIDC discovery document (Auth0's shape, trimmed to what applies here).
    pub fn discovery(&self) -> Value {
        let base = self.base();
        json!({
            "issuer": self.issuer_url,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["aud", "azp", "exp", "gty", "iat", "iss", "scope", "sub"],
        })
    }

    /// Signs a token with `iss`, `iat`, `exp` = now + `expires_in_s`, plus `claims`
    /// (e.g. `sub`, `aud`, `scope`, `azp`, `gty`). A claim in `claims` replaces the default of the
    /// same name, so tests can mint expired or foreign-issuer tokens.
    pub fn mint(
        &self,
        claims: serde_json::Map<String, serde_json::Value>,
        expires_in_s: u64,
    ) -> Result<String, IssuerError> {
        let now = now_s();
        let mut all = Map::new();
        all.insert("iss".into(), Value::String(self.issuer_url.clone()));
        all.insert("iat".into(), now.into());
        all.insert("exp".into(), now.saturating_add(expires_in_s).into());
        all.extend(claims);
        self.key.sign(&Map::new(), &all)
    }

    /// Signs exactly `claims` (nothing added) under `header`, for tests that need unusual tokens.
    /// `header.alg`: RS256 (default), RS384, RS512, PS256, PS384 or PS512; `typ` and `kid` are
    /// filled in when absent.
    pub fn sign_raw(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, IssuerError> {
        self.key.sign(header, claims)
    }
}

/// Serves discovery (`/.well-known/openid-configuration`), JWKS (`/.well-known/jwks.json`) and
/// `POST /oauth/token` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    issuer: Arc<DevIssuer>,
) -> std::io::Result<()> {
    axum::serve(listener, http::router(issuer)).await
}
