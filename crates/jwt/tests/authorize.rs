//! End-to-end checks of `authorize` against a real JWKS server on 127.0.0.1, with keys made by
//! the dev issuer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use stackgate_issuer::DevIssuer;
use stackgate_jwt::{
    JwtConfig, KeyCache, KeySettings, Rejection, Verified, authorize, token_from_identity,
};

const AUD: &str = "https://api.example.test";

fn temp_dir() -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stackgate-jwt-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A fresh RSA key (the dev issuer's), its state directory removed once the key is in memory.
fn new_key(url: &str) -> DevIssuer {
    let dir = temp_dir();
    let key = DevIssuer::load_or_create(&dir, url.to_owned()).expect("key");
    let _ = std::fs::remove_dir_all(&dir);
    key
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fake IdP: discovery + a JWKS that tests can swap, counting discovery requests.
struct Idp {
    /// Issuer URL without a trailing slash.
    url: String,
    jwks: Arc<Mutex<Value>>,
    discovery_hits: Arc<AtomicUsize>,
    key_a: DevIssuer,
    key_b: DevIssuer,
}

impl Idp {
    async fn start() -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let key_a = new_key(&url);
        let key_b = new_key(&url);
        let jwks = Arc::new(Mutex::new(key_a.jwks()));
        let discovery_hits = Arc::new(AtomicUsize::new(0));
        let doc = json!({"issuer": url, "jwks_uri": format!("{url}/keys")});
        let (j, h) = (jwks.clone(), discovery_hits.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let doc = doc.clone();
                    h.fetch_add(1, Ordering::SeqCst);
                    async move { axum::Json(doc) }
                }),
            )
            .route(
                "/keys",
                get(move || {
                    let v = j.lock().map(|g| g.clone()).unwrap_or(Value::Null);
                    async move { axum::Json(v) }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp {
            url,
            jwks,
            discovery_hits,
            key_a,
            key_b,
        }
    }

    fn config(&self) -> JwtConfig {
        JwtConfig {
            issuer: self.url.clone(),
            audience: vec![AUD.into()],
        }
    }

    /// A token signed by key A with `aud` = AUD, valid for an hour, plus `extra`.
    fn token(&self, extra: Value) -> String {
        let mut claims = obj(json!({"sub": "user-1", "aud": AUD}));
        claims.extend(obj(extra));
        self.key_a.mint(claims, 3600).expect("mint")
    }
}

fn cache() -> KeyCache {
    KeyCache::new(Duration::from_millis(1500))
}

async fn check(
    keys: &KeyCache,
    config: &JwtConfig,
    token: &str,
    scopes: &[&str],
) -> Result<Verified, Rejection> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    authorize(keys, config, token, &scopes, SystemTime::now()).await
}

#[track_caller]
fn unauthorized(r: Result<Verified, Rejection>) -> (String, String) {
    match r {
        Err(Rejection::Unauthorized {
            description,
            reason,
        }) => (description, reason),
        other => panic!("expected 401, got {other:?}"),
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn valid_rs256_token_bare_and_bearer() {
    let idp = Idp::start().await;
    let keys = cache();
    let token = idp.token(json!({"scope": "read write", "cognito:groups": ["a", "b"]}));
    let v = check(&keys, &idp.config(), &token, &[])
        .await
        .expect("valid");
    assert_eq!(v.claims["sub"], "user-1");
    assert_eq!(v.scopes, ["read", "write"]);
    let header = format!("Bearer {token}");
    let t = token_from_identity(&header).expect("token");
    check(&keys, &idp.config(), t, &[])
        .await
        .expect("bearer form");
    let s = stackgate_jwt::stringify_claims(&v.claims);
    assert_eq!(s["cognito:groups"], "[a b]");
    assert!(s["exp"].as_str().is_some_and(|e| e.parse::<u64>().is_ok()));
}

#[tokio::test]
async fn other_rsa_algorithms_verify() {
    let idp = Idp::start().await;
    let keys = cache();
    for alg in ["RS384", "RS512", "PS256", "PS384", "PS512"] {
        let claims = obj(json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60}));
        let token = idp
            .key_a
            .sign_raw(&obj(json!({"alg": alg})), &claims)
            .expect("sign");
        let r = check(&keys, &idp.config(), &token, &[]).await;
        // The dev issuer's JWK says alg RS256, so only RS256 may use it: a precise refusal.
        let (d, reason) = unauthorized(r);
        assert_eq!(d, "signature is invalid");
        assert!(
            reason.contains(&format!("token alg {alg} but JWKS key")),
            "{reason}"
        );
    }
    // Without `alg` on the JWK every RSA algorithm is accepted.
    let mut jwks = idp.key_a.jwks();
    jwks["keys"][0].as_object_mut().map(|k| k.remove("alg"));
    *idp.jwks.lock().expect("lock") = jwks;
    let keys = cache();
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        let claims = obj(json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60}));
        let token = idp
            .key_a
            .sign_raw(&obj(json!({"alg": alg})), &claims)
            .expect("sign");
        check(&keys, &idp.config(), &token, &[])
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

#[tokio::test]
async fn wrong_signature() {
    let idp = Idp::start().await;
    let keys = cache();
    // Signed by key B but claiming key A's kid.
    let claims = obj(json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60}));
    let forged = idp
        .key_b
        .sign_raw(
            &obj(json!({"alg": "RS256", "kid": idp.key_a.kid()})),
            &claims,
        )
        .expect("sign");
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &forged, &[]).await);
    assert_eq!(d, "signature is invalid");
    assert!(reason.contains("does not verify"), "{reason}");
    // A valid token whose payload was altered.
    let token = idp.token(json!({}));
    let parts: Vec<&str> = token.split('.').collect();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60, "admin": true})),
        parts[2]
    );
    let (d, _) = unauthorized(check(&keys, &idp.config(), &altered, &[]).await);
    assert_eq!(d, "signature is invalid");
}

#[tokio::test]
async fn issuer_rules() {
    let idp = Idp::start().await;
    let keys = cache();
    let token = idp.token(json!({"iss": "https://elsewhere.example"}));
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert_eq!(d, "the token does not have a valid issuer");
    assert!(
        reason.contains("differs from token iss \"https://elsewhere.example\""),
        "{reason}"
    );
    let token = idp.token(json!({"iss": format!("{}/", idp.url)}));
    let (_, reason) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert!(reason.ends_with("(trailing slash)"), "{reason}");
    // The config with a trailing slash still finds discovery (one slash stripped) and then
    // insists on the exact iss.
    let slash = JwtConfig {
        issuer: format!("{}/", idp.url),
        audience: vec![AUD.into()],
    };
    let token = idp.token(json!({}));
    let (_, reason) = unauthorized(check(&keys, &slash, &token, &[]).await);
    assert_eq!(
        reason,
        format!(
            "issuer \"{}/\" differs from token iss \"{}\" (trailing slash)",
            idp.url, idp.url
        )
    );
}

#[tokio::test]
async fn audience_rules() {
    let idp = Idp::start().await;
    let keys = cache();
    let token = idp.token(json!({"aud": "https://x"}));
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert_eq!(d, "the token does not have a valid audience");
    assert_eq!(
        reason,
        r#"aud "https://x" not in ["https://api.example.test"]"#
    );
    let token = idp.token(json!({"aud": ["https://x", AUD]}));
    check(&keys, &idp.config(), &token, &[])
        .await
        .expect("aud array");
    let claims = obj(json!({"iss": idp.url, "client_id": AUD, "exp": now_s() + 60}));
    let token = idp.key_a.sign_raw(&Map::new(), &claims).expect("sign");
    check(&keys, &idp.config(), &token, &[])
        .await
        .expect("client_id fallback");
    // The same verified token, another authorizer with another audience: refused (the token
    // cache never skips the per-authorizer claim checks).
    let other = JwtConfig {
        issuer: idp.url.clone(),
        audience: vec!["other".into()],
    };
    unauthorized(check(&keys, &other, &token, &[]).await);
}

#[tokio::test]
async fn time_rules() {
    let idp = Idp::start().await;
    let keys = cache();
    let now = now_s();
    let token = idp.token(json!({"exp": now - 180}));
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert_eq!(d, "the token has expired");
    assert_eq!(reason, "token expired 3 min ago");
    let token = idp.token(json!({"nbf": now + 600}));
    let (d, _) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert_eq!(d, "the token is not valid yet");
    let token = idp.token(json!({"iat": now + 600}));
    let (d, _) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert_eq!(d, "the token was issued in the future");
    let token = idp
        .key_a
        .sign_raw(&Map::new(), &obj(json!({"iss": idp.url, "aud": AUD})))
        .expect("sign");
    let (_, reason) = unauthorized(check(&keys, &idp.config(), &token, &[]).await);
    assert!(reason.contains("no exp"), "{reason}");
    // A cached token still expires: verify now, then ask again "later".
    let token = idp.token(json!({"exp": now + 30}));
    check(&keys, &idp.config(), &token, &[])
        .await
        .expect("valid now");
    let later = SystemTime::now() + Duration::from_secs(60);
    let r = authorize(&keys, &idp.config(), &token, &[], later).await;
    assert_eq!(unauthorized(r).0, "the token has expired");
}

#[tokio::test]
async fn unsigned_and_symmetric_tokens_are_refused() {
    let idp = Idp::start().await;
    let keys = cache();
    let claims = json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60});
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims));
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &none, &[]).await);
    assert_eq!(d, "the token's signing algorithm is not supported");
    assert!(reason.contains("\"none\""), "{reason}");
    let hs = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "HS256", "kid": idp.key_a.kid()})),
        b64(&claims),
        URL_SAFE_NO_PAD.encode([7u8; 32])
    );
    let (_, reason) = unauthorized(check(&keys, &idp.config(), &hs, &[]).await);
    assert!(reason.contains("HS256"), "{reason}");
    // A jku header pointing elsewhere is ignored (the key still comes from the issuer).
    let jku = idp
        .key_b
        .sign_raw(
            &obj(json!({"jku": "http://127.0.0.1:1/evil", "kid": idp.key_a.kid()})),
            &obj(claims.clone()),
        )
        .expect("sign");
    assert_eq!(
        unauthorized(check(&keys, &idp.config(), &jku, &[]).await).0,
        "signature is invalid"
    );
    let crit = idp
        .key_a
        .sign_raw(&obj(json!({"crit": ["exp"]})), &obj(claims))
        .expect("sign");
    assert!(
        unauthorized(check(&keys, &idp.config(), &crit, &[]).await)
            .1
            .contains("crit")
    );
}

#[tokio::test]
async fn malformed_tokens() {
    let idp = Idp::start().await;
    let keys = cache();
    for bad in [
        "abc",
        "a.b.c",
        "a.b",
        "e30.e30.",
        "!!.!!.!!",
        &"x".repeat(17_000),
    ] {
        let (d, _) = unauthorized(check(&keys, &idp.config(), bad, &[]).await);
        assert_eq!(d, "the token is malformed", "{bad}");
    }
    assert_eq!(
        idp.discovery_hits.load(Ordering::SeqCst),
        0,
        "no fetch for a malformed token"
    );
}

#[tokio::test]
async fn unknown_kid_then_rotation() {
    let idp = Idp::start().await;
    let keys = KeyCache::with_settings(KeySettings {
        min_refetch_interval: Duration::from_millis(300),
        ..KeySettings::default()
    });
    let token_a = idp.token(json!({}));
    check(&keys, &idp.config(), &token_a, &[])
        .await
        .expect("key a");
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 1);
    // Key B is not published yet: refetches, still unknown.
    let claims = obj(json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60}));
    let token_b = idp.key_b.mint(claims, 60).expect("mint b");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (d, reason) = unauthorized(check(&keys, &idp.config(), &token_b, &[]).await);
    assert_eq!(d, "the token's signing key is not in the issuer's JWKS");
    assert!(
        reason.starts_with(&format!(
            "kid \"{}\" not in JWKS of {}/keys",
            idp.key_b.kid(),
            idp.url
        )),
        "{reason}"
    );
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 2);
    // Rotate; within the refetch interval nothing is fetched.
    *idp.jwks.lock().expect("lock") = idp.key_b.jwks();
    unauthorized(check(&keys, &idp.config(), &token_b, &[]).await);
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 2, "rate limited");
    // After the interval, one refetch finds the new key.
    tokio::time::sleep(Duration::from_millis(350)).await;
    check(&keys, &idp.config(), &token_b, &[])
        .await
        .expect("rotated key");
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn default_refetch_interval_limits_unknown_kids() {
    let idp = Idp::start().await;
    let keys = cache();
    check(&keys, &idp.config(), &idp.token(json!({})), &[])
        .await
        .expect("key a");
    let claims = obj(json!({"iss": idp.url, "aud": AUD, "exp": now_s() + 60}));
    let token_b = idp.key_b.mint(claims, 60).expect("mint b");
    for _ in 0..5 {
        unauthorized(check(&keys, &idp.config(), &token_b, &[]).await);
    }
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_cold_requests_share_one_fetch() {
    let idp = Idp::start().await;
    let keys = cache();
    let config = idp.config();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (keys, config) = (keys.clone(), config.clone());
        let token = idp.token(json!({"n": i}));
        tasks.push(tokio::spawn(async move {
            check(&keys, &config, &token, &[]).await.is_ok()
        }));
    }
    for t in tasks {
        assert!(t.await.expect("join"));
    }
    assert_eq!(idp.discovery_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn issuer_down_is_a_fast_401() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let config = JwtConfig {
        issuer: format!("http://{addr}"),
        audience: vec![AUD.into()],
    };
    let issuer = new_key(&config.issuer);
    let token = issuer.mint(obj(json!({"aud": AUD})), 60).expect("mint");
    let started = Instant::now();
    let (d, reason) = unauthorized(check(&cache(), &config, &token, &[]).await);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(d, "unable to fetch the issuer's signing keys");
    assert_eq!(
        reason,
        format!(
            "could not fetch OIDC discovery from http://{addr}/.well-known/openid-configuration: connection refused"
        )
    );
}

/// An issuer that accepts connections and never answers: its config, a token it would have
/// signed, and how many connections it accepted.
async fn silent_issuer() -> (JwtConfig, String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let config = JwtConfig {
        issuer: format!("http://{addr}/"),
        audience: vec![AUD.into()],
    };
    let issuer = new_key(&config.issuer);
    let token = issuer.mint(obj(json!({"aud": AUD})), 60).expect("mint");
    (config, token, accepted)
}

#[tokio::test]
async fn slow_issuer_times_out() {
    let (config, token, _) = silent_issuer().await;
    let keys = KeyCache::new(Duration::from_millis(300));
    let started = Instant::now();
    let (_, reason) = unauthorized(check(&keys, &config, &token, &[]).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(reason.ends_with("timed out after 300 ms"), "{reason}");
}

/// An issuer whose keys were never fetched and whose last fetch failed is asked again at most
/// once per `failed_fetch_retry`; requests meanwhile get 401 at once with that failure.
#[tokio::test]
async fn failed_first_fetch_is_retried_at_most_once_per_interval() {
    let (config, token, accepted) = silent_issuer().await;
    let keys = KeyCache::with_settings(KeySettings {
        fetch_timeout: Duration::from_millis(300),
        failed_fetch_retry: Duration::from_millis(800),
        ..KeySettings::default()
    });
    let (_, reason) = unauthorized(check(&keys, &config, &token, &[]).await);
    assert!(reason.ends_with("timed out after 300 ms"), "{reason}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // Within the interval: the same failure at once, no new connection.
    let started = Instant::now();
    let (d, reason) = unauthorized(check(&keys, &config, &token, &[]).await);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d, "unable to fetch the issuer's signing keys");
    assert!(
        reason.contains("timed out after 300 ms (the last attempt, which ended"),
        "{reason}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // After it (counted from the end of the failed attempt): asked again.
    tokio::time::sleep(Duration::from_millis(900)).await;
    unauthorized(check(&keys, &config, &token, &[]).await);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn scopes_forbid_or_pass() {
    let idp = Idp::start().await;
    let keys = cache();
    let token = idp.token(json!({"scope": "read list"}));
    let r = check(&keys, &idp.config(), &token, &["write"]).await;
    assert!(
        matches!(&r, Err(Rejection::Forbidden { reason }) if reason.contains("none of the route's [\"write\"]")),
        "{r:?}"
    );
    let v = check(&keys, &idp.config(), &token, &["write", "list"])
        .await
        .expect("one scope matches");
    assert_eq!(v.scopes, ["read", "list"], "the token's full scope list");
    let token = idp.token(json!({"scp": ["admin", "ops"]}));
    check(&keys, &idp.config(), &token, &["ops"])
        .await
        .expect("scp array");
    let token = idp.token(json!({}));
    assert!(matches!(
        check(&keys, &idp.config(), &token, &["ops"]).await,
        Err(Rejection::Forbidden { .. })
    ));
}

#[tokio::test]
async fn jwks_too_large_or_invalid() {
    let idp = Idp::start().await;
    let huge: Vec<Value> = (0..3000)
        .map(|i| json!({"kty": "oct", "k": format!("{i:0>60}")}))
        .collect();
    *idp.jwks.lock().expect("lock") = json!({"keys": huge});
    let (_, reason) =
        unauthorized(check(&cache(), &idp.config(), &idp.token(json!({})), &[]).await);
    assert!(
        reason.contains("larger than the 150000-byte limit"),
        "{reason}"
    );
    *idp.jwks.lock().expect("lock") = json!({"nokeys": []});
    let (_, reason) =
        unauthorized(check(&cache(), &idp.config(), &idp.token(json!({})), &[]).await);
    assert!(reason.contains("has no \"keys\" array"), "{reason}");
}

#[tokio::test]
async fn prefetch_reports_keys_or_reason() {
    let idp = Idp::start().await;
    let keys = cache();
    assert_eq!(keys.prefetch(&idp.url).await, Ok(1));
    check(&keys, &idp.config(), &idp.token(json!({})), &[])
        .await
        .expect("valid");
    assert_eq!(
        idp.discovery_hits.load(Ordering::SeqCst),
        1,
        "prefetched keys are reused"
    );
    let e = keys.prefetch("not-a-url").await.expect_err("bad issuer");
    assert!(e.contains("not an http(s) URL"), "{e}");
}

#[tokio::test]
async fn repeated_token_is_served_from_the_cache() {
    let idp = Idp::start().await;
    let keys = cache();
    let token = idp.token(json!({}));
    check(&keys, &idp.config(), &token, &[])
        .await
        .expect("first");
    // Even if the JWKS vanished, the verified token needs no key now.
    *idp.jwks.lock().expect("lock") = json!({"keys": []});
    let started = Instant::now();
    for _ in 0..1000 {
        check(&keys, &idp.config(), &token, &[])
            .await
            .expect("cached");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // But another authorizer (another issuer) verifies for itself.
    let other = JwtConfig {
        issuer: format!("{}/other", idp.url),
        audience: vec![AUD.into()],
    };
    unauthorized(check(&keys, &other, &token, &[]).await);
}

#[tokio::test]
async fn expired_keys_survive_a_failed_refresh() {
    let idp = Idp::start().await;
    let keys = KeyCache::with_settings(KeySettings {
        ttl: Duration::from_millis(100),
        min_refetch_interval: Duration::from_millis(300),
        token_cache_capacity: 0,
        ..KeySettings::default()
    });
    check(&keys, &idp.config(), &idp.token(json!({})), &[])
        .await
        .expect("fresh");
    *idp.jwks.lock().expect("lock") = json!({"broken": true});
    tokio::time::sleep(Duration::from_millis(350)).await;
    // TTL passed: one refresh is tried, fails, and the old keys still verify.
    for _ in 0..3 {
        check(&keys, &idp.config(), &idp.token(json!({})), &[])
            .await
            .expect("stale keys");
    }
    assert_eq!(
        idp.discovery_hits.load(Ordering::SeqCst),
        2,
        "one failed refresh, then none"
    );
}
