//! The seed's pitfalls, each as a template that `cfn-lint` accepts but AWS answers with a 500,
//! 503 or 401: `stackgate check` finds it at the right line, `stackgate serve` answers what AWS
//! answers and logs the cause, and the fixed template passes both.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use serde_json::Value;

struct Pitfall {
    /// `fixtures/pitfalls/{name}.yaml` and `{name}.fixed.yaml`.
    name: &'static str,
    code: &'static str,
    /// The finding is on the first line containing this text (after the first line containing
    /// `after`, when given).
    line_with: &'static str,
    after: &'static str,
    /// Does `check` exit 1 (an error) or 0 (a warning)?
    fails: bool,
    /// What `serve` answers to `GET /hello`, and a text its log must contain.
    status: u16,
    log: &'static str,
}

const PITFALLS: &[Pitfall] = &[
    Pitfall {
        name: "no-permission",
        code: "SG001",
        line_with: "IntegrationUri:",
        after: "",
        fails: true,
        status: 500,
        log: "no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke",
    },
    Pitfall {
        name: "wrong-source-arn",
        code: "SG002",
        line_with: "SourceArn:",
        after: "",
        fails: true,
        status: 500,
        log: "/*/POST/hello does not match",
    },
    Pitfall {
        name: "role-without-trust",
        code: "SG004",
        line_with: "AssumeRolePolicyDocument:",
        after: "  InvokeRole:",
        fails: true,
        status: 500,
        log: "does not let apigateway.amazonaws.com assume it",
    },
    Pitfall {
        name: "role-other-function",
        code: "SG005",
        line_with: "      Policies:",
        after: "  InvokeRole:",
        fails: true,
        status: 500,
        log: "no policy of role InvokeRole allows lambda:InvokeFunction",
    },
    Pitfall {
        name: "v1-no-status",
        code: "SG019",
        line_with: "ZipFile:",
        after: "",
        fails: false,
        status: 500,
        log: "statusCode",
    },
    Pitfall {
        name: "missing-payload-format-version",
        code: "SG014",
        line_with: "    Properties:",
        after: "  HelloIntegration:",
        fails: true,
        status: 500,
        log: "has no PayloadFormatVersion",
    },
    Pitfall {
        name: "function-timeout-above-integration",
        code: "SG016",
        line_with: "Timeout: 40",
        after: "",
        fails: false,
        status: 503,
        log: "integration timeout",
    },
];

fn fixture(name: &str) -> PathBuf {
    repo_root().join(format!("crates/cli/tests/fixtures/pitfalls/{name}"))
}

fn line_of(path: &Path, needle: &str) -> usize {
    line_after(path, "", needle)
}

fn line_after(path: &Path, after: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.lines().position(|l| l.contains(after)).unwrap_or(0);
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", path.display()))
}

/// `cfn-lint` on the template when it is installed (warnings are fine; errors are not).
fn cfn_lint_accepts(path: &Path) {
    let Ok(out) = Command::new("cfn-lint").arg(path).output() else {
        eprintln!(
            "note: cfn-lint is not on PATH; skipping the cfn-lint part for {}",
            path.display()
        );
        return;
    };
    // cfn-lint exit codes: bit 2 = error, 4 = warning, 8 = informational.
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || (code > 0 && code & 2 == 0),
        "cfn-lint rejects {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `stackgate check --format json`: exit code and findings.
fn check(path: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::new(stackgate_bin())
        .arg("check")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        json["findings"].as_array().unwrap().clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_pitfall_is_found_by_check_and_reproduced_by_serve() {
    for p in PITFALLS {
        let broken = fixture(&format!("{}.yaml", p.name));
        let fixed = fixture(&format!("{}.fixed.yaml", p.name));
        cfn_lint_accepts(&broken);
        cfn_lint_accepts(&fixed);

        // check: the finding, at the right line; exit 1 for errors, 0 for warnings.
        let (code, findings) = check(&broken, &[]);
        let line = line_after(&broken, p.after, p.line_with);
        let found = findings
            .iter()
            .find(|f| f["code"] == p.code)
            .unwrap_or_else(|| panic!("{}: no {} in {findings:#?}", p.name, p.code));
        assert_eq!(found["line"], line, "{}: {found:#}", p.name);
        assert!(found["fix"].is_string(), "{}: a fix is given", p.name);
        assert_eq!(code, if p.fails { 1 } else { 0 }, "{}", p.name);
        if !p.fails {
            let (strict, _) = check(&broken, &["--strict"]);
            assert_eq!(strict, 1, "{}: --strict fails on warnings", p.name);
        }
        let (code, findings) = check(&fixed, &["--strict"]);
        assert_eq!(code, 0, "{}.fixed: {findings:#?}", p.name);

        // serve: AWS's answer and the cause in the log; the fixed template answers 200.
        let server = Server::start(&broken, &[]);
        let reply = get(&format!("{}/hello", server.url)).await;
        assert_eq!(
            reply.status,
            p.status,
            "{}: {}\n{}",
            p.name,
            reply.body,
            server.logs()
        );
        let body = if p.status == 503 {
            r#"{"message":"Service Unavailable"}"#
        } else {
            r#"{"message":"Internal Server Error"}"#
        };
        assert_eq!(reply.body, body, "{}", p.name);
        let logs = server.wait_for_log(p.log);
        assert!(
            logs.contains(p.log),
            "{}: {:?} not in the log:\n{logs}",
            p.name,
            p.log
        );
        drop(server);

        let server = Server::start(&fixed, &[]);
        let reply = get(&format!("{}/hello", server.url)).await;
        assert_eq!(
            reply.status,
            200,
            "{}.fixed: {}\n{}",
            p.name,
            reply.body,
            server.logs()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn permission_denials_log_the_yaml_to_add() {
    let server = Server::start(&fixture("no-permission.yaml"), &[]);
    let reply = get(&format!("{}/hello", server.url)).await;
    assert_eq!(reply.status, 500);
    let logs = server.wait_for_log("Type: AWS::Lambda::Permission");
    for needle in [
        "route \"GET /hello\"",
        "(HelloFunction)",
        "Type: AWS::Lambda::Permission",
        "FunctionName: !Ref HelloFunction",
        "${Api}/*/GET/hello",
    ] {
        assert!(logs.contains(needle), "{needle:?} not in:\n{logs}");
    }
}

/// A local stand-in for Auth0: an OIDC issuer whose tokens' `iss` ends with `/`.
async fn auth0_like_issuer() -> (Arc<stackgate_issuer::DevIssuer>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let state = temp_dir("auth0-like");
    let issuer =
        Arc::new(stackgate_issuer::DevIssuer::load_or_create(&state, url.clone()).unwrap());
    tokio::spawn(stackgate_issuer::serve(listener, issuer.clone()));
    (issuer, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn auth0_issuer_without_trailing_slash() {
    let broken = fixture("auth0-issuer-without-slash.yaml");
    let fixed = fixture("auth0-issuer-without-slash.fixed.yaml");
    cfn_lint_accepts(&broken);
    cfn_lint_accepts(&fixed);
    let (code, findings) = check(&broken, &[]);
    assert_eq!(code, 1);
    let found = findings.iter().find(|f| f["code"] == "SG012").unwrap();
    assert_eq!(found["line"], line_of(&broken, "Issuer: !Ref IssuerUri"));
    assert!(found["fix"].as_str().unwrap().ends_with(".auth0.com/"));
    let (code, findings) = check(&fixed, &["--strict"]);
    assert_eq!(code, 0, "{findings:#?}");

    // serve, with a local issuer in Auth0's place: its tokens' iss ends with a slash.
    let (issuer, url) = auth0_like_issuer().await;
    let claims = serde_json::json!({"sub": "u", "aud": "https://api.pitfall.test"});
    let token = issuer
        .mint(claims.as_object().unwrap().clone(), 300)
        .unwrap();
    let without_slash = format!("IssuerUri={}", url.trim_end_matches('/'));
    let server = Server::start(&broken, &["--parameter-overrides", &without_slash]);
    let reply = get_bearer(&format!("{}/hello", server.url), &token).await;
    assert_eq!(reply.status, 401, "{}\n{}", reply.body, server.logs());
    assert_eq!(reply.body, r#"{"message":"Unauthorized"}"#);
    let logs = server.wait_for_log("trailing slash");
    assert!(logs.contains("trailing slash"), "{logs}");
    drop(server);

    let with_slash = format!("IssuerUri={url}");
    let server = Server::start(&fixed, &["--parameter-overrides", &with_slash]);
    let reply = get_bearer(&format!("{}/hello", server.url), &token).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
}

#[test]
fn check_human_output_has_the_source_line_and_a_caret() {
    let path = fixture("no-permission.yaml");
    let out = Command::new(stackgate_bin())
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = line_of(&path, "IntegrationUri:");
    assert!(text.contains("error[SG001]"), "{text}");
    assert!(
        text.contains(&format!("no-permission.yaml:{line}:7")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{line} |       IntegrationUri: !GetAtt HelloFunction.Arn"
        )),
        "{text}"
    );
    assert!(text.contains("   |       ^"), "{text}");
}

#[test]
fn check_never_panics_and_reports_load_errors() {
    let dir = temp_dir("check-bad");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "Resources: [unclosed").unwrap();
    let out = Command::new(stackgate_bin())
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"));
}

#[test]
fn examples_and_fixtures_pass_check_quickly() {
    let example = repo_root().join("examples/auth0-http-api/template.yaml");
    let started = std::time::Instant::now();
    let (code, findings) = check(&example, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    let (code, findings) = check(
        &repo_root().join("crates/cli/tests/fixtures/two-apis.yaml"),
        &[],
    );
    assert_eq!(code, 0, "{findings:#?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_aws_cannot_map_are_500_and_explained() {
    let path = fixture("responses.yaml");
    cfn_lint_accepts(&path);
    let server = Server::start(&path, &[]);
    assert_eq!(get(&format!("{}/fine", server.url)).await.status, 200);
    for (route, needle) in [
        ("/oversized", "ResponseSizeTooLarge"),
        ("/object-body", "not a string"),
        ("/bad-status", "teapot"),
    ] {
        let reply = get(&format!("{}{route}", server.url)).await;
        assert_eq!(reply.status, 500, "{route}: {}", server.logs());
        assert_eq!(reply.body, r#"{"message":"Internal Server Error"}"#);
        let logs = server.wait_for_log(needle);
        assert!(logs.contains(needle), "{route}: {needle:?} not in:\n{logs}");
    }
    // What it should have returned is in the log too.
    let logs = server.wait_for_log(r#"return {"statusCode": 200"#);
    assert!(logs.contains(r#"return {"statusCode": 200"#), "{logs}");
}
