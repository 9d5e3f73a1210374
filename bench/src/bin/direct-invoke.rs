//! Baseline (ii): the same function invoked straight through its Runtime API, with no gateway in
//! front — `stackgate-runtime` driving real function processes, as the gateway does.
//!
//! Usage: `direct-invoke RUNTIME HANDLER CODE_DIR CONNECTIONS SECONDS WORK_DIR [PAYLOAD_FILE]`
//! Prints one JSON line: `{"requests":N,"rps":…,"p50_us":…,"p99_us":…}`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use stackgate_runtime::{CodeSource, FunctionSpec, Invocation, Runtime, RuntimeOptions};

/// The same async runtime as `stackgate serve` (`stackgate_runtime::worker_threads`).
fn main() {
    let workers = stackgate_runtime::worker_threads();
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("direct-invoke: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        eprintln!(
            "usage: direct-invoke RUNTIME HANDLER CODE_DIR CONNECTIONS SECONDS WORK_DIR [PAYLOAD_FILE]"
        );
        std::process::exit(2);
    }
    let connections: usize = args[4].parse().unwrap_or(1);
    let seconds: u64 = args[5].parse().unwrap_or(5);
    let payload = match args.get(7) {
        Some(file) => Bytes::from(std::fs::read(file).unwrap_or_default()),
        None => Bytes::from_static(b"{}"),
    };
    let spec = FunctionSpec {
        name: "bench".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
        runtime: args[1].clone(),
        handler: args[2].clone(),
        code: CodeSource::Path(PathBuf::from(&args[3])),
        environment: Default::default(),
        timeout: Duration::from_secs(30),
        memory_mb: 128,
        reserved_concurrency: None,
        region: "us-east-1".into(),
    };
    let runtime = Arc::new(Runtime::new(
        vec![spec],
        RuntimeOptions {
            max_environments: connections.max(1),
            work_dir: PathBuf::from(&args[6]),
        },
    ));
    let invoke = |runtime: Arc<Runtime>, payload: Bytes| async move {
        let invocation = Invocation {
            payload,
            ..Invocation::default()
        };
        runtime.invoke("bench", invocation).await.is_ok()
    };
    // Warm every environment first (cold starts are measured elsewhere).
    let mut warm = Vec::new();
    for _ in 0..connections {
        warm.push(tokio::spawn(invoke(runtime.clone(), payload.clone())));
    }
    for task in warm {
        let _ = task.await;
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let runtime = runtime.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                if invoke(runtime.clone(), payload.clone()).await {
                    latencies.push(t.elapsed().as_micros() as u64);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> u64 {
        if all.is_empty() {
            return 0;
        }
        let index = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[index.min(all.len() - 1)]
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": all.len(),
            "rps": all.len() as f64 / elapsed,
            "p50_us": pct(0.50),
            "p99_us": pct(0.99),
        })
    );
    runtime.shutdown().await;
}
