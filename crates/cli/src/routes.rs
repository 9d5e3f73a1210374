//! `stackgate routes TEMPLATE [--format json]`: the route table of every API, without serving:
//! API, stage, route key, authorizer and scopes, integration, function, payload version, and
//! whether API Gateway may invoke the function.
//!
//! The last column comes from `stackgate-iam`, the evaluation the gateway runs per request:
//! `yes`, `no` (with the reason in JSON), `unchecked` (an external role or function stackgate
//! cannot see), or `-` when the route invokes no Lambda function.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};
use stackgate_iam::invoke::{Plan, RouteInput, plan};
use stackgate_template::Model;

use crate::args::RoutesArgs;
use crate::load::load_template;
use crate::summary::{RouteRow, route_rows};

pub fn run(args: RoutesArgs) -> anyhow::Result<ExitCode> {
    let model = load_template(&args.template)?;
    let rows = all_rows(&model);
    if args.format == "json" {
        let list: Vec<Value> = rows.iter().map(|r| row_json(&model, r)).collect();
        println!("{}", serde_json::to_string_pretty(&Value::Array(list))?);
    } else {
        print!("{}", table(&model, &rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// Every API's routes, APIs in template order.
fn all_rows(model: &Model) -> Vec<RouteRow> {
    model
        .apis
        .iter()
        .flat_map(|api| route_rows(model, &api.logical_id, None))
        .collect()
}

/// Methods an `ANY` route may be called with.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Whether API Gateway may invoke the route's function: `yes`, `no`, `unchecked` or `-`, and
/// why when not `yes`.
fn may_invoke(model: &Model, row: &RouteRow) -> (&'static str, Option<String>) {
    let Some(route) = model
        .routes
        .iter()
        .find(|r| r.api == row.api && r.route_key == row.route_key)
    else {
        return ("-", None);
    };
    let Some(integration) = route
        .integration
        .as_deref()
        .and_then(|id| model.integrations.iter().find(|i| i.logical_id == id))
    else {
        return ("-", None);
    };
    let Some(target) = &integration.function else {
        return ("-", None);
    };
    if integration.integration_type != "AWS_PROXY" {
        return ("-", None);
    }
    match plan(&RouteInput {
        model,
        route,
        integration,
        target,
    }) {
        Plan::Trusted { warning } => ("unchecked", Some(warning)),
        Plan::Fixed(Ok(())) => ("yes", None),
        Plan::Fixed(Err(denial)) => ("no", Some(denial.missing)),
        Plan::Permissions(p) => {
            for stage in &row.stages {
                let ok = p.check(stage, None).is_ok()
                    || p.route.as_ref().is_some_and(|(method, path)| {
                        method == "ANY"
                            && METHODS
                                .iter()
                                .any(|m| p.check(stage, Some((m, path))).is_ok())
                    });
                if !ok {
                    let why = p.check(stage, None).err().map(|d| d.missing);
                    return ("no", why);
                }
            }
            ("yes", None)
        }
    }
}

fn authorizer_label(row: &RouteRow) -> String {
    match &row.authorizer_name {
        Some(name) => format!("{} {name}", row.authorization_type),
        None => row.authorization_type.clone(),
    }
}

fn function_label(row: &RouteRow) -> String {
    match (&row.function, &row.function_logical_id) {
        (Some(name), Some(id)) if name != id => format!("{id} ({name})"),
        (Some(name), _) => name.clone(),
        (None, _) => "-".to_owned(),
    }
}

fn table(model: &Model, rows: &[RouteRow]) -> String {
    let header = [
        "API",
        "STAGE",
        "ROUTE",
        "AUTHORIZER",
        "SCOPES",
        "INTEGRATION",
        "FUNCTION",
        "PAYLOAD",
        "MAY INVOKE",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.api.clone(),
                r.stage.clone(),
                r.route_key.clone(),
                authorizer_label(r),
                if r.scopes.is_empty() {
                    "-".to_owned()
                } else {
                    r.scopes.join(" ")
                },
                match (&r.integration, &r.integration_type) {
                    (Some(id), Some(kind)) => format!("{id} ({kind})"),
                    (Some(id), None) => format!("{id} (not in this template)"),
                    (None, _) => "-".to_owned(),
                },
                function_label(r),
                r.payload_version.clone().unwrap_or_else(|| "-".to_owned()),
                may_invoke(model, r).0.to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |values: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (value, width) in values.zip(widths) {
            let _ = write!(text, "{value:width$}  ");
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&mut header.iter().copied());
    for row in &cells {
        line(&mut row.iter().map(String::as_str));
    }
    if rows.is_empty() {
        out.push_str("(no routes)\n");
    }
    out
}

fn row_json(model: &Model, r: &RouteRow) -> Value {
    let api_id = model
        .apis
        .iter()
        .find(|a| a.logical_id == r.api)
        .map(|a| a.id.clone());
    let (may, why) = may_invoke(model, r);
    json!({
        "api": r.api,
        "apiId": api_id,
        "stages": r.stages,
        "routeKey": r.route_key,
        "authorizationType": r.authorization_type,
        "authorizer": r.authorizer_name,
        "scopes": r.scopes,
        "integration": r.integration,
        "integrationType": r.integration_type,
        "function": r.function,
        "functionLogicalId": r.function_logical_id,
        "payloadFormatVersion": r.payload_version,
        "mayInvoke": may,
        "mayInvokeReason": why,
    })
}
