//! API Gateway HTTP API behaviour: stages, routes, JWT authorization, Lambda proxy events and
//! responses, and AWS's own error answers. Knows HTTP; knows nothing of processes: functions are
//! run by whoever implements [`Invoker`].
//!
//! Code map: `server` (hyper listener) → `pipeline` (the request's phases) using `stage` and
//! `router` (selection), `auth` (authorization), `events` (the proxy event), `response` (mapping
//! the function's answer), `error` (AWS's error bodies) and `access_log` (the access line).

mod access_log;
mod auth;
mod clf_time;
mod error;
mod events;
mod handle;
pub mod offline;
mod permissions;
mod pipeline;
mod request_id;
mod response;
mod router;
mod server;
mod stage;

/// The per-request steps, for the criterion benches in `benches/`; not an API.
#[doc(hidden)]
pub mod bench_support {
    pub use crate::events::{ApiInfo, AuthContext, EventInput, v1, v2};
    pub use crate::request_id::new_request_id;
    pub use crate::response::{PayloadVersion, map as map_response};
    pub use crate::router::Router;
    pub use crate::stage::StageInfo;
}

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use stackgate_template::{Api, FunctionTarget, Model};

use crate::auth::{JwtAuthorizer, RouteAuth};
use crate::events::ApiInfo;
use crate::response::PayloadVersion;
use crate::router::Router;
use crate::stage::{StageInfo, Stages};

pub use crate::error::GatewayError;
pub use crate::handle::GatewayHandle;

/// API Gateway's request payload quota.
pub const MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// What the gateway asks of whoever runs the functions (implemented by the cli over
/// `stackgate-runtime`; the gateway never spawns a process).
pub trait Invoker: Send + Sync + 'static {
    /// Invokes `function` synchronously with `payload` (the proxy event JSON). `request_id` is the
    /// gateway's request id, for log correlation.
    fn invoke<'a>(
        &'a self,
        function: &'a FunctionTarget,
        payload: Bytes,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = InvokeOutcome> + Send + 'a>>;
}

/// Result of one Lambda invocation as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's result payload.
    Response(Bytes),
    /// Function error (thrown, timed out, crashed, init failure...): Lambda's error type and JSON.
    FunctionError { error_type: String, payload: Bytes },
    /// Lambda refused the invoke (unknown function, throttled, could not start): the reason.
    Rejected(String),
}

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Issuer URL used by JWT authorizers whose issuer resolved to no value (the dev issuer).
    pub dev_issuer: Option<String>,
    /// Key cache shared by every JWT authorizer.
    pub keys: stackgate_jwt::KeyCache,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

/// What a route's integration resolves to.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Lambda {
        function: FunctionTarget,
        version: PayloadVersion,
        timeout: Duration,
    },
    /// The route cannot reach a function; the reason (cause and fix) is logged with the 500.
    Unusable(String),
}

/// One compiled route.
#[derive(Debug, Clone)]
pub(crate) struct RouteEntry {
    pub key: String,
    pub auth: RouteAuth,
    pub target: Target,
    /// May API Gateway invoke the target's function (role or `AWS::Lambda::Permission`)?
    pub access: permissions::Access,
}

/// The compiled gateway: stages, route tables, authorizers, integrations.
pub struct Gateway {
    pub(crate) api: ApiInfo,
    pub(crate) stages: Stages,
    pub(crate) router: Router,
    pub(crate) routes: Vec<RouteEntry>,
    pub(crate) keys: stackgate_jwt::KeyCache,
    pub(crate) invoker: Arc<dyn Invoker>,
}

impl Gateway {
    /// Compiles the template's HTTP API (the first `AWS::ApiGatewayV2::Api` with protocol HTTP;
    /// see [`Gateway::for_api`] to choose one).
    pub fn new(
        model: &Model,
        invoker: Arc<dyn Invoker>,
        options: GatewayOptions,
    ) -> Result<Self, ConfigError> {
        let api = model
            .apis
            .iter()
            .find(|a| a.protocol_type.eq_ignore_ascii_case("HTTP"))
            .or_else(|| model.apis.first())
            .ok_or_else(|| {
                ConfigError::Invalid(
                    "the template defines no HTTP API (AWS::ApiGatewayV2::Api or AWS::Serverless::HttpApi)".to_owned(),
                )
            })?;
        Self::compile(model, api, invoker, options)
    }

    /// Compiles the API whose logical id is `api_logical_id`.
    pub fn for_api(
        model: &Model,
        api_logical_id: &str,
        invoker: Arc<dyn Invoker>,
        options: GatewayOptions,
    ) -> Result<Self, ConfigError> {
        let api = model
            .apis
            .iter()
            .find(|a| a.logical_id == api_logical_id)
            .ok_or_else(|| {
                ConfigError::Invalid(format!("the template has no API {api_logical_id}"))
            })?;
        Self::compile(model, api, invoker, options)
    }

    fn compile(
        model: &Model,
        api: &Api,
        invoker: Arc<dyn Invoker>,
        options: GatewayOptions,
    ) -> Result<Self, ConfigError> {
        let (region, account_id, url_suffix) = match &model.stack {
            Some(s) => (
                s.region.as_str(),
                s.account_id.as_str(),
                s.url_suffix.as_str(),
            ),
            None => ("us-east-1", "123456789012", "amazonaws.com"),
        };
        let domain_name = format!("{}.execute-api.{region}.{url_suffix}", api.id);
        let info = ApiInfo {
            api_id: api.id.clone(),
            account_id: account_id.to_owned(),
            domain_prefix: api.id.clone(),
            domain_name,
        };

        // Stages.
        let stages = Stages::new(model.stages.iter().filter(|s| s.api == api.logical_id).map(
            |s| StageInfo {
                name: s.name.clone(),
                variables: s.stage_variables.clone(),
            },
        ));
        if stages.is_empty() {
            tracing::warn!(
                target: "stackgate::gateway",
                "API {} has no stage, so every request answers 404 (as in AWS); add an AWS::ApiGatewayV2::Stage with StageName: $default and AutoDeploy: true",
                api.logical_id
            );
        }

        // Authorizers.
        let all_authorizers: Vec<_> = model
            .authorizers
            .iter()
            .filter(|a| a.api == api.logical_id)
            .collect();
        let mut jwt = Vec::new();
        for a in all_authorizers
            .iter()
            .filter(|a| a.authorizer_type == "JWT")
        {
            if a.issuer.is_none() && options.dev_issuer.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "JWT authorizer {} has no Issuer (it resolved to no value) and no dev issuer was given",
                    a.logical_id
                )));
            }
            let compiled = JwtAuthorizer::compile(a, options.dev_issuer.as_deref()).map(Arc::new);
            jwt.push((a.logical_id.clone(), compiled));
        }

        // Routes and their integrations.
        let stage_names: Vec<String> = stages.names().map(str::to_owned).collect();
        let mut routes = Vec::new();
        for route in model.routes.iter().filter(|r| r.api == api.logical_id) {
            let auth = RouteAuth::for_route(route, &jwt, &all_authorizers);
            if let RouteAuth::NotEmulated(reason) | RouteAuth::Misconfigured(reason) = &auth {
                tracing::warn!(target: "stackgate::gateway", "{reason}; requests to it answer 500");
            }
            let target = resolve_target(model, route);
            let access = invoke_access(model, route, &target, &stage_names);
            routes.push(RouteEntry {
                key: route.route_key.clone(),
                auth,
                target,
                access,
            });
        }
        let (router, errors) =
            Router::new(routes.iter().enumerate().map(|(i, r)| (i, r.key.as_str())));
        for e in errors {
            tracing::warn!(target: "stackgate::gateway", "{e}; AWS refuses this route key, stackgate does not serve it");
        }
        if router.is_empty() {
            tracing::warn!(
                target: "stackgate::gateway",
                "API {} has no routes, so every request answers 404",
                api.logical_id
            );
        }

        Ok(Self {
            api: info,
            stages,
            router,
            routes,
            keys: options.keys,
            invoker,
        })
    }

    /// Accepts connections on `listener` and answers them until the process ends.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        server::serve(self, listener).await
    }

    /// Why no stage serves `path` (for the 404 log line).
    pub(crate) fn no_stage_reason(&self, path: &str) -> String {
        let names: Vec<&str> = self.stages.names().collect();
        if names.is_empty() {
            return "the API has no stage (add an AWS::ApiGatewayV2::Stage, e.g. StageName: $default)".to_owned();
        }
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        format!(
            "the first path segment {first:?} names no stage and the API has no $default stage; stages: {}; call e.g. /{}{path}",
            names.join(", "),
            names[0]
        )
    }

    /// Why no route serves `method path` on `stage` (for the 404 log line).
    pub(crate) fn no_route_reason(&self, method: &str, stage: &StageInfo, path: &str) -> String {
        let mut reason = format!(
            "no route matches \"{method} {path}\" on stage {} and there is no $default route ({} routes defined)",
            stage.name,
            self.router.len()
        );
        let trimmed = path.trim_end_matches('/');
        if trimmed.len() < path.len()
            && !trimmed.is_empty()
            && self.router.select(method, trimmed).is_some()
        {
            reason.push_str(&format!(
                "; \"{method} {trimmed}\" would match: API Gateway treats a trailing slash as a different path"
            ));
        }
        if method == "HEAD" && self.router.select("GET", path).is_some() {
            reason.push_str("; a GET route does not answer HEAD: add \"HEAD …\" or \"ANY …\"");
        }
        reason
    }
}

/// The invoke-permission check of a route that reaches a function.
fn invoke_access(
    model: &Model,
    route: &stackgate_template::Route,
    target: &Target,
    stages: &[String],
) -> permissions::Access {
    let Target::Lambda { function, .. } = target else {
        return permissions::Access::Allowed;
    };
    let Some(integration) = route
        .integration
        .as_ref()
        .and_then(|id| model.integrations.iter().find(|i| &i.logical_id == id))
    else {
        return permissions::Access::Allowed;
    };
    permissions::compile(model, route, integration, function, stages)
}

/// The Lambda function a route invokes, or why it cannot invoke one.
fn resolve_target(model: &Model, route: &stackgate_template::Route) -> Target {
    let key = &route.route_key;
    let Some(integration_id) = &route.integration else {
        return Target::Unusable(format!(
            "route {key:?} has no integration: add `Target: !Sub integrations/${{MyIntegration}}` to the route"
        ));
    };
    let Some(integration) = model
        .integrations
        .iter()
        .find(|i| &i.logical_id == integration_id)
    else {
        return Target::Unusable(format!(
            "route {key:?} targets integration {integration_id}, which the template does not define"
        ));
    };
    if integration.integration_type != "AWS_PROXY" {
        return Target::Unusable(format!(
            "route {key:?} uses integration {integration_id} of type {}; stackgate emulates only AWS_PROXY (Lambda proxy) integrations",
            integration.integration_type
        ));
    }
    let Some(function) = &integration.function else {
        return Target::Unusable(format!(
            "integration {integration_id}'s IntegrationUri {:?} names no Lambda function of this template",
            integration.uri
        ));
    };
    let version = match integration.payload_format_version.as_deref() {
        Some("2.0") => PayloadVersion::V2,
        Some("1.0") => PayloadVersion::V1,
        Some(other) => {
            return Target::Unusable(format!(
                "integration {integration_id} has PayloadFormatVersion {other:?}; use \"2.0\" or \"1.0\""
            ));
        }
        None => {
            return Target::Unusable(format!(
                "integration {integration_id} has no PayloadFormatVersion: PayloadFormatVersion is required for HTTP API Lambda integrations (AWS refuses the template); add PayloadFormatVersion: \"2.0\""
            ));
        }
    };
    let timeout_ms = if integration.timeout_ms == 0 {
        30_000
    } else {
        integration.timeout_ms
    };
    Target::Lambda {
        function: function.clone(),
        version,
        timeout: Duration::from_millis(timeout_ms),
    }
}
