//! The Lambda Invoke API of `stackgate serve` (`--lambda-port`), driven by the real AWS CLI (and
//! raw HTTP where the CLI hides the wire): the example stack and the fixture stack.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// The `Lambda API:` URL from the banner.
fn lambda_url(server: &Server) -> String {
    server
        .banner
        .lines()
        .find_map(|l| l.strip_prefix("Lambda API:"))
        .map(|s| s.trim().to_string())
        .expect("the banner names the Lambda API")
}

/// The AWS CLI, if installed: its major version.
fn aws_cli() -> Option<u32> {
    let out = Command::new("aws").arg("--version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let version = text.split_whitespace().next()?.strip_prefix("aws-cli/")?;
    version.split('.').next()?.parse().ok()
}

macro_rules! require_aws {
    () => {
        match aws_cli() {
            Some(v) => v,
            None => {
                eprintln!("note: `aws` is not on PATH; skipping this AWS CLI test");
                return;
            }
        }
    };
}

/// Runs `aws lambda ARGS --endpoint-url URL` with dummy credentials.
fn aws(url: &str, args: &[&str]) -> Output {
    Command::new("aws")
        .arg("lambda")
        .args(args)
        .args(["--endpoint-url", url])
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("aws runs")
}

/// `aws lambda invoke`: (CLI output JSON, the payload written to the out file).
fn invoke(
    cli: u32,
    url: &str,
    function: &str,
    payload: Option<&str>,
    extra: &[&str],
) -> (Output, Option<Value>, String) {
    let out_file = temp_dir("aws-out").join("out.json");
    let out_path = out_file.to_str().unwrap().to_string();
    let mut args = vec!["invoke", "--function-name", function];
    if let Some(p) = payload {
        args.extend(["--payload", p]);
        if cli >= 2 {
            args.extend(["--cli-binary-format", "raw-in-base64-out"]);
        }
    }
    args.extend(extra);
    args.push(&out_path);
    let output = aws(url, &args);
    let json = serde_json::from_slice(&output.stdout).ok();
    let written = std::fs::read_to_string(&out_file).unwrap_or_default();
    (output, json, written)
}

/// Standard base64 (padding optional).
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> PathBuf {
    let dir = temp_dir("example");
    copy_dir(&repo_root().join("examples/auth0-http-api"), &dir);
    dir.join("template.yaml")
}

fn prepare_stack() -> PathBuf {
    let dir = temp_dir("stack");
    copy_dir(&repo_root().join("crates/cli/tests/fixtures/stack"), &dir);
    let rust_bin = stackgate_bin().with_file_name("rust-hello");
    if rust_bin.exists() {
        std::fs::create_dir_all(dir.join("rust-fn")).unwrap();
        std::fs::copy(&rust_bin, dir.join("rust-fn/bootstrap")).unwrap();
    }
    dir.join("template.yaml")
}

fn function_name_of(url: &str, logical_suffix: &str) -> (String, String) {
    let out = aws(url, &["list-functions"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = list["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["FunctionName"].as_str().unwrap().contains(logical_suffix))
        .unwrap_or_else(|| panic!("no {logical_suffix} in {list}"));
    (
        f["FunctionName"].as_str().unwrap().to_string(),
        f["FunctionArn"].as_str().unwrap().to_string(),
    )
}

#[test]
fn example_with_the_aws_cli() {
    let cli = require_aws!();
    let server = Server::start(&example(), &[]);
    let url = lambda_url(&server);

    // By logical id.
    let (out, json, written) = invoke(cli, &url, "TestFunction", None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = json.unwrap();
    assert_eq!(json["StatusCode"], 200);
    assert_eq!(json["ExecutedVersion"], "$LATEST");
    assert!(json.get("FunctionError").is_none(), "{json}");
    let payload: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(payload["statusCode"], 200);
    assert_eq!(payload["body"], "\"Hello from Lambda!\"");

    // By name, full ARN, partial ARN, and with $LATEST.
    let (name, arn) = function_name_of(&url, "TestFunction");
    let account_partial = arn.splitn(5, ':').nth(4).unwrap().to_string();
    let latest = format!("{name}:$LATEST");
    for function in [name.as_str(), arn.as_str(), &account_partial, &latest] {
        let (out, json, written) = invoke(cli, &url, function, Some(r#"{"k":"v"}"#), &[]);
        assert!(out.status.success(), "{function}: {}", stderr(&out));
        assert_eq!(json.unwrap()["StatusCode"], 200, "{function}");
        assert!(
            written.contains("Hello from Lambda!"),
            "{function}: {written}"
        );
    }

    // Tail: the invocation's log, base64.
    let (out, json, _) = invoke(cli, &url, "TestFunction", None, &["--log-type", "Tail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = json.unwrap()["LogResult"].as_str().unwrap().to_string();
    let log = String::from_utf8(base64_decode(&log)).unwrap();
    assert!(log.starts_with("START RequestId: "), "{log}");
    assert!(log.contains("\nEND RequestId: "), "{log}");
    assert!(log.contains("\nREPORT RequestId: "), "{log}");

    // DryRun: 204, nothing runs.
    let (out, json, _) = invoke(
        cli,
        &url,
        "TestFunction",
        None,
        &["--invocation-type", "DryRun"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json.unwrap()["StatusCode"], 204);

    // Event: 202, and the function runs in the background.
    let (out, json, _) = invoke(
        cli,
        &url,
        "TestFunction",
        Some("{}"),
        &["--invocation-type", "Event"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json.unwrap()["StatusCode"], 202);

    // Unknown function, unknown alias.
    for missing in ["NoSuchFunction", "TestFunction:live"] {
        let (out, _, _) = invoke(cli, &url, missing, None, &[]);
        assert!(!out.status.success(), "{missing}");
        assert!(
            stderr(&out).contains("ResourceNotFoundException"),
            "{missing}: {}",
            stderr(&out)
        );
    }

    // list-functions, get-function, get-function-configuration.
    let out = aws(&url, &["get-function", "--function-name", "TestFunction"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["Configuration"]["FunctionName"], name.as_str());
    assert_eq!(got["Configuration"]["FunctionArn"], arn.as_str());
    assert_eq!(got["Configuration"]["Runtime"], "nodejs22.x");
    assert_eq!(got["Configuration"]["Handler"], "index.handler");
    assert_eq!(got["Configuration"]["Version"], "$LATEST");
    assert_eq!(got["Configuration"]["State"], "Active");
    assert_eq!(got["Code"]["RepositoryType"], "S3");
    let out = aws(
        &url,
        &["get-function-configuration", "--function-name", &arn],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["Timeout"], 3);
    assert_eq!(config["MemorySize"], 128);
    assert!(
        config["Role"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::123456789012:role/")
    );
    let out = aws(&url, &["get-function", "--function-name", "Missing"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ResourceNotFoundException"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_format_of_invoke() {
    let server = Server::start(&example(), &[]);
    let url = lambda_url(&server);
    let client = reqwest::Client::new();
    let endpoint = format!("{url}/2015-03-31/functions/TestFunction/invocations");

    // Sync: headers as the SDKs read them.
    let reply = send(client.post(&endpoint).body("{}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("x-amz-executed-version").as_deref(),
        Some("$LATEST")
    );
    assert!(reply.header("x-amzn-requestid").is_some());
    assert_eq!(reply.json()["statusCode"], 200);

    // Event: 202, and the invocation with that request id runs.
    let reply = send(
        client
            .post(&endpoint)
            .header("X-Amz-Invocation-Type", "Event")
            .body(r#"{"async":true}"#),
    )
    .await;
    assert_eq!(reply.status, 202);
    assert!(reply.body.is_empty());
    let id = reply.header("x-amzn-requestid").unwrap();
    let logs = server.wait_for_log(&format!("REPORT RequestId: {id}"));
    assert!(logs.contains(&format!("START RequestId: {id}")), "{logs}");
    assert!(logs.contains(&format!("REPORT RequestId: {id}")), "{logs}");

    // Service errors: x-amzn-ErrorType + {"Type":"User","Message":…}.
    let reply = send(client.post(&endpoint).body("not json")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("x-amzn-errortype").as_deref(),
        Some("InvalidRequestContentException")
    );
    assert_eq!(reply.json()["Type"], "User");
    assert!(reply.json()["Message"].as_str().unwrap().contains("json"));

    let reply = send(
        client
            .post(format!("{url}/2015-03-31/functions/Nope/invocations"))
            .body("{}"),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("x-amzn-errortype").as_deref(),
        Some("ResourceNotFoundException")
    );
    assert!(
        reply.json()["Message"]
            .as_str()
            .unwrap()
            .starts_with("Function not found: arn:aws:lambda:us-east-1:123456789012:function:Nope"),
        "{}",
        reply.body
    );

    let big = vec![b' '; 6 * 1024 * 1024 + 1];
    let reply = send(client.post(&endpoint).body(big)).await;
    assert_eq!(reply.status, 413);
    assert_eq!(
        reply.header("x-amzn-errortype").as_deref(),
        Some("RequestTooLargeException")
    );

    let reply = send(client.post(format!("{endpoint}?Qualifier=live")).body("{}")).await;
    assert_eq!(reply.status, 404);

    let reply = send(
        client
            .post(format!(
                "{url}/2015-03-31/functions/TestFunction%3Aone/invocations?Qualifier=two"
            ))
            .body("{}"),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("x-amzn-errortype").as_deref(),
        Some("InvalidParameterValueException")
    );

    let reply = send(
        client
            .post(&endpoint)
            .header("X-Amz-Client-Context", "%%%")
            .body("{}"),
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[test]
fn fixture_stack_with_the_aws_cli() {
    let cli = require_aws!();
    let template = prepare_stack();
    let server = Server::start(&template, &[]);
    let url = lambda_url(&server);

    // By FunctionName: the echo function sees the payload as its event.
    let (out, json, written) = invoke(cli, &url, "echo", Some(r#"{"rawPath":"/from-cli"}"#), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json.unwrap()["StatusCode"], 200);
    let payload: Value = serde_json::from_str(&written).unwrap();
    let body: Value = serde_json::from_str(payload["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event"]["rawPath"], "/from-cli");
    assert_eq!(body["functionName"], "echo");
    assert_eq!(body["greeting"], "hello from the template");

    // Python, by logical id.
    let (out, _, written) = invoke(
        cli,
        &url,
        "PythonFunction",
        Some(r#"{"rawPath":"/py"}"#),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(written.contains(r#"\"runtime\": \"python\""#), "{written}");

    // A function error: 200 with FunctionError Unhandled and the error JSON.
    let (out, json, written) = invoke(cli, &url, "ThrowFunction", None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = json.unwrap();
    assert_eq!(json["StatusCode"], 200);
    assert_eq!(json["FunctionError"], "Unhandled");
    let error: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(error["errorType"], "Error");
    assert_eq!(error["errorMessage"], "thrown on purpose");

    // A timeout is a function error too.
    let (_, json, written) = invoke(cli, &url, "TimeoutFunction", None, &[]);
    assert_eq!(json.unwrap()["FunctionError"], "Unhandled");
    assert!(written.contains("Sandbox.Timedout"), "{written}");

    // Event: the function runs; its own log line shows up in serve's output.
    let (out, json, _) = invoke(
        cli,
        &url,
        "EchoFunction",
        Some(r#"{"rawPath":"/event-marker"}"#),
        &["--invocation-type", "Event"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json.unwrap()["StatusCode"], 202);
    let logs = server.wait_for_log("echo /event-marker");
    assert!(logs.contains("echo /event-marker"), "{logs}");

    // Every function of the template is listed.
    let out = aws(&url, &["list-functions"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.contains(&"echo"));
    let echo = list["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["FunctionName"] == "echo")
        .unwrap();
    assert_eq!(
        echo["Environment"]["Variables"]["GREETING"],
        "hello from the template"
    );

    // Pagination as the CLI drives it.
    let out = aws(&url, &["list-functions", "--max-items", "4"]);
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["Functions"].as_array().unwrap().len(), 4);
}

/// A failed asynchronous invocation runs again as Lambda's event queue runs it (the same request
/// id, one unit then two units later, Lambda's unit being a minute), and an
/// `AWS::Lambda::EventInvokeConfig` with `MaximumRetryAttempts: 0` stops after one attempt. The
/// fixture has no HTTP API: `serve` runs the Lambda API alone.
#[tokio::test(flavor = "multi_thread")]
async fn failed_event_invokes_are_retried() {
    let fixture = repo_root().join("crates/cli/tests/fixtures/async-retries.yaml");
    let server = Server::start_with_env(&fixture, &[], &[("STACKGATE_ASYNC_RETRY_UNIT_MS", "150")]);
    // The template has functions and no HTTP API: the Lambda API alone serves them.
    assert!(
        server.banner.contains("no HTTP API in the template"),
        "{}",
        server.banner
    );
    assert!(server.url.is_empty(), "{}", server.banner);
    let url = lambda_url(&server);
    let client = reqwest::Client::new();
    let event = |name: &str| {
        client
            .post(format!("{url}/2015-03-31/functions/{name}/invocations"))
            .header("X-Amz-Invocation-Type", "Event")
            .body("{}")
            .send()
    };

    let reply = event("FailingFunction").await.unwrap();
    assert_eq!(reply.status(), 202);
    let id = reply.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let logs = server.wait_for_log("on attempt 3 of 3: no retries left");
    assert_eq!(
        logs.matches(&format!("START RequestId: {id}")).count(),
        3,
        "{logs}"
    );
    assert!(
        logs.contains("Lambda runs it again in 150 ms (attempt 2 of 3)"),
        "{logs}"
    );
    assert!(
        logs.contains("Lambda runs it again in 300 ms (attempt 3 of 3)"),
        "{logs}"
    );

    let reply = event("OnceFunction").await.unwrap();
    assert_eq!(reply.status(), 202);
    let id = reply.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let logs = server.wait_for_log("on attempt 1 of 1: no retries left");
    assert!(logs.contains(&format!("request_id={id}")), "{logs}");
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        server
            .logs()
            .matches(&format!("START RequestId: {id}"))
            .count(),
        1,
        "{}",
        server.logs()
    );
}
