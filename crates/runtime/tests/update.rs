//! `Runtime::update` (hot reload): unchanged functions stay warm, changed ones get fresh
//! environments while in-flight invocations finish on the old ones, removed ones go away.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use stackgate_runtime::{
    CodeSource, FunctionSpec, Invocation, InvokeError, Outcome, Runtime, RuntimeOptions,
};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stackgate-runtime-test-{tag}-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn node(name: &str, source: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        arn: format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        runtime: "nodejs22.x".into(),
        handler: "index.handler".into(),
        code: CodeSource::Inline(source.into()),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(5),
        memory_mb: 128,
        reserved_concurrency: None,
        region: "eu-west-1".into(),
    }
}

/// A handler answering `{tag, pid}` after `delay_ms`.
fn tagged(name: &str, tag: &str, delay_ms: u64) -> FunctionSpec {
    node(
        name,
        &format!(
            "exports.handler = async () => {{ await new Promise(r => setTimeout(r, {delay_ms})); return {{ tag: '{tag}', pid: process.pid }}; }};"
        ),
    )
}

async fn call(rt: &Runtime, f: &str) -> (String, u64) {
    let result = rt
        .invoke(
            f,
            Invocation {
                payload: Bytes::from_static(b"{}"),
                ..Invocation::default()
            },
        )
        .await
        .unwrap();
    match result.outcome {
        Outcome::Response { payload, .. } => {
            let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            (
                v["tag"].as_str().unwrap().to_owned(),
                v["pid"].as_u64().unwrap(),
            )
        }
        other => panic!("expected a response, got {other:?}\n{}", result.log),
    }
}

fn alive(pid: u64) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

async fn gone(pid: u64) -> bool {
    for _ in 0..100 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn runtime(functions: Vec<FunctionSpec>) -> Arc<Runtime> {
    Arc::new(Runtime::new(
        functions,
        RuntimeOptions {
            max_environments: 4,
            work_dir: temp_dir("update"),
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_functions_stay_warm_changed_ones_restart() {
    let rt = runtime(vec![tagged("keep", "k1", 0), tagged("change", "c1", 0)]);
    let (_, keep_pid) = call(&rt, "keep").await;
    let (tag, change_pid) = call(&rt, "change").await;
    assert_eq!(tag, "c1");

    let summary = rt.update(
        vec![tagged("keep", "k1", 0), tagged("change", "c2", 0)],
        &HashSet::new(),
    );
    assert_eq!(summary.replaced, vec!["change".to_owned()]);
    assert!(summary.added.is_empty() && summary.removed.is_empty());

    assert_eq!(call(&rt, "keep").await, ("k1".to_owned(), keep_pid));
    let (tag, new_pid) = call(&rt, "change").await;
    assert_eq!(tag, "c2");
    assert_ne!(new_pid, change_pid);
    assert!(
        gone(change_pid).await,
        "the replaced environment is shut down"
    );

    // Same spec, but the cli says its code changed: a fresh environment too.
    let changed: HashSet<String> = ["keep".to_owned()].into();
    let summary = rt.update(
        vec![tagged("keep", "k1", 0), tagged("change", "c2", 0)],
        &changed,
    );
    assert_eq!(summary.replaced, vec!["keep".to_owned()]);
    let (_, pid) = call(&rt, "keep").await;
    assert_ne!(pid, keep_pid);
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_invocations_finish_on_the_old_environment() {
    let rt = runtime(vec![tagged("slow", "old", 800)]);
    let background = {
        let rt = rt.clone();
        tokio::spawn(async move { call(&rt, "slow").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = rt.update(vec![tagged("slow", "new", 0)], &HashSet::new());
    assert_eq!(summary.replaced, vec!["slow".to_owned()]);
    let (tag, _) = call(&rt, "slow").await;
    assert_eq!(tag, "new", "new invocations run the new code at once");
    let (tag, old_pid) = background.await.unwrap();
    assert_eq!(
        tag, "old",
        "the in-flight invocation finishes on the old code"
    );
    assert!(
        gone(old_pid).await,
        "the old environment is shut down after"
    );
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_and_removed_functions() {
    let rt = runtime(vec![tagged("a", "a", 0)]);
    let (_, a_pid) = call(&rt, "a").await;
    let summary = rt.update(vec![tagged("b", "b", 0)], &HashSet::new());
    assert_eq!(summary.added, vec!["b".to_owned()]);
    assert_eq!(summary.removed, vec!["a".to_owned()]);
    assert!(matches!(
        rt.invoke("a", Invocation::default()).await,
        Err(InvokeError::NotFound(_))
    ));
    assert!(gone(a_pid).await);
    assert_eq!(call(&rt, "b").await.0, "b");
    assert_eq!(
        rt.functions()
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    rt.shutdown().await;
}

/// Reserved concurrency holds across a reload: an invocation still running on the replaced
/// pool's environment counts against the new pool's limit (Lambda has one limit per function).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_holds_across_a_reload() {
    let limited = |tag: &str, delay_ms: u64| FunctionSpec {
        reserved_concurrency: Some(1),
        ..tagged("one", tag, delay_ms)
    };
    let rt = runtime(vec![limited("old", 800)]);
    let background = {
        let rt = rt.clone();
        tokio::spawn(async move { call(&rt, "one").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = rt.update(vec![limited("new", 0)], &HashSet::new());
    assert_eq!(summary.replaced, vec!["one".to_owned()]);
    assert!(
        matches!(
            rt.invoke("one", Invocation::default()).await,
            Err(InvokeError::Throttled { limit: 1, .. })
        ),
        "the old invocation still holds the function's one slot"
    );
    assert_eq!(background.await.unwrap().0, "old");
    assert_eq!(call(&rt, "one").await.0, "new", "the slot is free again");
    rt.shutdown().await;
}
