//! End-to-end invocations through real `node` and `python3` processes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use stackgate_runtime::{
    CodeSource, FunctionSpec, Invocation, InvocationResult, InvokeError, Outcome, Runtime,
    RuntimeOptions,
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

fn spec(name: &str, runtime: &str, handler: &str, code: CodeSource) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        arn: format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        runtime: runtime.into(),
        handler: handler.into(),
        code,
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(5),
        memory_mb: 128,
        reserved_concurrency: None,
        region: "eu-west-1".into(),
    }
}

fn node(name: &str, source: &str) -> FunctionSpec {
    spec(
        name,
        "nodejs22.x",
        "index.handler",
        CodeSource::Inline(source.into()),
    )
}

fn runtime(functions: Vec<FunctionSpec>) -> (Runtime, PathBuf) {
    let dir = temp_dir("w");
    let rt = Runtime::new(
        functions,
        RuntimeOptions {
            max_environments: 10,
            work_dir: dir.clone(),
        },
    );
    (rt, dir)
}

fn event(json: &str) -> Invocation {
    Invocation {
        payload: Bytes::copy_from_slice(json.as_bytes()),
        ..Invocation::default()
    }
}

async fn call(rt: &Runtime, f: &str, json: &str) -> InvocationResult {
    rt.invoke(f, event(json)).await.unwrap()
}

fn ok_json(r: &InvocationResult) -> serde_json::Value {
    match &r.outcome {
        Outcome::Response { payload, .. } => serde_json::from_slice(payload).unwrap(),
        other => panic!("expected a response, got {other:?}\nlog:\n{}", r.log),
    }
}

fn err_json(r: &InvocationResult) -> (String, serde_json::Value) {
    match &r.outcome {
        Outcome::FunctionError {
            error_type,
            payload,
        } => (error_type.clone(), serde_json::from_slice(payload).unwrap()),
        other => panic!("expected a function error, got {other:?}\nlog:\n{}", r.log),
    }
}

/// As in CloudWatch: what a function prints while it initialises (module scope) is logged
/// before the first invocation's START; what the handler prints, between START and END.
#[tokio::test]
async fn init_output_comes_before_start() {
    let f = node(
        "initlog",
        r#"console.log("loading the module");
        exports.handler = async () => { console.log("in the handler"); return 1; };"#,
    );
    let (rt, _dir) = runtime(vec![f]);
    let r = call(&rt, "initlog", "{}").await;
    let at = |needle: &str| {
        r.log
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{}", r.log))
    };
    assert!(
        at("loading the module") < at("START RequestId:"),
        "{}",
        r.log
    );
    assert!(at("START RequestId:") < at("in the handler"), "{}", r.log);
    assert!(at("in the handler") < at("END RequestId:"), "{}", r.log);
    // The next invocation's log is its own.
    let r = call(&rt, "initlog", "{}").await;
    assert!(r.log.starts_with("START RequestId:"), "{}", r.log);
    assert!(!r.log.contains("loading the module"), "{}", r.log);
}

#[tokio::test]
async fn node_async_handler_logs_and_env() {
    let mut f = node(
        "hello",
        r#"exports.handler = async (event, context) => {
            console.log("got", event.name);
            return { hi: event.name, fn: process.env.AWS_LAMBDA_FUNCTION_NAME,
                     user: process.env.GREETING, region: process.env.AWS_REGION,
                     tz: process.env.TZ, mem: context.memoryLimitInMB,
                     arn: context.invokedFunctionArn, id: context.awsRequestId,
                     handlerEnv: process.env._HANDLER, maxc: process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? null,
                     cwd: process.cwd() === process.env.LAMBDA_TASK_ROOT };
        };"#,
    );
    f.environment.insert("GREETING".into(), "hello".into());
    f.environment
        .insert("AWS_LAMBDA_FUNCTION_NAME".into(), "overridden".into());
    let (rt, _dir) = runtime(vec![f]);
    let mut inv = event(r#"{"name":"ada"}"#);
    inv.qualifier = Some("live".into());
    let r = rt.invoke("hello", inv).await.unwrap();
    let v = ok_json(&r);
    assert_eq!(v["hi"], "ada");
    assert_eq!(v["fn"], "hello");
    assert_eq!(v["user"], "hello");
    assert_eq!(v["region"], "eu-west-1");
    assert_eq!(v["tz"], ":UTC");
    assert_eq!(v["mem"], "128");
    assert_eq!(v["handlerEnv"], "index.handler");
    assert_eq!(v["maxc"], serde_json::Value::Null);
    assert_eq!(v["cwd"], true);
    assert_eq!(
        v["arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:hello:live"
    );
    assert_eq!(v["id"], r.request_id.as_str());
    assert_eq!(r.request_id.len(), 36);
    let lines: Vec<&str> = r.log.lines().collect();
    assert!(lines[0].starts_with("START RequestId: "), "{}", r.log);
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("\t{}\tINFO\tgot ada", r.request_id))),
        "{}",
        r.log
    );
    assert!(lines.iter().any(|l| l.starts_with("END RequestId: ")));
    let report = lines.last().unwrap();
    assert!(report.starts_with("REPORT RequestId: "), "{}", r.log);
    assert!(report.contains("Init Duration: "), "{report}");
    assert!(report.contains("Memory Size: 128 MB"));

    // Warm: no Init Duration.
    let r = call(&rt, "hello", r#"{"name":"bob"}"#).await;
    assert_eq!(ok_json(&r)["hi"], "bob");
    assert!(!r.log.contains("Init Duration"), "{}", r.log);
    rt.shutdown().await;
}

#[tokio::test]
async fn node_callback_context_and_esm() {
    let dir = temp_dir("esm");
    std::fs::write(
        dir.join("app.mjs"),
        "export const handler = async (e, ctx) => ({ esm: true, remaining: ctx.getRemainingTimeInMillis() });\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("lib/cb.js"),
        "exports.nested = { fn: (e, ctx, cb) => { setTimeout(() => cb(null, { cb: e.x + 1 }), 10); } };\nexports.undef = async () => undefined;\n",
    )
    .unwrap();
    let esm = spec(
        "esm",
        "nodejs20.x",
        "app.handler",
        CodeSource::Path(dir.clone()),
    );
    let cb = spec(
        "cb",
        "nodejs20.x",
        "lib/cb.nested.fn",
        CodeSource::Path(dir.clone()),
    );
    let undef = spec(
        "undef",
        "nodejs20.x",
        "lib/cb.undef",
        CodeSource::Path(dir.clone()),
    );
    std::fs::create_dir_all(dir.join("modjs")).unwrap();
    std::fs::write(dir.join("modjs/package.json"), r#"{"type":"module"}"#).unwrap();
    std::fs::write(
        dir.join("modjs/app.js"),
        "export const handler = async () => ({ typeModule: true });\n",
    )
    .unwrap();
    let modjs = spec(
        "modjs",
        "nodejs20.x",
        "modjs/app.handler",
        CodeSource::Path(dir.clone()),
    );
    let malformed = spec(
        "malformed",
        "nodejs20.x",
        "../app.handler",
        CodeSource::Path(dir.clone()),
    );
    let (rt, _w) = runtime(vec![esm, cb, undef, modjs, malformed]);
    assert_eq!(ok_json(&call(&rt, "modjs", "{}").await)["typeModule"], true);
    let (t, _) = err_json(&call(&rt, "malformed", "{}").await);
    assert_eq!(t, "Runtime.MalformedHandlerName");
    let v = ok_json(&call(&rt, "esm", "{}").await);
    assert_eq!(v["esm"], true);
    let remaining = v["remaining"].as_i64().unwrap();
    assert!(remaining > 3000 && remaining <= 5000, "{remaining}");
    let v = ok_json(&call(&rt, "cb", r#"{"x":41}"#).await);
    assert_eq!(v["cb"], 42);
    let r = call(&rt, "undef", "{}").await;
    assert_eq!(ok_json(&r), serde_json::Value::Null);
    rt.shutdown().await;
}

#[tokio::test]
async fn node_errors() {
    let throws = node(
        "throws",
        "class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; } }\nexports.handler = async () => { throw new MyError('boom'); };",
    );
    let missing = node("missing", "exports.other = async () => 1;");
    let (rt, _w) = runtime(vec![throws, missing]);
    let r = call(&rt, "throws", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "MyError");
    assert_eq!(v["errorType"], "MyError");
    assert_eq!(v["errorMessage"], "boom");
    assert!(v["trace"].is_array());
    assert!(r.log.contains("ERROR\tInvoke Error"), "{}", r.log);
    // The environment survives a handled error.
    let r2 = call(&rt, "throws", "{}").await;
    assert!(!r2.log.contains("Init Duration"), "{}", r2.log);

    let r = call(&rt, "missing", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.HandlerNotFound");
    assert_eq!(
        v["errorMessage"],
        "index.handler is undefined or not exported"
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn node_timeout_then_fresh_env() {
    let mut f = node(
        "slow",
        "let n = 0;\nexports.handler = async (e) => { n++; if (e.sleep) await new Promise(r => setTimeout(r, 5000)); return n; };",
    );
    f.timeout = Duration::from_secs(1);
    let (rt, _w) = runtime(vec![f]);
    let start = Instant::now();
    let r = call(&rt, "slow", r#"{"sleep":true}"#).await;
    assert!(start.elapsed() < Duration::from_secs(4));
    let (t, v) = err_json(&r);
    assert_eq!(t, "Sandbox.Timedout");
    assert_eq!(
        v["errorMessage"],
        format!(
            "RequestId: {} Error: Task timed out after 1.00 seconds",
            r.request_id
        )
    );
    assert!(r.log.contains("Status: timeout"), "{}", r.log);
    // A fresh environment: the counter starts again.
    let r = call(&rt, "slow", "{}").await;
    assert_eq!(ok_json(&r), 1);
    assert!(r.log.contains("Init Duration"), "{}", r.log);
    rt.shutdown().await;
}

#[tokio::test]
async fn node_exit_mid_invoke() {
    let f = node(
        "exits",
        "let n = 0;\nexports.handler = async (e) => { n++; if (e.exit) process.exit(42); return n; };",
    );
    let (rt, _w) = runtime(vec![f]);
    assert_eq!(ok_json(&call(&rt, "exits", "{}").await), 1);
    assert_eq!(ok_json(&call(&rt, "exits", "{}").await), 2);
    let r = call(&rt, "exits", r#"{"exit":true}"#).await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.ExitError");
    assert_eq!(
        v["errorMessage"],
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 42",
            r.request_id
        )
    );
    assert!(
        r.log
            .contains("Status: error\tError Type: Runtime.ExitError"),
        "{}",
        r.log
    );
    assert_eq!(ok_json(&call(&rt, "exits", "{}").await), 1);
    rt.shutdown().await;
}

#[tokio::test]
async fn node_concurrency_and_throttling() {
    let src = "exports.handler = async () => { await new Promise(r => setTimeout(r, 700)); return process.pid; };";
    let parallel = node("parallel", src);
    let mut reserved = node("reserved", src);
    reserved.reserved_concurrency = Some(1);
    let mut zero = node("zero", src);
    zero.reserved_concurrency = Some(0);
    let (rt, _w) = runtime(vec![parallel, reserved, zero]);
    // Warm one up so the timing below is not all cold start.
    call(&rt, "parallel", "{}").await;
    let start = Instant::now();
    let (a, b) = tokio::join!(call(&rt, "parallel", "{}"), call(&rt, "parallel", "{}"));
    let elapsed = start.elapsed();
    assert_ne!(ok_json(&a), ok_json(&b), "two environments");
    assert!(elapsed < Duration::from_millis(1350), "{elapsed:?}");

    let (a, b) = tokio::join!(
        rt.invoke("reserved", event("{}")),
        rt.invoke("reserved", event("{}"))
    );
    let throttled = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(InvokeError::Throttled { limit: 1, .. })))
        .count();
    assert_eq!(throttled, 1, "{a:?} {b:?}");
    assert!(matches!(
        rt.invoke("zero", event("{}")).await,
        Err(InvokeError::Throttled { limit: 0, .. })
    ));
    assert!(matches!(
        rt.invoke("nope", event("{}")).await,
        Err(InvokeError::NotFound(_))
    ));
    rt.shutdown().await;
}

#[tokio::test]
async fn oversized_response() {
    let f = node(
        "big",
        "exports.handler = async (e) => e.big ? 'x'.repeat(7 * 1024 * 1024) : 'small';",
    );
    let (rt, _w) = runtime(vec![f]);
    let r = call(&rt, "big", r#"{"big":true}"#).await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Function.ResponseSizeTooLarge");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exceeded maximum allowed payload size (6291556 bytes)")
    );
    // The environment is still usable.
    assert_eq!(ok_json(&call(&rt, "big", "{}").await), "small");
    rt.shutdown().await;
}

#[tokio::test]
async fn python_success_and_exception() {
    let mut ok = spec(
        "py",
        "python3.12",
        "index.handler",
        CodeSource::Inline(
            "import os\ncount = 0\ndef handler(event, context):\n    global count\n    count += 1\n    print('hello from python')\n    return {'n': count, 'fn': os.environ['AWS_LAMBDA_FUNCTION_NAME'], 'user': os.environ.get('COLOR'), 'remaining': context.get_remaining_time_in_millis(), 'id': context.aws_request_id}\n"
                .into(),
        ),
    );
    ok.environment.insert("COLOR".into(), "blue".into());
    let dir = temp_dir("py");
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(
        dir.join("pkg/app.py"),
        "def handler(event, context):\n    raise KeyError('missing')\n",
    )
    .unwrap();
    let bad = spec(
        "pybad",
        "python3.11",
        "pkg/app.handler",
        CodeSource::Path(dir),
    );
    let noimport = spec(
        "pynoimport",
        "python3.11",
        "nothere.handler",
        CodeSource::Path(temp_dir("empty")),
    );
    let (rt, _w) = runtime(vec![ok, bad, noimport]);
    let r = call(&rt, "py", "{}").await;
    let v = ok_json(&r);
    assert_eq!(v["n"], 1);
    assert_eq!(v["fn"], "py");
    assert_eq!(v["user"], "blue");
    assert_eq!(v["id"], r.request_id.as_str());
    assert!(v["remaining"].as_i64().unwrap() > 3000);
    assert!(r.log.lines().any(|l| l == "hello from python"), "{}", r.log);
    assert_eq!(ok_json(&call(&rt, "py", "{}").await)["n"], 2);

    let r = call(&rt, "pybad", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "KeyError");
    assert_eq!(v["errorMessage"], "'missing'");
    assert_eq!(v["requestId"], r.request_id.as_str());
    assert!(!v["stackTrace"].as_array().unwrap().is_empty());

    let r = call(&rt, "pynoimport", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.ImportModuleError");
    assert_eq!(
        v["errorMessage"],
        "Unable to import module 'nothere': No module named 'nothere'"
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn provided_bootstrap() {
    let dir = temp_dir("provided");
    let missing = spec(
        "nobootstrap",
        "provided.al2023",
        "bootstrap",
        CodeSource::Path(dir.clone()),
    );
    let unsupported = spec("java", "java21", "x::y", CodeSource::Path(dir.clone()));
    let (rt, _w) = runtime(vec![missing, unsupported]);
    let r = call(&rt, "nobootstrap", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.InvalidEntrypoint");
    let msg = v["errorMessage"].as_str().unwrap();
    assert!(
        msg.ends_with("bootstrap: no such file or directory"),
        "{msg}"
    );
    match rt.invoke("java", event("{}")).await {
        Err(InvokeError::Setup { message, .. }) => assert!(message.contains("java21")),
        other => panic!("{other:?}"),
    }
    rt.shutdown().await;
}

/// A `provided.al2023` function whose `bootstrap` (a Python script, standing in for a Go or Rust
/// binary) is shipped in a .zip: extraction keeps the executable bit.
#[tokio::test]
async fn provided_bootstrap_from_zip() {
    let dir = temp_dir("zip");
    let bootstrap = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    print("bootstrap got", event["n"], flush=True)
    body = json.dumps({"n": event["n"] * 2, "exec_env": os.environ.get("AWS_EXECUTION_ENV"),
                       "handler": os.environ["_HANDLER"]}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;
    let script = format!(
        "import zipfile\nz = zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED)\ni = zipfile.ZipInfo('bootstrap')\ni.external_attr = 0o100755 << 16\ni.compress_type = zipfile.ZIP_DEFLATED\nz.writestr(i, {:?})\nz.close()\n",
        dir.join("fn.zip").display().to_string(),
        bootstrap
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let f = spec(
        "custom",
        "provided.al2023",
        "my.handler",
        CodeSource::Path(dir.join("fn.zip")),
    );
    let (rt, _w) = runtime(vec![f]);
    let r = call(&rt, "custom", r#"{"n":21}"#).await;
    let v = ok_json(&r);
    assert_eq!(v["n"], 42);
    assert_eq!(v["exec_env"], serde_json::Value::Null);
    assert_eq!(v["handler"], "my.handler");
    assert!(r.log.contains("bootstrap got 21"), "{}", r.log);
    assert_eq!(ok_json(&call(&rt, "custom", r#"{"n":1}"#).await)["n"], 2);
    rt.shutdown().await;
}

#[tokio::test]
async fn python_init_errors() {
    let dir = temp_dir("pyinit");
    std::fs::write(dir.join("syntax.py"), "def handler(:\n").unwrap();
    std::fs::write(dir.join("ok.py"), "x = 1\n").unwrap();
    let syntax = spec(
        "syntax",
        "python3.11",
        "syntax.handler",
        CodeSource::Path(dir.clone()),
    );
    let missing = spec(
        "nohandler",
        "python3.11",
        "ok.handler",
        CodeSource::Path(dir),
    );
    let (rt, _w) = runtime(vec![syntax, missing]);
    let r = call(&rt, "syntax", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.UserCodeSyntaxError");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Syntax error in module 'syntax'")
    );
    assert!(r.log.contains("INIT_REPORT"), "{}", r.log);
    let r = call(&rt, "nohandler", "{}").await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "Runtime.HandlerNotFound");
    assert_eq!(
        v["errorMessage"],
        "Handler 'handler' missing on module 'ok'"
    );
    // Init is retried on the next invoke.
    let (t, _) = err_json(&call(&rt, "nohandler", "{}").await);
    assert_eq!(t, "Runtime.HandlerNotFound");
    rt.shutdown().await;
}

/// The invocation goes on (and the environment returns to the pool) when the caller gives up.
#[tokio::test]
async fn dropped_caller_does_not_break_the_pool() {
    let f = node(
        "dropme",
        "let n = 0;\nexports.handler = async () => { n++; await new Promise(r => setTimeout(r, 300)); return n; };",
    );
    let (rt, _w) = runtime(vec![f]);
    assert_eq!(ok_json(&call(&rt, "dropme", "{}").await), 1);
    let gave_up =
        tokio::time::timeout(Duration::from_millis(50), rt.invoke("dropme", event("{}"))).await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Same warm environment, which finished the abandoned invocation.
    assert_eq!(ok_json(&call(&rt, "dropme", "{}").await), 3);
    rt.shutdown().await;
}

/// An uncaught exception during an invoke is reported, then the process exits (129) and the
/// next invoke runs in a fresh environment without failing.
#[tokio::test]
async fn node_uncaught_exception_resets_environment() {
    let f = node(
        "uncaught",
        "let n = 0;\nexports.handler = async (e) => { n++; if (e.boom) { setTimeout(() => { throw new TypeError('late'); }, 5); await new Promise(r => setTimeout(r, 1000)); } return n; };",
    );
    let (rt, _w) = runtime(vec![f]);
    assert_eq!(ok_json(&call(&rt, "uncaught", "{}").await), 1);
    let r = call(&rt, "uncaught", r#"{"boom":true}"#).await;
    let (t, v) = err_json(&r);
    assert_eq!(t, "TypeError");
    assert_eq!(v["errorMessage"], "late");
    assert!(r.log.contains("Uncaught Exception"), "{}", r.log);
    for _ in 0..3 {
        assert_eq!(ok_json(&call(&rt, "uncaught", "{}").await), 1);
        call(&rt, "uncaught", r#"{"boom":true}"#).await;
    }
    rt.shutdown().await;
}
