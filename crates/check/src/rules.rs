//! The checks. Each one reads the model, finds where in the text the problem is, and says what
//! AWS will do about it and what to change.

use std::collections::BTreeSet;
use std::path::Path;

use stackgate_iam::invoke::{
    Mechanism, Plan, RouteInput, names_route_instance, plan, role_spec, role_warnings,
};
use stackgate_iam::{APIGATEWAY, check_role, execute_api_arn, string_like};
use stackgate_template::{Code, Function, Integration, Location, Model, Route};

use crate::locate::Locator;
use crate::{Finding, Severity};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

struct Cx<'m> {
    model: &'m Model,
    loc: Locator,
    out: Vec<Finding>,
}

pub fn run(model: &Model, source: &str) -> Vec<Finding> {
    let mut cx = Cx {
        model,
        loc: Locator::new(source),
        out: Vec::new(),
    };
    cx.permissions();
    cx.unused_permissions();
    cx.targets();
    cx.authorizers();
    cx.integrations();
    cx.route_keys();
    cx.timeouts();
    cx.handlers();
    cx.v1_responses();
    cx.event_invoke_configs();
    cx.out
}

/// `Api.Integration` (quick create) → `Api`.
fn base_id(logical_id: &str) -> &str {
    logical_id.split('.').next().unwrap_or(logical_id)
}

impl Cx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        resource: &str,
        property: &[&str],
        fallback: &Location,
        message: String,
        fix: Option<String>,
    ) {
        let id = base_id(resource);
        let mut path = vec!["Resources", id, "Properties"];
        path.extend_from_slice(property);
        // Resources SAM generated are not in the text: their model location points at the
        // user's SAM lines.
        let (line, col) = match self.loc.find_exact(&["Resources", id]) {
            None => (fallback.line.max(1), fallback.col.max(1)),
            Some(resource_at) => self
                .loc
                .find(&path)
                .filter(|_| id == resource || property.is_empty())
                .unwrap_or(resource_at),
        };
        let property_path = if property.is_empty() {
            format!("Resources.{id}")
        } else {
            format!("Resources.{id}.Properties.{}", property.join("."))
        };
        self.out.push(Finding {
            code,
            severity,
            file: self.model.template_path.clone(),
            line,
            col,
            resource: Some(id.to_owned()),
            property: property_path,
            message,
            fix,
        });
    }

    fn stages_of(&self, api: &str) -> Vec<String> {
        let names: Vec<String> = self
            .model
            .stages
            .iter()
            .filter(|s| s.api == api)
            .map(|s| s.name.clone())
            .collect();
        if names.is_empty() {
            vec!["$default".to_owned()]
        } else {
            names
        }
    }

    /// SG001, SG002, SG004–SG007: can API Gateway invoke each route's function?
    fn permissions(&mut self) {
        let model = self.model;
        let mut roles_warned = BTreeSet::new();
        for route in &model.routes {
            let Some(integration) = integration_of(model, route) else {
                continue;
            };
            let Some(target) = &integration.function else {
                continue;
            };
            if integration.integration_type != "AWS_PROXY" {
                continue;
            }
            let planned = plan(&RouteInput {
                model,
                route,
                integration,
                target,
            });
            match planned {
                Plan::Trusted { warning } => {
                    let prop = if integration.credentials_arn.is_some() {
                        "CredentialsArn"
                    } else {
                        "IntegrationUri"
                    };
                    self.push(
                        "SG006",
                        Severity::Info,
                        &integration.logical_id,
                        &[prop],
                        &integration.location,
                        warning,
                        None,
                    );
                }
                Plan::Fixed(Ok(())) => {}
                Plan::Fixed(Err(denial)) => match denial.mechanism {
                    Mechanism::Permission => self.push(
                        "SG001",
                        Severity::Error,
                        &integration.logical_id,
                        &["IntegrationUri"],
                        &integration.location,
                        format!("{}: AWS answers every request to it with 500 Internal Server Error", denial.missing),
                        Some(format!(
                            "add an AWS::Lambda::Permission (or give the integration a CredentialsArn role that API Gateway may assume):\n{}",
                            denial.fix
                        )),
                    ),
                    Mechanism::Role => {
                        let role = integration
                            .credentials_arn
                            .as_ref()
                            .and_then(|arn| model.roles.iter().find(|r| &r.arn == arn));
                        let Some(role) = role else { continue };
                        let spec = role_spec(model, role);
                        let fref = stackgate_iam::FunctionRef {
                            name: target.function_name.clone(),
                            qualifier: target.qualifier.clone(),
                            arn: target.arn.clone(),
                        };
                        let checked = check_role(&spec, &fref);
                        let (code, prop) = if checked.trust.is_allowed() {
                            let prop = if role.policies.is_empty() {
                                if role.managed_policy_arns.is_empty() {
                                    ""
                                } else {
                                    "ManagedPolicyArns"
                                }
                            } else {
                                "Policies"
                            };
                            ("SG005", prop)
                        } else {
                            ("SG004", "AssumeRolePolicyDocument")
                        };
                        let props: Vec<&str> = if prop.is_empty() { vec![] } else { vec![prop] };
                        self.push(
                            code,
                            Severity::Error,
                            &role.logical_id,
                            &props,
                            &role.location,
                            format!("{}: AWS answers every request to it with 500 Internal Server Error", denial.missing),
                            Some(format!("add {}", denial.fix)),
                        );
                    }
                },
                Plan::Permissions(p) => {
                    let mut failed = None;
                    for stage in self.stages_of(&route.api) {
                        let ok = p.check(&stage, None).is_ok()
                            || p.route.as_ref().is_some_and(|(method, path)| {
                                method == "ANY"
                                    && METHODS
                                        .iter()
                                        .any(|m| p.check(&stage, Some((m, path))).is_ok())
                            });
                        if !ok {
                            failed = p.check(&stage, None).err().map(|d| (stage.clone(), d));
                            break;
                        }
                    }
                    if let Some((stage, denial)) = failed {
                        // Point at the permission meant for this API (its SourceArn names the
                        // API id), else the function's first one.
                        let api_id = model
                            .apis
                            .iter()
                            .find(|a| a.logical_id == route.api)
                            .map(|a| a.id.as_str());
                        let candidates: Vec<_> = p
                            .permissions
                            .iter()
                            .filter_map(|x| model.permissions.iter().find(|m| m.logical_id == x.logical_id))
                            .collect();
                        let chosen = candidates
                            .iter()
                            .find(|m| {
                                api_id.is_some_and(|id| {
                                    m.source_arn.as_deref().is_some_and(|arn| arn.contains(id))
                                })
                            })
                            .or(candidates.first());
                        let (resource, prop, location) = match chosen
                        {
                            Some(perm) => (perm.logical_id.clone(), "SourceArn", perm.location.clone()),
                            None => (integration.logical_id.clone(), "IntegrationUri", integration.location.clone()),
                        };
                        // A SourceArn naming concrete paths of a `{param}` route allows those
                        // requests only: a warning at that permission, not an error.
                        let instances = p.allowed_instances(&stage);
                        if let Some((perm_id, _)) = instances.first()
                            && let Some(perm) = model.permissions.iter().find(|m| &m.logical_id == perm_id)
                        {
                            let paths: Vec<&str> = instances.iter().map(|(_, path)| path.as_str()).collect();
                            self.push(
                                "SG002",
                                Severity::Warning,
                                &perm.logical_id,
                                &["SourceArn"],
                                &perm.location,
                                format!(
                                    "route {:?}: the function's permissions allow only {} of it (a SourceArn naming a concrete path); AWS answers requests to the route's other paths with 500 Internal Server Error",
                                    route.route_key,
                                    paths.join(", ")
                                ),
                                Some(format!("to allow every path of the route, use * for its path parameters in the SourceArn, or add:\n{}", denial.fix)),
                            );
                        } else {
                            self.push(
                                "SG002",
                                Severity::Error,
                                &resource,
                                &[prop],
                                &location,
                                format!("{}: AWS answers requests to it with 500 Internal Server Error", denial.missing),
                                Some(format!("fix the SourceArn, or add:\n{}", denial.fix)),
                            );
                        }
                    }
                }
            }
            if let Some(role) = integration
                .credentials_arn
                .as_ref()
                .and_then(|arn| model.roles.iter().find(|r| &r.arn == arn))
                && roles_warned.insert(role.logical_id.clone())
            {
                for w in role_warnings(model, role) {
                    self.push(
                        "SG007",
                        Severity::Warning,
                        &role.logical_id,
                        &[],
                        &role.location,
                        w,
                        None,
                    );
                }
            }
        }
    }

    /// SG003: a permission for API Gateway whose SourceArn matches no route of the template.
    fn unused_permissions(&mut self) {
        let model = self.model;
        let (partition, region, account) = match &model.stack {
            Some(s) => (s.partition.clone(), s.region.clone(), s.account_id.clone()),
            None => ("aws".into(), "us-east-1".into(), "123456789012".into()),
        };
        let mut arns = Vec::new();
        for route in &model.routes {
            let Some(api) = model.apis.iter().find(|a| a.logical_id == route.api) else {
                continue;
            };
            for stage in self.stages_of(&route.api) {
                let arn = |mp| execute_api_arn(&partition, &region, &account, &api.id, &stage, mp);
                match route.route_key.split_once(' ') {
                    None => arns.push(arn(None)),
                    Some((method, path)) => {
                        arns.push(arn(Some((method, path))));
                        if method == "ANY" {
                            for m in METHODS {
                                arns.push(arn(Some((m, path))));
                            }
                        }
                    }
                }
            }
        }
        for p in &model.permissions {
            let Some(source) = &p.source_arn else {
                continue;
            };
            if p.principal != APIGATEWAY || source.contains("/authorizers/") {
                continue;
            }
            // A concrete path of a `{param}` route counts (SG002 warns that it is only one path).
            let names_an_instance = model.routes.iter().any(|r| {
                model
                    .apis
                    .iter()
                    .find(|a| a.logical_id == r.api)
                    .is_some_and(|a| names_route_instance(source, &a.id, &r.route_key))
            });
            if !names_an_instance && !arns.iter().any(|a| string_like(source, a)) {
                let example = arns.first().cloned().unwrap_or_default();
                self.push(
                    "SG003",
                    Severity::Warning,
                    &p.logical_id,
                    &["SourceArn"],
                    &p.location,
                    format!(
                        "permission {}'s SourceArn {source} matches no route of this template's APIs (API Gateway presents ARNs like {example}), so it lets API Gateway invoke nothing",
                        p.logical_id
                    ),
                    Some("make SourceArn name the API (e.g. !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${MyApi}/*) and the stage/METHOD/path, or remove the permission".to_owned()),
                );
            }
        }
    }

    /// SG010: a route's Target must be an integration of the same API.
    fn targets(&mut self) {
        let model = self.model;
        for route in &model.routes {
            let Some(integration) = integration_of(model, route) else {
                continue;
            };
            if integration.api != route.api {
                self.push(
                    "SG010",
                    Severity::Error,
                    &route.logical_id,
                    &["Target"],
                    &route.location,
                    format!(
                        "route {:?} belongs to API {} but targets integration {} of API {}: AWS refuses this (the integration must belong to the route's API)",
                        route.route_key, route.api, integration.logical_id, integration.api
                    ),
                    Some(format!(
                        "create an AWS::ApiGatewayV2::Integration with ApiId: !Ref {} and target it",
                        route.api
                    )),
                );
            }
        }
    }

    /// SG011–SG013, SG018: JWT authorizers.
    fn authorizers(&mut self) {
        let model = self.model;
        for a in model
            .authorizers
            .iter()
            .filter(|a| a.authorizer_type == "JWT")
        {
            if a.audience.is_empty() {
                self.push(
                    "SG011",
                    Severity::Error,
                    &a.logical_id,
                    &["JwtConfiguration"],
                    &a.location,
                    format!(
                        "JWT authorizer {} has no Audience: AWS needs at least one audience, and only tokens whose aud (or client_id) matches one are accepted",
                        a.logical_id
                    ),
                    Some("JwtConfiguration:\n  Audience:\n    - https://your-api-identifier".to_owned()),
                );
            }
            if let Some(issuer) = &a.issuer {
                let host = issuer
                    .split("://")
                    .nth(1)
                    .and_then(|r| r.split('/').next())
                    .unwrap_or_default();
                let auth0 = host.ends_with(".auth0.com");
                let cognito = host.starts_with("cognito-idp.") && host.ends_with(".amazonaws.com");
                if auth0 && !issuer.ends_with('/') {
                    self.push(
                        "SG012",
                        Severity::Error,
                        &a.logical_id,
                        &["JwtConfiguration", "Issuer"],
                        &a.location,
                        format!(
                            "issuer {issuer} has no trailing slash, but Auth0 puts {issuer}/ in its tokens' iss: AWS compares them exactly, so every token is refused with 401"
                        ),
                        Some(format!("Issuer: {issuer}/")),
                    );
                }
                if cognito && issuer.ends_with('/') {
                    let trimmed = issuer.trim_end_matches('/');
                    self.push(
                        "SG012",
                        Severity::Error,
                        &a.logical_id,
                        &["JwtConfiguration", "Issuer"],
                        &a.location,
                        format!(
                            "issuer {issuer} ends with a slash, but Cognito puts {trimmed} (no slash) in its tokens' iss: AWS compares them exactly, so every token is refused with 401"
                        ),
                        Some(format!("Issuer: {trimmed}")),
                    );
                }
            }
            for source in &a.identity_source {
                let ok = ["$request.header.", "$request.querystring."]
                    .iter()
                    .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()));
                if !ok {
                    self.push(
                        "SG013",
                        Severity::Error,
                        &a.logical_id,
                        &["IdentitySource"],
                        &a.location,
                        format!(
                            "identity source {source:?} is not $request.header.NAME or $request.querystring.NAME, the only selectors a JWT authorizer takes"
                        ),
                        Some("IdentitySource:\n  - $request.header.Authorization".to_owned()),
                    );
                }
            }
            if a.identity_source
                .iter()
                .any(|s| s.eq_ignore_ascii_case("$request.header.Authorization"))
            {
                self.push(
                    "SG018",
                    Severity::Info,
                    &a.logical_id,
                    &["IdentitySource"],
                    &a.location,
                    format!(
                        "JWT authorizer {}: clients may send `Authorization: Bearer <token>` or the bare token; HTTP API JWT authorizers accept both (the advice not to send `Bearer` comes from REST API custom authorizers)",
                        a.logical_id
                    ),
                    None,
                );
            }
        }
    }

    /// SG014: Lambda integrations need PayloadFormatVersion.
    fn integrations(&mut self) {
        let model = self.model;
        for i in &model.integrations {
            if i.integration_type == "AWS_PROXY" && i.payload_format_version.is_none() {
                self.push(
                    "SG014",
                    Severity::Error,
                    &i.logical_id,
                    &[],
                    &i.location,
                    format!(
                        "integration {} has no PayloadFormatVersion: AWS requires it for HTTP API Lambda integrations (the stack fails to create)",
                        i.logical_id
                    ),
                    Some("PayloadFormatVersion: \"2.0\"   # or \"1.0\" for the REST-style event".to_owned()),
                );
            }
        }
    }

    /// SG015: route keys AWS refuses.
    fn route_keys(&mut self) {
        let model = self.model;
        let mut seen: Vec<(String, String)> = Vec::new();
        for r in &model.routes {
            let problem = route_key_problem(&r.route_key).or_else(|| {
                let norm = normalize(&r.route_key);
                let dup = seen.iter().any(|(api, k)| *api == r.api && *k == norm);
                seen.push((r.api.clone(), norm));
                dup.then(|| "another route of the API has the same key (path variables count as the same whatever their names)".to_owned())
            });
            if let Some(problem) = problem {
                self.push(
                    "SG015",
                    Severity::Error,
                    &r.logical_id,
                    &["RouteKey"],
                    &r.location,
                    format!("route key {:?}: {problem}; AWS refuses it", r.route_key),
                    Some("RouteKey: \"$default\" or \"METHOD /path\" with /-separated segments, {var} variables, and {proxy+} only last".to_owned()),
                );
            }
        }
    }

    /// SG016: a function that may run longer than the integration waits.
    fn timeouts(&mut self) {
        let model = self.model;
        let mut seen = BTreeSet::new();
        for route in &model.routes {
            let Some(i) = integration_of(model, route) else {
                continue;
            };
            let Some(target) = &i.function else { continue };
            let Some(f) = model.functions.iter().find(|f| f.arn == target.arn) else {
                continue;
            };
            if f.timeout_s.saturating_mul(1000) > i.timeout_ms
                && seen.insert((f.logical_id.clone(), i.logical_id.clone()))
            {
                self.push(
                    "SG016",
                    Severity::Warning,
                    &f.logical_id,
                    &["Timeout"],
                    &f.location,
                    format!(
                        "function {}'s Timeout is {} s but integration {} waits {} ms (TimeoutInMillis; 30000 at most): a slower invocation gets 503 Service Unavailable from API Gateway while the function keeps running",
                        f.logical_id, f.timeout_s, i.logical_id, i.timeout_ms
                    ),
                    Some(format!(
                        "lower the function's Timeout to at most the integration's {} ms (Timeout: {}), or raise the integration's TimeoutInMillis (at most 30000)",
                        i.timeout_ms,
                        (i.timeout_ms / 1000).max(1)
                    )),
                );
            }
        }
    }

    /// SG017: Handler names a file or export the code does not have.
    fn handlers(&mut self) {
        let model = self.model;
        for f in &model.functions {
            if let Some((message, severity)) = handler_problem(f) {
                self.push(
                    "SG017",
                    severity,
                    &f.logical_id,
                    &["Handler"],
                    &f.location,
                    message,
                    Some("Handler: FILE.EXPORT, e.g. index.handler for exports.handler in index.js (inline code is always index)".to_owned()),
                );
            }
        }
    }
}

fn integration_of<'m>(model: &'m Model, route: &Route) -> Option<&'m Integration> {
    let id = route.integration.as_ref()?;
    model.integrations.iter().find(|i| &i.logical_id == id)
}

impl Cx<'_> {
    /// SG019: a payload 1.0 integration whose function's code never mentions `statusCode` (a
    /// 1.0 response without one is answered 500).
    fn v1_responses(&mut self) {
        let model = self.model;
        let mut seen = BTreeSet::new();
        for i in &model.integrations {
            if i.payload_format_version.as_deref() != Some("1.0") {
                continue;
            }
            let Some(target) = &i.function else { continue };
            let Some(f) = model.functions.iter().find(|f| f.arn == target.arn) else {
                continue;
            };
            let Some(text) = code_text(f) else { continue };
            if text.contains("statusCode") || !seen.insert(f.logical_id.clone()) {
                continue;
            }
            let prop: &[&str] = match f.code {
                Code::Inline(_) => &["Code", "ZipFile"],
                Code::Path(_) => &["Handler"],
            };
            self.push(
                "SG019",
                Severity::Warning,
                &f.logical_id,
                prop,
                &f.location,
                format!(
                    "integration {} uses payload format 1.0, and function {}'s code never sets statusCode: API Gateway answers a 1.0 response without statusCode with 500 Internal Server Error",
                    i.logical_id, f.logical_id
                ),
                Some("return { statusCode: 200, headers: {...}, body: \"a string\" } (or use PayloadFormatVersion \"2.0\", where any JSON is a 200)".to_owned()),
            );
        }
    }
}

impl Cx<'_> {
    /// SG020: an `AWS::Lambda::EventInvokeConfig` for no function of the template (its retries
    /// and event age apply to a function stackgate does not run).
    fn event_invoke_configs(&mut self) {
        let model = self.model;
        for c in &model.event_invoke_configs {
            let ours = model
                .functions
                .iter()
                .any(|f| stackgate_iam::FunctionName::text_names(&c.function_name, f));
            if !ours {
                self.push(
                    "SG020",
                    Severity::Warning,
                    &c.logical_id,
                    &["FunctionName"],
                    &c.location,
                    format!(
                        "EventInvokeConfig {} is for function {}, which is not defined in this template: stackgate cannot apply its retries and event age",
                        c.logical_id, c.function_name
                    ),
                    Some("name a function of this template (e.g. FunctionName: !Ref MyFunction)".to_owned()),
                );
            }
        }
    }
}

/// The handler's source text (inline code, or the handler file in a local code directory).
fn code_text(f: &Function) -> Option<String> {
    let node = f.runtime.starts_with("nodejs");
    let python = f.runtime.starts_with("python");
    if !node && !python {
        return None;
    }
    match &f.code {
        Code::Inline(src) => Some(src.clone()),
        Code::Path(dir) => {
            let (file, _) = f.handler.rsplit_once('.')?;
            let candidates: Vec<std::path::PathBuf> = if node {
                ["js", "mjs", "cjs"]
                    .iter()
                    .map(|ext| dir.join(format!("{file}.{ext}")))
                    .collect()
            } else {
                vec![dir.join(format!("{}.py", file.replace('.', "/")))]
            };
            let found = candidates.iter().find(|p| p.is_file())?;
            std::fs::read_to_string(found).ok()
        }
    }
}

/// `GET /a/{b}` → `GET /a/{}`: keys that AWS treats as the same.
fn normalize(key: &str) -> String {
    match key.split_once(' ') {
        Some((m, p)) => {
            let segs: Vec<&str> = p
                .split('/')
                .map(|s| {
                    if s.starts_with('{') && s.ends_with("+}") {
                        "{+}"
                    } else if s.starts_with('{') {
                        "{}"
                    } else {
                        s
                    }
                })
                .collect();
            format!("{m} {}", segs.join("/"))
        }
        None => key.to_owned(),
    }
}

fn route_key_problem(key: &str) -> Option<String> {
    if key == "$default" {
        return None;
    }
    let Some((method, path)) = key.split_once(' ') else {
        return Some("expected $default or METHOD /path".to_owned());
    };
    if method != "ANY" && !METHODS.contains(&method) {
        return Some(format!(
            "method {method} is not one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY (upper-case)"
        ));
    }
    if !path.starts_with('/') {
        return Some("the path must start with /".to_owned());
    }
    if path.len() > 1 && path.ends_with('/') {
        return Some("the path ends with / (only \"/\" itself may)".to_owned());
    }
    if path == "/" {
        return None;
    }
    let segs: Vec<&str> = path[1..].split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        if s.is_empty() {
            return Some("the path has an empty segment (//)".to_owned());
        }
        if s.starts_with('{') && s.ends_with("+}") && i + 1 != segs.len() {
            return Some(format!("the greedy variable {s} must be the last segment"));
        }
        if s.starts_with('{') != s.ends_with('}') || *s == "{}" || *s == "{+}" {
            return Some(format!(
                "the segment {s} is not a literal or a {{variable}}"
            ));
        }
    }
    None
}

/// What is wrong with a function's Handler, if anything (Node.js and Python code only).
fn handler_problem(f: &Function) -> Option<(String, Severity)> {
    let node = f.runtime.starts_with("nodejs");
    let python = f.runtime.starts_with("python");
    if !node && !python {
        return None;
    }
    let Some((file, export)) = f.handler.rsplit_once('.') else {
        return Some((
            format!(
                "Handler {:?} has no FILE.EXPORT form (e.g. index.handler)",
                f.handler
            ),
            Severity::Error,
        ));
    };
    let (source, shown) = match &f.code {
        Code::Inline(src) => {
            if file != "index" {
                return Some((
                    format!(
                        "inline code (Code.ZipFile) is written to index.{}, but Handler {:?} names the file {file}: Lambda fails with Runtime.ImportModuleError",
                        if node { "js" } else { "py" },
                        f.handler
                    ),
                    Severity::Error,
                ));
            }
            (src.clone(), "the inline code".to_owned())
        }
        Code::Path(dir) => {
            if !dir.is_dir() {
                return None;
            }
            let candidates: Vec<std::path::PathBuf> = if node {
                ["js", "mjs", "cjs"]
                    .iter()
                    .map(|ext| dir.join(format!("{file}.{ext}")))
                    .collect()
            } else {
                vec![dir.join(format!("{}.py", file.replace('.', "/")))]
            };
            let Some(found) = candidates.iter().find(|p| p.is_file()) else {
                return Some((
                    format!(
                        "Handler {:?} names {}, which is not in the code directory {}: Lambda fails with Runtime.ImportModuleError",
                        f.handler,
                        candidates
                            .iter()
                            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                            .collect::<Vec<_>>()
                            .join(" / "),
                        dir.display()
                    ),
                    Severity::Error,
                ));
            };
            let Ok(text) = std::fs::read_to_string(found) else {
                return None;
            };
            (text, shown_path(found))
        }
    };
    let exported = if node {
        node_exports(&source, export)
    } else {
        python_defines(&source, export)
    };
    (!exported).then(|| {
        (
            format!(
                "Handler {:?}: {shown} does not seem to {} {export}: Lambda fails with Runtime.HandlerNotFound",
                f.handler,
                if node { "export" } else { "define" }
            ),
            Severity::Warning,
        )
    })
}

fn shown_path(p: &Path) -> String {
    p.display().to_string()
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let ident =
            |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        !ident(before) && !ident(after)
    })
}

fn node_exports(src: &str, name: &str) -> bool {
    let direct = [
        format!("exports.{name}"),
        format!("exports[\"{name}\"]"),
        format!("exports['{name}']"),
        format!("export const {name}"),
        format!("export let {name}"),
        format!("export var {name}"),
        format!("export function {name}"),
        format!("export async function {name}"),
    ];
    direct.iter().any(|d| {
        src.match_indices(d.as_str()).any(|(i, _)| {
            let after = src[i + d.len()..].chars().next();
            !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
    }) || ((src.contains("module.exports") || src.contains("export {") || src.contains("export{"))
        && has_word(src, name))
}

fn python_defines(src: &str, name: &str) -> bool {
    src.lines().any(|l| {
        let l = l.trim_end();
        [format!("def {name}("), format!("async def {name}(")]
            .iter()
            .any(|p| l.starts_with(p.as_str()))
            || l.strip_prefix(name).is_some_and(|rest| {
                rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_key_problems() {
        for ok in [
            "$default",
            "GET /",
            "GET /pets",
            "ANY /{proxy+}",
            "GET /a/{b}/c",
            "POST /a/{b+}",
        ] {
            assert_eq!(route_key_problem(ok), None, "{ok}");
        }
        for bad in [
            "GET /pets/",
            "GET pets",
            "get /pets",
            "GET /{proxy+}/x",
            "GET /a//b",
            "GET /{}",
            "FETCH /x",
            "GET",
        ] {
            assert!(route_key_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(normalize("GET /a/{x}"), normalize("GET /a/{y}"));
    }

    #[test]
    fn export_detection() {
        assert!(node_exports("exports.handler = async () => {}", "handler"));
        assert!(node_exports("module.exports.handler = x", "handler"));
        assert!(node_exports(
            "export const handler = async () => {}",
            "handler"
        ));
        assert!(node_exports(
            "export async function handler(e) {}",
            "handler"
        ));
        assert!(node_exports(
            "const handler = 1; module.exports = { handler };",
            "handler"
        ));
        assert!(!node_exports("exports.handlerX = 1", "handler"));
        assert!(!node_exports("exports.main = 1", "handler"));
        assert!(python_defines(
            "def handler(event, context):\n  pass",
            "handler"
        ));
        assert!(python_defines("async def handler(e, c): ...", "handler"));
        assert!(python_defines("handler = make()", "handler"));
        assert!(!python_defines("def main(event, context):", "handler"));
    }
}
