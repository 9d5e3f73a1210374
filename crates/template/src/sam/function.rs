//! `AWS::Serverless::Function` → `AWS::Lambda::Function` (same logical id), the generated
//! `{Fn}Role` when `Role` is not given, and its `HttpApi` events (`sam_resources.py` SamFunction).

use std::collections::HashSet;

use super::http_api::{Event, IMPLICIT_API, Plan};
use super::{Sink, is_intrinsic, map, resource, scalar, seq, sub, text};
use crate::node::Node;

/// Copied to the Lambda function under the same name.
const PASS: &[&str] = &[
    "FunctionName",
    "Handler",
    "Runtime",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Environment",
    "KmsKeyArn",
    "ReservedConcurrentExecutions",
    "Layers",
    "EphemeralStorage",
    "FileSystemConfigs",
    "ImageConfig",
    "CodeSigningConfigArn",
    "Architectures",
    "SnapStart",
    "RuntimeManagementConfig",
    "LoggingConfig",
    "RecursiveLoop",
    "PackageType",
];

/// Read by the expansion itself.
const HANDLED: &[&str] = &[
    "CodeUri",
    "InlineCode",
    "ImageUri",
    "Role",
    "Policies",
    "AssumeRolePolicyDocument",
    "RolePath",
    "PermissionsBoundary",
    "Events",
    "EventInvokeConfig",
    "Tags",
    "Tracing",
    "PropagateTags",
    "SourceKMSKeyArn",
];

/// SAM features stackgate does not emulate (named at start-up).
const NOT_EMULATED: &[(&str, &str)] = &[
    (
        "AutoPublishAlias",
        "versions and aliases are not emulated: routes invoke $LATEST",
    ),
    (
        "AutoPublishAliasAllProperties",
        "versions and aliases are not emulated",
    ),
    (
        "AutoPublishCodeSha256",
        "versions and aliases are not emulated",
    ),
    (
        "VersionDescription",
        "versions and aliases are not emulated",
    ),
    (
        "VersionDeletionPolicy",
        "versions and aliases are not emulated",
    ),
    (
        "PublishToLatestPublished",
        "versions and aliases are not emulated",
    ),
    (
        "DeploymentPreference",
        "gradual deployments (CodeDeploy) are not emulated",
    ),
    (
        "ProvisionedConcurrencyConfig",
        "provisioned concurrency is not emulated: every environment starts cold",
    ),
    (
        "DeadLetterQueue",
        "dead-letter queues are not emulated: a discarded asynchronous event is logged",
    ),
    ("FunctionUrlConfig", "function URLs are not emulated"),
    (
        "CapacityProviderConfig",
        "capacity providers are not emulated",
    ),
    (
        "FunctionScalingConfig",
        "capacity providers are not emulated",
    ),
    ("TenancyConfig", "tenant isolation is not emulated"),
    ("DurableConfig", "durable functions are not emulated"),
];

/// AWS managed policies under `service-role/` (the translator looks names up in IAM's list).
const SERVICE_ROLE_POLICIES: &[&str] = &[
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaKinesisExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaMSKExecutionRole",
    "AWSLambdaENIManagementAccess",
    "AWSLambdaRole",
];

fn managed_policy_arn(name: &str, at: &Node) -> Node {
    let path = if SERVICE_ROLE_POLICIES.contains(&name) {
        format!("service-role/{name}")
    } else {
        name.to_string()
    };
    sub(
        &format!("arn:${{AWS::Partition}}:iam::aws:policy/{path}"),
        at,
    )
}

pub(crate) fn expand(
    id: &str,
    res: &Node,
    plan: &mut Plan,
    sink: &mut Sink,
) -> Vec<(String, Node)> {
    let path = format!("Resources.{id}.Properties");
    let empty = map(Vec::new(), res);
    let props = res.get("Properties").unwrap_or(&empty);
    let Some(entries) = props.as_map() else {
        sink.error(props, &path, "Properties must be a map");
        return Vec::new();
    };
    let mut attributes = super::passthrough_attributes(res);
    let mut fn_attributes = attributes.clone();
    for key in ["DependsOn", "Metadata"] {
        if let Some(v) = res.get(key) {
            fn_attributes.push((key.to_string(), v.clone()));
        }
    }
    let mut fprops: Vec<(&str, Node)> = Vec::new();
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        if let Some(p) = PASS.iter().find(|p| **p == key) {
            fprops.push((p, v.clone()));
        } else if let Some((_, reason)) = NOT_EMULATED.iter().find(|(n, _)| *n == key) {
            sink.ignore(id, key, *reason, k);
        } else if !HANDLED.contains(&key) {
            sink.error(
                k,
                &format!("{path}.{key}"),
                format!("`{key}` is not a property of AWS::Serverless::Function"),
            );
        }
    }
    // Code.
    let code = match (
        props.get("CodeUri"),
        props.get("InlineCode"),
        props.get("ImageUri"),
    ) {
        (Some(c), Some(_), _) | (Some(c), _, Some(_)) | (_, Some(c), Some(_)) => {
            sink.error(c, &path, format!("Resource with id [{id}] is invalid. Specify only one of 'CodeUri', 'InlineCode' or 'ImageUri'."));
            None
        }
        (Some(c), None, None) => code_uri(c, &format!("{path}.CodeUri"), sink),
        (None, Some(i), None) => Some(map(vec![("ZipFile", i.clone())], i)),
        (None, None, Some(i)) => Some(map(vec![("ImageUri", i.clone())], i)),
        (None, None, None) => {
            sink.error(props, &path, format!("Resource with id [{id}] is invalid. Only one of 'ImageUri', 'CodeUri', 'InlineCode' is required: stackgate needs 'CodeUri' (a local directory or .zip, relative to the template) or 'InlineCode'."));
            None
        }
    };
    if let Some(c) = code {
        fprops.push(("Code", c));
    }
    // Role.
    let mut out = Vec::new();
    let role_id = format!("{id}Role");
    match props.get("Role") {
        Some(r) => {
            fprops.push(("Role", r.clone()));
            for key in [
                "Policies",
                "AssumeRolePolicyDocument",
                "PermissionsBoundary",
                "RolePath",
            ] {
                if let Some((k, _)) = entries.iter().find(|(k, _)| k.as_str() == Some(key)) {
                    sink.ignore(
                        id,
                        key,
                        "it applies to the role SAM generates, and Role names an existing role",
                        k,
                    );
                }
            }
        }
        None => {
            fprops.push(("Role", super::get_att(&role_id, "Arn", res)));
            out.push((role_id.clone(), role(id, res, props, &attributes, sink)));
        }
    }
    if let Some(t) = props.get("Tracing") {
        fprops.push(("TracingConfig", map(vec![("Mode", t.clone())], t)));
    }
    let mut tags = Vec::new();
    if let Some(t) = props.get("Tags")
        && let Some(entries) = t.as_map()
    {
        for (k, v) in entries {
            tags.push(map(vec![("Key", k.clone()), ("Value", v.clone())], k));
        }
    }
    tags.push(map(
        vec![
            ("Key", scalar("lambda:createdBy", res)),
            ("Value", scalar("SAM", res)),
        ],
        res,
    ));
    fprops.push(("Tags", seq(tags, res)));
    let mut fnode = vec![(
        id.to_string(),
        resource(
            "AWS::Lambda::Function",
            map(fprops, props),
            &fn_attributes,
            res,
        ),
    )];
    fnode.append(&mut out);
    let mut out = fnode;
    if let Some((k, c)) = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("EventInvokeConfig"))
    {
        out.extend(event_invoke_config(id, k, c, props, &attributes, sink));
    }

    // Events.
    let Some(events) = props.get("Events") else {
        return out;
    };
    let epath = format!("{path}.Events");
    let Some(event_entries) = events.as_map() else {
        sink.error(
            events,
            &epath,
            "Events must be a map of event names to events",
        );
        return out;
    };
    // The APIs on which the function has a `$default` ANY route: its permission covers them all,
    // and the translator then adds no other permission for them.
    let mut default_apis = HashSet::new();
    for (_, ev) in event_entries {
        if ev.get("Type").and_then(Node::as_str) != Some("HttpApi") {
            continue;
        }
        let p = ev.get("Properties");
        let path = p.and_then(|p| p.get("Path")).and_then(text);
        let method = p.and_then(|p| p.get("Method")).and_then(text);
        let is_default = match (path, method) {
            (None, None) => p.is_none_or(|p| p.get("Path").is_none() && p.get("Method").is_none()),
            (Some("$default"), Some(m)) => {
                m.eq_ignore_ascii_case("any") || m == "x-amazon-apigateway-any-method"
            }
            _ => false,
        };
        if is_default {
            let api = p
                .and_then(|p| p.get("ApiId"))
                .and_then(super::ref_target)
                .unwrap_or(IMPLICIT_API);
            default_apis.insert(api.to_string());
        }
    }
    attributes.retain(|(k, _)| k == "Condition");
    for (k, ev) in event_entries {
        let name = k.as_str().unwrap_or_default();
        let path = format!("{epath}.{name}");
        if ev.as_map().is_none() {
            sink.error(ev, &path, "an event must be a map with Type and Properties");
            continue;
        }
        match ev.get("Type").and_then(Node::as_str) {
            Some("HttpApi") => {
                let e = Event {
                    function: id,
                    name,
                    node: ev,
                    attributes: &attributes,
                };
                out.extend(plan.event(&e, &default_apis, sink));
            }
            Some(t) => sink.ignore(
                id,
                &format!("Events.{name}"),
                format!("event sources of type {t} are not emulated: nothing invokes the function for this event"),
                k,
            ),
            None => sink.error(ev, &path, format!("Event with id [{name}] is invalid. It needs a Type.")),
        }
    }
    out
}

/// `EventInvokeConfig` → `{id}EventInvokeConfig` (`AWS::Lambda::EventInvokeConfig`), as the
/// translator writes it: for `$LATEST`, or for the `AutoPublishAlias` when there is one.
fn event_invoke_config(
    id: &str,
    key: &Node,
    config: &Node,
    props: &Node,
    attributes: &[(String, Node)],
    sink: &mut Sink,
) -> Option<(String, Node)> {
    if config.as_map().is_none() {
        sink.error(
            config,
            &format!("Resources.{id}.Properties.EventInvokeConfig"),
            "EventInvokeConfig must be a map",
        );
        return None;
    }
    let qualifier = props
        .get("AutoPublishAlias")
        .cloned()
        .unwrap_or_else(|| scalar("$LATEST", key));
    let mut cprops = vec![
        ("FunctionName", super::reference(id, key)),
        ("Qualifier", qualifier),
    ];
    for name in ["MaximumEventAgeInSeconds", "MaximumRetryAttempts"] {
        if let Some(v) = config.get(name) {
            cprops.push((name, v.clone()));
        }
    }
    if let Some(d) = config.get("DestinationConfig") {
        sink.ignore(
            id,
            "EventInvokeConfig.DestinationConfig",
            "destinations are not emulated: a discarded asynchronous event is logged",
            d,
        );
    }
    Some((
        format!("{id}EventInvokeConfig"),
        resource(
            "AWS::Lambda::EventInvokeConfig",
            map(cprops, config),
            attributes,
            config,
        ),
    ))
}

fn code_uri(c: &Node, path: &str, sink: &mut Sink) -> Option<Node> {
    if is_intrinsic(c) {
        return Some(c.clone());
    }
    match c.as_str() {
        Some(s) if s.starts_with("s3://") => {
            sink.error(c, path, format!("stackgate needs local code, not {s}: write CodeUri as a local directory or .zip (relative to the template), as `sam build`/`sam deploy` take it"));
            None
        }
        Some(_) => Some(c.clone()),
        None => {
            sink.error(c, path, "stackgate needs local code: CodeUri must be a local directory or .zip (relative to the template), not an S3 location map");
            None
        }
    }
}

/// The text an ARN node stands for, `${AWS::Partition}` read as `aws` (to compare them).
fn arn_key(node: &Node) -> Option<String> {
    let text = node.as_str()?;
    match node.tag.as_deref() {
        None | Some("!Sub") => Some(text.replace("${AWS::Partition}", "aws")),
        Some(_) => None,
    }
}

/// The translator adds a managed policy ARN only once.
fn push_unique(list: &mut Vec<Node>, node: Node) {
    let key = arn_key(&node);
    if key.is_some() && list.iter().any(|n| arn_key(n) == key) {
        return;
    }
    list.push(node);
}

/// The generated execution role (`{Fn}Role`).
fn role(
    id: &str,
    res: &Node,
    props: &Node,
    attributes: &[(String, Node)],
    sink: &mut Sink,
) -> Node {
    let at = res;
    let assume = props
        .get("AssumeRolePolicyDocument")
        .cloned()
        .unwrap_or_else(|| {
            map(
                vec![
                    ("Version", scalar("2012-10-17", at)),
                    (
                        "Statement",
                        seq(
                            vec![map(
                                vec![
                                    ("Action", seq(vec![scalar("sts:AssumeRole", at)], at)),
                                    ("Effect", scalar("Allow", at)),
                                    (
                                        "Principal",
                                        map(
                                            vec![(
                                                "Service",
                                                seq(vec![scalar("lambda.amazonaws.com", at)], at),
                                            )],
                                            at,
                                        ),
                                    ),
                                ],
                                at,
                            )],
                            at,
                        ),
                    ),
                ],
                at,
            )
        });
    let mut managed = vec![managed_policy_arn("AWSLambdaBasicExecutionRole", at)];
    let mut inline = Vec::new();
    if let Some(p) = props.get("Policies") {
        let items: Vec<&Node> = match p.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![p],
        };
        for (i, item) in items.into_iter().enumerate() {
            if is_intrinsic(item) {
                push_unique(&mut managed, item.clone());
            } else if let Some(s) = item.as_str() {
                if s.starts_with("arn:") {
                    push_unique(&mut managed, item.clone());
                } else {
                    push_unique(&mut managed, managed_policy_arn(s, item));
                }
            } else if item.get("Statement").is_some() {
                inline.push(map(
                    vec![
                        ("PolicyName", scalar(&format!("{id}RolePolicy{i}"), item)),
                        ("PolicyDocument", item.clone()),
                    ],
                    item,
                ));
            } else if let Some([(k, _)]) = item.as_map() {
                let name = k.as_str().unwrap_or_default();
                sink.ignore(
                    id,
                    &format!("Policies[{i}]"),
                    format!("the SAM policy template {name} is not expanded: the generated role lacks its statements"),
                    k,
                );
            } else {
                sink.error(item, &format!("Resources.{id}.Properties.Policies[{i}]"), "a policy must be a managed policy name or ARN, a policy document (with Statement) or a policy template");
            }
        }
    }
    let mut rprops = vec![
        ("AssumeRolePolicyDocument", assume),
        ("ManagedPolicyArns", seq(managed, at)),
    ];
    if !inline.is_empty() {
        rprops.push(("Policies", seq(inline, at)));
    }
    if let Some(p) = props.get("RolePath") {
        rprops.push(("Path", p.clone()));
    }
    if let Some(p) = props.get("PermissionsBoundary") {
        rprops.push(("PermissionsBoundary", p.clone()));
    }
    rprops.push((
        "Tags",
        seq(
            vec![map(
                vec![
                    ("Key", scalar("lambda:createdBy", at)),
                    ("Value", scalar("SAM", at)),
                ],
                at,
            )],
            at,
        ),
    ));
    resource("AWS::IAM::Role", map(rprops, at), attributes, at)
}
