//! The embedded OIDC development issuer. INTERFACE STUB: signatures are the contract, bodies are
//! being written.
#![allow(clippy::todo, unused_variables)]

use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("dev issuer state in {path}: {message}")]
    State { path: String, message: String },
    #[error("dev issuer key: {0}")]
    Key(String),
}

/// An RSA signing key (RS256) with its `kid`, and the issuer URL it signs for.
pub struct DevIssuer {}

impl DevIssuer {
    /// Loads the signing key from `state_dir/dev-issuer-key.pk8` (PKCS#8 DER), or generates a
    /// 2048-bit key and saves it there, so tokens survive restarts. `issuer_url` is e.g.
    /// `http://127.0.0.1:3001/` (Auth0 style: trailing slash).
    pub fn load_or_create(state_dir: &Path, issuer_url: String) -> Result<Self, IssuerError> {
        todo!()
    }

    /// The issuer URL (`iss` of minted tokens).
    pub fn issuer_url(&self) -> &str {
        todo!()
    }

    /// Signs a token with `iss`, `iat`, `exp` = now + `expires_in_s`, plus `claims`
    /// (e.g. `sub`, `aud`, `scope`, `azp`, `gty`).
    pub fn mint(
        &self,
        claims: serde_json::Map<String, serde_json::Value>,
        expires_in_s: u64,
    ) -> Result<String, IssuerError> {
        todo!()
    }
}

/// Serves discovery (`/.well-known/openid-configuration`), JWKS (`/.well-known/jwks.json`) and
/// `POST /oauth/token` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, issuer: Arc<DevIssuer>) -> std::io::Result<()> {
    todo!()
}
