//! `Globals`: properties merged into every SAM resource of a type, with the translator's rules
//! (`samtranslator/plugins/globals/globals.py`): the local value wins for scalars (and when the
//! kinds differ; intrinsics count as scalars), maps merge recursively, lists concatenate (global
//! items first). `IgnoreGlobals` (`"*"` or a list of property names) opts a resource out.

use super::{Sink, is_intrinsic, map};
use crate::node::{Node, NodeValue};

/// `Globals.Function`: everything on AWS::Serverless::Function except Role, Policies,
/// FunctionName and Events.
const FUNCTION: &[&str] = &[
    "Handler",
    "Runtime",
    "CodeUri",
    "DeadLetterQueue",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Environment",
    "Tags",
    "PropagateTags",
    "Tracing",
    "KmsKeyArn",
    "AutoPublishAlias",
    "AutoPublishAliasAllProperties",
    "Layers",
    "DeploymentPreference",
    "RolePath",
    "PermissionsBoundary",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "AssumeRolePolicyDocument",
    "EventInvokeConfig",
    "FileSystemConfigs",
    "CodeSigningConfigArn",
    "Architectures",
    "SnapStart",
    "EphemeralStorage",
    "FunctionUrlConfig",
    "RuntimeManagementConfig",
    "LoggingConfig",
    "RecursiveLoop",
    "SourceKMSKeyArn",
    "TenancyConfig",
    "DurableConfig",
    "CapacityProviderConfig",
    "FunctionScalingConfig",
    "PublishToLatestPublished",
    "VersionDeletionPolicy",
];

const HTTP_API: &[&str] = &[
    "Auth",
    "AccessLogSettings",
    "StageVariables",
    "Tags",
    "CorsConfiguration",
    "DefaultRouteSettings",
    "Domain",
    "RouteSettings",
    "FailOnWarnings",
    "PropagateTags",
];

/// Sections SAM accepts; only Function and HttpApi matter to stackgate (the others apply to
/// resource types it does not expand).
const OTHER_SECTIONS: &[&str] = &[
    "Api",
    "SimpleTable",
    "StateMachine",
    "LayerVersion",
    "CapacityProvider",
    "WebSocketApi",
];

#[derive(Debug, Default)]
pub(crate) struct Globals {
    function: Option<Node>,
    http_api: Option<Node>,
}

impl Globals {
    pub fn parse(node: Option<&Node>, sink: &mut Sink) -> Globals {
        let mut g = Globals::default();
        let Some(node) = node else { return g };
        let Some(entries) = node.as_map() else {
            sink.error(
                node,
                "Globals",
                "'Globals' section is invalid. It must be a non-empty dictionary",
            );
            return g;
        };
        for (k, v) in entries {
            let section = k.as_str().unwrap_or_default();
            let path = format!("Globals.{section}");
            let supported = match section {
                "Function" => FUNCTION,
                "HttpApi" => HTTP_API,
                s if OTHER_SECTIONS.contains(&s) => continue,
                _ => {
                    let mut all: Vec<&str> = OTHER_SECTIONS.to_vec();
                    all.extend(["Function", "HttpApi"]);
                    all.sort_unstable();
                    sink.error(
                        k,
                        &path,
                        format!(
                            "'Globals' section is invalid. '{section}' is not supported. Must be one of the following values - {all:?}"
                        ),
                    );
                    continue;
                }
            };
            let Some(props) = v.as_map() else {
                sink.error(
                    v,
                    &path,
                    format!(
                        "'Globals' section is invalid. Value of {section} must be a dictionary"
                    ),
                );
                continue;
            };
            let mut ok = true;
            for (pk, _) in props {
                let key = pk.as_str().unwrap_or_default();
                if !supported.contains(&key) {
                    ok = false;
                    sink.error(
                        pk,
                        &format!("{path}.{key}"),
                        format!(
                            "'Globals' section is invalid. '{key}' is not a supported property of '{section}'. Must be one of the following values - {supported:?}"
                        ),
                    );
                }
            }
            if !ok {
                continue;
            }
            match section {
                "Function" => g.function = Some(v.clone()),
                _ => g.http_api = Some(v.clone()),
            }
        }
        g
    }

    fn for_type(&self, rtype: &str) -> Option<&Node> {
        match rtype {
            "AWS::Serverless::Function" => self.function.as_ref(),
            "AWS::Serverless::HttpApi" => self.http_api.as_ref(),
            _ => None,
        }
    }

    /// The HttpApi globals merged onto `properties` (for the implicit API).
    pub fn http_api_properties(&self, properties: &Node) -> Node {
        match &self.http_api {
            Some(g) => merge(g, properties),
            None => properties.clone(),
        }
    }

    /// The resource with the globals of its type merged into its `Properties`.
    pub fn apply(&self, id: &str, rtype: &str, resource: &Node, sink: &mut Sink) -> Node {
        let Some(global) = self.for_type(rtype) else {
            return resource.clone();
        };
        let mut global = global.clone();
        if let Some(ignore) = resource.get("IgnoreGlobals") {
            let path = format!("Resources.{id}.IgnoreGlobals");
            match (ignore.as_str(), ignore.as_seq()) {
                (Some("*"), _) => return resource.clone(),
                (_, Some(items)) => {
                    for item in items {
                        let name = item.as_str().unwrap_or_default();
                        let NodeValue::Map(entries) = &mut global.value else {
                            break;
                        };
                        let before = entries.len();
                        entries.retain(|(k, _)| k.as_str() != Some(name));
                        if entries.len() == before {
                            sink.error(
                                item,
                                &path,
                                format!("Resource {id} has invalid resource attribute 'IgnoreGlobals' on item '{name}'."),
                            );
                        }
                    }
                }
                _ => {
                    sink.error(
                        ignore,
                        &path,
                        format!("Resource {id} has invalid resource attribute 'IgnoreGlobals'."),
                    );
                    return resource.clone();
                }
            }
        }
        let local = resource
            .get("Properties")
            .cloned()
            .unwrap_or_else(|| map(Vec::new(), resource));
        let merged = merge(&global, &local);
        let mut out = resource.clone();
        if let NodeValue::Map(entries) = &mut out.value {
            entries.retain(|(k, _)| k.as_str() != Some("IgnoreGlobals"));
        }
        super::set(&mut out, "Properties", merged);
        out
    }
}

#[derive(PartialEq)]
enum Token {
    Primitive,
    Map,
    List,
}

fn token(node: &Node) -> Token {
    if is_intrinsic(node) {
        return Token::Primitive;
    }
    match &node.value {
        NodeValue::Map(_) => Token::Map,
        NodeValue::Seq(_) => Token::List,
        NodeValue::Scalar(..) => Token::Primitive,
    }
}

/// SAM's `GlobalProperties._do_merge`.
pub(crate) fn merge(global: &Node, local: &Node) -> Node {
    let (tg, tl) = (token(global), token(local));
    if tg != tl || tg == Token::Primitive {
        return local.clone();
    }
    match (&global.value, &local.value) {
        (NodeValue::Seq(g), NodeValue::Seq(l)) => {
            let mut out = local.clone();
            out.value = NodeValue::Seq(g.iter().chain(l.iter()).cloned().collect());
            out
        }
        (NodeValue::Map(g), NodeValue::Map(l)) => {
            let mut entries: Vec<(Node, Node)> = g.clone();
            for (lk, lv) in l {
                match entries
                    .iter_mut()
                    .find(|(gk, _)| gk.as_str().is_some() && gk.as_str() == lk.as_str())
                {
                    Some((_, gv)) => *gv = merge(gv, lv),
                    None => entries.push((lk.clone(), lv.clone())),
                }
            }
            let mut out = local.clone();
            out.value = NodeValue::Map(entries);
            out
        }
        _ => local.clone(),
    }
}
