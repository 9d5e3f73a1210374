//! End to end through the real binary, real function processes (Node, Python, a Rust
//! `lambda_runtime` binary) and a real JWKS server run by the test: events, response mapping,
//! and every failure the gateway must answer the AWS way.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.fixture.test";

/// The fixture stack copied into a fresh directory, with the Rust function's `bootstrap`.
fn prepare_stack() -> PathBuf {
    let dir = temp_dir("stack");
    copy_dir(&repo_root().join("crates/cli/tests/fixtures/stack"), &dir);
    let rust_bin = stackgate_bin().with_file_name("rust-hello");
    assert!(
        rust_bin.exists(),
        "{} is missing: scripts/test builds it (cargo build --workspace)",
        rust_bin.display()
    );
    std::fs::create_dir_all(dir.join("rust-fn")).unwrap();
    std::fs::copy(&rust_bin, dir.join("rust-fn/bootstrap")).unwrap();
    dir.join("template.yaml")
}

/// A JWKS server of the test's own (an OIDC issuer on loopback), and its URL.
async fn foreign_issuer() -> (Arc<stackgate_issuer::DevIssuer>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let state = temp_dir("foreign-issuer");
    let issuer =
        Arc::new(stackgate_issuer::DevIssuer::load_or_create(&state, url.clone()).unwrap());
    tokio::spawn(stackgate_issuer::serve(listener, issuer.clone()));
    (issuer, url)
}

fn claims(pairs: Value) -> serde_json::Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

async fn start() -> (Server, Arc<stackgate_issuer::DevIssuer>) {
    let (issuer, url) = foreign_issuer().await;
    let template = prepare_stack();
    let override_arg = format!("IssuerUri={url}");
    let server = Server::start(&template, &["--parameter-overrides", &override_arg]);
    (server, issuer)
}

#[tokio::test(flavor = "multi_thread")]
async fn payload_2_0_event_field_by_field() {
    let (server, _issuer) = start().await;
    let reply = send(
        reqwest::Client::new()
            .get(format!("{}/echo/abc%20d?x=1&x=2&y=z%21", server.url))
            .header("X-Custom", "one")
            .header("x-custom", "two")
            .header("cookie", "a=1; b=2")
            .header("user-agent", "stackgate-test"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
    let body = reply.json();
    let event = &body["event"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /echo/{id}");
    assert_eq!(event["rawPath"], "/echo/abc%20d");
    assert_eq!(event["rawQueryString"], "x=1&x=2&y=z%21");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(event["headers"]["x-custom"], "one,two");
    assert_eq!(event["headers"]["user-agent"], "stackgate-test");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["queryStringParameters"]["x"], "1,2");
    assert_eq!(event["queryStringParameters"]["y"], "z!");
    assert_eq!(event["pathParameters"]["id"], "abc d");
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none());
    let context = &event["requestContext"];
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/echo/abc%20d");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "stackgate-test");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["accountId"], "123456789012");
    assert_eq!(context["routeKey"], "ANY /echo/{id}");
    assert!(context["timeEpoch"].is_u64());
    assert_eq!(
        Some(context["requestId"].as_str().unwrap().to_string()),
        reply.header("apigw-requestid")
    );
    // The function's environment and context.
    assert_eq!(body["greeting"], "hello from the template");
    assert_eq!(body["functionName"], "echo");
    assert_eq!(body["remainingPositive"], true);
    // The response: headers and one set-cookie per cookie.
    assert_eq!(reply.header("x-echo").as_deref(), Some("yes"));
    let cookies: Vec<_> = reply.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2, "{:?}", reply.headers);
}

#[tokio::test(flavor = "multi_thread")]
async fn payload_2_0_bodies_text_and_base64() {
    let (server, _issuer) = start().await;
    let client = reqwest::Client::new();
    let text = send(
        client
            .post(format!("{}/echo/1", server.url))
            .header("content-type", "application/json")
            .body(r#"{"hello":"world"}"#),
    )
    .await;
    assert_eq!(text.status, 200, "{}", text.body);
    let event = &text.json()["event"];
    assert_eq!(event["body"], r#"{"hello":"world"}"#);
    assert_eq!(event["isBase64Encoded"], false);

    let binary = send(
        client
            .post(format!("{}/echo/1", server.url))
            .header("content-type", "application/octet-stream")
            .body(vec![0u8, 159, 146, 150]),
    )
    .await;
    let event = &binary.json()["event"];
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slg==");
}

#[tokio::test(flavor = "multi_thread")]
async fn payload_1_0_event_field_by_field() {
    let (server, _issuer) = start().await;
    let reply = get(&format!("{}/v1/a/b?q=1&q=2", server.url)).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
    let event = &reply.json()["event"];
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["path"], "/v1/a/b");
    assert_eq!(event["queryStringParameters"]["q"], "2");
    assert_eq!(
        event["multiValueQueryStringParameters"]["q"],
        json!(["1", "2"])
    );
    assert_eq!(event["pathParameters"]["proxy"], "a/b");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["httpMethod"], "GET");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn response_mapping_the_aws_way() {
    let (server, _issuer) = start().await;
    let string = get(&format!("{}/shapes/v2/string", server.url)).await;
    assert_eq!(string.status, 200);
    assert_eq!(string.body, "Hello from Lambda!");
    assert_eq!(
        string.header("content-type").as_deref(),
        Some("application/json")
    );

    let object = get(&format!("{}/shapes/v2/object", server.url)).await;
    assert_eq!(object.status, 200);
    assert_eq!(object.json(), json!({"message": "Hello from Lambda!"}));

    let teapot = get(&format!("{}/shapes/v2/teapot", server.url)).await;
    assert_eq!(teapot.status, 418);
    assert_eq!(teapot.body, "teapot");

    let binary = send(reqwest::Client::new().get(format!("{}/shapes/v2/binary", server.url))).await;
    assert_eq!(binary.status, 200);

    // 2.0: a body that is not a string cannot be mapped.
    let bad = get(&format!("{}/shapes/v2/bad-body", server.url)).await;
    assert_eq!(bad.status, 500);
    assert_eq!(bad.body, r#"{"message":"Internal Server Error"}"#);

    // 1.0: no statusCode is a malformed response: 500, and the log says what was returned.
    let malformed = get(&format!("{}/shapes/v1/no-status", server.url)).await;
    assert_eq!(malformed.status, 500);
    assert_eq!(malformed.body, r#"{"message":"Internal Server Error"}"#);
    let logs = server.wait_for_log("no status code");
    assert!(logs.contains("no status code"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn function_failures_are_500_and_explained() {
    let (server, _issuer) = start().await;
    let thrown = get(&format!("{}/throw", server.url)).await;
    assert_eq!(thrown.status, 500);
    assert_eq!(thrown.body, r#"{"message":"Internal Server Error"}"#);
    assert!(
        server
            .wait_for_log("thrown on purpose")
            .contains("thrown on purpose")
    );

    let exited = get(&format!("{}/exit", server.url)).await;
    assert_eq!(exited.status, 500);
    assert!(
        server
            .wait_for_log("exit status 3")
            .contains("exit status 3")
    );
    // The crashed environment is replaced: the next request is answered too (not a hang).
    let again = get(&format!("{}/exit", server.url)).await;
    assert_eq!(again.status, 500);

    let started = std::time::Instant::now();
    let timed_out = get(&format!("{}/timeout", server.url)).await;
    assert_eq!(timed_out.status, 500);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert!(
        server
            .wait_for_log("Sandbox.Timedout")
            .contains("Sandbox.Timedout")
    );
    let after = get(&format!("{}/timeout", server.url)).await;
    assert_eq!(after.status, 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn integration_timeout_is_503() {
    let (server, _issuer) = start().await;
    let started = std::time::Instant::now();
    let slow = get(&format!("{}/slow", server.url)).await;
    assert_eq!(slow.status, 503, "{}", slow.body);
    assert_eq!(slow.body, r#"{"message":"Service Unavailable"}"#);
    assert!(started.elapsed() < std::time::Duration::from_millis(1900));
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_rust_functions() {
    let (server, _issuer) = start().await;
    let python = get(&format!("{}/python", server.url)).await;
    assert_eq!(python.status, 201, "{}\n{}", python.body, server.logs());
    let body = python.json();
    assert_eq!(body["runtime"], "python");
    assert_eq!(body["rawPath"], "/python");
    assert_eq!(body["remainingPositive"], true);
    assert_eq!(body["region"], "us-east-1");

    let rust = get(&format!("{}/rust/hello", server.url)).await;
    assert_eq!(rust.status, 200, "{}\n{}", rust.body, server.logs());
    let body = rust.json();
    assert_eq!(body["runtime"], "rust");
    assert_eq!(body["routeKey"], "GET /rust/{proxy+}");
    assert_eq!(body["memory"], 256);

    let failed = get(&format!("{}/rust/fail", server.url)).await;
    assert_eq!(failed.status, 500);
    assert!(
        server
            .wait_for_log("failed on purpose")
            .contains("failed on purpose")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_issuer_scopes_and_claims() {
    let (server, issuer) = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/secure", server.url);
    let base = json!({"sub": "user-1", "aud": AUDIENCE, "groups": ["admin", "dev"], "n": 42});

    // Valid token, but none of the route's scopes: 403.
    let no_scope = issuer.mint(claims(base.clone()), 300).unwrap();
    let forbidden = get_bearer(&url, &no_scope).await;
    assert_eq!(
        forbidden.status,
        403,
        "{}\n{}",
        forbidden.body,
        server.logs()
    );
    assert_eq!(forbidden.body, r#"{"message":"Forbidden"}"#);

    // With the scope: through to the function, claims stringified the AWS way.
    let mut scoped = base.clone();
    scoped["scope"] = "openid read:things".into();
    let token = issuer.mint(claims(scoped), 300).unwrap();
    let ok = send(client.get(&url).header("authorization", &token)).await;
    assert_eq!(ok.status, 200, "{}\n{}", ok.body, server.logs());
    let jwt = &ok.json()["event"]["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["sub"], "user-1");
    assert_eq!(jwt["claims"]["groups"], "[admin dev]");
    assert_eq!(jwt["claims"]["n"], "42");
    assert!(jwt["claims"]["exp"].is_string());
    assert_eq!(jwt["scopes"], json!(["openid", "read:things"]));

    // Expired: 401 with AWS's body.
    let mut old = base.clone();
    old["scope"] = "read:things".into();
    old["exp"] = json!(1_000_000_000u64);
    let expired_token = issuer.mint(claims(old), 300).unwrap();
    let expired = get_bearer(&url, &expired_token).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body, r#"{"message":"Unauthorized"}"#);

    // Signed by a key the issuer's JWKS does not publish: 401.
    let impostor_dir = temp_dir("impostor");
    let impostor =
        stackgate_issuer::DevIssuer::load_or_create(&impostor_dir, issuer.issuer_url().to_string())
            .unwrap();
    let mut forged = base.clone();
    forged["scope"] = "read:things".into();
    let forged = impostor.mint(claims(forged), 300).unwrap();
    let refused = get_bearer(&url, &forged).await;
    assert_eq!(refused.status, 401);
}
