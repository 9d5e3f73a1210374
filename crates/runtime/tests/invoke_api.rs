//! The Invoke API over a real runtime: throttling by reserved concurrency, client context,
//! aliases (other names), configuration.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use stackgate_runtime::invoke_api::{ApiFunction, InvokeApi};
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
