//! The Invoke API over a real runtime: throttling by reserved concurrency, client context,
//! aliases (other names), configuration, retries of asynchronous invocations.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use stackgate_runtime::invoke_api::{ApiFunction, AsyncConfig, InvokeApi, RetryTiming};
use stackgate_runtime::{CodeSource, FunctionSpec, Runtime, RuntimeOptions};

fn node(name: &str, source: &str, reserved: Option<u64>) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        arn: format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        runtime: "nodejs22.x".into(),
        handler: "index.handler".into(),
        code: CodeSource::Inline(source.into()),
        environment: BTreeMap::from([("K".to_owned(), "v".to_owned())]),
        timeout: Duration::from_secs(5),
        memory_mb: 256,
        reserved_concurrency: reserved,
        region: "eu-west-1".into(),
    }
}

async fn start() -> (String, Arc<Runtime>) {
    let dir = std::env::temp_dir().join(format!(
        "stackgate-invoke-api-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = Arc::new(Runtime::new(
        vec![
            node(
                "slow",
                "exports.handler = async () => { await new Promise(r => setTimeout(r, 1500)); return 'done'; };",
                Some(1),
            ),
            node(
                "context",
                "exports.handler = async (event, context) => ({ clientContext: context.clientContext, arn: context.invokedFunctionArn, event });",
                None,
            ),
        ],
        RuntimeOptions {
            max_environments: 2,
            work_dir: dir,
        },
    ));
    let api = Arc::new(InvokeApi::new(
        runtime.clone(),
        vec![ApiFunction {
            name: "context".into(),
            aliases: vec!["ContextFunction".into()],
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            description: Some("echoes its context".into()),
            async_config: Default::default(),
        }],
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(api.serve(listener));
    (url, runtime)
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_concurrency_throttles_with_429() {
    let (url, runtime) = start().await;
    let client = reqwest::Client::new();
    let endpoint = format!("{url}/2015-03-31/functions/slow/invocations");
    let first = tokio::spawn(client.post(&endpoint).body("{}").send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = client.post(&endpoint).body("{}").send().await.unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(
        second.headers()["x-amzn-errortype"],
        "TooManyRequestsException"
    );
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(
        body["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    assert_eq!(body["Type"], "User");
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "\"done\"");
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_context_aliases_and_configuration() {
    let (url, runtime) = start().await;
    let client = reqwest::Client::new();
    // `{"custom":{"a":1}}`, base64.
    let reply = client
        .post(format!(
            "{url}/2015-03-31/functions/ContextFunction/invocations"
        ))
        .header("X-Amz-Client-Context", "eyJjdXN0b20iOnsiYSI6MX19")
        .body(r#"{"x":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["clientContext"]["custom"]["a"], 1, "{body}");
    assert_eq!(body["event"]["x"], 1);
    assert_eq!(
        body["arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:context"
    );

    // Another region in the ARN is another function.
    let reply = client
        .post(format!("{url}/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acontext/invocations"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);

    let config: serde_json::Value = client
        .get(format!(
            "{url}/2015-03-31/functions/ContextFunction/configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["FunctionName"], "context");
    assert_eq!(config["Role"], "arn:aws:iam::123456789012:role/r");
    assert_eq!(config["Description"], "echoes its context");
    assert_eq!(config["MemorySize"], 256);
    assert_eq!(config["Environment"]["Variables"]["K"], "v");

    let list: serde_json::Value = client
        .get(format!("{url}/2015-03-31/functions?MaxItems=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["Functions"][0]["FunctionName"], "context");
    assert_eq!(list["NextMarker"], "1");
    let list: serde_json::Value = client
        .get(format!("{url}/2015-03-31/functions?Marker=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["Functions"][0]["FunctionName"], "slow");
    assert_eq!(list["NextMarker"], serde_json::Value::Null);

    let get: serde_json::Value = client
        .get(format!("{url}/2015-03-31/functions/slow"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["Concurrency"]["ReservedConcurrentExecutions"], 1);
    runtime.shutdown().await;
}

/// What a function wrote to `file` so far: one line per attempt (request id, time).
fn lines_now(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// [`lines_now`] once `want` lines are there (or after 10 s).
async fn attempts(file: &std::path::Path, want: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let lines = lines_now(file);
        if lines.len() >= want || std::time::Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_async_invocations_are_retried_like_lambda() {
    let dir = std::env::temp_dir().join(format!(
        "stackgate-async-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // Each attempt writes its request id (and the time) to the file the event names.
    let failing = "exports.handler = async (event, context) => { require('fs').appendFileSync(event.file, context.awsRequestId + ' ' + Date.now() + '\\n'); throw new Error('fails on purpose'); };";
    let ok = "exports.handler = async (event, context) => { require('fs').appendFileSync(event.file, context.awsRequestId + ' ' + Date.now() + '\\n'); await new Promise(r => setTimeout(r, event.hold || 0)); return 'ok'; };";
    let runtime = Arc::new(Runtime::new(
        vec![
            node("flaky", failing, None),
            node("once", failing, None),
            node("single", ok, Some(1)),
        ],
        RuntimeOptions {
            max_environments: 2,
            work_dir: dir.join("work"),
        },
    ));
    let api_function = |name: &str, async_config| ApiFunction {
        name: name.into(),
        aliases: vec![],
        role: None,
        description: None,
        async_config,
    };
    let unit = Duration::from_millis(400);
    let api = Arc::new(
        InvokeApi::new(
            runtime.clone(),
            vec![
                api_function("flaky", AsyncConfig::default()),
                api_function(
                    "once",
                    AsyncConfig {
                        max_retry_attempts: 0,
                        ..AsyncConfig::default()
                    },
                ),
                api_function("single", AsyncConfig::default()),
            ],
        )
        .with_retry_timing(RetryTiming { unit }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(api.serve(listener));
    let client = reqwest::Client::new();
    let event = |name: &str, file: &std::path::Path, hold: u64| {
        client
            .post(format!("{url}/2015-03-31/functions/{name}/invocations"))
            .header("X-Amz-Invocation-Type", "Event")
            .body(serde_json::json!({ "file": file, "hold": hold }).to_string())
            .send()
    };

    // Default: three attempts, the same request id, one unit then two units apart.
    let file = dir.join("flaky.txt");
    let reply = event("flaky", &file, 0).await.unwrap();
    assert_eq!(reply.status(), 202);
    let id = reply.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let lines = attempts(&file, 3).await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    let times: Vec<u64> = lines
        .iter()
        .map(|l| {
            let (rid, t) = l.split_once(' ').unwrap();
            assert_eq!(rid, id, "every attempt keeps the request id");
            t.parse().unwrap()
        })
        .collect();
    let unit_ms = unit.as_millis() as u64;
    assert!(times[1] - times[0] >= unit_ms, "{times:?}");
    assert!(times[2] - times[1] >= 2 * unit_ms, "{times:?}");
    // And no fourth.
    tokio::time::sleep(unit * 4).await;
    assert_eq!(lines_now(&file).len(), 3);

    // MaximumRetryAttempts 0: one attempt.
    let file = dir.join("once.txt");
    assert_eq!(event("once", &file, 0).await.unwrap().status(), 202);
    assert_eq!(attempts(&file, 1).await.len(), 1);
    tokio::time::sleep(unit * 2).await;
    assert_eq!(lines_now(&file).len(), 1);

    // Throttled (reserved concurrency 1, busy): back in the queue, run once the slot is free.
    let file = dir.join("single.txt");
    assert_eq!(event("single", &file, 800).await.unwrap().status(), 202);
    assert_eq!(attempts(&file, 1).await.len(), 1);
    assert_eq!(event("single", &file, 0).await.unwrap().status(), 202);
    let lines = attempts(&file, 2).await;
    assert_eq!(lines.len(), 2, "the throttled event ran later: {lines:?}");
    runtime.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
