//! The dev issuer over HTTP, and its tokens checked by the real authorizer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use stackgate_issuer::{DevIssuer, KEY_FILE, serve};
use stackgate_jwt::{JwtConfig, KeyCache, Rejection, authorize};

fn temp_dir() -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stackgate-issuer-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Starts an issuer on 127.0.0.1:0; returns its URL (with trailing slash) and the issuer.
async fn start(default_audience: Option<&str>) -> (String, Arc<DevIssuer>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let dir = temp_dir();
    let issuer = Arc::new(
        DevIssuer::load_or_create(&dir, url.clone())
            .expect("issuer")
            .with_default_audience(default_audience.map(Into::into)),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let served = issuer.clone();
    tokio::spawn(async move {
        let _ = serve(listener, served).await;
    });
    (url, issuer)
}

async fn post(url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}oauth/token"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get(url: &str) -> Value {
    let bytes = reqwest::get(url)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

#[test]
fn key_persists_across_restarts() {
    let dir = temp_dir();
    let a = DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/".into()).expect("create");
    let b = DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/".into()).expect("reload");
    assert_eq!(a.kid(), b.kid());
    assert_eq!(a.jwks(), b.jwks());
    let other =
        DevIssuer::load_or_create(&temp_dir(), "http://127.0.0.1:1/".into()).expect("other");
    assert_ne!(a.kid(), other.kid());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_key_file_is_a_clear_error() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(KEY_FILE), b"not a key").expect("write");
    let e = DevIssuer::load_or_create(&dir, "http://x/".into()).expect_err("corrupt");
    let text = e.to_string();
    assert!(
        text.contains(KEY_FILE) && text.contains("not an RSA PKCS#8 private key"),
        "{text}"
    );
    // A state dir that is a file cannot be created.
    let file = temp_dir();
    std::fs::write(&file, b"").expect("write");
    let e = DevIssuer::load_or_create(&file, "http://x/".into()).expect_err("not a dir");
    assert!(e.to_string().contains("cannot create the directory"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn discovery_and_jwks() {
    let (url, issuer) = start(None).await;
    let doc = get(&format!("{url}.well-known/openid-configuration")).await;
    assert_eq!(doc["issuer"], url.as_str());
    assert_eq!(doc["jwks_uri"], format!("{url}.well-known/jwks.json"));
    assert_eq!(doc["token_endpoint"], format!("{url}oauth/token"));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks = get(&format!("{url}.well-known/jwks.json")).await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], issuer.kid());
    assert_eq!(key["e"], "AQAB");
    assert!(
        key["n"].as_str().is_some_and(|n| n.len() == 342),
        "2048-bit modulus"
    );
}

#[tokio::test]
async fn minted_tokens_verify_with_the_authorizer() {
    let (url, issuer) = start(None).await;
    let token = issuer
        .mint(obj(json!({"aud": "my-api", "scope": "read"})), 300)
        .expect("mint");
    let config = JwtConfig {
        issuer: url.clone(),
        audience: vec!["my-api".into()],
    };
    let keys = KeyCache::new(Duration::from_millis(1500));
    let v = authorize(&keys, &config, &token, &["read".into()], SystemTime::now())
        .await
        .expect("valid");
    assert_eq!(v.claims["iss"], url.as_str());
    let exp = v.claims["exp"].as_u64().unwrap_or(0);
    let iat = v.claims["iat"].as_u64().unwrap_or(0);
    assert_eq!(exp - iat, 300);
}

#[tokio::test]
async fn oauth_token_json_and_form() {
    let (url, issuer) = start(None).await;
    let body = r#"{"client_id":"abc","client_secret":"s","audience":"https://api.example.test","grant_type":"client_credentials","scope":"read:items write:items"}"#;
    let (status, answer) = post(&url, "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 86400);
    assert_eq!(answer["scope"], "read:items write:items");
    let token = answer["access_token"].as_str().expect("token").to_owned();

    let config = JwtConfig {
        issuer: url.clone(),
        audience: vec!["https://api.example.test".into()],
    };
    let keys = KeyCache::new(Duration::from_millis(1500));
    let v = authorize(
        &keys,
        &config,
        &token,
        &["write:items".into()],
        SystemTime::now(),
    )
    .await
    .expect("valid");
    assert_eq!(v.claims["sub"], "abc@clients");
    assert_eq!(v.claims["azp"], "abc");
    assert_eq!(v.claims["gty"], "client-credentials");
    assert_eq!(v.claims["aud"], "https://api.example.test");
    assert_eq!(issuer.issuer_url(), url);

    let form = "grant_type=client_credentials&client_id=form-client&client_secret=x&audience=https%3A%2F%2Fapi.example.test&claims=%7B%22email%22%3A%22a%40b.c%22%7D";
    let (status, answer) = post(&url, "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("scope").is_none());
    let token = answer["access_token"].as_str().expect("token");
    let v = authorize(&keys, &config, token, &[], SystemTime::now())
        .await
        .expect("valid");
    assert_eq!(v.claims["sub"], "form-client@clients");
    assert_eq!(v.claims["email"], "a@b.c");

    // Extra claims may replace standard ones, e.g. to mint an expired token.
    let body = r#"{"client_id":"abc","audience":"https://api.example.test","grant_type":"client_credentials","claims":{"exp":1000}}"#;
    let (status, answer) = post(&url, "application/json", body).await;
    assert_eq!(status, 200);
    let token = answer["access_token"].as_str().expect("token");
    let r = authorize(&keys, &config, token, &[], SystemTime::now()).await;
    assert!(
        matches!(r, Err(Rejection::Unauthorized { description, .. }) if description == "the token has expired")
    );
}

#[tokio::test]
async fn oauth_token_audience_rules() {
    let (url, _) = start(None).await;
    let body = r#"{"client_id":"abc","client_secret":"s","grant_type":"client_credentials"}"#;
    let (status, answer) = post(&url, "application/json", body).await;
    assert_eq!(status, 403);
    assert_eq!(
        answer,
        json!({"error":"access_denied","error_description":"No audience parameter was provided, and no default audience has been configured"})
    );
    let (url, _) = start(Some("default-aud")).await;
    let (status, answer) = post(&url, "application/json", body).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn oauth_token_errors() {
    let (url, _) = start(Some("aud")).await;
    let (status, answer) = post(
        &url,
        "application/json",
        r#"{"client_id":"a","grant_type":"password"}"#,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(answer["error"], "unsupported_grant_type");
    for (ct, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1,2]"),
        ("application/json", ""),
        ("application/json", r#"{"client_id":"a"}"#),
        ("application/json", r#"{"grant_type":"client_credentials"}"#),
        (
            "application/json",
            r#"{"grant_type":"client_credentials","client_id":5}"#,
        ),
        (
            "application/json",
            r#"{"grant_type":"client_credentials","client_id":"a","claims":[1]}"#,
        ),
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=a&claims=nope",
        ),
        ("text/plain", "hello"),
    ] {
        let (status, answer) = post(&url, ct, body).await;
        assert_eq!(status, 400, "{ct} {body}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{body}");
    }
}
