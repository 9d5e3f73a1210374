//! What `serve` prints at start: where to send requests, the route table, and every part of the
//! template that is not emulated (never silently ignored).

use std::fmt::Write as _;

use stackgate_template::Model;

/// One row of the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    pub stage: String,
    pub route_key: String,
    pub authorizer: String,
    pub target: String,
    /// Logical id of the API.
    pub api: String,
    /// Names of the API's stages.
    pub stages: Vec<String>,
    /// `NONE`, `JWT`, `AWS_IAM`, `CUSTOM`.
    pub authorization_type: String,
    /// The authorizer's name (`Name`), when the route has one.
    pub authorizer_name: Option<String>,
    /// `AuthorizationScopes`.
    pub scopes: Vec<String>,
    /// Logical id of the integration.
    pub integration: Option<String>,
    /// `AWS_PROXY`, `HTTP_PROXY`...
    pub integration_type: Option<String>,
    /// The invoked function's name (with `:qualifier` when the integration names one).
    pub function: Option<String>,
    /// Logical id of the invoked function, when it is in the template.
    pub function_logical_id: Option<String>,
    /// `PayloadFormatVersion`.
    pub payload_version: Option<String>,
}

/// The route table of one API: route key → authorizer → function, per stage.
pub fn route_rows(model: &Model, api: &str, dev_issuer: Option<&str>) -> Vec<RouteRow> {
    let mut rows = Vec::new();
    for route in model.routes.iter().filter(|r| r.api == api) {
        let stages: Vec<&str> = model
            .stages
            .iter()
            .filter(|s| s.api == route.api)
            .map(|s| s.name.as_str())
            .collect();
        let stage = if stages.is_empty() {
            "(no stage)".to_string()
        } else {
            stages.join(", ")
        };
        let authorizer = match route.authorizer.as_deref() {
            None => route.authorization_type.clone(),
            Some(id) => match model.authorizers.iter().find(|a| a.logical_id == id) {
                Some(a) => {
                    let issuer = a.issuer.as_deref().or(dev_issuer).unwrap_or("(no issuer)");
                    let mut text = format!("{} {} (iss {issuer}", a.authorizer_type, a.name);
                    if !a.audience.is_empty() {
                        let _ = write!(text, ", aud {}", a.audience.join(" "));
                    }
                    if !route.authorization_scopes.is_empty() {
                        let _ = write!(text, ", scopes {}", route.authorization_scopes.join(" "));
                    }
                    text.push(')');
                    text
                }
                None => format!("{} {id} (unknown authorizer)", route.authorization_type),
            },
        };
        let found_integration = route
            .integration
            .as_deref()
            .and_then(|id| model.integrations.iter().find(|i| i.logical_id == id));
        let invoked = found_integration.and_then(|i| i.function.as_ref());
        let target = match found_integration {
            None => "(no integration)".to_string(),
            Some(integration) => match &integration.function {
                Some(f) => {
                    let function = model
                        .functions
                        .iter()
                        .find(|func| func.name == f.function_name);
                    let label = match function {
                        Some(func) => format!("{} ({})", func.logical_id, func.runtime),
                        None => format!("{} (not in this template)", f.function_name),
                    };
                    let version = integration
                        .payload_format_version
                        .as_deref()
                        .unwrap_or("missing");
                    format!("{label}, payload {version}")
                }
                None => format!("{} {}", integration.integration_type, integration.uri),
            },
        };
        rows.push(RouteRow {
            stage,
            route_key: route.route_key.clone(),
            authorizer,
            target,
            api: route.api.clone(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            authorization_type: if route.authorization_type.is_empty() {
                "NONE".to_owned()
            } else {
                route.authorization_type.clone()
            },
            authorizer_name: route.authorizer.as_deref().map(|id| {
                model
                    .authorizers
                    .iter()
                    .find(|a| a.logical_id == id)
                    .map_or_else(|| id.to_owned(), |a| a.name.clone())
            }),
            scopes: route.authorization_scopes.clone(),
            integration: route.integration.clone(),
            integration_type: found_integration.map(|i| i.integration_type.clone()),
            function: invoked.map(|f| match &f.qualifier {
                Some(q) => format!("{}:{q}", f.function_name),
                None => f.function_name.clone(),
            }),
            function_logical_id: invoked.and_then(|f| {
                model
                    .functions
                    .iter()
                    .find(|func| func.name == f.function_name)
                    .map(|func| func.logical_id.clone())
            }),
            payload_version: found_integration.and_then(|i| i.payload_format_version.clone()),
        });
    }
    rows
}

/// The start-up text: one URL and route table per API, the dev issuer, what is not emulated.
pub fn banner(
    model: &Model,
    apis: &[(String, String)],
    dev_issuer: Option<&str>,
    lambda_api: Option<&str>,
) -> String {
    let mut out = String::new();
    let stack = model
        .stack
        .as_ref()
        .map(|s| s.stack_name.as_str())
        .unwrap_or("stack");
    let _ = writeln!(
        out,
        "stackgate: stack {stack} from {}",
        model.template_path.display()
    );
    if apis.is_empty() {
        let _ = writeln!(
            out,
            "(no HTTP API in the template: its functions are served by the Lambda API only)"
        );
    }
    for (api, url) in apis {
        let id = model
            .apis
            .iter()
            .find(|a| &a.logical_id == api)
            .map(|a| a.id.as_str())
            .unwrap_or("?");
        let _ = writeln!(out, "Gateway: {url}  (API {api}, id {id})");
        let rows = route_rows(model, api, dev_issuer);
        let key_width = rows.iter().map(|r| r.route_key.len()).max().unwrap_or(0);
        if rows.is_empty() {
            let _ = writeln!(out, "  (no routes)");
        }
        for row in &rows {
            let _ = writeln!(
                out,
                "  [{}] {:key_width$}  → {}  → {}",
                row.stage, row.route_key, row.authorizer, row.target
            );
        }
    }
    if let Some(url) = lambda_api {
        let _ = writeln!(out, "Lambda API: {url}");
        let example = model
            .functions
            .first()
            .map_or("FUNCTION", |f| f.logical_id.as_str());
        let _ = writeln!(
            out,
            "  aws lambda invoke --endpoint-url {url} --function-name {example} out.json"
        );
    }
    if let Some(issuer) = dev_issuer {
        let _ = writeln!(out, "Dev issuer: {issuer}");
        let audience = model
            .authorizers
            .iter()
            .find(|a| a.issuer.is_none())
            .and_then(|a| a.audience.first())
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  an authorizer's issuer has no value, so stackgate issues tokens itself:\n  curl -s {issuer}oauth/token -H 'content-type: application/json' \\\n    -d '{{\"client_id\":\"dev\",\"client_secret\":\"dev\",\"audience\":\"{audience}\",\"grant_type\":\"client_credentials\"}}'"
        );
    }
    for item in &model.not_emulated {
        let _ = writeln!(
            out,
            "not emulated: {} ({}): {}",
            item.logical_id, item.resource_type, item.reason
        );
    }
    for item in &model.ignored_properties {
        let _ = writeln!(
            out,
            "ignored: {}.{}: {}",
            item.logical_id, item.property, item.reason
        );
    }
    out
}
