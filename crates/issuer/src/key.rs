//! The issuer's RSA key: created once, kept in the state directory, used to sign tokens.

use std::path::Path;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::IssuerError;

pub const KEY_FILE: &str = "dev-issuer-key.pk8";

pub struct SigningKey {
    pair: KeyPair,
    /// RFC 7638 thumbprint of the public key: stable across restarts, changes with the key.
    pub kid: String,
    /// Modulus and exponent, base64url without padding (JWK form).
    pub n: String,
    pub e: String,
}

fn state_err(path: &Path, message: String) -> IssuerError {
    IssuerError::State {
        path: path.display().to_string(),
        message,
    }
}

impl SigningKey {
    pub fn load_or_create(state_dir: &Path) -> Result<Self, IssuerError> {
        std::fs::create_dir_all(state_dir)
            .map_err(|e| state_err(state_dir, format!("cannot create the directory: {e}")))?;
        let path = state_dir.join(KEY_FILE);
        let pair = match std::fs::read(&path) {
            Ok(der) => KeyPair::from_pkcs8(&der).map_err(|e| {
                state_err(
                    &path,
                    format!(
                        "not an RSA PKCS#8 private key ({e}); delete the file to make a new key \
                         (tokens signed by the old key stop working)"
                    ),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pair = KeyPair::generate(KeySize::Rsa2048)
                    .map_err(|e| IssuerError::Key(format!("cannot generate an RSA key: {e}")))?;
                let der = pair
                    .as_der()
                    .map_err(|e| IssuerError::Key(format!("cannot serialise the RSA key: {e}")))?;
                write_private(&path, der.as_ref())?;
                tracing::info!(path = %path.display(), "created the dev issuer signing key");
                pair
            }
            Err(e) => return Err(state_err(&path, format!("cannot read the key: {e}"))),
        };
        Ok(SigningKey::from_pair(pair))
    }

    fn from_pair(pair: KeyPair) -> Self {
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // RFC 7638: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        SigningKey { pair, kid, n, e }
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }

    /// Signs `claims` under `header`. `header.alg` picks the algorithm (RS256 when absent; also
    /// RS384, RS512, PS256, PS384, PS512); `typ` and `kid` are filled in when absent.
    pub fn sign(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, IssuerError> {
        let mut header = header.clone();
        let alg = match header.get("alg") {
            None => "RS256".to_owned(),
            Some(Value::String(a)) => a.clone(),
            Some(other) => {
                return Err(IssuerError::Key(format!(
                    "header alg must be a string, not {other}"
                )));
            }
        };
        let encoding: &'static dyn RsaEncoding = match alg.as_str() {
            "RS256" => &signature::RSA_PKCS1_SHA256,
            "RS384" => &signature::RSA_PKCS1_SHA384,
            "RS512" => &signature::RSA_PKCS1_SHA512,
            "PS256" => &signature::RSA_PSS_SHA256,
            "PS384" => &signature::RSA_PSS_SHA384,
            "PS512" => &signature::RSA_PSS_SHA512,
            other => {
                return Err(IssuerError::Key(format!(
                    "cannot sign {other}: this is an RSA key"
                )));
            }
        };
        header.insert("alg".into(), Value::String(alg));
        header
            .entry("typ")
            .or_insert_with(|| Value::String("JWT".into()));
        header
            .entry("kid")
            .or_insert_with(|| Value::String(self.kid.clone()));
        let json = |m: &Map<String, Value>| {
            serde_json::to_vec(m).map_err(|e| IssuerError::Key(format!("cannot encode JSON: {e}")))
        };
        let mut token = URL_SAFE_NO_PAD.encode(json(&header)?);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(json(claims)?));
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), token.as_bytes(), &mut sig)
            .map_err(|e| IssuerError::Key(format!("signing failed: {e}")))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(&sig));
        Ok(token)
    }
}

/// Writes the private key readable by its owner only, via a temporary file and a rename so a
/// crash never leaves half a key behind.
fn write_private(path: &Path, der: &[u8]) -> Result<(), IssuerError> {
    use std::io::Write as _;
    let tmp = path.with_extension(format!("pk8.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(der)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        state_err(path, format!("cannot save the key: {e}"))
    })
}
