//! Who may invoke what in a template's [`Model`]: for one route, what API Gateway needs to call
//! its function (the integration role's trust and policies, or a resource-based permission), and
//! the check of one request against that. Used by the gateway (per request) and by
//! `stackgate check` (statically).

use stackgate_template::{Function, FunctionTarget, Integration, Model, Role, Route};

use crate::arn::FunctionRef;
use crate::permission::{evaluate_permissions, execute_api_arn, is_for_function};
use crate::{RoleSpec, check_role, invoke_statement_yaml, permission_yaml, trust_statement_yaml};

/// The special `CredentialsArn` that passes the caller's IAM identity through.
pub const CALLER_IDENTITY: &str = "arn:aws:iam::*:user/*";

/// Why API Gateway may not invoke the function, and what to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// What is missing or wrong, in words (names the route, the function, the role/permissions).
    pub missing: String,
    /// YAML to add to the template.
    pub fix: String,
    /// `role` or `permission`: which mechanism the route uses.
    pub mechanism: Mechanism,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Role,
    Permission,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; add to the template:\n{}", self.missing, self.fix)
    }
}

/// What a route needs, compiled once.
#[derive(Debug, Clone)]
pub enum Plan {
    /// stackgate cannot check it (an external role or function): allowed, with this warning.
    Trusted { warning: String },
    /// Decided once: integration role (does not depend on the request).
    Fixed(Result<(), Box<Denial>>),
    /// Resource-based permissions: the source ARN depends on the stage and the request.
    Permissions(Box<PermissionPlan>),
}

/// The resource-policy check of one route.
#[derive(Debug, Clone)]
pub struct PermissionPlan {
    pub function: FunctionRef,
    /// `AWS::Lambda::Permission`s for this function (and qualifier).
    pub permissions: Vec<stackgate_template::Permission>,
    pub partition: String,
    pub region: String,
    pub account: String,
    pub api_id: String,
    /// `None` for the `$default` route; else the route key's method and path template.
    pub route: Option<(String, String)>,
    route_key: String,
    function_label: String,
    fix: String,
}

/// What the template says about a route's integration, gathered for planning.
pub struct RouteInput<'m> {
    pub model: &'m Model,
    pub route: &'m Route,
    pub integration: &'m Integration,
    pub target: &'m FunctionTarget,
}

fn function_of<'m>(model: &'m Model, target: &FunctionTarget) -> Option<&'m Function> {
    model.functions.iter().find(|f| f.arn == target.arn)
}

/// `echo (EchoFunction)`.
fn label(target: &FunctionTarget, function: Option<&Function>) -> String {
    match function {
        Some(f) => format!("{} ({})", target.function_name, f.logical_id),
        None => target.function_name.clone(),
    }
}

/// `FunctionName` / `Resource` expressions for the fix YAML.
fn refs(target: &FunctionTarget, function: Option<&Function>) -> (String, String) {
    let qualified = |base: String| match &target.qualifier {
        Some(q) => format!("!Sub \"${{{base}}}:{q}\""),
        None => format!("!GetAtt {base}"),
    };
    match function {
        Some(f) => (
            match &target.qualifier {
                Some(q) => format!("!Sub \"${{{}}}:{q}\"", f.logical_id),
                None => format!("!Ref {}", f.logical_id),
            },
            qualified(format!("{}.Arn", f.logical_id)),
        ),
        None => {
            let arn = match &target.qualifier {
                Some(q) => format!("{}:{q}", target.arn),
                None => target.arn.clone(),
            };
            (arn.clone(), arn)
        }
    }
}

/// `*/GET/pets/*` (SAM's form: any stage, the method or `*` for ANY, path variables as `*`), or
/// `*/$default` for the `$default` route.
pub fn source_arn_tail(route_key: &str) -> String {
    match route_key.split_once(' ') {
        Some((method, path)) => {
            let method = if method == "ANY" { "*" } else { method };
            let path: Vec<&str> = path
                .trim_start_matches('/')
                .split('/')
                .map(|s| if s.starts_with('{') { "*" } else { s })
                .collect();
            format!("*/{method}/{}", path.join("/"))
        }
        None => "*/$default".to_owned(),
    }
}

/// The method and path of an execute-api `SourceArn` (`arn:…:execute-api:…:API/STAGE/METHOD/path`).
fn arn_method_path(arn: &str) -> Option<(&str, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.splitn(4, '/');
    let (_api, _stage, method) = (parts.next()?, parts.next()?, parts.next()?);
    let path = parts.next()?;
    Some((method, format!("/{path}")))
}

/// Whether `source_arn` names one concrete request of route `route_key` of API `api_id`
/// (`.../API/STAGE/GET/items/42` for `GET /items/{id}`; API id, stage and method may be `*`).
pub fn names_route_instance(source_arn: &str, api_id: &str, route_key: &str) -> bool {
    let Some((route_method, template)) = route_key.split_once(' ') else {
        return false;
    };
    let api = source_arn
        .splitn(6, ':')
        .nth(5)
        .and_then(|r| r.split('/').next());
    let Some((method, path)) = arn_method_path(source_arn) else {
        return false;
    };
    matches!(api, Some(a) if a == api_id || a == "*")
        && (method == "*" || route_method == "ANY" || method == route_method)
        && !path.contains('*')
        && is_instance_of(&path, template)
}

/// Whether `path` is one of the paths route path `template` matches (`{name}`: one segment,
/// `{name+}`: one or more).
fn is_instance_of(path: &str, template: &str) -> bool {
    let mut have = path.trim_start_matches('/').split('/');
    let mut want = template.trim_start_matches('/').split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with("+}") => return !h.is_empty(),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// Plans the invoke-permission check of one route.
pub fn plan(input: &RouteInput<'_>) -> Plan {
    let RouteInput {
        model,
        route,
        integration,
        target,
    } = input;
    let function = function_of(model, target);
    let fref = FunctionRef {
        name: target.function_name.clone(),
        qualifier: target.qualifier.clone(),
        arn: target.arn.clone(),
    };
    let flabel = label(target, function);
    let (fn_ref, fn_arn_ref) = refs(target, function);
    let key = &route.route_key;
    if let Some(role_arn) = &integration.credentials_arn {
        if role_arn == CALLER_IDENTITY {
            return Plan::Trusted {
                warning: format!(
                    "route {key:?}: integration {} passes the caller's identity (CredentialsArn {CALLER_IDENTITY}); stackgate does not check IAM callers, so it invokes {flabel}",
                    integration.logical_id
                ),
            };
        }
        let Some(role) = model.roles.iter().find(|r| &r.arn == role_arn) else {
            return Plan::Trusted {
                warning: format!(
                    "route {key:?}: integration {}'s CredentialsArn {role_arn} is not a role of this template, so stackgate cannot check it and trusts it to invoke {flabel}",
                    integration.logical_id
                ),
            };
        };
        return Plan::Fixed(role_decision(model, role, &fref, key, &flabel, &fn_arn_ref));
    }
    if function.is_none() {
        return Plan::Trusted {
            warning: format!(
                "route {key:?}: function {flabel} is not defined in this template, so stackgate cannot see its resource policy and trusts it"
            ),
        };
    }
    let (partition, region, account) = match &model.stack {
        Some(s) => (s.partition.clone(), s.region.clone(), s.account_id.clone()),
        None => (
            "aws".to_owned(),
            "us-east-1".to_owned(),
            "123456789012".to_owned(),
        ),
    };
    let api_id = model
        .apis
        .iter()
        .find(|a| a.logical_id == route.api)
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let permissions: Vec<stackgate_template::Permission> = model
        .permissions
        .iter()
        .filter(|p| is_for_function(p, &fref))
        .cloned()
        .collect();
    let fix_id = format!(
        "{}{}Permission",
        function.map_or("Function", |f| f.logical_id.as_str()),
        route.api
    );
    let fix = permission_yaml(&fix_id, &fn_ref, &route.api, &source_arn_tail(key));
    let route_parts = key
        .split_once(' ')
        .map(|(m, p)| (m.to_owned(), p.to_owned()));
    let plan = PermissionPlan {
        function: fref,
        permissions,
        partition,
        region,
        account,
        api_id,
        route: route_parts,
        route_key: key.clone(),
        function_label: flabel,
        fix,
    };
    if plan.permissions.is_empty() {
        return Plan::Fixed(Err(Box::new(plan.denial(&[]))));
    }
    Plan::Permissions(Box::new(plan))
}

/// The integration-role decision (trust, then `lambda:InvokeFunction` on the function).
fn role_decision(
    model: &Model,
    role: &Role,
    function: &FunctionRef,
    route_key: &str,
    flabel: &str,
    fn_arn_ref: &str,
) -> Result<(), Box<Denial>> {
    let spec = role_spec(model, role);
    let check = check_role(&spec, function);
    let Some(problem) = check.problem(&role.logical_id, function) else {
        return Ok(());
    };
    let fix = if check.trust.is_allowed() {
        format!(
            "a statement in {}'s Policies[].PolicyDocument.Statement (or remove a Deny):\n{}",
            role.logical_id,
            indent(&invoke_statement_yaml(fn_arn_ref))
        )
    } else {
        format!(
            "a statement in {}'s AssumeRolePolicyDocument.Statement:\n{}",
            role.logical_id,
            indent(&trust_statement_yaml())
        )
    };
    Err(Box::new(Denial {
        missing: format!(
            "API Gateway may not invoke function {flabel} for route {route_key:?} through integration role {}: {problem}",
            role.logical_id
        ),
        fix,
        mechanism: Mechanism::Role,
    }))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect::<String>()
}

/// Everything attached to a role: inline policies, `AWS::IAM::Policy`/`ManagedPolicy` resources
/// naming it in `Roles`, template managed policies in its `ManagedPolicyArns`, and the other
/// `ManagedPolicyArns` (AWS-managed).
pub fn role_spec<'m>(model: &'m Model, role: &'m Role) -> RoleSpec<'m> {
    let mut policies: Vec<(String, &serde_json::Value)> = role
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("role {}'s Policies[{i}]", role.logical_id), p))
        .collect();
    for p in &model.policies {
        if p.roles.contains(&role.name) {
            policies.push((format!("{} {}", p.resource_type, p.logical_id), &p.document));
        }
    }
    let mut managed = Vec::new();
    for arn in &role.managed_policy_arns {
        match model
            .policies
            .iter()
            .find(|p| p.arn.as_deref() == Some(arn.as_str()))
        {
            Some(p) if !p.roles.contains(&role.name) => {
                policies.push((format!("{} {}", p.resource_type, p.logical_id), &p.document));
            }
            Some(_) => {}
            None => managed.push(arn.clone()),
        }
    }
    RoleSpec {
        logical_id: &role.logical_id,
        trust: &role.assume_role_policy,
        policies,
        managed_policy_arns: managed,
    }
}

/// Start-up warnings for a role: statements whose `Condition` is not evaluated.
pub fn role_warnings(model: &Model, role: &Role) -> Vec<String> {
    let spec = role_spec(model, role);
    let mut out = Vec::new();
    let dummy = FunctionRef {
        name: String::new(),
        qualifier: None,
        arn: String::new(),
    };
    for c in check_role(&spec, &dummy).conditions {
        out.push(format!(
            "{c} has a Condition that stackgate does not evaluate (it is taken to apply)"
        ));
    }
    out
}

impl PermissionPlan {
    /// The ARNs API Gateway presents for a request on `stage` (`method`, `path` after the
    /// stage), or for the route itself when `request` is `None`: the concrete-path ARN and the
    /// route-template ARN (AWS unconfirmed for HTTP APIs which one; either is accepted).
    pub fn source_arns(&self, stage: &str, request: Option<(&str, &str)>) -> Vec<String> {
        let arn = |mp: Option<(&str, &str)>| {
            execute_api_arn(
                &self.partition,
                &self.region,
                &self.account,
                &self.api_id,
                stage,
                mp,
            )
        };
        match &self.route {
            None => vec![arn(None)],
            Some((method, template)) => {
                let mut out = Vec::new();
                if let Some((m, p)) = request {
                    out.push(arn(Some((m, p))));
                }
                out.push(arn(Some((method, template))));
                if let Some((m, _)) = request
                    && m != method
                {
                    out.push(arn(Some((m, template))));
                }
                out
            }
        }
    }

    /// Checks one request (or the route itself, `request: None`).
    pub fn check(&self, stage: &str, request: Option<(&str, &str)>) -> Result<(), Box<Denial>> {
        let arns = self.source_arns(stage, request);
        let outcome = evaluate_permissions(&self.permissions, &self.function, &arns, &self.account);
        if outcome.allowed_by.is_some() {
            return Ok(());
        }
        let why: Vec<String> = outcome
            .rejected
            .iter()
            .map(|(id, m)| format!("{id}: {}", m.describe(&arns, &self.account)))
            .collect();
        Err(Box::new(self.denial_with(&arns, &why)))
    }

    /// Requests of this route that a permission allows although the route as a whole is not
    /// allowed: a `SourceArn` naming one concrete path of a `{param}` route (`.../GET/items/42`
    /// for `GET /items/{id}`). Each as (permission, `"GET /items/42"`).
    pub fn allowed_instances(&self, stage: &str) -> Vec<(String, String)> {
        let Some((method, _)) = &self.route else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in &self.permissions {
            let Some(arn) = p.source_arn.as_deref() else {
                continue;
            };
            let Some((arn_method, path)) = arn_method_path(arn)
                .filter(|_| names_route_instance(arn, &self.api_id, &self.route_key))
            else {
                continue;
            };
            // names_route_instance checked that the methods agree.
            let m = match (arn_method, method.as_str()) {
                ("*", "ANY") => "GET",
                ("*", m) | (m, _) => m,
            };
            if self.check(stage, Some((m, &path))).is_ok() {
                out.push((p.logical_id.clone(), format!("{m} {path}")));
            }
        }
        out
    }

    /// Does any permission need the concrete request (a `SourceArn` at all)?
    pub fn depends_on_request(&self) -> bool {
        self.permissions.iter().any(|p| p.source_arn.is_some())
    }

    fn denial(&self, why: &[String]) -> Denial {
        let arns = self.source_arns("$default", None);
        self.denial_with(&arns, why)
    }

    fn denial_with(&self, arns: &[String], why: &[String]) -> Denial {
        let presented = arns.first().map_or("", String::as_str);
        let missing = if self.permissions.is_empty() {
            format!(
                "API Gateway may not invoke function {} for route {:?}: the integration has no CredentialsArn and no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke the function",
                self.function_label, self.route_key
            )
        } else {
            format!(
                "API Gateway may not invoke function {} for route {:?}: no AWS::Lambda::Permission of the function allows source {presented} ({})",
                self.function_label,
                self.route_key,
                why.join("; ")
            )
        };
        Denial {
            missing,
            fix: self.fix.clone(),
            mechanism: Mechanism::Permission,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concrete_paths_of_route_templates() {
        assert!(is_instance_of("/items/42", "/items/{id}"));
        assert!(is_instance_of("/a/b/c", "/{proxy+}"));
        assert!(is_instance_of("/files/x/y", "/files/{path+}"));
        assert!(!is_instance_of("/items", "/items/{id}"));
        assert!(!is_instance_of("/items/42/x", "/items/{id}"));
        assert!(!is_instance_of("/other/42", "/items/{id}"));
        assert!(is_instance_of("/items", "/items"));
        assert_eq!(
            arn_method_path("arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/items/42"),
            Some(("GET", "/items/42".to_owned()))
        );
        assert_eq!(
            arn_method_path("arn:aws:execute-api:us-east-1:123456789012:abc/*"),
            None
        );
    }

    #[test]
    fn route_instances_in_source_arns() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/items/42";
        assert!(names_route_instance(arn, "abc", "GET /items/{id}"));
        assert!(names_route_instance(arn, "abc", "ANY /items/{id}"));
        assert!(!names_route_instance(arn, "other", "GET /items/{id}"));
        assert!(!names_route_instance(arn, "abc", "POST /items/{id}"));
        assert!(!names_route_instance(arn, "abc", "GET /users/{id}"));
        assert!(!names_route_instance(arn, "abc", "$default"));
    }

    #[test]
    fn source_arn_tails_like_sam() {
        assert_eq!(source_arn_tail("GET /pets/{id}"), "*/GET/pets/*");
        assert_eq!(source_arn_tail("ANY /{proxy+}"), "*/*/*");
        assert_eq!(source_arn_tail("POST /"), "*/POST/");
        assert_eq!(source_arn_tail("$default"), "*/$default");
    }
}
