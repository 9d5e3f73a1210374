//! Finding an issuer's signing keys: OIDC discovery → `jwks_uri` → JWKS, cached per issuer.
//!
//! Concurrency: each issuer has a snapshot (read under a short std mutex, never across an await)
//! and a tokio mutex that serialises fetches. A request that needs a fetch notes the snapshot's
//! generation, takes the fetch lock, and fetches only if nobody else has fetched meanwhile; so a
//! burst of requests for a cold or rotated issuer costs one fetch, and everyone shares its result
//! (its keys, or its error).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::Failure;

/// AWS: "JWKS response max 150000 bytes"; applied to the discovery document too.
pub const MAX_BODY: usize = 150_000;

const D_KEYS: &str = "unable to fetch the issuer's signing keys";
const D_KID: &str = "the token's signing key is not in the issuer's JWKS";

/// JWK `n`/`e` are base64url; some issuers pad them, so padding is tolerated here (not in tokens).
const LENIENT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One RSA public key from a JWKS.
#[derive(Debug)]
pub struct RsaKey {
    pub kid: Option<String>,
    /// Modulus, big-endian, no leading zeros.
    pub n: Vec<u8>,
    /// Exponent, big-endian, no leading zeros.
    pub e: Vec<u8>,
    /// The JWK's `alg`, when it names one.
    pub alg: Option<String>,
}

impl RsaKey {
    pub fn describe(&self) -> String {
        match &self.kid {
            Some(k) => format!("kid {k:?}"),
            None => "(no kid)".into(),
        }
    }
}

#[derive(Debug)]
pub struct KeySet {
    pub jwks_uri: String,
    pub keys: Vec<Arc<RsaKey>>,
    pub fetched_at: Instant,
}

#[derive(Debug, Default)]
struct Snapshot {
    keys: Option<Arc<KeySet>>,
    /// Bumped by every completed fetch, successful or not.
    generation: u64,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    /// When the last fetch ended, if it failed.
    failed_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct IssuerEntry {
    snapshot: Mutex<Snapshot>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl IssuerEntry {
    /// When the last fetch failed and why, if it did.
    fn failure(&self) -> Option<(Instant, String)> {
        let s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        Some((s.failed_at?, s.last_error.clone()?))
    }

    fn read(&self) -> (Option<Arc<KeySet>>, u64, Option<Instant>, Option<String>) {
        let s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        (
            s.keys.clone(),
            s.generation,
            s.last_attempt,
            s.last_error.clone(),
        )
    }
}

/// Tunables; `Default` is what AWS documents.
#[derive(Debug, Clone, Copy)]
pub struct KeySettings {
    /// Timeout of each of the discovery and JWKS requests (AWS: 1500 ms).
    pub fetch_timeout: Duration,
    /// How long a fetched JWKS is used before it is fetched again (AWS: up to 2 h).
    pub ttl: Duration,
    /// An unknown `kid` triggers a refetch at most this often per issuer.
    pub min_refetch_interval: Duration,
    /// While an issuer's keys have never been fetched, a failed fetch is tried again at most
    /// this often; requests meanwhile get 401 with that failure (not one fetch, and up to one
    /// timeout, each).
    pub failed_fetch_retry: Duration,
    /// Verified tokens remembered (until their `exp`) to skip repeated RSA verifies.
    pub token_cache_capacity: usize,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            fetch_timeout: Duration::from_millis(1500),
            ttl: Duration::from_secs(2 * 3600),
            min_refetch_interval: Duration::from_secs(5),
            failed_fetch_retry: Duration::from_secs(1),
            token_cache_capacity: 10_000,
        }
    }
}

#[derive(Debug)]
pub struct Keys {
    client: Result<reqwest::Client, String>,
    settings: KeySettings,
    issuers: Mutex<HashMap<String, Arc<IssuerEntry>>>,
}

enum Pick {
    Found(Arc<RsaKey>),
    UnknownKid(String),
    Unusable(String),
}

fn pick(set: &KeySet, kid: Option<&str>) -> Pick {
    if set.keys.is_empty() {
        return Pick::Unusable(format!(
            "JWKS at {} has no usable RSA signing keys",
            set.jwks_uri
        ));
    }
    match kid {
        Some(kid) => match set.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
            Some(k) => Pick::Found(k.clone()),
            None => {
                let known: Vec<String> = set
                    .keys
                    .iter()
                    .map(|k| k.kid.clone().unwrap_or_else(|| "(none)".into()))
                    .collect();
                Pick::UnknownKid(format!(
                    "kid {kid:?} not in JWKS of {} (it has {})",
                    set.jwks_uri,
                    serde_json::to_string(&known).unwrap_or_default()
                ))
            }
        },
        None if set.keys.len() == 1 => Pick::Found(set.keys[0].clone()),
        None => Pick::Unusable(format!(
            "token has no kid and JWKS of {} has {} RSA keys, so the key is ambiguous",
            set.jwks_uri,
            set.keys.len()
        )),
    }
}

/// Innermost cause of a reqwest error, e.g. "connection refused".
fn cause(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let mut text = last.to_string();
    if let Some(i) = text.find(" (os error") {
        text.truncate(i);
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => e.to_string(),
    }
}

impl Keys {
    pub fn new(settings: KeySettings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            .connect_timeout(settings.fetch_timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        Keys {
            client,
            settings,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &KeySettings {
        &self.settings
    }

    fn entry(&self, issuer: &str) -> Arc<IssuerEntry> {
        let mut map = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(issuer.to_owned()).or_default().clone()
    }

    /// The key that should have signed a token with header `kid`, for `issuer`.
    pub async fn key_for(&self, issuer: &str, kid: Option<&str>) -> Result<Arc<RsaKey>, Failure> {
        let entry = self.entry(issuer);
        let (keys, generation, last_attempt, _) = entry.read();
        let recent_attempt =
            last_attempt.is_some_and(|t| t.elapsed() < self.settings.min_refetch_interval);
        // No keys yet and the last fetch just failed: answer with that failure, so that an
        // unreachable issuer costs one fetch a second, not one per request.
        if keys.is_none()
            && let Some((at, error)) = entry.failure()
            && at.elapsed() < self.settings.failed_fetch_retry
        {
            return Err(Failure::new(
                D_KEYS,
                format!(
                    "{error} (the last attempt, which ended {} ms ago; tried again at most every {} ms)",
                    at.elapsed().as_millis(),
                    self.settings.failed_fetch_retry.as_millis()
                ),
            ));
        }
        // Expired keys stay in use while a refresh has just failed, so an issuer outage after
        // the TTL costs one fetch per interval rather than one per request.
        if let Some(set) = &keys
            && (set.fetched_at.elapsed() < self.settings.ttl || recent_attempt)
        {
            match pick(set, kid) {
                Pick::Found(k) => return Ok(k),
                Pick::Unusable(r) => return Err(Failure::new(D_KID, r)),
                Pick::UnknownKid(r) => {
                    if recent_attempt {
                        return Err(Failure::new(D_KID, r));
                    }
                    // Unknown kid, and we have not asked lately: the issuer may have rotated.
                }
            }
        }
        self.refresh(issuer, &entry, generation).await;
        let (keys, _, _, error) = entry.read();
        match (keys, error) {
            (Some(set), error) => match pick(&set, kid) {
                Pick::Found(k) => Ok(k),
                Pick::UnknownKid(r) | Pick::Unusable(r) => Err(Failure::new(
                    D_KID,
                    match error {
                        Some(e) => format!("{r}; refetching failed: {e}"),
                        None => r,
                    },
                )),
            },
            (None, Some(e)) => Err(Failure::new(D_KEYS, e)),
            (None, None) => Err(Failure::new(
                D_KEYS,
                format!("no keys for issuer {issuer:?}"),
            )),
        }
    }

    /// Fetches `issuer`'s keys now (e.g. at startup, to report an unreachable issuer early),
    /// sharing any fetch in progress. Returns how many RSA keys its JWKS has.
    pub async fn prefetch(&self, issuer: &str) -> Result<usize, String> {
        let entry = self.entry(issuer);
        let generation = entry.read().1;
        self.refresh(issuer, &entry, generation).await;
        match entry.read() {
            (_, _, _, Some(error)) => Err(error),
            (Some(set), _, _, None) => Ok(set.keys.len()),
            (None, _, _, None) => Err(format!("no keys for issuer {issuer:?}")),
        }
    }

    /// Fetches unless someone else completed a fetch since `seen_generation`.
    async fn refresh(&self, issuer: &str, entry: &IssuerEntry, seen_generation: u64) {
        let _guard = entry.fetch_lock.lock().await;
        if entry.read().1 != seen_generation {
            return;
        }
        let started = Instant::now();
        let result = self.fetch(issuer).await;
        let mut s = entry.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        s.generation += 1;
        s.last_attempt = Some(started);
        match result {
            Ok(set) => {
                tracing::debug!(issuer, jwks_uri = %set.jwks_uri, keys = set.keys.len(), "fetched JWKS");
                s.keys = Some(Arc::new(set));
                s.last_error = None;
                s.failed_at = None;
            }
            Err(e) => {
                // Stale keys (if any) stay usable: an issuer blip must not lock everyone out.
                tracing::warn!(issuer, error = %e, "JWKS fetch failed");
                s.last_error = Some(e);
                s.failed_at = Some(Instant::now());
            }
        }
    }

    async fn fetch(&self, issuer: &str) -> Result<KeySet, String> {
        if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
            return Err(format!(
                "issuer {issuer:?} is not an http(s) URL, so it has no OIDC discovery"
            ));
        }
        let base = issuer.strip_suffix('/').unwrap_or(issuer);
        let discovery_url = format!("{base}/.well-known/openid-configuration");
        let doc = self.get_json(&discovery_url, "OIDC discovery").await?;
        let jwks_uri = match doc.get("jwks_uri") {
            Some(Value::String(u)) => u.clone(),
            _ => {
                return Err(format!(
                    "OIDC discovery at {discovery_url} has no jwks_uri string"
                ));
            }
        };
        let jwks = self.get_json(&jwks_uri, "JWKS").await?;
        let keys = parse_jwks(&jwks, &jwks_uri)?;
        Ok(KeySet {
            jwks_uri,
            keys,
            fetched_at: Instant::now(),
        })
    }

    async fn get_json(&self, url: &str, what: &str) -> Result<Value, String> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let timeout = self.settings.fetch_timeout;
        let mut response = client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("could not fetch {what} from {url}: {}", cause(&e, timeout)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{what} at {url} answered HTTP {status}"));
        }
        let too_big = || format!("{what} at {url} is larger than the {MAX_BODY}-byte limit");
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("could not read {what} from {url}: {}", cause(&e, timeout)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{what} at {url} is not valid JSON: {e}"))
    }
}

fn component(key: &serde_json::Map<String, Value>, name: &str) -> Option<Vec<u8>> {
    let text = key.get(name)?.as_str()?;
    let bytes = LENIENT_B64URL.decode(text).ok()?;
    let start = bytes.iter().position(|b| *b != 0)?;
    Some(bytes[start..].to_vec())
}

/// The RSA signature keys of a JWKS document; other keys are skipped.
pub fn parse_jwks(doc: &Value, jwks_uri: &str) -> Result<Vec<Arc<RsaKey>>, String> {
    let Some(Value::Array(items)) = doc.get("keys") else {
        return Err(format!("JWKS at {jwks_uri} has no \"keys\" array"));
    };
    let mut keys = Vec::new();
    for item in items {
        let Value::Object(key) = item else { continue };
        if key.get("kty").and_then(Value::as_str) != Some("RSA") {
            continue;
        }
        if key
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_owned);
        let (Some(n), Some(e)) = (component(key, "n"), component(key, "e")) else {
            tracing::warn!(
                jwks_uri,
                ?kid,
                "skipping RSA JWK with missing or invalid n/e"
            );
            continue;
        };
        let alg = key.get("alg").and_then(Value::as_str).map(str::to_owned);
        keys.push(Arc::new(RsaKey { kid, n, e, alg }));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwks_keeps_only_rsa_signing_keys() {
        let doc = json!({"keys":[
            {"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"padded","n":"AAEC","e":"AQ=="},
            {"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad","n":"***","e":"AQAB"},
            "junk"
        ]});
        let keys = parse_jwks(&doc, "u").expect("parses");
        let kids: Vec<_> = keys
            .iter()
            .map(|k| k.kid.clone().unwrap_or_default())
            .collect();
        assert_eq!(kids, ["a", "padded"]);
        assert_eq!(keys[1].n, [1, 2], "leading zero stripped");
        assert!(parse_jwks(&json!({}), "u").is_err());
    }

    #[test]
    fn picks_by_kid_or_single_key() {
        let key = |kid: Option<&str>| {
            Arc::new(RsaKey {
                kid: kid.map(Into::into),
                n: vec![1],
                e: vec![1],
                alg: None,
            })
        };
        let one = KeySet {
            jwks_uri: "u".into(),
            keys: vec![key(Some("a"))],
            fetched_at: Instant::now(),
        };
        assert!(matches!(pick(&one, Some("a")), Pick::Found(_)));
        assert!(matches!(pick(&one, None), Pick::Found(_)));
        match pick(&one, Some("k9")) {
            Pick::UnknownKid(r) => assert_eq!(r, r#"kid "k9" not in JWKS of u (it has ["a"])"#),
            _ => panic!("expected unknown kid"),
        }
        let two = KeySet {
            jwks_uri: "u".into(),
            keys: vec![key(Some("a")), key(None)],
            fetched_at: Instant::now(),
        };
        assert!(matches!(pick(&two, None), Pick::Unusable(_)));
    }
}
