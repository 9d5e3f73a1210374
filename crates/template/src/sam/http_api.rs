//! `AWS::Serverless::HttpApi` (explicit, and the implicit `ServerlessHttpApi`) and the functions'
//! `HttpApi` events: routes, integrations, authorizers, the stage and the Lambda permissions.
//!
//! The translator (`http_api_generator.py`, `push.py` `HttpApi`, `open_api.py`) writes routes,
//! integrations and authorizers into an OpenAPI `Body`; stackgate writes the resources API Gateway
//! creates when it imports that body.

use std::collections::HashSet;

use super::globals::Globals;
use super::{Sink, is_intrinsic, map, plain, reference, resource, scalar, seq, sub, tagged, text};
use crate::node::{Node, NodeValue};

pub const IMPLICIT_API: &str = "ServerlessHttpApi";
const ANY: &str = "x-amazon-apigateway-any-method";

const API_PROPERTIES: &[&str] = &[
    "Name",
    "StageName",
    "Tags",
    "PropagateTags",
    "DefinitionBody",
    "DefinitionUri",
    "StageVariables",
    "CorsConfiguration",
    "AccessLogSettings",
    "DefaultRouteSettings",
    "Auth",
    "RouteSettings",
    "Domain",
    "FailOnWarnings",
    "Description",
    "DisableExecuteApiEndpoint",
];

const EVENT_PROPERTIES: &[&str] = &[
    "Path",
    "Method",
    "ApiId",
    "Stage",
    "Auth",
    "TimeoutInMillis",
    "RouteSettings",
    "PayloadFormatVersion",
];

#[derive(Debug, Clone)]
struct AuthorizerDecl {
    name: String,
    logical_id: String,
    /// `AuthorizationScopes` of the authorizer (the default scopes of its routes).
    scopes: Option<Node>,
}

#[derive(Debug, Clone)]
struct ApiDecl {
    id: String,
    /// The SAM resource (after Globals).
    node: Node,
    props: Node,
    authorizers: Vec<AuthorizerDecl>,
    iam_enabled: bool,
    default_authorizer: Option<String>,
    /// Route settings added by events: (route key, settings).
    event_route_settings: Vec<(String, Node)>,
    route_keys: HashSet<String>,
    used: bool,
    implicit: bool,
}

/// One `HttpApi` event of a function.
pub(crate) struct Event<'a> {
    pub function: &'a str,
    pub name: &'a str,
    pub node: &'a Node,
    pub attributes: &'a [(String, Node)],
}

pub(crate) struct Plan {
    apis: Vec<ApiDecl>,
    /// Ids of the template's other resources (an ApiId must name a SAM HttpApi).
    other_ids: HashSet<String>,
}

fn empty_map(at: &Node) -> Node {
    map(Vec::new(), at)
}

fn alnum(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

impl Plan {
    pub fn new(resources: &[(Node, Node)], globals: &Globals, sink: &mut Sink) -> Plan {
        let mut plan = Plan {
            apis: Vec::new(),
            other_ids: HashSet::new(),
        };
        for (k, v) in resources {
            let id = k.as_str().unwrap_or_default();
            if v.get("Type").and_then(Node::as_str) != Some("AWS::Serverless::HttpApi") {
                plan.other_ids.insert(id.to_string());
                continue;
            }
            sink.resource = Some(id.to_string());
            let props = v.get("Properties").cloned().unwrap_or_else(|| empty_map(v));
            if let Some(d) = api_decl(id, v, props, false, sink) {
                plan.apis.push(d);
            }
        }
        sink.resource = None;
        if !plan.apis.iter().any(|a| a.id == IMPLICIT_API) {
            let at = resources
                .first()
                .map_or_else(|| plain("", &dummy()), |(k, _)| k.clone());
            let props = globals.http_api_properties(&empty_map(&at));
            let node = map(vec![("Type", scalar("AWS::Serverless::HttpApi", &at))], &at);
            if let Some(d) = api_decl(IMPLICIT_API, &node, props, true, sink) {
                plan.apis.push(d);
            }
        }
        plan
    }

    /// Route, integration and permission for one `HttpApi` event. `has_default`: the function
    /// has a `$default` ANY event on the same API (its permission then covers every route).
    pub fn event(
        &mut self,
        ev: &Event<'_>,
        default_apis: &HashSet<String>,
        sink: &mut Sink,
    ) -> Vec<(String, Node)> {
        let fn_id = ev.function;
        let path_base = format!("Resources.{fn_id}.Properties.Events.{}", ev.name);
        let ppath = format!("{path_base}.Properties");
        let empty = empty_map(ev.node);
        let props = ev.node.get("Properties").unwrap_or(&empty);
        if props.as_map().is_none() {
            sink.error(props, &ppath, "Properties should be a map.");
            return Vec::new();
        }
        for (k, _) in props.as_map().unwrap_or_default() {
            let key = k.as_str().unwrap_or_default();
            if !EVENT_PROPERTIES.contains(&key) {
                sink.error(
                    k,
                    &format!("{ppath}.{key}"),
                    format!(
                        "`{key}` is not a property of an HttpApi event (known: {})",
                        EVENT_PROPERTIES.join(", ")
                    ),
                );
            }
        }
        let Some((api_id, api_node)) = self.event_api(props, &ppath, sink) else {
            return Vec::new();
        };
        let (path, method) = match (props.get("Path"), props.get("Method")) {
            (None, None) => ("$default".to_string(), ANY.to_string()),
            (p, m) => {
                let mut get = |n: Option<&Node>, key: &str| -> Option<String> {
                    match n {
                        None => {
                            sink.error(
                                props,
                                &ppath,
                                format!(
                                    "Event with id [{}] is invalid. Property '{key}' is required.",
                                    ev.name
                                ),
                            );
                            None
                        }
                        Some(n) => match text(n) {
                            Some(t) => Some(t.to_string()),
                            None => {
                                sink.error(n, &format!("{ppath}.{key}"), format!("Event with id [{}] is invalid. Property '{key}' should be a string.", ev.name));
                                None
                            }
                        },
                    }
                };
                let (Some(p), Some(m)) = (get(p, "Path"), get(m, "Method")) else {
                    return Vec::new();
                };
                let m = m.to_lowercase();
                let m = if m == "any" { ANY.to_string() } else { m };
                (p, m)
            }
        };
        let route_key = if method == ANY {
            if path == "$default" {
                "$default".to_string()
            } else {
                format!("ANY {path}")
            }
        } else {
            format!("{} {path}", method.to_uppercase())
        };
        let Some(api) = self.apis.iter_mut().find(|a| a.id == api_id) else {
            return Vec::new();
        };
        api.used = true;
        if !api.route_keys.insert(route_key.clone()) {
            let m = if method == ANY {
                "any"
            } else {
                method.as_str()
            };
            sink.error(
                ev.node,
                &path_base,
                format!("Event with id [{}] is invalid. API method '{m}' defined multiple times for path '{path}'.", ev.name),
            );
            return Vec::new();
        }
        let at = ev.node;
        let mut out = Vec::new();

        // Authorization.
        let auth = props.get("Auth");
        let Some((authorization_type, authorizer, scopes)) =
            resolve_auth(api, auth, &route_key, &ppath, ev.name, sink)
        else {
            return Vec::new();
        };

        let integration_id = format!("{fn_id}{}Integration", ev.name);
        let route_id = format!("{fn_id}{}Route", ev.name);
        let mut integration = vec![
            ("ApiId", reference(&api_id, at)),
            ("IntegrationType", scalar("AWS_PROXY", at)),
            ("IntegrationMethod", scalar("POST", at)),
            (
                "IntegrationUri",
                sub(
                    &format!(
                        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{fn_id}.Arn}}/invocations"
                    ),
                    at,
                ),
            ),
            (
                "PayloadFormatVersion",
                props
                    .get("PayloadFormatVersion")
                    .cloned()
                    .unwrap_or_else(|| scalar("2.0", at)),
            ),
        ];
        if let Some(t) = props.get("TimeoutInMillis") {
            integration.push(("TimeoutInMillis", t.clone()));
        }
        out.push((
            integration_id.clone(),
            resource(
                "AWS::ApiGatewayV2::Integration",
                map(integration, at),
                ev.attributes,
                at,
            ),
        ));
        let mut route = vec![
            ("ApiId", reference(&api_id, at)),
            (
                "RouteKey",
                scalar(
                    &imported_route_key(&route_key),
                    props.get("Path").unwrap_or(at),
                ),
            ),
            (
                "Target",
                sub(&format!("integrations/${{{integration_id}}}"), at),
            ),
            (
                "AuthorizationType",
                scalar(&authorization_type, auth.unwrap_or(at)),
            ),
        ];
        if let Some(a) = authorizer {
            route.push(("AuthorizerId", reference(&a, auth.unwrap_or(at))));
        }
        if let Some(s) = scopes {
            route.push(("AuthorizationScopes", s));
        }
        out.push((
            route_id,
            resource(
                "AWS::ApiGatewayV2::Route",
                map(route, at),
                ev.attributes,
                at,
            ),
        ));
        if let Some(rs) = props.get("RouteSettings") {
            let key = if method == ANY && path == "$default" {
                path.clone()
            } else {
                route_key.clone()
            };
            if rs.as_map().is_none() {
                sink.error(
                    rs,
                    &format!("{ppath}.RouteSettings"),
                    "RouteSettings must be a map",
                );
            } else {
                api.event_route_settings.push((key, rs.clone()));
            }
        }

        // Permission (push.py HttpApi._get_permission).
        let mut ppath_text = path.clone();
        if ppath_text.len() > 1 && ppath_text.ends_with('/') {
            ppath_text.pop();
        }
        if ppath_text == "$default" {
            ppath_text = String::new();
        } else if default_apis.contains(&api_id) {
            return out;
        }
        let ppath_text = wildcard_params(&ppath_text);
        let perm_method = if method == ANY {
            "*".to_string()
        } else {
            method.to_uppercase()
        };
        let mut resource_text = "${__ApiId__}/${__Stage__}".to_string();
        if method == ANY && ppath_text == "/$default" {
            resource_text.push_str(&ppath_text);
        } else {
            resource_text.push_str(&format!("/{perm_method}{ppath_text}"));
        }
        let source_arn = tagged(
            "!Sub",
            seq(
                vec![
                    scalar(
                        &format!(
                            "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{resource_text}"
                        ),
                        at,
                    ),
                    map(
                        vec![("__ApiId__", api_node), ("__Stage__", scalar("*", at))],
                        at,
                    ),
                ],
                at,
            ),
        );
        out.push((
            format!("{fn_id}{}Permission", ev.name),
            resource(
                "AWS::Lambda::Permission",
                map(
                    vec![
                        ("Action", scalar("lambda:InvokeFunction", at)),
                        ("FunctionName", reference(fn_id, at)),
                        ("Principal", scalar("apigateway.amazonaws.com", at)),
                        ("SourceArn", source_arn),
                    ],
                    at,
                ),
                ev.attributes,
                at,
            ),
        ));
        out
    }

    /// The API an event attaches to: its logical id and the node to put in `SourceArn`.
    fn event_api(&self, props: &Node, ppath: &str, sink: &mut Sink) -> Option<(String, Node)> {
        match props.get("ApiId") {
            None => Some((IMPLICIT_API.to_string(), reference(IMPLICIT_API, props))),
            Some(n) => {
                let target = super::ref_target(n).filter(|_| {
                    n.tag.as_deref() == Some("!Ref") || n.as_map().is_some() || n.tag.is_none()
                });
                match target {
                    Some(t) if self.apis.iter().any(|a| a.id == t && !a.implicit) => {
                        // The translator keeps the node as written (`!Ref X` or `X`).
                        let node = if n.as_str().is_some() && n.tag.is_none() {
                            n.clone()
                        } else {
                            reference(t, n)
                        };
                        Some((t.to_string(), node))
                    }
                    _ => {
                        let what = if self.other_ids.iter().any(|o| Some(o.as_str()) == target) {
                            " (it names a resource that is not an AWS::Serverless::HttpApi)"
                        } else {
                            ""
                        };
                        sink.error(n, &format!("{ppath}.ApiId"), format!("ApiId must be a valid reference to an 'AWS::Serverless::HttpApi' resource in same template{what}."));
                        None
                    }
                }
            }
        }
    }

    /// `{Api}.Stage` → the stage's logical id (SAM's referable property `Stage`).
    pub fn stage_refs(&self) -> Vec<(String, String)> {
        self.apis
            .iter()
            .filter(|a| !a.implicit || a.used)
            .map(|a| {
                let name = match a.props.get("StageName") {
                    None => Some("$default"),
                    Some(n) => text(n),
                };
                (format!("{}.Stage", a.id), stage_logical_id(&a.id, name))
            })
            .collect()
    }

    /// The APIs' resources: Api, Stage, Authorizers.
    pub fn finish(self, sink: &mut Sink) -> Vec<(String, Node)> {
        let mut out = Vec::new();
        for api in self.apis {
            if api.implicit && !api.used {
                continue;
            }
            sink.resource = Some(api.id.clone());
            out.extend(api_resources(&api, sink));
        }
        sink.resource = None;
        out
    }
}

fn dummy() -> Node {
    Node {
        value: NodeValue::Scalar(String::new(), crate::node::Style::Plain),
        tag: None,
        line: 1,
        col: 1,
    }
}

/// The route key API Gateway creates from the body's path: without a trailing slash (AWS
/// strips it on import, as the translator's permission code notes; route keys may not end with
/// `/` except `/` itself).
fn imported_route_key(key: &str) -> String {
    match key.split_once(' ') {
        Some((method, path)) if path.len() > 1 && path.ends_with('/') => {
            let trimmed = path.trim_end_matches('/');
            let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
            format!("{method} {trimmed}")
        }
        _ => key.to_string(),
    }
}

/// `{name}` and `{proxy+}` → `*` (open_api.py `get_path_without_trailing_slash`; note that other
/// greedy parameters such as `{path+}` are kept as written, as the translator does).
fn wildcard_params(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        match after.find('}') {
            Some(end) => {
                let inner = &after[1..end];
                let simple = !inner.is_empty()
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
                if simple || inner == "proxy+" {
                    out.push('*');
                } else {
                    out.push_str(&after[..=end]);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn api_decl(
    id: &str,
    node: &Node,
    props: Node,
    implicit: bool,
    sink: &mut Sink,
) -> Option<ApiDecl> {
    let path = format!("Resources.{id}.Properties");
    let Some(entries) = props.as_map() else {
        sink.error(&props, &path, "Properties must be a map");
        return None;
    };
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let kpath = format!("{path}.{key}");
        if !API_PROPERTIES.contains(&key) {
            sink.error(
                k,
                &kpath,
                format!("`{key}` is not a property of AWS::Serverless::HttpApi"),
            );
        }
        match key {
            "DefinitionBody" => sink.error(
                v,
                &kpath,
                "an HttpApi's DefinitionBody (OpenAPI) is not supported yet: declare the routes with HttpApi events on the functions",
            ),
            "DefinitionUri" => sink.error(
                v,
                &kpath,
                "an HttpApi's DefinitionUri (OpenAPI) is not supported yet: declare the routes with HttpApi events on the functions",
            ),
            "Domain" => sink.ignore(id, key, "custom domain names are not emulated: use the local URL", k),
            _ => {}
        }
    }
    let mut decl = ApiDecl {
        id: id.to_string(),
        node: node.clone(),
        props: props.clone(),
        authorizers: Vec::new(),
        iam_enabled: false,
        default_authorizer: None,
        event_route_settings: Vec::new(),
        route_keys: HashSet::new(),
        used: false,
        implicit,
    };
    let Some(auth) = props.get("Auth") else {
        return Some(decl);
    };
    let apath = format!("{path}.Auth");
    let Some(auth_entries) = auth.as_map() else {
        sink.error(
            auth,
            &apath,
            format!("Resource with id [{id}] is invalid. Property 'Auth' should be a map."),
        );
        return Some(decl);
    };
    for (k, _) in auth_entries {
        let key = k.as_str().unwrap_or_default();
        if !["Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"].contains(&key) {
            sink.error(k, &format!("{apath}.{key}"), format!("Resource with id [{id}] is invalid. Invalid value for 'Auth' property (`{key}`: known are Authorizers, DefaultAuthorizer, EnableIamAuthorizer)"));
        }
    }
    decl.iam_enabled = auth
        .get("EnableIamAuthorizer")
        .and_then(Node::as_str)
        .is_some_and(|s| s == "true");
    if let Some(authorizers) = auth.get("Authorizers") {
        match authorizers.as_map() {
            None => sink.error(authorizers, &format!("{apath}.Authorizers"), format!("Resource with id [{id}] is invalid. Property 'Auth.Authorizers' should be a map.")),
            Some(items) => {
                for (k, v) in items {
                    let name = k.as_str().unwrap_or_default().to_string();
                    let npath = format!("{apath}.Authorizers.{name}");
                    if v.as_map().is_none() {
                        sink.error(v, &npath, format!("Resource with id [{id}] is invalid. Property 'Auth.Authorizers.{name}' should be a map."));
                        continue;
                    }
                    if v.get("JwtConfiguration").is_none() {
                        if v.get("FunctionArn").is_some() {
                            sink.error(v, &npath, "Lambda authorizers (FunctionArn) are not supported yet: stackgate emulates JWT (OAuth2) authorizers");
                        } else {
                            sink.error(v, &npath, format!("Resource with id [{id}] is invalid. {name} Lambda Authorizer must define 'FunctionArn'."));
                        }
                        continue;
                    }
                    let mut ok = true;
                    for (ak, _) in v.as_map().unwrap_or_default() {
                        let akey = ak.as_str().unwrap_or_default();
                        if !["AuthorizationScopes", "JwtConfiguration", "IdentitySource"].contains(&akey) {
                            ok = false;
                            sink.error(ak, &format!("{npath}.{akey}"), format!("Resource with id [{id}] is invalid. {akey} is not a property of an OAuth2 Authorizer (AuthorizationScopes, JwtConfiguration, IdentitySource)."));
                        }
                    }
                    if v.get("IdentitySource").is_none() {
                        ok = false;
                        sink.error(v, &npath, format!("Resource with id [{id}] is invalid. {name} OAuth2 Authorizer must define 'IdentitySource'."));
                    }
                    let scopes = v.get("AuthorizationScopes").cloned();
                    if let Some(s) = &scopes
                        && s.as_seq().is_none()
                        && !is_intrinsic(s)
                    {
                        ok = false;
                        sink.error(s, &format!("{npath}.AuthorizationScopes"), format!("Resource with id [{id}] is invalid. AuthorizationScopes must be a list."));
                    }
                    if ok {
                        decl.authorizers.push(AuthorizerDecl {
                            logical_id: format!("{id}{}Authorizer", alnum(&name)),
                            name,
                            scopes,
                        });
                    }
                }
            }
        }
    }
    if let Some(d) = auth.get("DefaultAuthorizer") {
        match text(d) {
            Some(name) if name == "AWS_IAM" && decl.iam_enabled => {
                decl.default_authorizer = Some(name.to_string());
            }
            Some(name) if decl.authorizers.iter().any(|a| a.name == name) => {
                decl.default_authorizer = Some(name.to_string());
            }
            Some(name) => sink.error(d, &format!("{apath}.DefaultAuthorizer"), format!("Resource with id [{id}] is invalid. Unable to set DefaultAuthorizer because '{name}' was not defined in 'Authorizers'.")),
            None => sink.error(d, &format!("{apath}.DefaultAuthorizer"), format!("Resource with id [{id}] is invalid. Property 'Auth.DefaultAuthorizer' should be a string.")),
        }
    }
    Some(decl)
}

/// (AuthorizationType, authorizer logical id, scopes) for a route (push.py
/// `_add_auth_to_openapi_integration`, open_api.py `set_path_default_authorizer` and
/// `_set_method_authorizer`). Event scopes replace the authorizer's.
fn resolve_auth(
    api: &ApiDecl,
    auth: Option<&Node>,
    route_key: &str,
    ppath: &str,
    event: &str,
    sink: &mut Sink,
) -> Option<(String, Option<String>, Option<Node>)> {
    let named = |name: &str| api.authorizers.iter().find(|a| a.name == name);
    let Some(auth) = auth else {
        return Some(match &api.default_authorizer {
            None => ("NONE".to_string(), None, None),
            Some(d) if d == "AWS_IAM" => ("AWS_IAM".to_string(), None, None),
            Some(d) => {
                let a = named(d)?;
                (
                    "JWT".to_string(),
                    Some(a.logical_id.clone()),
                    a.scopes.clone(),
                )
            }
        });
    };
    let apath = format!("{ppath}.Auth");
    if auth.as_map().is_none() {
        sink.error(
            auth,
            &apath,
            format!("Event with id [{event}] is invalid. Property 'Auth' should be a map."),
        );
        return None;
    }
    let which = match auth.get("Authorizer") {
        Some(n) => match text(n) {
            Some(t) => t.to_string(),
            None => {
                sink.error(n, &format!("{apath}.Authorizer"), format!("Event with id [{event}] is invalid. Property 'Authorizer' should be a string."));
                return None;
            }
        },
        None => match &api.default_authorizer {
            Some(d) => d.clone(),
            None => {
                sink.error(auth, &apath, format!("Event with id [{event}] is invalid. 'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer' configured on the HttpApi."));
                return None;
            }
        },
    };
    let event_scopes = auth.get("AuthorizationScopes");
    if let Some(s) = event_scopes
        && s.as_seq().is_none()
    {
        sink.error(s, &format!("{apath}.AuthorizationScopes"), format!("Event with id [{event}] is invalid. Unable to set Authorizer on API method for route [{route_key}] because 'AuthorizationScopes' must be a list of strings."));
        return None;
    }
    let at = auth.get("Authorizer").unwrap_or(auth);
    if which == "NONE" {
        if api.default_authorizer.is_none() {
            sink.error(at, &apath, format!("Event with id [{event}] is invalid. Unable to set Authorizer on API method for route [{route_key}] because 'NONE' is only a valid value when a DefaultAuthorizer on the API is specified."));
            return None;
        }
        return Some(("NONE".to_string(), None, None));
    }
    if which == "AWS_IAM" && api.iam_enabled {
        return Some(("AWS_IAM".to_string(), None, None));
    }
    if api.authorizers.is_empty() {
        sink.error(at, &apath, format!("Event with id [{event}] is invalid. Unable to set Authorizer [{which}] on API method for route [{route_key}] because the related API does not define any Authorizers."));
        return None;
    }
    let Some(a) = named(&which) else {
        sink.error(at, &apath, format!("Event with id [{event}] is invalid. Unable to set Authorizer [{which}] on API method for route [{route_key}] because it wasn't defined in the API's Authorizers."));
        return None;
    };
    let scopes = match event_scopes {
        Some(s) if s.as_seq().is_some_and(|items| !items.is_empty()) => Some(s.clone()),
        _ => a.scopes.clone(),
    };
    Some(("JWT".to_string(), Some(a.logical_id.clone()), scopes))
}

/// The stage's logical id (http_api_generator.py `_construct_stage`).
pub(crate) fn stage_logical_id(api: &str, stage_name: Option<&str>) -> String {
    match stage_name {
        None => format!("{api}Stage"),
        Some("$default") => format!("{api}ApiGatewayDefaultStage"),
        Some(s) if !s.is_empty() && s.chars().all(char::is_alphanumeric) => {
            format!("{api}{s}Stage")
        }
        Some("") => format!("{api}Stage"),
        Some(s) => {
            let hash = super::sha1::hex(s.as_bytes());
            format!("{api}Stage{}", hash.get(..10).unwrap_or(&hash))
        }
    }
}

fn cors(id: &str, node: &Node, sink: &mut Sink) -> Option<Node> {
    let path = format!("Resources.{id}.Properties.CorsConfiguration");
    if is_intrinsic(node) {
        return Some(map(vec![("AllowOrigins", node.clone())], node));
    }
    if let Some(s) = node.as_str() {
        return match s {
            "true" | "True" | "TRUE" => Some(map(
                vec![("AllowOrigins", seq(vec![scalar("*", node)], node))],
                node,
            )),
            "false" | "False" | "FALSE" => None,
            _ => {
                sink.error(
                    node,
                    &path,
                    format!(
                        "Resource with id [{id}] is invalid. Invalid value for 'Cors' property."
                    ),
                );
                None
            }
        };
    }
    let Some(entries) = node.as_map() else {
        sink.error(
            node,
            &path,
            format!("Resource with id [{id}] is invalid. Invalid value for 'Cors' property."),
        );
        return None;
    };
    const KEYS: &[&str] = &[
        "AllowMethods",
        "AllowHeaders",
        "AllowOrigins",
        "MaxAge",
        "ExposeHeaders",
        "AllowCredentials",
    ];
    for (k, _) in entries {
        let key = k.as_str().unwrap_or_default();
        if !KEYS.contains(&key) {
            sink.error(
                k,
                &path,
                format!(
                    "Resource with id [{id}] is invalid. Invalid key '{key}' for 'Cors' property."
                ),
            );
            return None;
        }
    }
    let credentials = node
        .get("AllowCredentials")
        .and_then(Node::as_str)
        .is_some_and(|s| s == "true");
    let wildcard = match node.get("AllowOrigins") {
        None => true,
        Some(o) => o
            .as_seq()
            .is_some_and(|items| items.len() == 1 && items[0].as_str() == Some("*")),
    };
    if credentials && wildcard {
        sink.error(node, &path, format!("Resource with id [{id}] is invalid. Unable to add Cors configuration because 'AllowCredentials' can not be true when 'AllowOrigin' is \"'*'\" or not set."));
        return None;
    }
    Some(node.clone())
}

fn api_resources(api: &ApiDecl, sink: &mut Sink) -> Vec<(String, Node)> {
    let at = &api.node;
    let p = &api.props;
    let attributes = super::passthrough_attributes(at);
    let mut out = Vec::new();
    let mut props = vec![
        (
            "Name",
            p.get("Name")
                .cloned()
                .unwrap_or_else(|| reference("AWS::StackName", at)),
        ),
        ("ProtocolType", scalar("HTTP", at)),
    ];
    for key in [
        "Description",
        "FailOnWarnings",
        "DisableExecuteApiEndpoint",
        "Tags",
    ] {
        if let Some(v) = p.get(key) {
            props.push((key, v.clone()));
        }
    }
    if let Some(c) = p.get("CorsConfiguration")
        && let Some(c) = cors(&api.id, c, sink)
    {
        props.push(("CorsConfiguration", c));
    }
    let mut api_attrs = attributes.clone();
    if let Some(d) = at.get("DependsOn") {
        api_attrs.push(("DependsOn".to_string(), d.clone()));
    }
    out.push((
        api.id.clone(),
        resource("AWS::ApiGatewayV2::Api", map(props, at), &api_attrs, at),
    ));
    // Authorizers.
    let auth = p.get("Auth");
    for a in &api.authorizers {
        let Some(anode) = auth
            .and_then(|x| x.get("Authorizers"))
            .and_then(|x| x.get(&a.name))
        else {
            continue;
        };
        let npath = format!(
            "Resources.{}.Properties.Auth.Authorizers.{}",
            api.id, a.name
        );
        let source = anode
            .get("IdentitySource")
            .cloned()
            .unwrap_or_else(|| scalar("", anode));
        let source = if source.as_seq().is_some() {
            source
        } else {
            let s = source.clone();
            seq(vec![s], &source)
        };
        let mut jwt = Vec::new();
        if let Some(j) = anode.get("JwtConfiguration") {
            match j.as_map() {
                Some(entries) => {
                    for (k, v) in entries {
                        match k.as_str().unwrap_or_default() {
                            "issuer" | "Issuer" => jwt.push(("Issuer", v.clone())),
                            "audience" | "Audience" => jwt.push(("Audience", v.clone())),
                            other => sink.error(k, &format!("{npath}.JwtConfiguration.{other}"), format!("`{other}` is not a property of JwtConfiguration (issuer, audience)")),
                        }
                    }
                }
                None => sink.error(
                    j,
                    &format!("{npath}.JwtConfiguration"),
                    "JwtConfiguration must be a map with issuer and audience",
                ),
            }
        }
        let jat = anode.get("JwtConfiguration").unwrap_or(anode);
        out.push((
            a.logical_id.clone(),
            resource(
                "AWS::ApiGatewayV2::Authorizer",
                map(
                    vec![
                        ("ApiId", reference(&api.id, anode)),
                        ("Name", scalar(&a.name, anode)),
                        ("AuthorizerType", scalar("JWT", anode)),
                        ("IdentitySource", source),
                        ("JwtConfiguration", map(jwt, jat)),
                    ],
                    anode,
                ),
                &attributes,
                anode,
            ),
        ));
    }
    // Stage (always: StageName defaults to $default).
    let stage_node = p.get("StageName");
    let stage_name = match stage_node {
        None => Some("$default"),
        Some(n) => text(n),
    };
    let stage_id = stage_logical_id(&api.id, stage_name);
    let sat = stage_node.unwrap_or(at);
    let mut stage = vec![
        ("ApiId", reference(&api.id, sat)),
        (
            "StageName",
            stage_node
                .cloned()
                .unwrap_or_else(|| scalar("$default", at)),
        ),
        ("AutoDeploy", plain("true", sat)),
    ];
    for key in [
        "StageVariables",
        "AccessLogSettings",
        "DefaultRouteSettings",
    ] {
        if let Some(v) = p.get(key) {
            stage.push((key, v.clone()));
        }
    }
    let mut route_settings = p.get("RouteSettings").cloned();
    if !api.event_route_settings.is_empty() {
        let base = route_settings.clone().unwrap_or_else(|| empty_map(at));
        let mut merged = base.clone();
        if let NodeValue::Map(entries) = &mut merged.value {
            for (key, settings) in &api.event_route_settings {
                match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
                    Some((_, existing)) => {
                        // dict.update: the event's keys replace the API's.
                        if let (NodeValue::Map(e), Some(s)) =
                            (&mut existing.value, settings.as_map())
                        {
                            for (sk, sv) in s {
                                match e.iter_mut().find(|(k, _)| k.as_str() == sk.as_str()) {
                                    Some((_, v)) => *v = sv.clone(),
                                    None => e.push((sk.clone(), sv.clone())),
                                }
                            }
                        }
                    }
                    None => entries.push((scalar(key, settings), settings.clone())),
                }
            }
        }
        route_settings = Some(merged);
    }
    if let Some(rs) = route_settings {
        stage.push(("RouteSettings", rs));
    }
    if let Some(t) = p.get("Tags") {
        stage.push(("Tags", t.clone()));
    }
    out.push((
        stage_id,
        resource(
            "AWS::ApiGatewayV2::Stage",
            map(stage, sat),
            &attributes,
            sat,
        ),
    ));
    out
}
