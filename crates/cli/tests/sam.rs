//! The SAM example (`examples/sam-http-api`), end to end through the real binary: the template
//! runs unchanged (Transform: AWS::Serverless-2016-10-31), its default JWT authorizer guards
//! `GET /test` (Node.js, CodeUri: src/), and `GET /hello/{name}` (Python, CodeUri: python/,
//! `Auth: {Authorizer: NONE}`) answers without a token.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const AUDIENCE: &str = "https://api.example.test";

fn example() -> std::path::PathBuf {
    repo_root().join("examples/sam-http-api/template.yaml")
}

#[tokio::test(flavor = "multi_thread")]
async fn sam_example_jwt_route_and_python_route() {
    let server = Server::start(&example(), &[]);
    let issuer = server
        .issuer
        .clone()
        .expect("the dev issuer runs (IssuerUri has no value)");
    assert!(server.banner.contains("GET /test"), "{}", server.banner);
    assert!(
        server.banner.contains("GET /hello/{name}"),
        "{}",
        server.banner
    );

    // The default authorizer: 401 without a token, 200 with a dev-issuer token.
    let unauthorized = get(&format!("{}/test", server.url)).await;
    assert_eq!(unauthorized.status, 401, "{}", server.logs());
    assert_eq!(unauthorized.body, r#"{"message":"Unauthorized"}"#);

    let token = dev_token(&issuer, AUDIENCE, None).await;
    let ok = get_bearer(&format!("{}/test", server.url), &token).await;
    assert_eq!(ok.status, 200, "{}\n{}", ok.body, server.logs());
    assert_eq!(ok.body, "\"Hello from Lambda!\"");

    // A token for another audience is refused.
    let other = dev_token(&issuer, "https://other.example.test", None).await;
    let refused = get_bearer(&format!("{}/test", server.url), &other).await;
    assert_eq!(refused.status, 401, "{}", refused.body);

    // The Python function: Auth NONE, path parameter, Globals + local environment merged.
    let hello = get(&format!("{}/hello/sam", server.url)).await;
    assert_eq!(hello.status, 200, "{}\n{}", hello.body, server.logs());
    assert_eq!(hello.json()["message"], "Hello, sam!");

    let missing = get(&format!("{}/nope", server.url)).await;
    assert_eq!(missing.status, 404);
}

#[test]
fn sam_example_token_command_reads_the_audience() {
    let out = std::process::Command::new(stackgate_bin())
        .arg("token")
        .arg(example())
        .arg("--state-dir")
        .arg(temp_dir("sam-token-state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = token.trim().split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
}
