//! `stackgate serve TEMPLATE`: load the template, start the dev issuer when an authorizer needs
//! one, the function runtime, and the gateway; print where everything is; run until Ctrl-C/SIGTERM.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use stackgate_gateway::{Gateway, GatewayHandle, GatewayOptions, Invoker};
use stackgate_issuer::DevIssuer;
use stackgate_runtime::invoke_api::{InvokeApi, RetryTiming};
use stackgate_runtime::{CodeSource, FunctionSpec, Runtime, RuntimeOptions};
use stackgate_template::{Code, Model};
use tokio::net::TcpListener;

use crate::args::ServeArgs;
use crate::invoker::RuntimeInvoker;
use crate::load::{load_template, state_dir};
use crate::summary::banner;
use crate::watch;

/// AWS's timeout for OIDC discovery and JWKS fetches.
const KEY_FETCH_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let model = load_template(&args.template)?;
    let state = state_dir(&args.template)?;
    crate::load::block_on(serve(args, model, state))?
}

async fn serve(
    args: ServeArgs,
    model: Model,
    state: std::path::PathBuf,
) -> anyhow::Result<ExitCode> {
    let dev_issuer = start_dev_issuer_if_needed(&args, &model, &state).await?;

    let functions = model.functions.iter().map(function_spec).collect();
    let runtime = Arc::new(Runtime::new(
        functions,
        RuntimeOptions {
            max_environments: args.max_environments.max(1),
            work_dir: state.clone(),
        },
    ));
    let invoker: Arc<dyn Invoker> = Arc::new(RuntimeInvoker {
        runtime: runtime.clone(),
    });
    let keys = stackgate_jwt::KeyCache::new(KEY_FETCH_TIMEOUT);
    let options = GatewayOptions {
        dev_issuer: dev_issuer.clone(),
        keys: keys.clone(),
    };
    // Each HTTP API has its own host in AWS; here each gets its own port: the first `--port`, the
    // others free ports.
    let apis: Vec<_> = http_apis(&model).collect();
    anyhow::ensure!(
        !apis.is_empty() || !model.functions.is_empty(),
        "{} defines no HTTP API (AWS::ApiGatewayV2::Api with ProtocolType HTTP) and no function: nothing to serve",
        args.template.template.display()
    );
    let mut servers = BTreeMap::new();
    let mut urls = Vec::new();
    for (index, api) in apis.iter().enumerate() {
        let gateway = Gateway::for_api(&model, &api.logical_id, invoker.clone(), options.clone())
            .with_context(|| format!("API {} cannot be served", api.logical_id))?;
        let port = if index == 0 { args.port } else { 0 };
        let listener = bind(args.host, port, "gateway", "--port").await?;
        let address = listener.local_addr().context("gateway listener address")?;
        let url = format!("http://{}", display_addr(address));
        urls.push((api.logical_id.clone(), url.clone()));
        // A handle, so that hot reload can swap the gateway under the listener.
        let handle = GatewayHandle::new(gateway);
        let task = watch::spawn_api(api.logical_id.clone(), handle.clone(), listener);
        servers.insert(
            api.logical_id.clone(),
            watch::ApiServer { handle, task, url },
        );
    }
    let (lambda_url, lambda_api) = start_lambda_api(&args, &model, &runtime).await?;
    let banner = banner(&model, &urls, dev_issuer.as_deref(), Some(&lambda_url));
    let watching = if args.watching() {
        let reloader = watch::Reloader {
            args: args.clone(),
            state: state.clone(),
            model,
            runtime: runtime.clone(),
            invoker,
            keys,
            dev_issuer,
            apis: servers,
            lambda_api,
        };
        match watch::start(reloader) {
            Ok(watching) => Some(watching),
            Err(error) => {
                tracing::warn!("cannot watch for changes ({error}); serving without hot reload");
                None
            }
        }
    } else {
        // Listeners run in their own tasks; the handles are not needed without reloads.
        drop(servers);
        None
    };
    print!("{banner}");
    println!("stackgate: ready (Ctrl-C stops)");
    flush_stdout();

    shutdown_signal().await;
    tracing::info!("shutting down");
    drop(watching);
    runtime.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The template's HTTP APIs (the ones `serve` serves).
pub(crate) fn http_apis(model: &Model) -> impl Iterator<Item = &stackgate_template::Api> {
    model
        .apis
        .iter()
        .filter(|a| a.protocol_type.eq_ignore_ascii_case("HTTP"))
}

/// Starts the embedded OIDC issuer when a JWT authorizer's issuer resolved to no value, and
/// returns its URL (the `iss` of its tokens, Auth0-style with a trailing slash).
pub(crate) async fn start_dev_issuer_if_needed(
    args: &ServeArgs,
    model: &Model,
    state: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    let needing: Vec<_> = model
        .authorizers
        .iter()
        .filter(|a| a.authorizer_type == "JWT" && a.issuer.is_none())
        .collect();
    let Some(first) = needing.first() else {
        return Ok(None);
    };
    let listener = bind(args.host, args.issuer_port, "dev issuer", "--issuer-port").await?;
    let address = listener
        .local_addr()
        .context("dev issuer listener address")?;
    let url = format!("http://{}/", display_addr(address));
    let issuer = DevIssuer::load_or_create(state, url.clone())
        .context("cannot start the dev issuer")?
        .with_default_audience(first.audience.first().cloned());
    tokio::spawn(async move {
        if let Err(error) = stackgate_issuer::serve(listener, Arc::new(issuer)).await {
            tracing::error!(%error, "dev issuer stopped");
        }
    });
    for authorizer in &needing {
        tracing::info!(
            authorizer = %authorizer.logical_id,
            issuer = %url,
            "JwtConfiguration.Issuer has no value: using the built-in dev issuer"
        );
    }
    Ok(Some(url))
}

/// The Lambda Invoke API on `--lambda-port`; returns its URL and the API (for reloads).
/// Functions answer to their names, ARNs and logical ids.
async fn start_lambda_api(
    args: &ServeArgs,
    model: &Model,
    runtime: &Arc<Runtime>,
) -> anyhow::Result<(String, Arc<InvokeApi>)> {
    let listener = bind(args.host, args.lambda_port, "Lambda API", "--lambda-port").await?;
    let address = listener
        .local_addr()
        .context("Lambda API listener address")?;
    let api = Arc::new(
        InvokeApi::new(runtime.clone(), crate::invoke::api_functions(model))
            .with_retry_timing(retry_timing()),
    );
    let served = api.clone();
    tokio::spawn(async move {
        if let Err(error) = served.serve(listener).await {
            tracing::error!(%error, "Lambda API stopped");
        }
    });
    Ok((format!("http://{}", display_addr(address)), api))
}

pub(crate) async fn bind(
    host: IpAddr,
    port: u16,
    what: &str,
    flag: &str,
) -> anyhow::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(host, port))
        .await
        .with_context(|| {
            format!("cannot listen for the {what} on {host}:{port} (is it in use? {flag} 0 picks a free port)")
        })
}

/// The address to print: a wildcard bind is reached through loopback.
pub(crate) fn display_addr(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

pub(crate) fn function_spec(function: &stackgate_template::Function) -> FunctionSpec {
    FunctionSpec {
        name: function.name.clone(),
        arn: function.arn.clone(),
        runtime: function.runtime.clone(),
        handler: function.handler.clone(),
        code: match &function.code {
            Code::Inline(source) => CodeSource::Inline(source.clone()),
            Code::Path(path) => CodeSource::Path(path.clone()),
        },
        environment: function.environment.clone(),
        timeout: Duration::from_secs(function.timeout_s),
        memory_mb: function.memory_mb,
        reserved_concurrency: function.reserved_concurrency,
        region: function
            .arn
            .split(':')
            .nth(3)
            .unwrap_or("us-east-1")
            .to_string(),
    }
}

fn flush_stdout() {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Lambda's one-minute unit between attempts of a failed asynchronous invocation, unless
/// `STACKGATE_ASYNC_RETRY_UNIT_MS` sets another (so tests need not wait minutes).
fn retry_timing() -> RetryTiming {
    let mut timing = RetryTiming::default();
    if let Some(ms) = std::env::var("STACKGATE_ASYNC_RETRY_UNIT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
    {
        timing.unit = std::time::Duration::from_millis(ms);
    }
    timing
}
