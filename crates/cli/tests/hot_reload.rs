//! `serve --watch` (the default): a change to a function's code or to the template takes effect
//! for the next request, without a restart. Every test works on a copy of
//! `fixtures/reload` in a temporary directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, copy_dir, get, repo_root, temp_dir};

/// A copy of the reload fixture: (directory, template path).
fn fixture(name: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    copy_dir(&repo_root().join("crates/cli/tests/fixtures/reload"), &dir);
    let template = dir.join("template.yaml");
    (dir, template)
}

fn handler(dir: &Path) -> PathBuf {
    dir.join("functions/echo/index.js")
}

/// The handler with `VERSION` set to `version`.
fn handler_source(dir: &Path, version: &str) -> String {
    std::fs::read_to_string(handler(dir)).unwrap().replace(
        "const VERSION = \"v1\";",
        &format!("const VERSION = \"{version}\";"),
    )
}

/// Saves the way many editors do: a new file, renamed over the old one.
fn save_by_rename(path: &Path, contents: &str) {
    let temp = path.with_extension("tmp-save");
    std::fs::write(&temp, contents).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// The template with one more route, `GET /new`, to the echo function.
fn with_new_route(template: &str) -> String {
    format!(
        "{template}
  NewRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: GET /new
      Target: !Sub integrations/${{EchoIntegration}}
"
    )
}

/// Polls `GET url` (every 25 ms, for up to `limit`) until `done` holds for (status, body);
/// returns how long it took, or `None`.
async fn poll_until(
    url: &str,
    limit: Duration,
    done: impl Fn(u16, &str) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let reply = get(url).await;
        if done(reply.status, &reply.body) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

async fn echo_version(server: &Server) -> (String, u64) {
    let reply = get(&format!("{}/echo", server.url)).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
    let json = reply.json();
    (
        json["version"].as_str().unwrap().to_owned(),
        json["pid"].as_u64().unwrap(),
    )
}

/// How long a change may take to show.
const WITHIN: Duration = Duration::from_secs(1);
/// How long the tests wait before calling it a failure (the assertion is on `WITHIN`).
const GIVE_UP: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_handler_change_shows_in_the_next_response() {
    let (dir, _) = fixture("code");
    // From the template's directory with the default state dir (`.stackgate/` beside the
    // template, where inline code is materialised: not a change).
    let server = Server::start_in(&dir, "template.yaml", &[]);
    assert_eq!(echo_version(&server).await.0, "v1");
    let pid_before = get(&format!("{}/pid", server.url)).await.body;

    std::fs::write(handler(&dir), handler_source(&dir, "v2")).unwrap();
    let took = poll_until(&format!("{}/echo", server.url), GIVE_UP, |_, body| {
        body.contains("\"v2\"")
    })
    .await;
    let logs = server.logs();
    let took = took.unwrap_or_else(|| panic!("the new handler never answered\n{logs}"));
    assert!(took < WITHIN, "took {took:?}\n{logs}");
    let logs = server.wait_for_log("reloaded code: function EchoFunction replaced");
    assert!(
        logs.contains("reloaded code: function EchoFunction replaced"),
        "{logs}"
    );
    // Nothing else was reloaded (the state dir's writes are not changes).
    assert_eq!(logs.matches("reloaded").count(), 1, "{logs}");
    // The unchanged function kept its warm environment.
    assert_eq!(get(&format!("{}/pid", server.url)).await.body, pid_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_saved_by_rename_over() {
    let (dir, template) = fixture("rename-code");
    let server = Server::start(&template, &[]);
    let (version, old_pid) = echo_version(&server).await;
    assert_eq!(version, "v1");

    save_by_rename(&handler(&dir), &handler_source(&dir, "renamed"));
    let took = poll_until(&format!("{}/echo", server.url), GIVE_UP, |_, body| {
        body.contains("\"renamed\"")
    })
    .await;
    let logs = server.logs();
    let took = took.unwrap_or_else(|| panic!("the new handler never answered\n{logs}"));
    assert!(took < WITHIN, "took {took:?}\n{logs}");
    assert_ne!(
        echo_version(&server).await.1,
        old_pid,
        "a fresh environment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_change_adds_a_route_even_when_saved_by_rename() {
    let (_dir, template) = fixture("template");
    let server = Server::start(&template, &[]);
    let new = format!("{}/new", server.url);
    assert_eq!(get(&new).await.status, 404);
    let pid_before = get(&format!("{}/pid", server.url)).await.body;

    let source = std::fs::read_to_string(&template).unwrap();
    save_by_rename(&template, &with_new_route(&source));
    let took = poll_until(&new, GIVE_UP, |status, _| status == 200).await;
    let logs = server.logs();
    let took = took.unwrap_or_else(|| panic!("GET /new never answered 200\n{logs}"));
    assert!(took < WITHIN, "took {took:?}\n{logs}");
    let logs = server.wait_for_log("reloaded template: +1 route (GET /new)");
    assert!(
        logs.contains("reloaded template: +1 route (GET /new)"),
        "{logs}"
    );
    // No function changed: none was replaced, the warm one stays.
    assert!(!logs.contains("replaced"), "{logs}");
    assert_eq!(get(&format!("{}/pid", server.url)).await.body, pid_before);

    // And a later in-place edit (a second change) works too: the route goes away again.
    std::fs::write(&template, &source).unwrap();
    let took = poll_until(&new, GIVE_UP, |status, _| status == 404).await;
    assert!(took.is_some(), "{}", server.logs());
    assert!(
        server
            .wait_for_log("-1 route (GET /new)")
            .contains("-1 route (GET /new)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_template_keeps_the_previous_version_serving() {
    let (_dir, template) = fixture("broken");
    let server = Server::start(&template, &[]);
    let source = std::fs::read_to_string(&template).unwrap();

    // A reference to nothing: the template no longer loads.
    let broken = format!(
        "{source}
  BrokenRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref NoSuchApi
      RouteKey: GET /broken
"
    );
    std::fs::write(&template, broken).unwrap();
    let logs = server.wait_for_log("template has errors; still serving the previous version");
    assert!(
        logs.contains("template has errors; still serving the previous version"),
        "{logs}"
    );
    assert!(logs.contains("NoSuchApi"), "the diagnostics: {logs}");
    assert!(logs.contains("template.yaml:"), "file:line:col: {logs}");
    // The previous version still answers.
    assert_eq!(echo_version(&server).await.0, "v1");
    assert_eq!(get(&format!("{}/new", server.url)).await.status, 404);

    // Fixed: takes effect.
    std::fs::write(&template, with_new_route(&source)).unwrap();
    let took = poll_until(&format!("{}/new", server.url), GIVE_UP, |status, _| {
        status == 200
    })
    .await;
    assert!(took.is_some(), "{}", server.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_request_finishes_while_the_template_changes() {
    let (_dir, template) = fixture("inflight");
    let server = Server::start(&template, &[]);
    let slow_url = format!("{}/slow", server.url);
    let slow = tokio::spawn(async move { get(&slow_url).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!slow.is_finished(), "the slow request is still running");

    // A new route, and the slow function's configuration changes under its running request.
    let source = std::fs::read_to_string(&template).unwrap();
    let changed = with_new_route(&source).replace("MARK: one", "MARK: two");
    std::fs::write(&template, changed).unwrap();
    let took = poll_until(&format!("{}/new", server.url), GIVE_UP, |status, _| {
        status == 200
    })
    .await;
    assert!(took.is_some(), "{}", server.logs());

    let reply = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
    assert_eq!(reply.body, "slow one", "finished on the old environment");
    // The next one runs the new configuration.
    let reply = get(&format!("{}/slow", server.url)).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "slow two"));
    let logs = server.wait_for_log("function SlowFunction replaced");
    assert!(
        logs.contains("reloaded template: +1 route (GET /new), function SlowFunction replaced"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watch_turns_it_off() {
    let (dir, template) = fixture("nowatch");
    let server = Server::start(&template, &["--no-watch"]);
    assert_eq!(echo_version(&server).await.0, "v1");
    std::fs::write(handler(&dir), handler_source(&dir, "v2")).unwrap();
    let source = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, with_new_route(&source)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(echo_version(&server).await.0, "v1");
    assert_eq!(get(&format!("{}/new", server.url)).await.status, 404);
    let logs = server.logs();
    assert!(!logs.contains("reloaded"), "{logs}");
    assert!(!logs.contains("watching"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_api_gets_a_port_and_removed_api_closes() {
    let (_dir, template) = fixture("apis");
    let server = Server::start(&template, &[]);
    let source = std::fs::read_to_string(&template).unwrap();
    let with_api = format!(
        "{source}
  OtherApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: other
      ProtocolType: HTTP
      Target: !GetAtt EchoFunction.Arn
  OtherPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref EchoFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{OtherApi}}/*
"
    );
    std::fs::write(&template, with_api).unwrap();
    let logs = server.wait_for_log("+API OtherApi (");
    let url = logs
        .split("+API OtherApi (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no URL for the new API\n{logs}"))
        .to_owned();
    assert_ne!(url, server.url);
    let reply = get(&format!("{url}/anything")).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, server.logs());
    assert_eq!(reply.json()["version"], "v1");

    std::fs::write(&template, &source).unwrap();
    let logs = server.wait_for_log("-API OtherApi");
    assert!(logs.contains("-API OtherApi"), "{logs}");
    let refused = reqwest::Client::new()
        .get(format!("{url}/anything"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "the removed API's port is closed");
    // The first API is untouched.
    assert_eq!(echo_version(&server).await.0, "v1");
}
