//! Building the [`Model`] from the parsed template: sections, resources, properties.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::LoadOptions;
use crate::diagnostics::Diagnostic;
use crate::ids;
use crate::intrinsics::{Ctx, ResourceDecl, Value};
use crate::model::*;
use crate::node::Node;

const TOP_LEVEL: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "Condition",
    "DependsOn",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "CreationPolicy",
    "UpdatePolicy",
];

/// Properties of one resource type: those stackgate reads, those it accepts although they have no
/// local effect, and those it ignores although they change behaviour in AWS (with the reason).
struct Schema {
    used: &'static [&'static str],
    inert: &'static [&'static str],
    ignored: &'static [(&'static str, &'static str)],
}

const NOT_YET: &str = "stackgate does not emulate it yet";

fn schema(resource_type: &str) -> Option<Schema> {
    Some(match resource_type {
        "AWS::ApiGatewayV2::Api" => Schema {
            used: &[
                "Name",
                "ProtocolType",
                "DisableExecuteApiEndpoint",
                "Target",
                "RouteKey",
                "CredentialsArn",
                "Body",
                "BodyS3Location",
                "RouteSelectionExpression",
            ],
            inert: &[
                "Description",
                "Version",
                "Tags",
                "ApiKeySelectionExpression",
                "DisableSchema",
                "BasePath",
                "FailOnWarnings",
                "IpAddressType",
            ],
            ignored: &[(
                "CorsConfiguration",
                "CORS is not emulated yet: no preflight answers, no CORS headers",
            )],
        },
        "AWS::ApiGatewayV2::Stage" => Schema {
            used: &["ApiId", "StageName", "AutoDeploy", "StageVariables"],
            inert: &["DeploymentId", "Description", "Tags"],
            ignored: &[
                (
                    "DefaultRouteSettings",
                    "stage throttling and detailed metrics are not emulated yet",
                ),
                ("RouteSettings", "per-route throttling is not emulated yet"),
                (
                    "AccessLogSettings",
                    "access logs are written in stackgate's own format",
                ),
                ("ClientCertificateId", NOT_YET),
                ("AccessPolicyId", NOT_YET),
            ],
        },
        "AWS::ApiGatewayV2::Route" => Schema {
            used: &[
                "ApiId",
                "RouteKey",
                "Target",
                "AuthorizationType",
                "AuthorizerId",
                "AuthorizationScopes",
            ],
            inert: &[
                "OperationName",
                "ModelSelectionExpression",
                "RequestModels",
                "RouteResponseSelectionExpression",
            ],
            ignored: &[
                ("ApiKeyRequired", NOT_YET),
                (
                    "RequestParameters",
                    "route request parameters are not emulated",
                ),
            ],
        },
        "AWS::ApiGatewayV2::Integration" => Schema {
            used: &[
                "ApiId",
                "IntegrationType",
                "IntegrationUri",
                "PayloadFormatVersion",
                "TimeoutInMillis",
                "CredentialsArn",
            ],
            inert: &[
                "Description",
                "IntegrationMethod",
                "TemplateSelectionExpression",
                "RequestTemplates",
                "ContentHandlingStrategy",
                "PassthroughBehavior",
            ],
            ignored: &[
                (
                    "RequestParameters",
                    "parameter mapping is not emulated yet: requests reach the integration unchanged",
                ),
                (
                    "ResponseParameters",
                    "parameter mapping is not emulated yet: responses reach the client unchanged",
                ),
                (
                    "ConnectionType",
                    "private integrations (VPC links) are not emulated",
                ),
                (
                    "ConnectionId",
                    "private integrations (VPC links) are not emulated",
                ),
                ("TlsConfig", NOT_YET),
                (
                    "IntegrationSubtype",
                    "AWS service integrations are not emulated",
                ),
            ],
        },
        "AWS::ApiGatewayV2::Authorizer" => Schema {
            used: &[
                "ApiId",
                "Name",
                "AuthorizerType",
                "IdentitySource",
                "JwtConfiguration",
            ],
            inert: &["IdentityValidationExpression"],
            ignored: &[
                (
                    "AuthorizerUri",
                    "Lambda (REQUEST) authorizers are not emulated yet",
                ),
                (
                    "AuthorizerPayloadFormatVersion",
                    "Lambda (REQUEST) authorizers are not emulated yet",
                ),
                (
                    "AuthorizerResultTtlInSeconds",
                    "Lambda (REQUEST) authorizers are not emulated yet",
                ),
                (
                    "EnableSimpleResponses",
                    "Lambda (REQUEST) authorizers are not emulated yet",
                ),
                (
                    "AuthorizerCredentialsArn",
                    "Lambda (REQUEST) authorizers are not emulated yet",
                ),
            ],
        },
        "AWS::ApiGatewayV2::Deployment" => Schema {
            used: &["ApiId"],
            inert: &["Description", "StageName"],
            ignored: &[],
        },
        "AWS::Lambda::Function" => Schema {
            used: &[
                "Code",
                "Runtime",
                "Handler",
                "FunctionName",
                "Environment",
                "Timeout",
                "MemorySize",
                "ReservedConcurrentExecutions",
                "Role",
                "PackageType",
            ],
            inert: &[
                "Description",
                "Tags",
                "KmsKeyArn",
                "RuntimeManagementConfig",
                "CodeSigningConfigArn",
            ],
            ignored: &[
                (
                    "Architectures",
                    "functions run on this machine's architecture",
                ),
                (
                    "Layers",
                    "layers are not emulated: their code is not on the function's path",
                ),
                ("VpcConfig", "functions run with this machine's network"),
                (
                    "DeadLetterConfig",
                    "dead-letter queues are not emulated: a discarded asynchronous event is logged",
                ),
                ("EphemeralStorage", "/tmp is not limited"),
                ("FileSystemConfigs", "EFS mounts are not emulated"),
                ("ImageConfig", "container images are not supported"),
                ("LoggingConfig", "logs go to stackgate's output"),
                ("SnapStart", NOT_YET),
                ("TracingConfig", "X-Ray tracing is not emulated"),
                ("RecursiveLoop", NOT_YET),
            ],
        },
        "AWS::Lambda::Permission" => Schema {
            used: &[
                "Action",
                "FunctionName",
                "Principal",
                "SourceArn",
                "SourceAccount",
            ],
            inert: &[
                "EventSourceToken",
                "FunctionUrlAuthType",
                "InvokedViaFunctionUrl",
            ],
            ignored: &[("PrincipalOrgID", "organisation conditions are not checked")],
        },
        "AWS::Lambda::EventInvokeConfig" => Schema {
            used: &[
                "FunctionName",
                "Qualifier",
                "MaximumRetryAttempts",
                "MaximumEventAgeInSeconds",
            ],
            inert: &[],
            ignored: &[(
                "DestinationConfig",
                "destinations are not emulated: a discarded event is logged",
            )],
        },
        "AWS::IAM::Role" => Schema {
            used: &[
                "AssumeRolePolicyDocument",
                "Policies",
                "ManagedPolicyArns",
                "RoleName",
                "Path",
            ],
            inert: &["Description", "MaxSessionDuration", "Tags"],
            ignored: &[(
                "PermissionsBoundary",
                "permission boundaries are not evaluated",
            )],
        },
        "AWS::IAM::Policy" => Schema {
            used: &["PolicyDocument", "PolicyName", "Roles"],
            inert: &["Groups", "Users"],
            ignored: &[],
        },
        "AWS::IAM::ManagedPolicy" => Schema {
            used: &["PolicyDocument", "ManagedPolicyName", "Path", "Roles"],
            inert: &["Description", "Groups", "Users"],
            ignored: &[],
        },
        _ => return None,
    })
}

/// One resource's evaluated properties.
struct Props<'a> {
    logical_id: String,
    resource_type: String,
    /// `Resources.{id}.Properties`
    path: String,
    /// Where to report a missing property.
    at: &'a Node,
    values: Vec<(String, &'a Node, Value)>,
    /// Properties whose evaluation failed (already reported).
    failed: Vec<String>,
}

impl Props<'_> {
    fn get(&self, key: &str) -> Option<(&Node, &Value)> {
        self.values
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, n, v)| (*n, v))
    }
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

struct Builder<'a> {
    ctx: Ctx<'a>,
    model: Model,
    template_dir: PathBuf,
    /// Physical id → logical id, per type, for resolving `ApiId`, `AuthorizerId`, `Target`.
    apis: HashMap<String, String>,
    websocket_apis: HashMap<String, String>,
    integrations: HashMap<String, String>,
    authorizers: HashMap<String, String>,
}

/// The function a Lambda integration URI (or a function ARN) names: a plain function ARN or
/// `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations`,
/// either with an optional `:alias`/`:version`.
pub fn function_target(uri: &str) -> Option<FunctionTarget> {
    let arn = if uri.contains(":apigateway:") {
        let (_, rest) = uri.split_once(":lambda:path/")?;
        let (_, rest) = rest.split_once("/functions/")?;
        rest.strip_suffix("/invocations")?
    } else {
        uri
    };
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            "function",
            name,
            rest @ ..,
        ] if !name.is_empty() && rest.len() <= 1 => {
            let qualifier = rest
                .first()
                .filter(|q| !q.is_empty())
                .map(|q| (*q).to_string());
            Some(FunctionTarget {
                function_name: (*name).to_string(),
                qualifier,
                arn: format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
            })
        }
        _ => None,
    }
}

fn partition_for(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else {
        ("aws", "amazonaws.com")
    }
}

pub fn stack_info(options: &LoadOptions) -> StackInfo {
    let (partition, url_suffix) = partition_for(&options.region);
    StackInfo {
        stack_name: options.stack_name.clone(),
        region: options.region.clone(),
        account_id: options.account_id.clone(),
        partition: partition.to_string(),
        url_suffix: url_suffix.to_string(),
    }
}

/// Builds the model from a parsed template. Returns the model (when no error was found) and all
/// diagnostics.
pub fn build(root: &Node, file: &Path, options: &LoadOptions) -> (Option<Model>, Vec<Diagnostic>) {
    let ctx = Ctx::new(file.to_path_buf(), stack_info(options));
    let template_dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut b = Builder {
        ctx,
        model: Model {
            template_path: file.to_path_buf(),
            ..Model::default()
        },
        template_dir,
        apis: HashMap::new(),
        websocket_apis: HashMap::new(),
        integrations: HashMap::new(),
        authorizers: HashMap::new(),
    };
    b.model.stack = Some(b.ctx.stack.clone());
    b.run(root, options);
    let Builder { ctx, model, .. } = b;
    let diagnostics = ctx.diagnostics;
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    (ok.then_some(model), diagnostics)
}

fn location(file: &Path, node: &Node) -> Location {
    Location {
        file: file.to_path_buf(),
        line: node.line,
        col: node.col,
    }
}

impl<'a> Builder<'a> {
    fn loc(&self, node: &Node) -> Location {
        location(&self.ctx.file, node)
    }

    fn run(&mut self, root: &'a Node, options: &LoadOptions) {
        let Some(entries) = root.as_map() else {
            self.ctx.error_at(
                root,
                "",
                "a template must be a map (with at least `Resources`)",
            );
            return;
        };
        for (k, _) in entries {
            let key = k.as_str().unwrap_or_default();
            if !TOP_LEVEL.contains(&key) {
                self.ctx.error_at(
                    k,
                    "",
                    format!(
                        "`{key}` is not a template section (known: {})",
                        TOP_LEVEL.join(", ")
                    ),
                );
            }
        }
        if let Some(t) = root.get("Transform") {
            let names: Vec<String> = match (t.as_str(), t.as_seq()) {
                (Some(s), _) => vec![s.to_string()],
                (_, Some(items)) => items
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            // The SAM transform is expanded (and removed) before the model is built.
            for name in names {
                self.ctx.error_at(
                    t,
                    "Transform",
                    format!("the transform `{name}` is not supported"),
                );
            }
            if t.as_str().is_none() && t.as_seq().is_none() {
                self.ctx.error_at(
                    t,
                    "Transform",
                    "Transform must be a name or a list of names",
                );
            }
        }
        self.ctx
            .load_parameters(root.get("Parameters"), &options.parameter_overrides, root);
        if let Some(m) = root.get("Mappings") {
            if m.as_map().is_none() {
                self.ctx.error_at(m, "Mappings", "Mappings must be a map");
            }
            self.ctx.mappings = Some(m);
        }
        if let Some(c) = root.get("Conditions") {
            self.ctx.load_conditions(c);
            self.ctx.check_all_conditions();
        }
        let Some(resources) = root.get("Resources") else {
            self.ctx
                .error_at(root, "", "the template has no `Resources` section");
            return;
        };
        let Some(resource_entries) = resources.as_map() else {
            self.ctx.error_at(
                resources,
                "Resources",
                "Resources must be a map of logical ids to resources",
            );
            return;
        };
        if resource_entries.is_empty() {
            self.ctx.error_at(
                resources,
                "Resources",
                "Resources must declare at least one resource",
            );
        }
        // Declarations first (so Ref/GetAtt can reach every resource), then conditions.
        let mut order: Vec<(String, &'a Node, &'a Node)> = Vec::new();
        for (k, v) in resource_entries {
            let Some(id) = k.as_str() else {
                self.ctx
                    .error_at(k, "Resources", "logical ids must be strings");
                continue;
            };
            let path = format!("Resources.{id}");
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                self.ctx.error_at(
                    k,
                    &path,
                    format!("logical id `{id}` must be alphanumeric (A-Za-z0-9)"),
                );
            }
            let Some(map) = v.as_map() else {
                self.ctx
                    .error_at(v, &path, "a resource must be a map with `Type`");
                continue;
            };
            for (rk, _) in map {
                let key = rk.as_str().unwrap_or_default();
                if !RESOURCE_KEYS.contains(&key) {
                    self.ctx.error_at(
                        rk,
                        &path,
                        format!(
                            "`{key}` is not a resource attribute (known: {})",
                            RESOURCE_KEYS.join(", ")
                        ),
                    );
                }
            }
            let Some(type_node) = v.get("Type") else {
                self.ctx.error_at(v, &path, "the resource has no `Type`");
                continue;
            };
            let Some(t) = type_node
                .as_str()
                .filter(|t| type_node.tag.is_none() && !t.is_empty())
            else {
                self.ctx.error_at(
                    type_node,
                    &format!("{path}.Type"),
                    "Type must be a resource type name",
                );
                continue;
            };
            self.ctx.resources.insert(
                id.to_string(),
                ResourceDecl {
                    resource_type: t.to_string(),
                    node: v,
                    active: true,
                },
            );
            order.push((id.to_string(), k, v));
        }
        for (id, _, v) in &order {
            if let Some(c) = v.get("Condition") {
                let path = format!("Resources.{id}.Condition");
                self.ctx.current_resource = Some(id.clone());
                let active = match c.as_str() {
                    Some(name) => self.ctx.condition(name, c, &path).unwrap_or(true),
                    None => {
                        self.ctx
                            .error_at(c, &path, "Condition must be the name of a condition");
                        true
                    }
                };
                if let Some(r) = self.ctx.resources.get_mut(id) {
                    r.active = active;
                }
            }
        }
        for (id, _, v) in &order {
            self.ctx.current_resource = Some(id.clone());
            if let Some(d) = v.get("DependsOn") {
                let path = format!("Resources.{id}.DependsOn");
                let names: Vec<&Node> = match (d.as_str(), d.as_seq()) {
                    (Some(_), _) => vec![d],
                    (_, Some(items)) => items.iter().collect(),
                    _ => {
                        self.ctx.error_at(
                            d,
                            &path,
                            "DependsOn must be a logical id or a list of them",
                        );
                        Vec::new()
                    }
                };
                for n in names {
                    match n.as_str() {
                        Some(name) if self.ctx.resources.contains_key(name) => {}
                        Some(name) => {
                            self.ctx.error_at(n, &path, format!("DependsOn names `{name}`, which is not a resource in this template"));
                        }
                        None => {
                            self.ctx.error_at(
                                n,
                                &path,
                                "DependsOn must be a logical id or a list of them",
                            );
                        }
                    }
                }
            }
        }
        self.ctx.current_resource = None;
        // Physical ids of the resources other resources point at by id.
        for (id, k, _) in &order {
            let Some(decl) = self.ctx.resources.get(id).cloned() else {
                continue;
            };
            if !decl.active {
                continue;
            }
            let target = match decl.resource_type.as_str() {
                "AWS::ApiGatewayV2::Api" => {
                    let websocket = decl
                        .node
                        .get("Properties")
                        .and_then(|p| p.get("ProtocolType"))
                        .and_then(Node::as_str)
                        .is_some_and(|p| p == "WEBSOCKET");
                    if websocket { 1 } else { 0 }
                }
                "AWS::ApiGatewayV2::Integration" => 2,
                "AWS::ApiGatewayV2::Authorizer" => 3,
                _ => continue,
            };
            self.ctx.current_resource = Some(id.clone());
            if let Ok(physical) = self.ctx.resource_ref(id, k, &format!("Resources.{id}")) {
                let map = match target {
                    0 => &mut self.apis,
                    1 => &mut self.websocket_apis,
                    2 => &mut self.integrations,
                    _ => &mut self.authorizers,
                };
                map.insert(physical, id.clone());
            }
        }
        for (id, _, v) in &order {
            let active = self.ctx.resources.get(id).is_some_and(|r| r.active);
            if !active {
                continue;
            }
            self.ctx.current_resource = Some(id.clone());
            self.resource(id, v);
        }
        self.ctx.current_resource = None;
        if let Some(outputs) = root.get("Outputs") {
            self.outputs(outputs);
        }
    }

    fn resource(&mut self, id: &str, node: &'a Node) {
        let Some(decl) = self.ctx.resources.get(id).cloned() else {
            return;
        };
        let rtype = decl.resource_type.as_str();
        let Some(schema) = schema(rtype) else {
            // Evaluate the properties anyway: errors in them are errors in AWS too.
            if let Some(p) = node.get("Properties") {
                let ppath = format!("Resources.{id}.Properties");
                if let Ok(value) = self.ctx.eval(p, &ppath)
                    && let Some(param) = value.unset()
                {
                    let param = param.to_string();
                    self.ctx.unset_error(p, &ppath, &param);
                }
            }
            let reason = if rtype.starts_with("AWS::Serverless::") {
                format!(
                    "stackgate expands AWS::Serverless::Function and AWS::Serverless::HttpApi (with `Transform: AWS::Serverless-2016-10-31`), not {rtype}; Ref and Fn::GetAtt on it give stable placeholders"
                )
            } else {
                format!(
                    "stackgate does not emulate {rtype}; Ref and Fn::GetAtt on it give stable placeholders"
                )
            };
            self.not_emulated(id, rtype, reason, node);
            return;
        };
        let Some(props) = self.props(id, rtype, node, &schema) else {
            return;
        };
        match rtype {
            "AWS::ApiGatewayV2::Api" => self.api(&props, node),
            "AWS::ApiGatewayV2::Stage" => self.stage(&props, node),
            "AWS::ApiGatewayV2::Route" => self.route(&props, node),
            "AWS::ApiGatewayV2::Integration" => self.integration(&props, node),
            "AWS::ApiGatewayV2::Authorizer" => self.authorizer(&props, node),
            "AWS::ApiGatewayV2::Deployment" => {
                let _ = self.api_ref(&props, node);
            }
            "AWS::Lambda::Function" => self.function(&props, node),
            "AWS::Lambda::Permission" => self.permission(&props, node),
            "AWS::Lambda::EventInvokeConfig" => self.event_invoke_config(&props, node),
            "AWS::IAM::Role" => self.role(&props, node),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => self.policy(&props, node),
            _ => {}
        }
    }

    fn not_emulated(&mut self, id: &str, rtype: &str, reason: String, node: &Node) {
        let location = self.loc(node);
        self.model.not_emulated.push(NotEmulated {
            logical_id: id.to_string(),
            resource_type: rtype.to_string(),
            reason,
            location,
        });
    }

    /// Evaluates the properties, reporting unknown ones and recording ignored ones.
    fn props(
        &mut self,
        id: &str,
        rtype: &str,
        node: &'a Node,
        schema: &Schema,
    ) -> Option<Props<'a>> {
        let path = format!("Resources.{id}.Properties");
        let mut props = Props {
            logical_id: id.to_string(),
            resource_type: rtype.to_string(),
            path: path.clone(),
            at: node,
            values: Vec::new(),
            failed: Vec::new(),
        };
        let Some(pnode) = node.get("Properties") else {
            return Some(props);
        };
        props.at = pnode;
        let Some(entries) = pnode.as_map() else {
            self.ctx.error_at(pnode, &path, "Properties must be a map");
            return None;
        };
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                self.ctx
                    .error_at(k, &path, "property names must be strings");
                continue;
            };
            let ppath = format!("{path}.{key}");
            if let Some((_, reason)) = schema.ignored.iter().find(|(n, _)| *n == key) {
                let location = self.loc(k);
                self.model.ignored_properties.push(IgnoredProperty {
                    logical_id: id.to_string(),
                    property: key.to_string(),
                    reason: (*reason).to_string(),
                    location,
                });
            } else if !schema.used.contains(&key) && !schema.inert.contains(&key) {
                self.ctx.error_at(
                    k,
                    &ppath,
                    format!("`{key}` is not a property of {rtype} (cfn-lint E3002)"),
                );
                continue;
            }
            match self.ctx.eval(v, &ppath) {
                Ok(Value::NoValue) => {}
                // Only an authorizer's issuer may stay without a value (stackgate then runs its
                // dev issuer); the authorizer code checks the rest of JwtConfiguration itself.
                Ok(value) if key != "JwtConfiguration" && value.unset().is_some() => {
                    let param = value.unset().unwrap_or_default().to_string();
                    self.ctx.unset_error(v, &ppath, &param);
                    props.failed.push(key.to_string());
                }
                Ok(value) => props.values.push((key.to_string(), v, value)),
                Err(_) => props.failed.push(key.to_string()),
            }
        }
        Some(props)
    }

    fn missing(&mut self, p: &Props<'_>, key: &str) {
        if !p.failed.iter().any(|f| f == key) {
            self.ctx.error_at(
                p.at,
                &p.path,
                format!(
                    "{} requires the property `{key}` (cfn-lint E3003)",
                    p.resource_type
                ),
            );
        }
    }

    /// A string property. `required`: report when missing.
    fn text(&mut self, p: &Props<'_>, key: &str, required: bool) -> Option<String> {
        let path = format!("{}.{key}", p.path);
        match p.get(key) {
            None => {
                if required {
                    self.missing(p, key);
                }
                None
            }
            Some((node, value)) => {
                if let Some(param) = value.unset() {
                    self.ctx.unset_error(node, &path, param);
                    return None;
                }
                match value.text() {
                    Some(t) => Some(t),
                    None => {
                        self.ctx.error_at(
                            node,
                            &path,
                            format!("`{key}` must be a string, not {}", value.describe()),
                        );
                        None
                    }
                }
            }
        }
    }

    fn boolean(&mut self, p: &Props<'_>, key: &str, default: bool) -> bool {
        match p.get(key) {
            None => default,
            Some((node, value)) => match value {
                Value::Bool(b) => *b,
                Value::Str(s) if s.eq_ignore_ascii_case("true") => true,
                Value::Str(s) if s.eq_ignore_ascii_case("false") => false,
                Value::Unset(param) => {
                    let param = param.clone();
                    self.ctx
                        .unset_error(node, &format!("{}.{key}", p.path), &param);
                    default
                }
                other => {
                    self.ctx.error_at(
                        node,
                        &format!("{}.{key}", p.path),
                        format!("`{key}` must be true or false, not {}", other.describe()),
                    );
                    default
                }
            },
        }
    }

    fn integer(
        &mut self,
        p: &Props<'_>,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        let (node, _) = p.get(key)?;
        let text = self.text(p, key, false)?;
        match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.ctx.error_at(
                    node,
                    &format!("{}.{key}", p.path),
                    format!(
                        "`{key}` must be an integer from {} to {}, not {text}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// A list of strings (a single string is taken as a one-item list).
    fn text_list(&mut self, p: &Props<'_>, key: &str) -> Vec<String> {
        let Some((node, value)) = p.get(key) else {
            return Vec::new();
        };
        let path = format!("{}.{key}", p.path);
        if let Some(param) = value.unset() {
            self.ctx.unset_error(node, &path, param);
            return Vec::new();
        }
        let items: Vec<&Value> = match value {
            Value::List(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            match item.text() {
                Some(t) => out.push(t),
                None => {
                    self.ctx.error_at(
                        node,
                        &path,
                        format!(
                            "`{key}` must be a list of strings, not hold {}",
                            item.describe()
                        ),
                    );
                }
            }
        }
        out
    }

    fn text_map(&mut self, node: &Node, value: &Value, path: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    if let Some(param) = v.unset() {
                        self.ctx.unset_error(node, &format!("{path}.{k}"), param);
                        continue;
                    }
                    match v {
                        Value::Null => {
                            out.insert(k.clone(), String::new());
                        }
                        other => match other.text() {
                            Some(t) => {
                                out.insert(k.clone(), t);
                            }
                            None => {
                                self.ctx.error_at(
                                    node,
                                    &format!("{path}.{k}"),
                                    format!("must be a string, not {}", other.describe()),
                                );
                            }
                        },
                    }
                }
            }
            other => {
                self.ctx.error_at(
                    node,
                    path,
                    format!("must be a map of strings, not {}", other.describe()),
                );
            }
        }
        out
    }

    fn json(&mut self, p: &Props<'_>, key: &str) -> Option<serde_json::Value> {
        let (node, value) = p.get(key)?;
        if let Some(param) = value.unset() {
            self.ctx
                .unset_error(node, &format!("{}.{key}", p.path), param);
            return None;
        }
        Some(value.to_json())
    }

    /// `ApiId`: the logical id of an HTTP API of this template. `Err` = the API is a WebSocket
    /// API (the resource is then not emulated either).
    fn api_ref(&mut self, p: &Props<'_>, node: &Node) -> Result<Option<String>, ()> {
        let id = self.text(p, "ApiId", true);
        let Some(id) = id else { return Ok(None) };
        if let Some(logical) = self.apis.get(&id) {
            return Ok(Some(logical.clone()));
        }
        if self.websocket_apis.contains_key(&id) {
            self.not_emulated(
                &p.logical_id,
                &p.resource_type,
                "it belongs to a WebSocket API, which stackgate does not emulate".into(),
                node,
            );
            return Err(());
        }
        let at = p.get("ApiId").map_or(p.at, |(n, _)| n);
        self.ctx.error_at(
            at,
            &format!("{}.ApiId", p.path),
            format!("ApiId `{id}` is not an AWS::ApiGatewayV2::Api of this template (use !Ref on the API)"),
        );
        Ok(None)
    }

    fn api(&mut self, p: &Props<'_>, node: &Node) {
        let id = p.logical_id.clone();
        for key in ["Body", "BodyS3Location"] {
            if let Some((n, _)) = p.get(key) {
                self.ctx.error_at(
                    n,
                    &format!("{}.{key}", p.path),
                    "importing an OpenAPI definition (Body/BodyS3Location) is not supported yet: declare Route, Integration and Authorizer resources",
                );
            }
        }
        if p.has("Body") || p.has("BodyS3Location") {
            return;
        }
        let protocol = self.text(p, "ProtocolType", true).unwrap_or_default();
        let name = self.text(p, "Name", true).unwrap_or_default();
        match protocol.as_str() {
            "HTTP" => {}
            "WEBSOCKET" => {
                self.not_emulated(
                    &id,
                    &p.resource_type,
                    "WebSocket APIs are not emulated".into(),
                    node,
                );
                return;
            }
            "" => return,
            other => {
                let at = p.get("ProtocolType").map_or(p.at, |(n, _)| n);
                self.ctx.error_at(
                    at,
                    &format!("{}.ProtocolType", p.path),
                    format!("ProtocolType must be HTTP or WEBSOCKET, not {other}"),
                );
                return;
            }
        }
        if let Some(rse) = self.text(p, "RouteSelectionExpression", false)
            && rse != "${request.method} ${request.path}"
        {
            let at = p.get("RouteSelectionExpression").map_or(p.at, |(n, _)| n);
            self.ctx.error_at(
                at,
                &format!("{}.RouteSelectionExpression", p.path),
                "for HTTP APIs RouteSelectionExpression must be ${request.method} ${request.path}",
            );
        }
        let disable = self.boolean(p, "DisableExecuteApiEndpoint", false);
        let path = format!("Resources.{id}");
        let Ok(api_id) = self.ctx.resource_ref(&id, node, &path) else {
            return;
        };
        let Ok(endpoint) = self.ctx.attribute(&id, "ApiEndpoint", node, &path) else {
            return;
        };
        let location = self.loc(node);
        self.model.apis.push(Api {
            logical_id: id.clone(),
            id: api_id,
            name,
            protocol_type: protocol,
            endpoint: endpoint.text().unwrap_or_default(),
            disable_execute_api_endpoint: disable,
            location: location.clone(),
        });
        // Quick create.
        let target = self.text(p, "Target", false);
        let route_key = self.text(p, "RouteKey", false);
        let credentials = self.text(p, "CredentialsArn", false);
        let Some(target) = target else {
            for key in ["RouteKey", "CredentialsArn"] {
                if let Some((n, _)) = p.get(key) {
                    self.ctx.error_at(
                        n,
                        &format!("{}.{key}", p.path),
                        format!("{key} is only for quick create: it needs Target"),
                    );
                }
            }
            return;
        };
        let (integration_type, payload, function) = match function_target(&target) {
            Some(f) => ("AWS_PROXY", "2.0", Some(f)),
            None if target.starts_with("http://") || target.starts_with("https://") => {
                ("HTTP_PROXY", "1.0", None)
            }
            None => {
                let at = p.get("Target").map_or(p.at, |(n, _)| n);
                self.ctx.error_at(at, &format!("{}.Target", p.path), format!("quick-create Target must be a Lambda function ARN or an HTTP URL, not {target}"));
                return;
            }
        };
        let stack = self.ctx.stack.stack_name.clone();
        let integration_id = format!("{id}.Integration");
        self.model.integrations.push(Integration {
            logical_id: integration_id.clone(),
            id: ids::lower(&stack, &integration_id, "integration", 7),
            api: id.clone(),
            integration_type: integration_type.to_string(),
            uri: target,
            function,
            payload_format_version: Some(payload.to_string()),
            timeout_ms: 30_000,
            credentials_arn: credentials,
            location: location.clone(),
        });
        let route_id = format!("{id}.Route");
        self.model.routes.push(Route {
            logical_id: route_id.clone(),
            id: ids::lower(&stack, &route_id, "route", 7),
            api: id.clone(),
            route_key: route_key.unwrap_or_else(|| "$default".to_string()),
            integration: Some(integration_id),
            authorization_type: "NONE".to_string(),
            authorizer: None,
            authorization_scopes: Vec::new(),
            location: location.clone(),
        });
        self.model.stages.push(Stage {
            logical_id: format!("{id}.$default"),
            api: id,
            name: "$default".to_string(),
            auto_deploy: true,
            stage_variables: BTreeMap::new(),
            location,
        });
    }

    fn stage(&mut self, p: &Props<'_>, node: &Node) {
        let Ok(api) = self.api_ref(p, node) else {
            return;
        };
        let name = self.text(p, "StageName", true);
        let auto_deploy = self.boolean(p, "AutoDeploy", false);
        let stage_variables = match p.get("StageVariables") {
            Some((n, v)) => {
                let v = v.clone();
                self.text_map(n, &v, &format!("{}.StageVariables", p.path))
            }
            None => BTreeMap::new(),
        };
        if let (Some(api), Some(name)) = (api, name) {
            let location = self.loc(node);
            self.model.stages.push(Stage {
                logical_id: p.logical_id.clone(),
                api,
                name,
                auto_deploy,
                stage_variables,
                location,
            });
        }
    }

    fn route(&mut self, p: &Props<'_>, node: &Node) {
        let Ok(api) = self.api_ref(p, node) else {
            return;
        };
        let route_key = self.text(p, "RouteKey", true);
        let target = self.text(p, "Target", false);
        let integration = target.and_then(|t| {
            let at = p.get("Target").map_or(p.at, |(n, _)| n);
            let found = t.strip_prefix("integrations/").and_then(|iid| self.integrations.get(iid).cloned());
            if found.is_none() {
                self.ctx.error_at(
                    at,
                    &format!("{}.Target", p.path),
                    format!("Target `{t}` must be integrations/{{IntegrationId}} naming an AWS::ApiGatewayV2::Integration of this template, e.g. !Sub integrations/${{MyIntegration}}"),
                );
            }
            found
        });
        let authorization_type = self
            .text(p, "AuthorizationType", false)
            .unwrap_or_else(|| "NONE".to_string());
        if !["NONE", "JWT", "AWS_IAM", "CUSTOM"].contains(&authorization_type.as_str()) {
            let at = p.get("AuthorizationType").map_or(p.at, |(n, _)| n);
            self.ctx.error_at(at, &format!("{}.AuthorizationType", p.path), format!("AuthorizationType must be NONE, JWT, AWS_IAM or CUSTOM, not {authorization_type}"));
        }
        let authorizer = self.text(p, "AuthorizerId", false).and_then(|aid| {
            let found = self.authorizers.get(&aid).cloned();
            if found.is_none() {
                let at = p.get("AuthorizerId").map_or(p.at, |(n, _)| n);
                self.ctx.error_at(at, &format!("{}.AuthorizerId", p.path), format!("AuthorizerId `{aid}` is not an AWS::ApiGatewayV2::Authorizer of this template (use !Ref on it)"));
            }
            found
        });
        if matches!(authorization_type.as_str(), "JWT" | "CUSTOM")
            && !p.has("AuthorizerId")
            && !p.failed.iter().any(|f| f == "AuthorizerId")
        {
            self.ctx.error_at(
                p.at,
                &p.path,
                format!("AuthorizationType {authorization_type} needs AuthorizerId"),
            );
        }
        let authorization_scopes = self.text_list(p, "AuthorizationScopes");
        let Ok(id) = self.ctx.resource_ref(&p.logical_id, node, &p.path) else {
            return;
        };
        if let (Some(api), Some(route_key)) = (api, route_key) {
            let location = self.loc(node);
            self.model.routes.push(Route {
                logical_id: p.logical_id.clone(),
                id,
                api,
                route_key,
                integration,
                authorization_type,
                authorizer,
                authorization_scopes,
                location,
            });
        }
    }

    fn integration(&mut self, p: &Props<'_>, node: &Node) {
        let Ok(api) = self.api_ref(p, node) else {
            return;
        };
        let integration_type = self.text(p, "IntegrationType", true);
        let uri = self.text(p, "IntegrationUri", false).unwrap_or_default();
        let function = function_target(&uri);
        if integration_type.as_deref() == Some("AWS_PROXY")
            && function.is_none()
            && !p.has("IntegrationSubtype")
        {
            let at = p.get("IntegrationUri").map_or(p.at, |(n, _)| n);
            self.ctx.error_at(
                at,
                &format!("{}.IntegrationUri", p.path),
                format!("an AWS_PROXY integration needs IntegrationUri naming a Lambda function (its ARN, or arn:aws:apigateway:{{region}}:lambda:path/2015-03-31/functions/{{arn}}/invocations), not `{uri}`"),
            );
        }
        let payload_format_version = self.text(p, "PayloadFormatVersion", false);
        if let Some(v) = &payload_format_version
            && v != "1.0"
            && v != "2.0"
        {
            let at = p.get("PayloadFormatVersion").map_or(p.at, |(n, _)| n);
            self.ctx.error_at(
                at,
                &format!("{}.PayloadFormatVersion", p.path),
                format!("PayloadFormatVersion must be \"1.0\" or \"2.0\", not {v}"),
            );
        }
        let timeout_ms = self
            .integer(p, "TimeoutInMillis", 50..=30_000)
            .unwrap_or(30_000);
        let credentials_arn = self.text(p, "CredentialsArn", false);
        let Ok(id) = self.ctx.resource_ref(&p.logical_id, node, &p.path) else {
            return;
        };
        if let (Some(api), Some(integration_type)) = (api, integration_type) {
            let location = self.loc(node);
            self.model.integrations.push(Integration {
                logical_id: p.logical_id.clone(),
                id,
                api,
                integration_type,
                uri,
                function,
                payload_format_version,
                timeout_ms,
                credentials_arn,
                location,
            });
        }
    }

    fn authorizer(&mut self, p: &Props<'_>, node: &Node) {
        let Ok(api) = self.api_ref(p, node) else {
            return;
        };
        let name = self.text(p, "Name", true);
        let authorizer_type = self.text(p, "AuthorizerType", true);
        let identity_source = self.text_list(p, "IdentitySource");
        let mut issuer = None;
        let mut audience = Vec::new();
        if let Some((jnode, jwt)) = p.get("JwtConfiguration") {
            let jpath = format!("{}.JwtConfiguration", p.path);
            let jnode_issuer = jnode.get("Issuer").unwrap_or(jnode);
            match jwt.get("Issuer").or_else(|| jwt.get("issuer")) {
                None | Some(Value::Unset(_)) | Some(Value::Null) => {}
                Some(v) => match v.text() {
                    Some(t) => issuer = Some(t),
                    None => {
                        self.ctx.error_at(
                            jnode_issuer,
                            &format!("{jpath}.Issuer"),
                            format!("Issuer must be a string, not {}", v.describe()),
                        );
                    }
                },
            }
            if let Some(v) = jwt.get("Audience").or_else(|| jwt.get("audience")) {
                let anode = jnode.get("Audience").unwrap_or(jnode);
                if let Some(param) = v.unset() {
                    self.ctx
                        .unset_error(anode, &format!("{jpath}.Audience"), param);
                } else {
                    let items = match v {
                        Value::List(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    for item in items {
                        match item.text() {
                            Some(t) => audience.push(t),
                            None => {
                                self.ctx.error_at(
                                    anode,
                                    &format!("{jpath}.Audience"),
                                    "Audience must be a list of strings",
                                );
                            }
                        }
                    }
                }
            }
            for (k, _) in jnode.as_map().unwrap_or_default() {
                let key = k.as_str().unwrap_or_default();
                if !["Issuer", "Audience"].contains(&key) {
                    self.ctx.error_at(
                        k,
                        &jpath,
                        format!("`{key}` is not a property of JwtConfiguration (Issuer, Audience)"),
                    );
                }
            }
        } else if authorizer_type.as_deref() == Some("JWT") {
            self.missing(p, "JwtConfiguration");
        }
        if authorizer_type.as_deref() == Some("JWT") {
            self.jwt_identity_source(p, &identity_source);
        }
        let Ok(id) = self.ctx.resource_ref(&p.logical_id, node, &p.path) else {
            return;
        };
        if let (Some(api), Some(name), Some(authorizer_type)) = (api, name, authorizer_type) {
            let location = self.loc(node);
            self.model.authorizers.push(Authorizer {
                logical_id: p.logical_id.clone(),
                id,
                api,
                name,
                authorizer_type,
                identity_source,
                issuer,
                audience,
                location,
            });
        }
    }

    /// A JWT authorizer reads its token from exactly one `$request.header.NAME` or
    /// `$request.querystring.NAME` (AWS refuses anything else at deploy time).
    fn jwt_identity_source(&mut self, p: &Props<'_>, sources: &[String]) {
        let path = format!("{}.IdentitySource", p.path);
        if p.failed.iter().any(|f| f == "IdentitySource") {
            return;
        }
        let Some((at, _)) = p.get("IdentitySource") else {
            self.ctx.error_at(
                p.at,
                &p.path,
                "a JWT authorizer requires `IdentitySource` with exactly one entry, e.g. [$request.header.Authorization]",
            );
            return;
        };
        if sources.len() != 1 {
            self.ctx.error_at(
                at,
                &path,
                format!(
                    "a JWT authorizer needs exactly one IdentitySource entry, this one has {} ({sources:?}); use e.g. [$request.header.Authorization]",
                    sources.len()
                ),
            );
            return;
        }
        let one = &sources[0];
        let at = at.as_seq().and_then(|items| items.first()).unwrap_or(at);
        let header_ok = one.strip_prefix("$request.header.").is_some_and(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        });
        let query_ok = one
            .strip_prefix("$request.querystring.")
            .is_some_and(|name| !name.is_empty());
        if !header_ok && !query_ok {
            self.ctx.error_at(
                at,
                &path,
                format!(
                    "IdentitySource {one:?} is not valid for a JWT authorizer: use \"$request.header.NAME\" or \"$request.querystring.NAME\""
                ),
            );
        }
    }

    fn function(&mut self, p: &Props<'_>, node: &Node) {
        let fpath = p.path.clone();
        if let Some(pt) = self.text(p, "PackageType", false)
            && pt == "Image"
        {
            let at = p.get("PackageType").map_or(p.at, |(n, _)| n);
            self.ctx.error_at(at, &format!("{fpath}.PackageType"), "container-image functions are not supported: stackgate runs local code (Code.ZipFile or a local path)");
            return;
        }
        let runtime = self.text(p, "Runtime", true).unwrap_or_default();
        let handler = self.text(p, "Handler", true).unwrap_or_default();
        let role_arn = self.text(p, "Role", true);
        let code = match p.get("Code") {
            None => {
                self.missing(p, "Code");
                None
            }
            Some((cnode, value)) => {
                let value = value.clone();
                self.code(cnode, &value, &format!("{fpath}.Code"), &runtime, &handler)
            }
        };
        let environment = match p.get("Environment") {
            None => BTreeMap::new(),
            Some((enode, value)) => {
                let epath = format!("{fpath}.Environment");
                for (k, _) in enode.as_map().unwrap_or_default() {
                    let key = k.as_str().unwrap_or_default();
                    if key != "Variables" {
                        self.ctx.error_at(
                            k,
                            &epath,
                            format!("`{key}` is not a property of Environment (Variables)"),
                        );
                    }
                }
                match value.get("Variables") {
                    Some(vars) => {
                        let vars = vars.clone();
                        let vnode = enode.get("Variables").unwrap_or(enode);
                        self.text_map(vnode, &vars, &format!("{epath}.Variables"))
                    }
                    None => BTreeMap::new(),
                }
            }
        };
        let timeout_s = self.integer(p, "Timeout", 1..=900).unwrap_or(3);
        let memory_mb = self.integer(p, "MemorySize", 128..=10_240).unwrap_or(128);
        let reserved_concurrency = self.integer(p, "ReservedConcurrentExecutions", 0..=1_000_000);
        let Ok(name) = self.ctx.resource_ref(&p.logical_id, node, &fpath) else {
            return;
        };
        let arn = self
            .ctx
            .attribute(&p.logical_id, "Arn", node, &fpath)
            .ok()
            .and_then(|v| v.text())
            .unwrap_or_default();
        let Some(code) = code else { return };
        let location = self.loc(node);
        self.model.functions.push(Function {
            logical_id: p.logical_id.clone(),
            name,
            arn,
            runtime,
            handler,
            code,
            environment,
            timeout_s,
            memory_mb,
            reserved_concurrency,
            role_arn,
            location,
        });
    }

    fn code(
        &mut self,
        cnode: &Node,
        value: &Value,
        path: &str,
        runtime: &str,
        handler: &str,
    ) -> Option<Code> {
        if let Some(param) = value.unset() {
            self.ctx.unset_error(cnode, path, param);
            return None;
        }
        match value {
            Value::Str(local) => {
                let full = self.template_dir.join(local);
                if full.exists() {
                    Some(Code::Path(full))
                } else {
                    self.ctx.error_at(cnode, path, format!("the code path {} does not exist (paths are relative to the template's directory)", full.display()));
                    None
                }
            }
            Value::Map(entries) => {
                let mut code = None;
                for (k, v) in entries {
                    let knode = cnode.get(k).unwrap_or(cnode);
                    match k.as_str() {
                        "ZipFile" => match v.text() {
                            Some(src) => {
                                let inline_runtime = runtime.starts_with("nodejs")
                                    || runtime.starts_with("python")
                                    || runtime.is_empty();
                                if !inline_runtime {
                                    self.ctx.error_at(knode, &format!("{path}.ZipFile"), format!("inline code (ZipFile) works only for Node.js and Python runtimes, not {runtime}"));
                                } else if !handler.is_empty() && !handler.starts_with("index.") {
                                    self.ctx.warning_at(knode, &format!("{path}.ZipFile"), format!("inline code is written to index.js/index.py, so Handler should be index.<function>, not {handler}"));
                                }
                                code = Some(Code::Inline(src));
                            }
                            None => {
                                self.ctx.error_at(
                                    knode,
                                    &format!("{path}.ZipFile"),
                                    "ZipFile must be a string of source code",
                                );
                            }
                        },
                        "S3Bucket" | "S3Key" | "S3ObjectVersion" | "ImageUri" => {
                            self.ctx.error_at(
                                knode,
                                &format!("{path}.{k}"),
                                format!("stackgate needs local code, not {k}: write `Code: ./path/to/dir-or-zip` (as `aws cloudformation package` takes it) or Code.ZipFile"),
                            );
                            return None;
                        }
                        "SourceKMSKeyArn" => {}
                        other => {
                            self.ctx.error_at(knode, &format!("{path}.{other}"), format!("`{other}` is not a property of Code (ZipFile, S3Bucket, S3Key, S3ObjectVersion, ImageUri)"));
                        }
                    }
                }
                if code.is_none()
                    && !self
                        .ctx
                        .diagnostics
                        .iter()
                        .any(|d| d.path.starts_with(path))
                {
                    self.ctx.error_at(
                        cnode,
                        path,
                        "Code needs ZipFile (or a local path instead of the map)",
                    );
                }
                code
            }
            other => {
                self.ctx.error_at(
                    cnode,
                    path,
                    format!(
                        "Code must be a map or a local path, not {}",
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    fn permission(&mut self, p: &Props<'_>, node: &Node) {
        let action = self.text(p, "Action", true);
        let function_name = self.text(p, "FunctionName", true);
        let principal = self.text(p, "Principal", true);
        let source_arn = self.text(p, "SourceArn", false);
        let source_account = self.text(p, "SourceAccount", false);
        if let (Some(action), Some(function_name), Some(principal)) =
            (action, function_name, principal)
        {
            let location = self.loc(node);
            self.model.permissions.push(Permission {
                logical_id: p.logical_id.clone(),
                action,
                function_name,
                principal,
                source_arn,
                source_account,
                location,
            });
        }
    }

    fn event_invoke_config(&mut self, p: &Props<'_>, node: &Node) {
        let function_name = self.text(p, "FunctionName", true);
        let qualifier = self.text(p, "Qualifier", true);
        let maximum_retry_attempts = self.integer(p, "MaximumRetryAttempts", 0..=2);
        let maximum_event_age_s = self.integer(p, "MaximumEventAgeInSeconds", 60..=21600);
        if let (Some(function_name), Some(qualifier)) = (function_name, qualifier) {
            if qualifier != "$LATEST"
                && let Some((qnode, _)) = p.get("Qualifier")
            {
                self.ctx.warning_at(
                    qnode,
                    &format!("{}.Qualifier", p.path),
                    format!("stackgate runs every function as $LATEST, so this configuration for `{qualifier}` is not applied (Qualifier: $LATEST is)"),
                );
            }
            let location = self.loc(node);
            self.model.event_invoke_configs.push(EventInvokeConfig {
                logical_id: p.logical_id.clone(),
                function_name,
                qualifier,
                maximum_retry_attempts,
                maximum_event_age_s,
                location,
            });
        }
    }

    fn role(&mut self, p: &Props<'_>, node: &Node) {
        let assume = self.json(p, "AssumeRolePolicyDocument");
        if !p.has("AssumeRolePolicyDocument") {
            self.missing(p, "AssumeRolePolicyDocument");
        }
        let mut policies = Vec::new();
        if let Some((pnode, value)) = p.get("Policies") {
            let ppath = format!("{}.Policies", p.path);
            match value {
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(param) = item.unset() {
                            let param = param.to_string();
                            self.ctx
                                .unset_error(pnode, &format!("{ppath}[{i}]"), &param);
                            continue;
                        }
                        match item.get("PolicyDocument") {
                            Some(doc) if item.get("PolicyName").is_some() => {
                                policies.push(doc.to_json())
                            }
                            _ => {
                                self.ctx.error_at(
                                    pnode,
                                    &format!("{ppath}[{i}]"),
                                    "each policy needs PolicyName and PolicyDocument",
                                );
                            }
                        }
                    }
                }
                other => {
                    self.ctx.error_at(
                        pnode,
                        &ppath,
                        format!("Policies must be a list, not {}", other.describe()),
                    );
                }
            }
        }
        let managed_policy_arns = self.text_list(p, "ManagedPolicyArns");
        let _ = self.text(p, "Path", false);
        let Ok(name) = self.ctx.resource_ref(&p.logical_id, node, &p.path) else {
            return;
        };
        let Ok(arn) = self.ctx.attribute(&p.logical_id, "Arn", node, &p.path) else {
            return;
        };
        let Some(assume_role_policy) = assume else {
            return;
        };
        let location = self.loc(node);
        self.model.roles.push(Role {
            logical_id: p.logical_id.clone(),
            name,
            arn: arn.text().unwrap_or_default(),
            assume_role_policy,
            policies,
            managed_policy_arns,
            location,
        });
    }

    fn policy(&mut self, p: &Props<'_>, node: &Node) {
        let document = self.json(p, "PolicyDocument");
        if !p.has("PolicyDocument") {
            self.missing(p, "PolicyDocument");
        }
        let managed = p.resource_type == "AWS::IAM::ManagedPolicy";
        if !managed {
            let _ = self.text(p, "PolicyName", true);
        }
        let roles = self.text_list(p, "Roles");
        let arn = if managed {
            match self.ctx.resource_ref(&p.logical_id, node, &p.path) {
                Ok(arn) => Some(arn),
                Err(_) => return,
            }
        } else {
            None
        };
        let Some(document) = document else { return };
        let location = self.loc(node);
        self.model.policies.push(PolicyResource {
            logical_id: p.logical_id.clone(),
            resource_type: p.resource_type.clone(),
            arn,
            document,
            roles,
            location,
        });
    }

    fn outputs(&mut self, outputs: &'a Node) {
        let Some(entries) = outputs.as_map() else {
            self.ctx
                .error_at(outputs, "Outputs", "Outputs must be a map");
            return;
        };
        for (k, v) in entries {
            let Some(name) = k.as_str() else { continue };
            let path = format!("Outputs.{name}");
            if let Some(c) = v.get("Condition") {
                match c.as_str() {
                    Some(cn) => {
                        if !self.ctx.condition(cn, c, &path).unwrap_or(true) {
                            continue;
                        }
                    }
                    None => {
                        self.ctx
                            .error_at(c, &path, "Condition must be the name of a condition");
                    }
                }
            }
            for (ok, _) in v.as_map().unwrap_or_default() {
                let key = ok.as_str().unwrap_or_default();
                if !["Value", "Description", "Export", "Condition"].contains(&key) {
                    self.ctx.error_at(ok, &path, format!("`{key}` is not an output property (Value, Description, Export, Condition)"));
                }
            }
            let Some(value_node) = v.get("Value") else {
                self.ctx.error_at(v, &path, "an output needs a Value");
                continue;
            };
            let vpath = format!("{path}.Value");
            let Ok(value) = self.ctx.eval(value_node, &vpath) else {
                continue;
            };
            if let Some(param) = value.unset() {
                self.ctx.unset_error(value_node, &vpath, param);
                continue;
            }
            let text = match &value {
                Value::List(items) => Some(
                    items
                        .iter()
                        .filter_map(Value::text)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => other.text(),
            };
            match text {
                Some(value) => self.model.outputs.push(Output {
                    name: name.to_string(),
                    value,
                }),
                None => {
                    self.ctx.error_at(
                        value_node,
                        &vpath,
                        format!(
                            "an output's Value must be a string, not {}",
                            value.describe()
                        ),
                    );
                }
            }
        }
    }
}
