//! `stackgate invoke` (one invocation, no server) and `stackgate routes` (the route table).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

fn prepare_stack() -> PathBuf {
    let dir = temp_dir("stack");
    copy_dir(&repo_root().join("crates/cli/tests/fixtures/stack"), &dir);
    // The Rust function's code directory must exist (it is not invoked here).
    std::fs::create_dir_all(dir.join("rust-fn")).unwrap();
    dir.join("template.yaml")
}

fn example() -> PathBuf {
    let dir = temp_dir("example");
    copy_dir(&repo_root().join("examples/auth0-http-api"), &dir);
    dir.join("template.yaml")
}

fn stackgate(args: &[&str], template: &Path, stdin: Option<&str>) -> Output {
    let mut command = Command::new(stackgate_bin());
    command
        .arg(args[0])
        .arg(template)
        .args(&args[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The echo function's answer: its body's JSON.
fn echo_body(o: &Output) -> Value {
    let payload: Value =
        serde_json::from_str(&out(o)).unwrap_or_else(|e| panic!("{e}: {}\n{}", out(o), err(o)));
    serde_json::from_str(payload["body"].as_str().unwrap()).unwrap()
}

#[test]
fn invoke_the_example_without_an_event() {
    let template = example();
    let o = stackgate(&["invoke", "TestFunction"], &template, None);
    assert!(o.status.success(), "{}", err(&o));
    let payload: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(payload["statusCode"], 200);
    assert_eq!(payload["body"], "\"Hello from Lambda!\"");
    let log = err(&o);
    assert!(log.contains("START RequestId: "), "{log}");
    assert!(log.contains("\nREPORT RequestId: "), "{log}");
    // The log is printed once (not also through the runtime's own log lines).
    assert_eq!(log.matches("START RequestId").count(), 1, "{log}");
}

#[test]
fn invoke_with_an_event_file_and_stdin() {
    let template = prepare_stack();
    let event = template.with_file_name("event.json");
    std::fs::write(&event, r#"{"rawPath":"/from-file"}"#).unwrap();

    // By function name, --event FILE.
    let o = stackgate(
        &["invoke", "echo", "--event", event.to_str().unwrap()],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    let body = echo_body(&o);
    assert_eq!(body["event"]["rawPath"], "/from-file");
    assert_eq!(body["greeting"], "hello from the template");
    assert!(err(&o).contains("echo /from-file"), "{}", err(&o));

    // By logical id, --event -.
    let o = stackgate(
        &["invoke", "EchoFunction", "--event", "-"],
        &template,
        Some(r#"{"rawPath":"/from-stdin"}"#),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(echo_body(&o)["event"]["rawPath"], "/from-stdin");

    // Python.
    let o = stackgate(&["invoke", "PythonFunction"], &template, None);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("python"), "{}", out(&o));

    // Not JSON.
    let o = stackgate(&["invoke", "echo", "--event", "-"], &template, Some("nope"));
    assert!(!o.status.success());
    assert!(err(&o).contains("not JSON"), "{}", err(&o));

    // Unknown function: the known ones are listed.
    let o = stackgate(&["invoke", "Nope"], &template, None);
    assert!(!o.status.success());
    assert!(err(&o).contains("EchoFunction (echo)"), "{}", err(&o));
}

#[test]
fn a_function_error_exits_non_zero() {
    let template = prepare_stack();
    let o = stackgate(&["invoke", "ThrowFunction"], &template, None);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let error: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(error["errorMessage"], "thrown on purpose");
    assert!(err(&o).contains("REPORT RequestId"), "{}", err(&o));
    assert!(err(&o).contains("Unhandled"), "{}", err(&o));
}

#[test]
fn event_from_a_request() {
    let template = prepare_stack();
    let o = stackgate(
        &[
            "invoke",
            "--event-from",
            "POST /echo/42?q=1&q=2&x=y",
            "--header",
            "content-type: application/json",
            "-H",
            "x-custom:abc",
            "--body",
            r#"{"hello":"world"}"#,
        ],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    let event = &echo_body(&o)["event"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /echo/{id}");
    assert_eq!(event["rawPath"], "/echo/42");
    assert_eq!(event["rawQueryString"], "q=1&q=2&x=y");
    assert_eq!(event["pathParameters"]["id"], "42");
    assert_eq!(event["queryStringParameters"]["q"], "1,2");
    assert_eq!(event["queryStringParameters"]["x"], "y");
    assert_eq!(event["headers"]["x-custom"], "abc");
    assert_eq!(event["body"], r#"{"hello":"world"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert!(err(&o).contains("route \"ANY /echo/{id}\""), "{}", err(&o));

    // Payload 1.0 route.
    let o = stackgate(
        &["invoke", "--event-from", "GET /v1/a/b?z=1"],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    let event = &echo_body(&o)["event"];
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["pathParameters"]["proxy"], "a/b");
    assert_eq!(event["queryStringParameters"]["z"], "1");

    // No route: what the gateway would answer.
    let o = stackgate(&["invoke", "--event-from", "GET /nowhere"], &template, None);
    assert!(!o.status.success());
    assert!(err(&o).contains("would answer 404"), "{}", err(&o));

    // FUNCTION must agree with the route's.
    let o = stackgate(
        &["invoke", "ThrowFunction", "--event-from", "GET /echo/1"],
        &template,
        None,
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("invokes echo"), "{}", err(&o));
}

#[test]
fn event_from_a_request_with_a_token() {
    let template = example();
    // A free port for the dev issuer, shared by `token` and `invoke` (the token's iss).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let state = temp_dir("state");
    let state = state.to_str().unwrap();
    let token = stackgate(
        &[
            "token",
            "--issuer-port",
            &port,
            "--state-dir",
            state,
            "--claim",
            "groups=[\"a\",\"b\"]",
        ],
        &template,
        None,
    );
    assert!(token.status.success(), "{}", err(&token));
    let token = out(&token).trim().to_string();

    // Verified as the authorizer would: the claims go into the event.
    let o = stackgate(
        &[
            "invoke",
            "--event-from",
            "GET /test",
            "--token",
            &token,
            "--issuer-port",
            &port,
            "--state-dir",
            state,
        ],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("Hello from Lambda!"), "{}", out(&o));

    // Without a token, the authorizer refuses.
    let o = stackgate(&["invoke", "--event-from", "GET /test"], &template, None);
    assert!(!o.status.success());
    assert!(err(&o).contains("would answer 401"), "{}", err(&o));

    // A forged token: refused when verified, decoded with --no-verify.
    let forged = {
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], parts[1], "AAAA")
    };
    let o = stackgate(
        &[
            "invoke",
            "--event-from",
            "GET /test",
            "--token",
            &forged,
            "--issuer-port",
            &port,
            "--state-dir",
            state,
        ],
        &template,
        None,
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("would answer 401"), "{}", err(&o));
    let o = stackgate(
        &[
            "invoke",
            "--event-from",
            "GET /test",
            "--token",
            &forged,
            "--no-verify",
        ],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn event_from_carries_the_claims() {
    // The echo function behind a JWT route shows the authorizer context it received.
    let template = prepare_stack();
    let payload = base64url(r#"{"sub":"someone","scope":"read:things other","n":7}"#);
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
    let o = stackgate(
        &[
            "invoke",
            "--event-from",
            "GET /secure",
            "--token",
            &token,
            "--no-verify",
        ],
        &template,
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    let event = &echo_body(&o)["event"];
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["sub"], "someone");
    assert_eq!(jwt["claims"]["n"], "7");
    assert_eq!(jwt["scopes"], serde_json::json!(["read:things", "other"]));
}

fn base64url(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn routes_as_text_and_json() {
    let template = prepare_stack();
    let o = stackgate(&["routes"], &template, None);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let header = text.lines().next().unwrap();
    for column in [
        "API",
        "STAGE",
        "ROUTE",
        "AUTHORIZER",
        "SCOPES",
        "INTEGRATION",
        "FUNCTION",
        "PAYLOAD",
        "MAY INVOKE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let secure = text.lines().find(|l| l.contains("GET /secure")).unwrap();
    assert!(secure.contains("JWT foreign"), "{secure}");
    assert!(secure.contains("read:things"), "{secure}");
    assert!(secure.contains("EchoFunction (echo)"), "{secure}");
    assert!(secure.contains("EchoV2Integration (AWS_PROXY)"), "{secure}");
    let v1 = text
        .lines()
        .find(|l| l.contains("ANY /v1/{proxy+}"))
        .unwrap();
    assert!(v1.contains(" 1.0 "), "{v1}");
    assert_eq!(text.lines().count(), 12, "{text}");

    let o = stackgate(&["routes", "--format", "json"], &template, None);
    assert!(o.status.success(), "{}", err(&o));
    let rows: Value = serde_json::from_str(&out(&o)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 11);
    let secure = rows
        .iter()
        .find(|r| r["routeKey"] == "GET /secure")
        .unwrap();
    assert_eq!(secure["api"], "Api");
    assert_eq!(secure["stages"], serde_json::json!(["$default"]));
    assert_eq!(secure["authorizationType"], "JWT");
    assert_eq!(secure["authorizer"], "foreign");
    assert_eq!(secure["scopes"], serde_json::json!(["read:things"]));
    assert_eq!(secure["integration"], "EchoV2Integration");
    assert_eq!(secure["integrationType"], "AWS_PROXY");
    assert_eq!(secure["function"], "echo");
    assert_eq!(secure["functionLogicalId"], "EchoFunction");
    assert_eq!(secure["payloadFormatVersion"], "2.0");
    assert_eq!(secure["mayInvoke"], "yes");
    let python = rows
        .iter()
        .find(|r| r["routeKey"] == "GET /python")
        .unwrap();
    assert_eq!(python["authorizationType"], "NONE");
    assert_eq!(python["authorizer"], Value::Null);
}

#[test]
fn routes_show_a_missing_invoke_permission() {
    let template = example();
    let text = std::fs::read_to_string(&template).unwrap();
    let without_role = text.replace(
        "      CredentialsArn: !GetAtt ApiGatewayInvokeRole.Arn\n",
        "",
    );
    assert_ne!(text, without_role);
    std::fs::write(&template, without_role).unwrap();

    let o = stackgate(&["routes"], &template, None);
    assert!(o.status.success(), "{}", err(&o));
    let row = out(&o)
        .lines()
        .find(|l| l.contains("GET /test"))
        .unwrap()
        .to_string();
    assert!(row.trim_end().ends_with(" no"), "{row}");

    let o = stackgate(&["routes", "--format", "json"], &template, None);
    let rows: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(rows[0]["mayInvoke"], "no");
    assert!(
        rows[0]["mayInvokeReason"]
            .as_str()
            .unwrap()
            .contains("GET /test"),
        "{}",
        rows[0]
    );
}
