//! The JWT authorizer under attack, through the real binary: malformed and forged tokens,
//! algorithm confusion, key-location headers, every claim rule, scopes, the query-string
//! identity source, 1.0 events, and an issuer whose keys rotate, flood, go down or go slow.
//!
//! Every rejection is checked for AWS's status and body, the `www-authenticate` shape, the
//! precise reason in stackgate's log (found by the request id), and that the function was never
//! invoked (it logs `INVOKED <request id>` first thing).
//!
//! The same cases run against a foreign issuer served by this test (discovery + a JWKS it can
//! change at runtime) and against stackgate's own dev issuer.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get as route_get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Map, Value, json};
use stackgate_issuer::DevIssuer;

const AUDIENCE: &str = "https://api.attacks.test";
const CLIENT_ID: &str = "attacks-app-client";
const BODY_401: &str = r#"{"message":"Unauthorized"}"#;
const BODY_403: &str = r#"{"message":"Forbidden"}"#;

fn template() -> PathBuf {
    repo_root().join("crates/cli/tests/fixtures/jwt-attacks.yaml")
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(v: &Value) -> String {
    b64(v.to_string().as_bytes())
}

fn key_in(dir_name: &str, url: &str) -> DevIssuer {
    DevIssuer::load_or_create(&temp_dir(dir_name), url.to_owned()).unwrap()
}

// --- an OIDC issuer of the test's own -------------------------------------------------------

/// Discovery + a JWKS held in a mutex (swappable while stackgate runs), counting fetches, with
/// an optional delay before every answer.
struct Idp {
    /// Issuer URL, Auth0 style (trailing slash).
    url: String,
    jwks: Arc<Mutex<Value>>,
    jwks_fetches: Arc<AtomicUsize>,
    discovery_fetches: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Idp {
    async fn start(jwks: Value) -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new(jwks));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let discovery_fetches = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let doc = json!({"issuer": url, "jwks_uri": format!("{url}.well-known/jwks.json")});
        let (d_hits, d_delay) = (discovery_fetches.clone(), delay_ms.clone());
        let (j, j_hits, j_delay) = (jwks.clone(), jwks_fetches.clone(), delay_ms.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                route_get(move || {
                    d_hits.fetch_add(1, Ordering::SeqCst);
                    let (doc, delay) = (doc.clone(), d_delay.load(Ordering::SeqCst));
                    async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        axum::Json(doc)
                    }
                }),
            )
            .route(
                "/.well-known/jwks.json",
                route_get(move || {
                    j_hits.fetch_add(1, Ordering::SeqCst);
                    let doc = j.lock().unwrap().clone();
                    let delay = j_delay.load(Ordering::SeqCst);
                    async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        axum::Json(doc)
                    }
                }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp {
            url,
            jwks,
            jwks_fetches,
            discovery_fetches,
            delay_ms,
            task,
        }
    }

    fn set_keys(&self, keys: &[&DevIssuer]) {
        let list: Vec<Value> = keys.iter().map(|k| k.jwks()["keys"][0].clone()).collect();
        *self.jwks.lock().unwrap() = json!({ "keys": list });
    }

    fn fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// --- requests and the checks on their answers ------------------------------------------------

/// Who signs the test's tokens: the issuer's own key, and an attacker's key.
struct Keys {
    issuer: DevIssuer,
    attacker: DevIssuer,
    /// An attacker-run server the `jku`/`x5u` headers point at; it must never be asked.
    attacker_idp: Idp,
}

impl Keys {
    fn iss(&self) -> &str {
        self.issuer.issuer_url()
    }

    /// Claims a valid token carries: iss, sub, aud, iat, exp.
    fn claims(&self) -> Map<String, Value> {
        let now = now_s();
        obj(json!({
            "iss": self.iss(),
            "sub": "user-1",
            "aud": AUDIENCE,
            "iat": now - 10,
            "exp": now + 600,
        }))
    }

    /// The valid claims with `changes` applied (a `null` removes the claim).
    fn with(&self, changes: Value) -> Map<String, Value> {
        let mut claims = self.claims();
        for (k, v) in obj(changes) {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
        claims
    }

    fn sign(&self, claims: &Map<String, Value>) -> String {
        self.issuer.sign_raw(&Map::new(), claims).unwrap()
    }

    fn sign_header(&self, header: Value, claims: &Map<String, Value>) -> String {
        self.issuer.sign_raw(&obj(header), claims).unwrap()
    }

    fn valid(&self) -> String {
        self.sign(&self.claims())
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Header(&'a str),
}

async fn call(server: &Server, path: &str, auth: Auth<'_>) -> Reply {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.url));
    if let Auth::Header(value) = auth {
        request = request.header("authorization", value);
    }
    send(request).await
}

fn request_id(reply: &Reply) -> String {
    reply
        .header("apigw-requestid")
        .expect("every answer has apigw-requestid")
}

/// The log lines that mention `id`, waiting (≤ 5 s) until one contains `needle`.
fn lines_for(server: &Server, id: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<String> = server
            .logs()
            .lines()
            .filter(|l| l.contains(id))
            .map(str::to_owned)
            .collect();
        let text = lines.join("\n");
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The function was not invoked for this request.
fn assert_not_invoked(server: &Server, case: &str, id: &str) {
    let marker = format!("INVOKED {id}");
    assert!(
        !server.logs().contains(&marker),
        "{case}: the integration ran for a rejected request {id}"
    );
}

/// 401 with AWS's body and `www-authenticate`, the reason in the log line of this request, and
/// no invocation.
#[track_caller]
fn expect_401(server: &Server, case: &str, reply: &Reply, reason: &str) -> String {
    assert_eq!(
        reply.status,
        401,
        "{case}: {}\n{}",
        reply.body,
        server.logs()
    );
    assert_eq!(reply.body, BODY_401, "{case}");
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json"),
        "{case}"
    );
    let www = reply
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{case}: no www-authenticate"));
    let description = www
        .strip_prefix(r#"Bearer scope="" error="invalid_token" error_description=""#)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{case}: www-authenticate {www:?}"));
    assert!(
        !description.is_empty() && !description.contains('"'),
        "{case}: {www}"
    );
    let id = request_id(reply);
    let lines = lines_for(server, &id, reason);
    assert!(
        lines.contains(reason) && lines.contains("401"),
        "{case}: no log line for {id} with {reason:?}:\n{lines}"
    );
    assert_not_invoked(server, case, &id);
    description.to_owned()
}

#[track_caller]
fn expect_403(server: &Server, case: &str, reply: &Reply, reason: &str) {
    assert_eq!(
        reply.status,
        403,
        "{case}: {}\n{}",
        reply.body,
        server.logs()
    );
    assert_eq!(reply.body, BODY_403, "{case}");
    assert_eq!(reply.header("www-authenticate"), None, "{case}");
    let id = request_id(reply);
    let lines = lines_for(server, &id, reason);
    assert!(
        lines.contains(reason),
        "{case}: no log line for {id} with {reason:?}:\n{lines}"
    );
    assert_not_invoked(server, case, &id);
}

/// 200 from the function; returns the event it received.
#[track_caller]
fn expect_200(server: &Server, case: &str, reply: &Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{case}: {}\n{}",
        reply.body,
        server.logs()
    );
    reply.json()["event"].clone()
}

// --- the cases --------------------------------------------------------------------------------

/// Counts what the cases expect the function to have run.
#[derive(Default)]
struct Tally {
    ok: usize,
    cases: usize,
}

/// Token extraction, decoding, algorithms, signatures and key-location headers on `/open`.
async fn token_cases(server: &Server, k: &Keys, t: &mut Tally) {
    let valid = k.valid();
    // 1-4: the token bare, after `Bearer`, `bearer`, and with extra spaces.
    for (case, value) in [
        ("bare token", valid.clone()),
        ("Bearer prefix", format!("Bearer {valid}")),
        ("lower-case bearer", format!("bearer {valid}")),
        ("extra spaces", format!("BEARER    {valid}  ")),
    ] {
        let reply = call(server, "/open", Auth::Header(&value)).await;
        let event = expect_200(server, case, &reply);
        assert_eq!(
            event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"], "user-1",
            "{case}"
        );
        t.ok += 1;
        t.cases += 1;
    }

    // 5: no header at all.
    let reply = call(server, "/open", Auth::None).await;
    expect_401(
        server,
        "missing header",
        &reply,
        "no token in the authorization header",
    );
    // 6: an empty header.
    let reply = call(server, "/open", Auth::Header("")).await;
    expect_401(
        server,
        "empty header",
        &reply,
        "an empty token in the authorization header",
    );
    // 7: another scheme.
    let reply = call(server, "/open", Auth::Header("Basic xyz")).await;
    expect_401(server, "Basic scheme", &reply, "3 dot-separated parts");
    t.cases += 3;

    let claims = k.claims();
    let parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let jwk = k.issuer.jwks()["keys"][0].clone();

    // 8: alg none, unsigned (and with the real signature kept).
    let none = format!(
        "{}.{}.",
        b64_json(&json!({"alg": "none", "typ": "JWT"})),
        b64_json(&Value::Object(claims.clone()))
    );
    let reply = call(server, "/open", Auth::Header(&none)).await;
    expect_401(
        server,
        "alg none",
        &reply,
        "unsigned tokens are never accepted",
    );
    let none_sig = format!(
        "{}.{}.{}",
        b64_json(&json!({"alg": "none", "kid": k.issuer.kid()})),
        parts[1],
        parts[2]
    );
    let reply = call(server, "/open", Auth::Header(&none_sig)).await;
    expect_401(
        server,
        "alg none with a signature",
        &reply,
        "unsigned tokens are never accepted",
    );

    // 9: HS256 with the issuer's public key as the HMAC secret (key confusion).
    for (what, secret) in [
        ("JWK JSON", jwk.to_string().into_bytes()),
        (
            "modulus bytes",
            URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
        ),
    ] {
        let input = format!(
            "{}.{}",
            b64_json(&json!({"alg": "HS256", "typ": "JWT", "kid": k.issuer.kid()})),
            b64_json(&Value::Object(claims.clone()))
        );
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        let reply = call(server, "/open", Auth::Header(&token)).await;
        expect_401(
            server,
            &format!("HS256 signed with the public key ({what})"),
            &reply,
            r#"alg "HS256" is not supported"#,
        );
    }

    // 10: ES256.
    let es = format!(
        "{}.{}.{}",
        b64_json(&json!({"alg": "ES256", "kid": k.issuer.kid()})),
        b64_json(&Value::Object(claims.clone())),
        b64(&[7u8; 64])
    );
    let reply = call(server, "/open", Auth::Header(&es)).await;
    expect_401(server, "ES256", &reply, r#"alg "ES256" is not supported"#);
    t.cases += 3;

    // 11: payload tampered after signing (sub changed), original signature.
    let tampered_claims = k.with(json!({"sub": "admin"}));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64_json(&Value::Object(tampered_claims)),
        parts[2]
    );
    let reply = call(server, "/open", Auth::Header(&tampered)).await;
    expect_401(
        server,
        "tampered payload",
        &reply,
        "signature does not verify",
    );
    // 12: truncated signature (a whole number of bytes short).
    let sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    let truncated = format!("{}.{}.{}", parts[0], parts[1], b64(&sig[..200]));
    let reply = call(server, "/open", Auth::Header(&truncated)).await;
    expect_401(
        server,
        "truncated signature",
        &reply,
        "signature is 200 bytes",
    );
    // 12b: truncated mid-character.
    let cut = &valid[..valid.len() - 5];
    let reply = call(server, "/open", Auth::Header(cut)).await;
    expect_401(server, "truncated token", &reply, "signature");
    // 13: garbage base64.
    let reply = call(server, "/open", Auth::Header("e@@@.%%%.***")).await;
    expect_401(
        server,
        "garbage base64",
        &reply,
        "header is not valid base64url",
    );
    // 14: header that is not JSON.
    let bad_json = format!("{}.{}.{}", b64(b"{\"alg\":\"RS256\""), parts[1], parts[2]);
    let reply = call(server, "/open", Auth::Header(&bad_json)).await;
    expect_401(
        server,
        "JSON-invalid header",
        &reply,
        "header is not valid JSON",
    );
    // 15: two parts.
    let two = format!("{}.{}", parts[0], parts[1]);
    let reply = call(server, "/open", Auth::Header(&two)).await;
    expect_401(server, "2-part token", &reply, "this has 2");
    // 16: over 16 KB (a valid signature over a huge claim).
    let big = k.sign(&k.with(json!({"pad": "x".repeat(17 * 1024)})));
    let reply = call(server, "/open", Auth::Header(&big)).await;
    expect_401(server, "oversized token", &reply, "the limit is 16384");
    // 17: a critical extension.
    let crit = k.sign_header(json!({"crit": ["exp"], "exp": 1}), &claims);
    let reply = call(server, "/open", Auth::Header(&crit)).await;
    expect_401(
        server,
        "crit header",
        &reply,
        "no critical extensions are supported",
    );
    t.cases += 7;

    // 18-20: headers naming another key location, with a token signed by the attacker's key:
    // ignored, the key still comes from the issuer.
    let attacker_jwk = k.attacker.jwks()["keys"][0].clone();
    let attacker_jwks_url = format!("{}.well-known/jwks.json", k.attacker_idp.url);
    for (case, header) in [
        ("jku header", json!({ "jku": attacker_jwks_url })),
        ("x5u header", json!({ "x5u": attacker_jwks_url })),
        ("embedded jwk", json!({ "jwk": attacker_jwk })),
    ] {
        let token = k.attacker.sign_raw(&obj(header), &claims).unwrap();
        let reply = call(server, "/open", Auth::Header(&token)).await;
        expect_401(
            server,
            case,
            &reply,
            &format!(r#"kid "{}" not in JWKS of"#, k.attacker.kid()),
        );
        t.cases += 1;
    }
    // 21: embedded jwk + the issuer's kid, signed by the attacker.
    let token = k
        .attacker
        .sign_raw(
            &obj(json!({"jwk": attacker_jwk, "kid": k.issuer.kid()})),
            &claims,
        )
        .unwrap();
    let reply = call(server, "/open", Auth::Header(&token)).await;
    expect_401(
        server,
        "embedded jwk with the issuer's kid",
        &reply,
        "signature does not verify",
    );
    // 22: a PS256 token from the right key verifies (RSA-based); an RS256-only JWK refuses it.
    let ps = k.sign_header(json!({"alg": "PS256"}), &claims);
    let reply = call(server, "/open", Auth::Header(&ps)).await;
    expect_401(
        server,
        "PS256 against an RS256 JWK",
        &reply,
        "token alg PS256 but JWKS key",
    );
    t.cases += 2;
    assert_eq!(
        k.attacker_idp.fetches() + k.attacker_idp.discovery_fetches.load(Ordering::SeqCst),
        0,
        "stackgate fetched keys from a location the token named"
    );
}

/// Every claim rule on `/open`.
async fn claim_cases(server: &Server, k: &Keys, t: &mut Tally) {
    let iss = k.iss().to_owned();
    // 23: another issuer.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"iss": "https://evil.test/"})))),
    )
    .await;
    expect_401(
        server,
        "wrong iss",
        &reply,
        &format!(r#"issuer "{iss}" differs from token iss "https://evil.test/""#),
    );
    // 24: the issuer without its trailing slash.
    let no_slash = iss.trim_end_matches('/').to_owned();
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({ "iss": no_slash })))),
    )
    .await;
    expect_401(
        server,
        "trailing-slash iss",
        &reply,
        &format!(r#"issuer "{iss}" differs from token iss "{no_slash}" (trailing slash)"#),
    );
    // 25: another audience; AWS's documented description.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"aud": "https://x"})))),
    )
    .await;
    let description = expect_401(
        server,
        "wrong aud",
        &reply,
        &format!(r#"aud "https://x" not in ["{AUDIENCE}","{CLIENT_ID}"]"#),
    );
    assert_eq!(description, "the token does not have a valid audience");
    t.cases += 3;

    // 26: aud array containing the audience.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"aud": ["https://x", AUDIENCE]})))),
    )
    .await;
    let event = expect_200(server, "aud array", &reply);
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["claims"]["aud"],
        format!("[https://x {AUDIENCE}]")
    );
    // 27: Cognito-style access token: client_id, no aud.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"aud": null, "client_id": CLIENT_ID})))),
    )
    .await;
    expect_200(server, "client_id without aud", &reply);
    t.ok += 2;
    t.cases += 2;
    // 28: client_id right but aud present and wrong: only aud counts.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"aud": "https://x", "client_id": CLIENT_ID})))),
    )
    .await;
    expect_401(
        server,
        "client_id ignored when aud present",
        &reply,
        r#"aud "https://x" not in"#,
    );
    // 29: client_id wrong, no aud.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"aud": null, "client_id": "other-app"})))),
    )
    .await;
    expect_401(
        server,
        "wrong client_id",
        &reply,
        r#"token has no aud, and client_id "other-app" not in"#,
    );
    let now = now_s();
    // 30: expired 3 minutes ago.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"exp": now - 180, "iat": now - 600})))),
    )
    .await;
    let description = expect_401(server, "expired", &reply, "token expired 3 min ago");
    assert_eq!(description, "the token has expired");
    // 31: no exp.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"exp": null})))),
    )
    .await;
    expect_401(server, "missing exp", &reply, "token has no exp claim");
    // 32: nbf in the future.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"nbf": now + 300})))),
    )
    .await;
    expect_401(
        server,
        "nbf in the future",
        &reply,
        "token not valid before nbf, 5 min from now",
    );
    // 33: iat in the future.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"iat": now + 7200})))),
    )
    .await;
    expect_401(
        server,
        "iat in the future",
        &reply,
        "token iat is 2 h in the future",
    );
    // 34: exp given as a string.
    let reply = call(
        server,
        "/open",
        Auth::Header(&k.sign(&k.with(json!({"exp": (now + 600).to_string()})))),
    )
    .await;
    expect_401(
        server,
        "exp as a string",
        &reply,
        "exp must be a number of seconds since 1970",
    );
    t.cases += 7;
}

/// Scopes, the query-string identity source, and claims in 1.0 and 2.0 events.
async fn scope_query_v1_cases(server: &Server, k: &Keys, t: &mut Tally) {
    // 35: a route with scopes, a token without any.
    let reply = call(server, "/scoped", Auth::Header(&k.valid())).await;
    expect_403(
        server,
        "no scope",
        &reply,
        r#"token has no scope/scp claim; the route requires one of ["read:things","write:things"]"#,
    );
    // 36: scopes, none of them the route's.
    let token = k.sign(&k.with(json!({"scope": "openid profile"})));
    let reply = call(server, "/scoped", Auth::Header(&token)).await;
    expect_403(
        server,
        "other scopes",
        &reply,
        r#"token scopes ["openid","profile"] include none of the route's"#,
    );
    // 37: one matching scope: the full list reaches the event.
    let token = k.sign(&k.with(json!({"scope": "openid read:things"})));
    let reply = call(server, "/scoped", Auth::Header(&token)).await;
    let event = expect_200(server, "scope passes", &reply);
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["scopes"], json!(["openid", "read:things"]));
    assert_eq!(jwt["claims"]["scope"], "openid read:things");
    // 38: Okta/Azure-style scp array.
    let token = k.sign(&k.with(json!({"scp": ["write:things", "x"]})));
    let reply = call(server, "/scoped", Auth::Header(&token)).await;
    let event = expect_200(server, "scp array", &reply);
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(["write:things", "x"])
    );
    // 39: a route without scopes: scopes null even with a scope claim; claims stringified.
    let token = k.sign(&k.with(json!({
        "scope": "read:things", "groups": ["admin", "dev"], "n": 42, "ok": true,
        "obj": {"a": 1}, "gone": null
    })));
    let reply = call(server, "/open", Auth::Header(&token)).await;
    let event = expect_200(server, "no route scopes", &reply);
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["scopes"], Value::Null);
    assert_eq!(jwt["claims"]["groups"], "[admin dev]");
    assert_eq!(jwt["claims"]["n"], "42");
    assert_eq!(jwt["claims"]["ok"], "true");
    assert_eq!(jwt["claims"]["obj"], r#"{"a":1}"#);
    assert!(jwt["claims"]["exp"].is_string());
    assert!(jwt["claims"].get("gone").is_none());
    t.ok += 3;
    t.cases += 5;

    // 40: the query-string identity source, bare and URL-encoded with `Bearer `.
    let valid = k.valid();
    let reply = call(server, &format!("/query?access_token={valid}"), Auth::None).await;
    expect_200(server, "query-string token", &reply);
    let reply = call(
        server,
        &format!("/query?x=1&access_token=Bearer%20{valid}"),
        Auth::None,
    )
    .await;
    expect_200(server, "query-string Bearer token", &reply);
    // Repeated parameter: the last value counts.
    let reply = call(
        server,
        &format!("/query?access_token=junk&access_token={valid}"),
        Auth::None,
    )
    .await;
    expect_200(server, "query-string repeated, last wins", &reply);
    // …and a header does not count for it.
    let reply = call(server, "/query", Auth::Header(&valid)).await;
    expect_401(
        server,
        "query-string source, token in header",
        &reply,
        r#"no token in the query-string parameter "access_token""#,
    );
    let reply = call(
        server,
        &format!("/query?access_token={}", &valid[..valid.len() - 3]),
        Auth::None,
    )
    .await;
    expect_401(server, "query-string bad token", &reply, "signature");
    t.ok += 3;
    t.cases += 2;

    // 41: 1.0 events carry authorizer.claims (stringified) and scopes.
    let token = k.sign(&k.with(json!({"scope": "read:things extra", "groups": ["a", "b"]})));
    let reply = call(server, "/v1/scoped", Auth::Header(&token)).await;
    let event = expect_200(server, "1.0 claims and scopes", &reply);
    assert_eq!(event["version"], "1.0");
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["claims"]["sub"], "user-1");
    assert_eq!(authorizer["claims"]["groups"], "[a b]");
    assert!(authorizer["claims"]["exp"].is_string());
    assert_eq!(authorizer["scopes"], json!(["read:things", "extra"]));
    let reply = call(server, "/v1/open", Auth::Header(&token)).await;
    let event = expect_200(server, "1.0 without route scopes", &reply);
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["claims"]["iss"], k.iss());
    assert_eq!(authorizer["scopes"], Value::Null);
    let reply = call(server, "/v1/scoped", Auth::Header(&k.valid())).await;
    expect_403(
        server,
        "1.0 route scopes",
        &reply,
        "token has no scope/scp claim",
    );
    let reply = call(server, "/v1/open", Auth::None).await;
    expect_401(server, "1.0 missing token", &reply, "no token");
    t.ok += 2;
    t.cases += 1;
}

/// Every function invocation was one the cases expected (no rejected request reached it).
fn assert_invocations(server: &Server, expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let count = server.logs().matches("INVOKED ").count();
        if count >= expected || Instant::now() > deadline {
            assert_eq!(count, expected, "{}", server.logs());
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn attacker() -> (DevIssuer, Idp) {
    let attacker = key_in("attacker", "https://attacker.test/");
    let idp = Idp::start(attacker.jwks()).await;
    (attacker, idp)
}

async fn all_cases(server: &Server, keys: &Keys) -> Tally {
    let mut t = Tally::default();
    token_cases(server, keys, &mut t).await;
    claim_cases(server, keys, &mut t).await;
    scope_query_v1_cases(server, keys, &mut t).await;
    assert!(t.cases >= 25, "{} cases", t.cases);
    assert_invocations(server, t.ok);
    t
}

fn start_foreign(issuer_url: &str) -> Server {
    let arg = format!("IssuerUri={issuer_url}");
    Server::start(&template(), &["--parameter-overrides", &arg])
}

#[tokio::test(flavor = "multi_thread")]
async fn attacks_against_a_foreign_issuer() {
    let idp = Idp::start(json!({"keys": []})).await;
    let issuer = key_in("foreign-key", &idp.url);
    idp.set_keys(&[&issuer]);
    let (attacker, attacker_idp) = attacker().await;
    let server = start_foreign(&idp.url);
    let keys = Keys {
        issuer,
        attacker,
        attacker_idp,
    };
    all_cases(&server, &keys).await;
    // One JWKS fetch serves everything, plus at most one refetch per 5 s for the unknown-kid
    // cases (the flood bound is checked precisely in `unknown_kid_refetch_flood_and_rotation`).
    assert!(idp.fetches() <= 4, "{} JWKS fetches", idp.fetches());
}

#[tokio::test(flavor = "multi_thread")]
async fn attacks_against_the_dev_issuer() {
    let state = temp_dir("dev-state");
    let state_arg = state.display().to_string();
    let server = Server::start(&template(), &["--state-dir", &state_arg]);
    let url = server.issuer.clone().expect("the dev issuer runs");
    // The dev issuer's key is persisted in the state directory: the test signs with it too.
    let issuer = DevIssuer::load_or_create(Path::new(&state), url.clone()).unwrap();
    // The dev issuer's own /oauth/token works for the routes.
    let token = dev_token(&url, AUDIENCE, Some("read:things")).await;
    let reply = get_bearer(&format!("{}/scoped", server.url), &token).await;
    expect_200(&server, "dev issuer /oauth/token", &reply);
    let (attacker, attacker_idp) = attacker().await;
    let keys = Keys {
        issuer,
        attacker,
        attacker_idp,
    };
    let mut t = Tally::default();
    token_cases(&server, &keys, &mut t).await;
    claim_cases(&server, &keys, &mut t).await;
    scope_query_v1_cases(&server, &keys, &mut t).await;
    assert!(t.cases >= 25, "{} cases", t.cases);
    assert_invocations(&server, t.ok + 1);
}

/// Key rotation: an unknown kid triggers one refetch (at most every 5 s), a flood of bad kids
/// does not hammer the issuer, and requests racing a rotation get 200 or 401, never 500.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_kid_refetch_flood_and_rotation() {
    let idp = Idp::start(json!({"keys": []})).await;
    let key_a = key_in("rot-a", &idp.url);
    let key_b = key_in("rot-b", &idp.url);
    idp.set_keys(&[&key_a]);
    let server = start_foreign(&idp.url);
    let claims = {
        let now = now_s();
        obj(json!({"iss": idp.url, "aud": AUDIENCE, "sub": "u", "iat": now - 5, "exp": now + 600}))
    };
    let url = format!("{}/open", server.url);

    // Warm: key A fetched once.
    let first_fetch = Instant::now();
    let token_a = key_a.sign_raw(&Map::new(), &claims).unwrap();
    expect_200(&server, "key A", &get_bearer(&url, &token_a).await);
    assert_eq!(idp.fetches(), 1);

    // Flood: 50 tokens with unknown kids, right after a fetch: none may refetch.
    let mut flood = Vec::new();
    for i in 0..50 {
        let token = key_a
            .sign_raw(&obj(json!({ "kid": format!("k{i}") })), &claims)
            .unwrap();
        let url = url.clone();
        flood.push(tokio::spawn(async move { get_bearer(&url, &token).await }));
    }
    let mut last = None;
    for handle in flood {
        let reply = handle.await.unwrap();
        assert_eq!(reply.status, 401, "{}", reply.body);
        last = Some(reply);
    }
    assert!(
        idp.fetches() <= 2,
        "{} JWKS fetches for 50 bad kids",
        idp.fetches()
    );
    let last = last.unwrap();
    expect_401(&server, "unknown kid", &last, r#"not in JWKS of"#);

    // Rotation: the issuer now publishes key B only. Once the refetch interval has passed, a
    // key-B token (unknown kid) triggers one refetch and is accepted.
    idp.set_keys(&[&key_b]);
    let token_b = key_b.sign_raw(&Map::new(), &claims).unwrap();
    let reply = get_bearer(&url, &token_b).await;
    if first_fetch.elapsed() < Duration::from_secs(5) {
        // Still inside the interval: refused without asking the issuer again.
        expect_401(
            &server,
            "rotated key within the refetch interval",
            &reply,
            &format!(r#"kid "{}" not in JWKS of"#, key_b.kid()),
        );
    }
    let before = idp.fetches();
    tokio::time::sleep(
        Duration::from_secs(5).saturating_sub(first_fetch.elapsed()) + Duration::from_millis(300),
    )
    .await;
    let reply = get_bearer(&url, &token_b).await;
    expect_200(&server, "rotated key after refetch", &reply);
    assert_eq!(idp.fetches(), before + 1, "exactly one refetch");

    // A kid that is still unknown after the refetch: the log says so.
    let ghost = key_a.sign_raw(&obj(json!({"kid": "k9"})), &claims).unwrap();
    let reply = get_bearer(&url, &ghost).await;
    expect_401(
        &server,
        "unknown kid after refetch",
        &reply,
        &format!(
            r#"kid "k9" not in JWKS of {}.well-known/jwks.json"#,
            idp.url
        ),
    );

    // Concurrent requests while the key set changes under them: 200 or 401, never 500.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, jwks) = (stop.clone(), idp.jwks.clone());
        let sets = [
            json!({"keys": [key_a.jwks()["keys"][0]]}),
            json!({"keys": [key_b.jwks()["keys"][0]]}),
            json!({"keys": [key_a.jwks()["keys"][0], key_b.jwks()["keys"][0]]}),
            json!({"keys": []}),
        ];
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                *jwks.lock().unwrap() = sets[i % sets.len()].clone();
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut racing = Vec::new();
    for i in 0..120u64 {
        let key = if i % 2 == 0 { &key_a } else { &key_b };
        // Distinct tokens (distinct jti), so the verified-token cache does not answer for them.
        let mut c = claims.clone();
        c.insert("jti".into(), json!(format!("race-{i}")));
        let token = key.sign_raw(&Map::new(), &c).unwrap();
        let url = url.clone();
        racing.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 15)).await;
            get_bearer(&url, &token).await.status
        }));
    }
    let mut statuses = Vec::new();
    for handle in racing {
        statuses.push(handle.await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    flipper.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(idp.fetches() < 10, "{} JWKS fetches", idp.fetches());
}

/// The issuer cannot be reached: 401 quickly, never 500, the log says why.
#[tokio::test(flavor = "multi_thread")]
async fn issuer_down_is_401_fast() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let server = start_foreign(&dead);
    let key = key_in("dead-issuer", &dead);
    let now = now_s();
    let token = key
        .sign_raw(
            &Map::new(),
            &obj(json!({"iss": dead, "aud": AUDIENCE, "iat": now, "exp": now + 600})),
        )
        .unwrap();
    for i in 0..3 {
        let started = Instant::now();
        let reply = get_bearer(&format!("{}/open", server.url), &token).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let description = expect_401(
            &server,
            &format!("issuer down #{i}"),
            &reply,
            &format!(
                "could not fetch OIDC discovery from {dead}.well-known/openid-configuration: connection refused"
            ),
        );
        assert_eq!(description, "unable to fetch the issuer's signing keys");
    }
}

/// The issuer answers after 2 s (beyond the 1500 ms limit): 401 in well under 3 s.
#[tokio::test(flavor = "multi_thread")]
async fn issuer_slow_is_401_within_the_timeout() {
    let idp = Idp::start(json!({"keys": []})).await;
    let key = key_in("slow-issuer", &idp.url);
    idp.set_keys(&[&key]);
    idp.delay_ms.store(2000, Ordering::SeqCst);
    let server = start_foreign(&idp.url);
    let now = now_s();
    let token = key
        .sign_raw(
            &Map::new(),
            &obj(json!({"iss": idp.url, "aud": AUDIENCE, "iat": now, "exp": now + 600})),
        )
        .unwrap();
    let started = Instant::now();
    let reply = get_bearer(&format!("{}/open", server.url), &token).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2900), "{took:?}");
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    expect_401(&server, "slow issuer", &reply, "OIDC discovery from");
    let lines = lines_for(&server, &request_id(&reply), "timed out after 1500 ms");
    assert!(lines.contains("timed out after 1500 ms"), "{lines}");
    // Once the issuer is fast again, the same token works (after the refetch interval).
    idp.delay_ms.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5200).saturating_sub(started.elapsed())).await;
    let reply = get_bearer(&format!("{}/open", server.url), &token).await;
    expect_200(&server, "issuer fast again", &reply);
}
