//! `stackgate invoke TEMPLATE FUNCTION`: one invocation without a server, like
//! `sam local invoke`. The result payload goes to stdout, the function's log (START … REPORT) to
//! stderr; the exit status is 1 on a function error. `--event-from "GET /path"` builds the event
//! the matching route would send (through the gateway's own selection, authorization and event
//! builders, `stackgate_gateway::offline`).
//!
//! Also: the names the Lambda Invoke API of `serve` knows each function by ([`api_functions`]).

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use stackgate_gateway::offline::{self, OfflineAuth, OfflineRequest};
use stackgate_runtime::invoke_api::{ApiFunction, AsyncConfig};
use stackgate_runtime::{Invocation, Outcome, Runtime, RuntimeOptions};
use stackgate_template::Model;

use crate::args::InvokeArgs;
use crate::load::{load_template, state_dir};

/// For the Invoke API: every function of the template, known also by its logical id.
pub fn api_functions(model: &Model) -> Vec<ApiFunction> {
    model
        .functions
        .iter()
        .map(|f| ApiFunction {
            name: f.name.clone(),
            aliases: vec![f.logical_id.clone()],
            role: f.role_arn.clone(),
            description: None,
            async_config: async_config(model, f),
        })
        .collect()
}

/// The function's `AWS::Lambda::EventInvokeConfig` for `$LATEST`, else Lambda's defaults.
fn async_config(model: &Model, function: &stackgate_template::Function) -> AsyncConfig {
    let mut config = AsyncConfig::default();
    let found = model.event_invoke_configs.iter().find(|c| {
        c.qualifier == "$LATEST"
            && stackgate_iam::FunctionName::text_names(&c.function_name, function)
    });
    if let Some(c) = found {
        if let Some(n) = c.maximum_retry_attempts {
            config.max_retry_attempts = u32::try_from(n).unwrap_or(2);
        }
        if let Some(s) = c.maximum_event_age_s {
            config.max_event_age = Duration::from_secs(s);
        }
    }
    config
}

pub fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let model = load_template(&args.template)?;
    let state = state_dir(&args.template)?;
    crate::load::block_on(invoke(args, model, state))?
}

async fn invoke(
    args: InvokeArgs,
    model: Model,
    state: std::path::PathBuf,
) -> anyhow::Result<ExitCode> {
    let (function_name, payload) = match &args.event_from {
        Some(request) => {
            let event = event_from(&args, &model, &state, request).await?;
            let name = event.function.function_name.clone();
            if let Some(wanted) = &args.function {
                let wanted_name = find_function(&model, wanted)?;
                if wanted_name != name {
                    bail!(
                        "route {:?} invokes {name}, not {wanted}; leave FUNCTION out with --event-from",
                        event.route_key
                    );
                }
            }
            eprintln!(
                "stackgate: route {:?} (stage {}) → {name}, payload {}",
                event.route_key, event.stage, event.payload_version
            );
            (name, event.payload)
        }
        None => {
            let Some(function) = &args.function else {
                bail!(
                    "name the FUNCTION to invoke (logical id or function name), or use --event-from \"GET /path\""
                );
            };
            (
                find_function(&model, function)?,
                read_event(args.event.as_deref())?,
            )
        }
    };

    let functions = model
        .functions
        .iter()
        .filter(|f| f.name == function_name)
        .map(crate::serve::function_spec)
        .collect();
    let runtime = Runtime::new(
        functions,
        RuntimeOptions {
            max_environments: 1,
            work_dir: state,
        },
    );
    let result = runtime
        .invoke(
            &function_name,
            Invocation {
                payload,
                ..Invocation::default()
            },
        )
        .await;
    runtime.shutdown().await;
    let result = result.with_context(|| format!("Lambda could not invoke {function_name}"))?;

    eprint!("{}", result.log);
    let (payload, failed) = match &result.outcome {
        Outcome::Response { payload, .. } => (payload, None),
        Outcome::FunctionError {
            error_type,
            payload,
        } => (payload, Some(error_type)),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(payload)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .context("cannot write the result")?;
    match failed {
        Some(error_type) => {
            eprintln!(
                "stackgate: {function_name} failed: {error_type} (X-Amz-Function-Error: Unhandled)"
            );
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The function name for a logical id or a function name.
fn find_function(model: &Model, wanted: &str) -> anyhow::Result<String> {
    if let Some(f) = model
        .functions
        .iter()
        .find(|f| f.logical_id == wanted || f.name == wanted)
    {
        return Ok(f.name.clone());
    }
    let known: Vec<String> = model
        .functions
        .iter()
        .map(|f| {
            if f.name == f.logical_id {
                f.name.clone()
            } else {
                format!("{} ({})", f.logical_id, f.name)
            }
        })
        .collect();
    bail!(
        "the template has no function {wanted:?}; its functions: {}",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )
}

/// `--event FILE|-`, or `{}`. It must be JSON, as the Invoke API requires.
fn read_event(source: Option<&str>) -> anyhow::Result<Bytes> {
    let bytes = match source {
        None => return Ok(Bytes::from_static(b"{}")),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the event from stdin")?;
            buf
        }
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read the event file {path}"))?
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    serde_json::from_slice::<serde_json::Value>(&bytes).with_context(|| {
        format!(
            "the event ({}) is not JSON (Lambda refuses it with InvalidRequestContentException)",
            source.unwrap_or("-")
        )
    })?;
    Ok(Bytes::from(bytes))
}

/// The event the route matching `request` ("METHOD /path?query") would send.
async fn event_from(
    args: &InvokeArgs,
    model: &Model,
    state: &std::path::Path,
    request: &str,
) -> anyhow::Result<offline::OfflineEvent> {
    let (method, path) = request
        .trim()
        .split_once(char::is_whitespace)
        .map(|(m, p)| (m, p.trim()))
        .with_context(|| {
            format!(
                "--event-from takes \"METHOD /path?query\", e.g. \"GET /pets/7\"; got {request:?}"
            )
        })?;
    let mut headers = http::HeaderMap::new();
    for raw in &args.headers {
        let (name, value) = raw
            .split_once(':')
            .with_context(|| format!("--header takes \"NAME: VALUE\"; got {raw:?}"))?;
        let name = http::HeaderName::try_from(name.trim())
            .with_context(|| format!("--header {raw:?}: invalid header name"))?;
        let value = http::HeaderValue::try_from(value.trim())
            .with_context(|| format!("--header {raw:?}: invalid header value"))?;
        headers.append(name, value);
    }
    if let Some(token) = &args.token {
        let value = http::HeaderValue::try_from(format!("Bearer {}", token.trim()))
            .context("--token: not a valid header value")?;
        headers.insert(http::header::AUTHORIZATION, value);
    }
    let body = match args.body.as_deref() {
        None => Bytes::new(),
        Some(text) => match text.strip_prefix('@') {
            Some(path) => Bytes::from(
                std::fs::read(path).with_context(|| format!("cannot read the body file {path}"))?,
            ),
            None => Bytes::from(text.to_owned()),
        },
    };
    let auth = if args.token.is_some() && !args.no_verify {
        OfflineAuth::Verify {
            dev_issuer: dev_issuer_for_tokens(model, state, args.issuer_port).await?,
            keys: stackgate_jwt::KeyCache::new(Duration::from_millis(1500)),
        }
    } else {
        OfflineAuth::DecodeOnly
    };
    let request = OfflineRequest {
        api: args.api.as_deref(),
        method,
        path_and_query: path,
        headers,
        body,
        auth,
    };
    offline::build_event_for(model, request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// When an authorizer's issuer has no value, tokens come from the dev issuer
/// (`stackgate token`, `serve`) at `http://127.0.0.1:PORT/`: it is started here on that port
/// to verify them, unless something (a running `serve`) already listens there.
async fn dev_issuer_for_tokens(
    model: &Model,
    state: &std::path::Path,
    port: u16,
) -> anyhow::Result<Option<String>> {
    let Some(first) = model
        .authorizers
        .iter()
        .find(|a| a.authorizer_type == "JWT" && a.issuer.is_none())
    else {
        return Ok(None);
    };
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let url = format!("http://{address}/");
    if let Ok(listener) = tokio::net::TcpListener::bind(address).await {
        let issuer = stackgate_issuer::DevIssuer::load_or_create(state, url.clone())
            .context("cannot load the dev issuer's key")?
            .with_default_audience(first.audience.first().cloned());
        tokio::spawn(async move {
            if let Err(error) = stackgate_issuer::serve(listener, Arc::new(issuer)).await {
                tracing::error!(%error, "dev issuer stopped");
            }
        });
    }
    Ok(Some(url))
}
