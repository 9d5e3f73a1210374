//! Evaluating a template node: intrinsic functions (long and short forms), `Ref`/`Fn::GetAtt` of
//! parameters, pseudo parameters and resources.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use base64::Engine as _;

use crate::diagnostics::{Diagnostic, Severity};
use crate::ids;
use crate::model::StackInfo;
use crate::node::{Node, NodeValue, Style};

/// An evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A plain YAML number, kept as written.
    Num(String),
    Str(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// The value of a parameter that has neither an override nor a `Default`; carried through
    /// `Fn::Sub`, `Fn::Join`, ... so the place that finally uses it decides.
    Unset(String),
    /// `AWS::NoValue`: removes the property or list item holding it.
    NoValue,
}

impl Value {
    /// The text of a scalar (`Str`, `Num`, `Bool`).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) | Value::Num(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The first unset parameter anywhere inside.
    pub fn unset(&self) -> Option<&str> {
        match self {
            Value::Unset(p) => Some(p),
            Value::List(items) => items.iter().find_map(Value::unset),
            Value::Map(entries) => entries.iter().find_map(|(_, v)| v.unset()),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::NoValue | Value::Unset(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Num(n) => serde_json::from_str::<serde_json::Number>(n)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(n.clone())),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Unset(_) => "a parameter without a value",
            Value::NoValue => "AWS::NoValue",
        }
    }
}

/// Marker: the error was already recorded as a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported;

pub type Eval<T> = Result<T, Reported>;

/// A template parameter after defaults and overrides.
#[derive(Debug, Clone)]
pub struct Param {
    pub value: Value,
    pub no_echo: bool,
}

/// A resource as the evaluator sees it.
#[derive(Debug, Clone)]
pub struct ResourceDecl<'a> {
    pub resource_type: String,
    pub node: &'a Node,
    /// `false` when its `Condition` is false: the resource does not exist.
    pub active: bool,
}

/// The evaluation context: everything `Ref`, `Fn::GetAtt`, `Fn::If` and `Fn::FindInMap` need.
pub struct Ctx<'a> {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
    pub stack: StackInfo,
    pub stack_id: String,
    pub params: BTreeMap<String, Param>,
    pub conditions: BTreeMap<String, &'a Node>,
    pub condition_values: HashMap<String, bool>,
    pub conditions_in_progress: HashSet<String>,
    pub mappings: Option<&'a Node>,
    pub resources: BTreeMap<String, ResourceDecl<'a>>,
    ref_cache: HashMap<String, String>,
    refs_in_progress: HashSet<String>,
    /// The resource being evaluated, for diagnostics.
    pub current_resource: Option<String>,
}

/// Supported `Fn::GetAtt` attributes by resource type (types not listed: any attribute, as a
/// placeholder).
pub fn known_attributes(resource_type: &str) -> Option<&'static [&'static str]> {
    Some(match resource_type {
        "AWS::ApiGatewayV2::Api" => &["ApiEndpoint", "ApiId"],
        "AWS::ApiGatewayV2::Stage" => &[],
        "AWS::ApiGatewayV2::Route" => &["RouteId"],
        "AWS::ApiGatewayV2::Integration" => &["IntegrationId"],
        "AWS::ApiGatewayV2::Authorizer" => &["AuthorizerId"],
        "AWS::ApiGatewayV2::Deployment" => &["DeploymentId"],
        "AWS::Lambda::Function" => &["Arn"],
        "AWS::Lambda::Permission" => &[],
        "AWS::IAM::Role" => &["Arn", "RoleId"],
        "AWS::IAM::ManagedPolicy" => &[
            "PolicyArn",
            "PolicyId",
            "AttachmentCount",
            "CreateDate",
            "DefaultVersionId",
            "IsAttachable",
            "PermissionsBoundaryUsageCount",
            "UpdateDate",
        ],
        _ => return None,
    })
}

const PSEUDO: &[&str] = &[
    "AWS::Region",
    "AWS::AccountId",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::NotificationARNs",
];

/// The long name of an intrinsic written as a short-form tag.
fn tag_function(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "!Ref" => "Ref",
        "!GetAtt" => "Fn::GetAtt",
        "!Sub" => "Fn::Sub",
        "!Join" => "Fn::Join",
        "!Select" => "Fn::Select",
        "!Split" => "Fn::Split",
        "!If" => "Fn::If",
        "!Equals" => "Fn::Equals",
        "!Not" => "Fn::Not",
        "!And" => "Fn::And",
        "!Or" => "Fn::Or",
        "!Condition" => "Condition",
        "!FindInMap" => "Fn::FindInMap",
        "!Base64" => "Fn::Base64",
        "!GetAZs" => "Fn::GetAZs",
        "!ImportValue" => "Fn::ImportValue",
        "!Cidr" => "Fn::Cidr",
        "!Transform" => "Fn::Transform",
        "!ToJsonString" => "Fn::ToJsonString",
        "!Length" => "Fn::Length",
        _ => return None,
    })
}

const LONG_FORMS: &[&str] = &[
    "Ref",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::FindInMap",
    "Fn::Base64",
    "Fn::GetAZs",
    "Fn::ImportValue",
    "Fn::Cidr",
    "Fn::Transform",
    "Fn::ToJsonString",
    "Fn::Length",
];

/// Types a plain scalar the way YAML's core schema does.
fn plain_scalar(s: &str) -> Value {
    match s {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        "null" | "Null" | "NULL" | "~" | "" => Value::Null,
        _ if is_number(s) => Value::Num(s.to_string()),
        _ => Value::Str(s.to_string()),
    }
}

/// A YAML/JSON number (integer or float, optional sign and exponent).
pub fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (s.get(..i).unwrap_or(""), Some(s.get(i + 1..).unwrap_or(""))),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

impl<'a> Ctx<'a> {
    pub fn new(file: PathBuf, stack: StackInfo) -> Self {
        let stack_id = format!(
            "arn:{}:cloudformation:{}:{}:stack/{}/{}",
            stack.partition,
            stack.region,
            stack.account_id,
            stack.stack_name,
            ids::uuid(&format!(
                "{}\u{0}{}\u{0}{}",
                stack.stack_name, stack.region, stack.account_id
            ))
        );
        Ctx {
            file,
            diagnostics: Vec::new(),
            stack,
            stack_id,
            params: BTreeMap::new(),
            conditions: BTreeMap::new(),
            condition_values: HashMap::new(),
            conditions_in_progress: HashSet::new(),
            mappings: None,
            resources: BTreeMap::new(),
            ref_cache: HashMap::new(),
            refs_in_progress: HashSet::new(),
            current_resource: None,
        }
    }

    /// Records an error at `node`'s position and returns the marker.
    pub fn error(
        &mut self,
        line: usize,
        col: usize,
        path: &str,
        message: impl Into<String>,
    ) -> Reported {
        self.push(Severity::Error, line, col, path, message.into());
        Reported
    }

    pub fn error_at(&mut self, node: &Node, path: &str, message: impl Into<String>) -> Reported {
        self.error(node.line, node.col, path, message)
    }

    pub fn warning_at(&mut self, node: &Node, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, node.line, node.col, path, message.into());
    }

    fn push(&mut self, severity: Severity, line: usize, col: usize, path: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            col,
            resource: self.current_resource.clone(),
            path: path.to_string(),
            message,
        });
    }

    /// The error for a value that still holds an unset parameter where a value is required.
    pub fn unset_error(&mut self, node: &Node, path: &str, param: &str) -> Reported {
        self.error_at(
            node,
            path,
            format!(
                "parameter {param} has no value: give it a Default or pass --parameter-overrides {param}=…"
            ),
        )
    }

    /// Evaluates a node: intrinsics are applied, `AWS::NoValue` removes map entries and list items.
    pub fn eval(&mut self, node: &'a Node, path: &str) -> Eval<Value> {
        if let Some(tag) = &node.tag {
            if let Some(function) = tag_function(tag) {
                return self.intrinsic(function, node, node, path);
            }
            return match tag.as_str() {
                "!!str" => Ok(Value::Str(node.as_str().unwrap_or_default().to_string())),
                "!!int" | "!!float" | "!!bool" | "!!null" | "!!map" | "!!seq" => {
                    self.eval_untagged(node, path)
                }
                _ => Err(self.error_at(
                    node,
                    path,
                    format!("unknown tag `{tag}` (CloudFormation's short forms are !Ref, !GetAtt, !Sub, !Join, !Select, !Split, !If, !Equals, !Not, !And, !Or, !Condition, !FindInMap, !Base64, !GetAZs, !ImportValue)"),
                )),
            };
        }
        self.eval_untagged(node, path)
    }

    fn eval_untagged(&mut self, node: &'a Node, path: &str) -> Eval<Value> {
        match &node.value {
            NodeValue::Scalar(s, Style::Plain) => Ok(plain_scalar(s)),
            NodeValue::Scalar(s, Style::Quoted) => Ok(Value::Str(s.clone())),
            NodeValue::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for (i, item) in items.iter().enumerate() {
                    match self.eval(item, &format!("{path}[{i}]")) {
                        Ok(Value::NoValue) => {}
                        Ok(v) => out.push(v),
                        Err(_) => failed = true,
                    }
                }
                if failed {
                    Err(Reported)
                } else {
                    Ok(Value::List(out))
                }
            }
            NodeValue::Map(entries) => {
                if let [(key, arg)] = entries.as_slice()
                    && let Some(k) = key.as_str()
                    && key.tag.is_none()
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    if !LONG_FORMS.contains(&k) {
                        return Err(self.error_at(
                            key,
                            path,
                            format!("unknown intrinsic function `{k}`"),
                        ));
                    }
                    return self.intrinsic(k, arg, node, path);
                }
                let mut out = Vec::with_capacity(entries.len());
                let mut failed = false;
                for (key, value) in entries {
                    let Some(k) = key.as_str() else {
                        self.error_at(key, path, "map keys must be strings");
                        failed = true;
                        continue;
                    };
                    let child = if path.is_empty() {
                        k.to_string()
                    } else {
                        format!("{path}.{k}")
                    };
                    match self.eval(value, &child) {
                        Ok(Value::NoValue) => {}
                        Ok(v) => out.push((k.to_string(), v)),
                        Err(_) => failed = true,
                    }
                }
                if failed {
                    Err(Reported)
                } else {
                    Ok(Value::Map(out))
                }
            }
        }
    }

    /// `arg` is the function's argument node (for a short form, the tagged node itself with its
    /// tag ignored); `at` is where to report problems.
    fn intrinsic(
        &mut self,
        function: &str,
        arg: &'a Node,
        at: &'a Node,
        path: &str,
    ) -> Eval<Value> {
        let path = &format!("{path}{}{function}", if path.is_empty() { "" } else { "." });
        // Short form (`!Base64 x`): the tagged node is both the call and its argument.
        let short = std::ptr::eq(arg, at);
        match function {
            "Ref" => {
                let Some(name) = self.literal_string(arg) else {
                    return Err(self.error_at(arg, path, "Ref takes the name of a parameter or resource"));
                };
                self.reference(&name, arg, path)
            }
            "Condition" => {
                let Some(name) = self.literal_string(arg) else {
                    return Err(self.error_at(arg, path, "Condition takes the name of a condition"));
                };
                self.condition(&name, arg, path).map(Value::Bool)
            }
            "Fn::GetAtt" => self.get_att(arg, path),
            "Fn::Sub" => self.sub(arg, path),
            "Fn::Join" => self.join(arg, path),
            "Fn::Select" => self.select(arg, path),
            "Fn::Split" => self.split(arg, path),
            "Fn::If" => self.fn_if(arg, path),
            "Fn::Equals" => self.equals(arg, path),
            "Fn::Not" | "Fn::And" | "Fn::Or" => self.logic(function, arg, path),
            "Fn::FindInMap" => self.find_in_map(arg, path),
            "Fn::Base64" => {
                let v = self.eval_args(arg, short, path)?;
                match v {
                    Value::Unset(p) => Ok(Value::Unset(p)),
                    other => match other.text() {
                        Some(t) => Ok(Value::Str(base64::engine::general_purpose::STANDARD.encode(t))),
                        None => Err(self.error_at(at, path, format!("Fn::Base64 takes a string, not {}", other.describe()))),
                    },
                }
            }
            "Fn::GetAZs" => {
                let v = self.eval_args(arg, short, path)?;
                let region = match v.text() {
                    Some(r) if !r.is_empty() => r,
                    _ => self.stack.region.clone(),
                };
                Ok(Value::List(
                    ["a", "b", "c"].iter().map(|z| Value::Str(format!("{region}{z}"))).collect(),
                ))
            }
            "Fn::ImportValue" => Err(self.error_at(
                at,
                path,
                "Fn::ImportValue reads another stack's export, and no other stack exists locally: replace it with a parameter (pass the value with --parameter-overrides)",
            )),
            other => Err(self.error_at(at, path, format!("{other} is not supported by stackgate"))),
        }
    }

    /// Evaluates a function's argument node (ignoring the short-form tag on it).
    fn eval_args(&mut self, arg: &'a Node, short: bool, path: &str) -> Eval<Value> {
        if short {
            // Short form: the tag belongs to the function; its content is the argument.
            self.eval_untagged(arg, path)
        } else {
            self.eval(arg, path)
        }
    }

    /// The argument list of a function taking a list (`[a, b, ...]`), each element a node.
    fn arg_list(
        &mut self,
        arg: &'a Node,
        path: &str,
        function: &str,
        len: std::ops::RangeInclusive<usize>,
    ) -> Eval<&'a [Node]> {
        match &arg.value {
            NodeValue::Seq(items) if len.contains(&items.len()) => Ok(items),
            _ => Err(self.error_at(
                arg,
                path,
                format!(
                    "{function} takes a list of {}",
                    if len.start() == len.end() {
                        format!("{} items", len.start())
                    } else {
                        format!("{} to {} items", len.start(), len.end())
                    }
                ),
            )),
        }
    }

    /// A name given literally (a plain or quoted scalar without a tag).
    fn literal_string(&self, arg: &Node) -> Option<String> {
        match &arg.value {
            NodeValue::Scalar(s, _) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// `Ref name`: a parameter, a pseudo parameter or a resource.
    pub fn reference(&mut self, name: &str, at: &Node, path: &str) -> Eval<Value> {
        if let Some(p) = self.params.get(name) {
            return Ok(p.value.clone());
        }
        if name.starts_with("AWS::") {
            return match name {
                "AWS::Region" => Ok(Value::Str(self.stack.region.clone())),
                "AWS::AccountId" => Ok(Value::Str(self.stack.account_id.clone())),
                "AWS::StackName" => Ok(Value::Str(self.stack.stack_name.clone())),
                "AWS::StackId" => Ok(Value::Str(self.stack_id.clone())),
                "AWS::Partition" => Ok(Value::Str(self.stack.partition.clone())),
                "AWS::URLSuffix" => Ok(Value::Str(self.stack.url_suffix.clone())),
                "AWS::NoValue" => Ok(Value::NoValue),
                "AWS::NotificationARNs" => Ok(Value::List(Vec::new())),
                _ => Err(self.error_at(
                    at,
                    path,
                    format!(
                        "unknown pseudo parameter `{name}` (known: {})",
                        PSEUDO.join(", ")
                    ),
                )),
            };
        }
        self.resource_ref(name, at, path).map(Value::Str)
    }

    fn check_resource(&mut self, name: &str, at: &Node, path: &str, what: &str) -> Eval<String> {
        match self.resources.get(name) {
            None => Err(self.error_at(
                at,
                path,
                format!("{what} `{name}`: no parameter or resource has that name"),
            )),
            Some(r) if !r.active => Err(self.error_at(
                at,
                path,
                format!(
                    "{what} `{name}`: that resource's Condition is false, so it does not exist"
                ),
            )),
            Some(r) => Ok(r.resource_type.clone()),
        }
    }

    /// The value `Ref` returns for a resource (its physical id), stable across restarts.
    pub fn resource_ref(&mut self, name: &str, at: &Node, path: &str) -> Eval<String> {
        let resource_type = self.check_resource(name, at, path, "Ref")?;
        if let Some(v) = self.ref_cache.get(name) {
            return Ok(v.clone());
        }
        if !self.refs_in_progress.insert(name.to_string()) {
            return Err(self.error_at(at, path, format!("circular reference through `{name}`")));
        }
        let result = self.compute_ref(name, &resource_type, path);
        self.refs_in_progress.remove(name);
        if let Ok(v) = &result {
            self.ref_cache.insert(name.to_string(), v.clone());
        }
        result
    }

    /// A property of a resource, evaluated, when it names the resource (e.g. `FunctionName`).
    fn naming_property(&mut self, name: &str, property: &str, path: &str) -> Eval<Option<String>> {
        let Some(node) = self
            .resources
            .get(name)
            .and_then(|r| r.node.get("Properties"))
            .and_then(|p| p.get(property))
        else {
            return Ok(None);
        };
        let saved = self.current_resource.replace(name.to_string());
        let prop_path = format!("Resources.{name}.Properties.{property}");
        let value = self.eval(node, &prop_path);
        self.current_resource = saved;
        match value? {
            Value::NoValue | Value::Null => Ok(None),
            Value::Unset(p) => Err(self.unset_error(node, &prop_path, &p)),
            v => match v.text() {
                Some(t) => Ok(Some(t)),
                None => Err(self.error_at(
                    node,
                    path,
                    format!("{property} must be a string, not {}", v.describe()),
                )),
            },
        }
    }

    fn compute_ref(&mut self, name: &str, resource_type: &str, path: &str) -> Eval<String> {
        let stack = self.stack.stack_name.clone();
        Ok(match resource_type {
            "AWS::ApiGatewayV2::Api" => ids::lower(&stack, name, "api", 10),
            "AWS::ApiGatewayV2::Route" => ids::lower(&stack, name, "route", 7),
            "AWS::ApiGatewayV2::Integration" => ids::lower(&stack, name, "integration", 7),
            "AWS::ApiGatewayV2::Authorizer" => ids::lower(&stack, name, "authorizer", 6),
            "AWS::ApiGatewayV2::Deployment" => ids::lower(&stack, name, "deployment", 6),
            "AWS::ApiGatewayV2::Stage" => self
                .naming_property(name, "StageName", path)?
                .unwrap_or_else(|| ids::generated_name(&stack, name, 128)),
            "AWS::Lambda::Function" => self
                .naming_property(name, "FunctionName", path)?
                .unwrap_or_else(|| ids::generated_name(&stack, name, 64)),
            "AWS::IAM::Role" => self
                .naming_property(name, "RoleName", path)?
                .unwrap_or_else(|| ids::generated_name(&stack, name, 64)),
            // A managed policy's Ref is its ARN.
            "AWS::IAM::ManagedPolicy" => {
                let policy_name = self
                    .naming_property(name, "ManagedPolicyName", path)?
                    .unwrap_or_else(|| ids::generated_name(&stack, name, 128));
                let policy_path = self
                    .naming_property(name, "Path", path)?
                    .unwrap_or_else(|| "/".to_string());
                format!(
                    "arn:{}:iam::{}:policy{policy_path}{policy_name}",
                    self.stack.partition, self.stack.account_id
                )
            }
            _ => ids::generated_name(&stack, name, 128),
        })
    }

    /// `Fn::GetAtt [resource, attribute]` for a resource.
    pub fn attribute(&mut self, name: &str, attribute: &str, at: &Node, path: &str) -> Eval<Value> {
        let resource_type = self.check_resource(name, at, path, "Fn::GetAtt")?;
        let Some(known) = known_attributes(&resource_type) else {
            // Not modelled: a stable placeholder (the resource is reported as not emulated).
            let physical = self.resource_ref(name, at, path)?;
            let s = &self.stack;
            return Ok(Value::Str(if attribute.ends_with("Arn") {
                format!(
                    "arn:{}:stackgate-placeholder:{}:{}:{}/{physical}",
                    s.partition,
                    s.region,
                    s.account_id,
                    resource_type.to_ascii_lowercase().replace("::", "-")
                )
            } else {
                format!("{physical}-{attribute}")
            }));
        };
        if !known.contains(&attribute) {
            return Err(self.error_at(
                at,
                path,
                format!(
                    "{resource_type} has no attribute `{attribute}`{}",
                    if known.is_empty() {
                        " (it has no attributes)".to_string()
                    } else {
                        format!(" (it has: {})", known.join(", "))
                    }
                ),
            ));
        }
        let physical = self.resource_ref(name, at, path)?;
        let s = self.stack.clone();
        Ok(Value::Str(match (resource_type.as_str(), attribute) {
            ("AWS::ApiGatewayV2::Api", "ApiEndpoint") => {
                format!(
                    "https://{physical}.execute-api.{}.{}",
                    s.region, s.url_suffix
                )
            }
            ("AWS::Lambda::Function", "Arn") => {
                format!(
                    "arn:{}:lambda:{}:{}:function:{physical}",
                    s.partition, s.region, s.account_id
                )
            }
            ("AWS::IAM::Role", "Arn") => {
                let role_path = self
                    .naming_property(name, "Path", path)?
                    .unwrap_or_else(|| "/".to_string());
                format!(
                    "arn:{}:iam::{}:role{role_path}{physical}",
                    s.partition, s.account_id
                )
            }
            ("AWS::IAM::Role", "RoleId") => {
                format!("AROA{}", ids::upper(&s.stack_name, name, "roleid", 17))
            }
            // ApiId, RouteId, IntegrationId, AuthorizerId, DeploymentId: the Ref value.
            _ => physical,
        }))
    }

    fn get_att(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let (resource, attribute) = match &arg.value {
            NodeValue::Scalar(s, _) => match s.split_once('.') {
                Some((r, a)) if !r.is_empty() && !a.is_empty() => (r.to_string(), a.to_string()),
                _ => {
                    return Err(self.error_at(
                        arg,
                        path,
                        "Fn::GetAtt takes `Resource.Attribute` or [Resource, Attribute]",
                    ));
                }
            },
            NodeValue::Seq(items) => match items.as_slice() {
                [r, a] => {
                    let Some(r) = self.literal_string(r) else {
                        return Err(self.error_at(
                            arg,
                            path,
                            "Fn::GetAtt's first item must be a resource's logical id",
                        ));
                    };
                    let attr = self.eval(a, path)?;
                    match attr.text() {
                        Some(a) => (r, a),
                        None => {
                            return Err(self.error_at(
                                arg,
                                path,
                                "Fn::GetAtt's attribute must be a string",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(self.error_at(
                        arg,
                        path,
                        "Fn::GetAtt takes `Resource.Attribute` or [Resource, Attribute]",
                    ));
                }
            },
            NodeValue::Map(_) => {
                return Err(self.error_at(
                    arg,
                    path,
                    "Fn::GetAtt takes `Resource.Attribute` or [Resource, Attribute]",
                ));
            }
        };
        self.attribute(&resource, &attribute, arg, path)
    }

    fn sub(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let (template_node, vars_node) = match &arg.value {
            NodeValue::Scalar(..) => (arg, None),
            NodeValue::Seq(items) => match items.as_slice() {
                [t, v] => (t, Some(v)),
                [t] => (t, None),
                _ => {
                    return Err(self.error_at(
                        arg,
                        path,
                        "Fn::Sub takes a string or [string, {variables}]",
                    ));
                }
            },
            NodeValue::Map(_) => {
                return Err(self.error_at(
                    arg,
                    path,
                    "Fn::Sub takes a string or [string, {variables}]",
                ));
            }
        };
        let Some(template) = template_node.as_str() else {
            return Err(self.error_at(template_node, path, "Fn::Sub's template must be a string"));
        };
        let mut vars: Vec<(String, Value)> = Vec::new();
        if let Some(vn) = vars_node {
            match self.eval(vn, path)? {
                Value::Map(entries) => vars = entries,
                other => {
                    return Err(self.error_at(
                        vn,
                        path,
                        format!(
                            "Fn::Sub's variables must be a map, not {}",
                            other.describe()
                        ),
                    ));
                }
            }
        }
        let mut out = String::new();
        let mut unset: Option<String> = None;
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(rest.get(..start).unwrap_or(""));
            let after = rest.get(start + 2..).unwrap_or("");
            let Some(end) = after.find('}') else {
                out.push_str(rest.get(start..).unwrap_or(""));
                rest = "";
                break;
            };
            let name = after.get(..end).unwrap_or("").trim();
            rest = after.get(end + 1..).unwrap_or("");
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = if let Some((_, v)) = vars.iter().find(|(k, _)| k == name) {
                v.clone()
            } else if self.params.contains_key(name)
                || name.starts_with("AWS::")
                || !name.contains('.')
            {
                self.reference(name, template_node, path)?
            } else {
                match name.split_once('.') {
                    Some((r, a)) => self.attribute(r, a, template_node, path)?,
                    None => {
                        return Err(self.error_at(
                            template_node,
                            path,
                            format!("Fn::Sub: cannot resolve ${{{name}}}"),
                        ));
                    }
                }
            };
            match value {
                Value::Unset(p) => {
                    unset.get_or_insert(p);
                }
                v => match v.text() {
                    Some(t) => out.push_str(&t),
                    None => {
                        return Err(self.error_at(
                            template_node,
                            path,
                            format!("Fn::Sub: ${{{name}}} is {}, not a string", v.describe()),
                        ));
                    }
                },
            }
        }
        out.push_str(rest);
        Ok(match unset {
            Some(p) => Value::Unset(p),
            None => Value::Str(out),
        })
    }

    fn join(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::Join", 2..=2)?;
        let (Some(delim_node), Some(list_node)) = (items.first(), items.get(1)) else {
            return Err(Reported);
        };
        let delim = match self.eval(delim_node, path)? {
            Value::Null => String::new(),
            v => match v.text() {
                Some(t) => t,
                None => {
                    return Err(self.error_at(
                        delim_node,
                        path,
                        "Fn::Join's delimiter must be a string",
                    ));
                }
            },
        };
        let list = self.eval(list_node, path)?;
        let Value::List(values) = list else {
            if let Value::Unset(p) = list {
                return Ok(Value::Unset(p));
            }
            return Err(self.error_at(
                list_node,
                path,
                format!(
                    "Fn::Join's second item must be a list, not {}",
                    list.describe()
                ),
            ));
        };
        let mut parts = Vec::with_capacity(values.len());
        for v in values {
            match v {
                Value::Unset(p) => return Ok(Value::Unset(p)),
                Value::Null => parts.push(String::new()),
                other => match other.text() {
                    Some(t) => parts.push(t),
                    None => {
                        return Err(self.error_at(
                            list_node,
                            path,
                            format!("Fn::Join can only join strings, not {}", other.describe()),
                        ));
                    }
                },
            }
        }
        Ok(Value::Str(parts.join(&delim)))
    }

    fn select(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::Select", 2..=2)?;
        let (Some(index_node), Some(list_node)) = (items.first(), items.get(1)) else {
            return Err(Reported);
        };
        let index = self.eval(index_node, path)?;
        let Some(index) = index.text().and_then(|t| t.parse::<usize>().ok()) else {
            return Err(self.error_at(
                index_node,
                path,
                "Fn::Select's index must be a non-negative integer",
            ));
        };
        match self.eval(list_node, path)? {
            Value::List(values) => match values.into_iter().nth(index) {
                Some(v) => Ok(v),
                None => Err(self.error_at(
                    list_node,
                    path,
                    format!("Fn::Select: index {index} is out of range"),
                )),
            },
            Value::Unset(p) => Ok(Value::Unset(p)),
            other => Err(self.error_at(
                list_node,
                path,
                format!(
                    "Fn::Select's second item must be a list, not {}",
                    other.describe()
                ),
            )),
        }
    }

    fn split(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::Split", 2..=2)?;
        let (Some(delim_node), Some(source_node)) = (items.first(), items.get(1)) else {
            return Err(Reported);
        };
        let delim = self.eval(delim_node, path)?.text().unwrap_or_default();
        if delim.is_empty() {
            return Err(self.error_at(
                delim_node,
                path,
                "Fn::Split's delimiter must be a non-empty string",
            ));
        }
        match self.eval(source_node, path)? {
            Value::Unset(p) => Ok(Value::Unset(p)),
            v => match v.text() {
                Some(t) => Ok(Value::List(
                    t.split(delim.as_str())
                        .map(|s| Value::Str(s.to_string()))
                        .collect(),
                )),
                None => Err(self.error_at(
                    source_node,
                    path,
                    format!("Fn::Split takes a string, not {}", v.describe()),
                )),
            },
        }
    }

    fn fn_if(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::If", 3..=3)?;
        let (Some(cond), Some(yes), Some(no)) = (items.first(), items.get(1), items.get(2)) else {
            return Err(Reported);
        };
        let Some(name) = self.literal_string(cond) else {
            return Err(self.error_at(cond, path, "Fn::If's first item must be a condition name"));
        };
        if self.condition(&name, cond, path)? {
            self.eval(yes, path)
        } else {
            self.eval(no, path)
        }
    }

    fn equals(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::Equals", 2..=2)?;
        let (Some(a), Some(b)) = (items.first(), items.get(1)) else {
            return Err(Reported);
        };
        let va = self.eval(a, path);
        let vb = self.eval(b, path);
        let (va, vb) = (va?, vb?);
        for (v, n) in [(&va, a), (&vb, b)] {
            if let Some(p) = v.unset() {
                let p = p.to_string();
                return Err(self.unset_error(n, path, &p));
            }
        }
        let canon = |v: &Value| match v {
            Value::Null => Some(String::new()),
            other => other.text(),
        };
        let equal = match (canon(&va), canon(&vb)) {
            (Some(x), Some(y)) => x == y,
            _ => va == vb,
        };
        Ok(Value::Bool(equal))
    }

    fn logic(&mut self, function: &str, arg: &'a Node, path: &str) -> Eval<Value> {
        let range = if function == "Fn::Not" { 1..=1 } else { 2..=10 };
        let items = self.arg_list(arg, path, function, range)?;
        let mut results = Vec::with_capacity(items.len());
        let mut failed = false;
        for item in items {
            // `{Condition: Name}` names a condition inside the logical functions.
            let value = match item.get("Condition") {
                Some(name_node)
                    if item.tag.is_none() && item.as_map().is_some_and(|m| m.len() == 1) =>
                {
                    match self.literal_string(name_node) {
                        Some(name) => self.condition(&name, name_node, path).map(Value::Bool),
                        None => Err(self.error_at(
                            name_node,
                            path,
                            "Condition takes the name of a condition",
                        )),
                    }
                }
                _ => self.eval(item, path),
            };
            match value {
                Ok(Value::Bool(b)) => results.push(b),
                Ok(other) => {
                    self.error_at(
                        item,
                        path,
                        format!("{function} takes conditions, not {}", other.describe()),
                    );
                    failed = true;
                }
                Err(_) => failed = true,
            }
        }
        if failed {
            return Err(Reported);
        }
        Ok(Value::Bool(match function {
            "Fn::Not" => !results.first().copied().unwrap_or(false),
            "Fn::And" => results.iter().all(|b| *b),
            _ => results.iter().any(|b| *b),
        }))
    }

    fn find_in_map(&mut self, arg: &'a Node, path: &str) -> Eval<Value> {
        let items = self.arg_list(arg, path, "Fn::FindInMap", 3..=4)?;
        let mut keys = Vec::with_capacity(3);
        for item in items.iter().take(3) {
            let v = self.eval(item, path)?;
            if let Value::Unset(p) = v {
                return Err(self.unset_error(item, path, &p));
            }
            match v.text() {
                Some(t) => keys.push(t),
                None => {
                    return Err(self.error_at(
                        item,
                        path,
                        format!("Fn::FindInMap's keys must be strings, not {}", v.describe()),
                    ));
                }
            }
        }
        let [map, top, second] = keys.as_slice() else {
            return Err(Reported);
        };
        let found = self
            .mappings
            .and_then(|m| m.get(map))
            .and_then(|m| m.get(top))
            .and_then(|m| m.get(second));
        match found {
            Some(node) => self.eval(node, path),
            None => {
                // A fourth item `{DefaultValue: x}` (the LanguageExtensions transform).
                if let Some(default) = items.get(3).and_then(|d| d.get("DefaultValue")) {
                    return self.eval(default, path);
                }
                Err(self.error_at(
                    arg,
                    path,
                    format!("Fn::FindInMap: Mappings has no {map}.{top}.{second}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse;

    fn stack() -> StackInfo {
        StackInfo {
            stack_name: "st".into(),
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            partition: "aws".into(),
            url_suffix: "amazonaws.com".into(),
        }
    }

    fn with_ctx<T>(yaml: &str, f: impl for<'x> FnOnce(&mut Ctx<'x>, &'x Node) -> T) -> T {
        let (node, problems) = parse(yaml);
        assert!(problems.is_empty(), "{problems:?}");
        let node = node.unwrap_or_else(|| panic!("no node"));
        let mut ctx = Ctx::new(PathBuf::from("t.yaml"), stack());
        ctx.params.insert(
            "P".into(),
            Param {
                value: Value::Str("pv".into()),
                no_echo: false,
            },
        );
        ctx.params.insert(
            "U".into(),
            Param {
                value: Value::Unset("U".into()),
                no_echo: false,
            },
        );
        ctx.params.insert(
            "L".into(),
            Param {
                value: Value::List(vec![Value::Str("a".into()), Value::Str("b".into())]),
                no_echo: false,
            },
        );
        f(&mut ctx, &node)
    }

    fn eval(yaml: &str) -> Result<Value, Vec<String>> {
        with_ctx(yaml, |ctx, node| {
            let v = node.get("v").unwrap_or_else(|| panic!("no v"));
            ctx.eval(v, "v")
                .map_err(|_| ctx.diagnostics.iter().map(|d| d.to_string()).collect())
        })
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn ref_params_and_pseudo() {
        assert_eq!(eval("v: !Ref P"), Ok(s("pv")));
        assert_eq!(eval("v: {Ref: P}"), Ok(s("pv")));
        assert_eq!(eval("v: !Ref U"), Ok(Value::Unset("U".into())));
        assert_eq!(eval("v: !Ref AWS::Region"), Ok(s("eu-west-1")));
        assert_eq!(eval("v: !Ref AWS::AccountId"), Ok(s("123456789012")));
        assert_eq!(eval("v: !Ref AWS::StackName"), Ok(s("st")));
        assert_eq!(eval("v: !Ref AWS::Partition"), Ok(s("aws")));
        assert_eq!(eval("v: !Ref AWS::URLSuffix"), Ok(s("amazonaws.com")));
        let id = eval("v: !Ref AWS::StackId")
            .ok()
            .and_then(|v| v.text())
            .unwrap_or_default();
        assert!(
            id.starts_with("arn:aws:cloudformation:eu-west-1:123456789012:stack/st/"),
            "{id}"
        );
        assert_eq!(
            eval("v: !Ref AWS::StackId").ok().and_then(|v| v.text()),
            Some(id)
        );
        assert!(eval("v: !Ref Nope").is_err());
        assert!(eval("v: !Ref AWS::Nope").is_err());
    }

    #[test]
    fn no_value_removes() {
        assert_eq!(
            eval("v: [a, !Ref AWS::NoValue, b]"),
            Ok(Value::List(vec![s("a"), s("b")]))
        );
        assert_eq!(
            eval("v: {a: !Ref AWS::NoValue, b: 1}"),
            Ok(Value::Map(vec![("b".into(), Value::Num("1".into()))]))
        );
    }

    #[test]
    fn sub() {
        assert_eq!(
            eval("v: !Sub 'x-${P}-${AWS::Region}'"),
            Ok(s("x-pv-eu-west-1"))
        );
        assert_eq!(eval("v: !Sub '${!Literal}-${P}'"), Ok(s("${Literal}-pv")));
        assert_eq!(
            eval("v: !Sub ['${A}/${P}', {A: !Ref AWS::AccountId}]"),
            Ok(s("123456789012/pv"))
        );
        assert_eq!(eval("v: {'Fn::Sub': 'a${P}'}"), Ok(s("apv")));
        assert_eq!(eval("v: !Sub 'a${U}'"), Ok(Value::Unset("U".into())));
        assert_eq!(
            eval("v: !Sub 'no vars ${unterminated'"),
            Ok(s("no vars ${unterminated"))
        );
        assert!(eval("v: !Sub '${Missing}'").is_err());
    }

    #[test]
    fn join_select_split() {
        assert_eq!(eval("v: !Join ['/', [a, !Ref P, 3]]"), Ok(s("a/pv/3")));
        assert_eq!(eval("v: !Join [',', !Ref L]"), Ok(s("a,b")));
        assert_eq!(
            eval("v: !Join ['', [a, !Ref U]]"),
            Ok(Value::Unset("U".into()))
        );
        assert_eq!(eval("v: !Select [1, !Ref L]"), Ok(s("b")));
        assert_eq!(eval("v: !Select ['0', [x, y]]"), Ok(s("x")));
        assert!(eval("v: !Select [5, [x]]").is_err());
        assert_eq!(
            eval("v: !Split [',', 'a,b,c']"),
            Ok(Value::List(vec![s("a"), s("b"), s("c")]))
        );
        assert_eq!(eval("v: !Select [2, !Split ['-', 'x-y-z']]"), Ok(s("z")));
        assert!(eval("v: !Join [',']").is_err());
    }

    #[test]
    fn base64_getazs_import() {
        assert_eq!(eval("v: !Base64 hello"), Ok(s("aGVsbG8=")));
        assert_eq!(eval("v: {'Fn::Base64': !Sub '${P}'}"), Ok(s("cHY=")));
        assert_eq!(
            eval("v: !GetAZs ''"),
            Ok(Value::List(vec![
                s("eu-west-1a"),
                s("eu-west-1b"),
                s("eu-west-1c")
            ]))
        );
        assert_eq!(
            eval("v: !Select [0, !GetAZs us-east-2]"),
            Ok(s("us-east-2a"))
        );
        let e = eval("v: !ImportValue Other").err().unwrap_or_default();
        assert!(
            e.iter()
                .any(|m| m.contains("no other stack exists locally")),
            "{e:?}"
        );
    }

    #[test]
    fn equals_not_and_or() {
        assert_eq!(eval("v: !Equals [!Ref P, pv]"), Ok(Value::Bool(true)));
        assert_eq!(eval("v: !Equals [1, '1']"), Ok(Value::Bool(true)));
        assert_eq!(eval("v: !Not [!Equals [a, b]]"), Ok(Value::Bool(true)));
        assert_eq!(
            eval("v: !And [!Equals [a, a], !Equals [a, b]]"),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            eval("v: {'Fn::Or': [{'Fn::Equals': [a, b]}, {'Fn::Equals': [c, c]}]}"),
            Ok(Value::Bool(true))
        );
        let e = eval("v: !Equals [!Ref U, x]").err().unwrap_or_default();
        assert!(
            e.iter().any(|m| m.contains("parameter U has no value")),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_tag_and_function_positions() {
        let e = eval("v:\n  - a\n  - !Bogus x\n").err().unwrap_or_default();
        assert!(
            e.iter()
                .any(|m| m.starts_with("t.yaml:3:5: error: v[1]: unknown tag `!Bogus`")),
            "{e:?}"
        );
        let e = eval("v: {'Fn::Nope': 1}").err().unwrap_or_default();
        assert!(
            e.iter()
                .any(|m| m.contains("unknown intrinsic function `Fn::Nope`")),
            "{e:?}"
        );
    }

    #[test]
    fn numbers() {
        for n in ["1", "-2", "3.5", "1e3", "+1.5E-2", ".5"] {
            assert!(is_number(n), "{n}");
        }
        for n in ["", "-", "1.2.3", "e5", "1e", "abc", "0x1F"] {
            assert!(!is_number(n), "{n}");
        }
    }
}
