//! The SAM transform (`Transform: AWS::Serverless-2016-10-31`): expands `AWS::Serverless::Function`
//! and `AWS::Serverless::HttpApi` (with `Globals`) into plain CloudFormation resources, at the node
//! level and before any intrinsic is evaluated — the way AWS's transform runs before CloudFormation
//! does. Generated nodes carry the positions of the SAM lines they come from, so diagnostics raised
//! later by the model builder still point at the user's template.
//!
//! The expansion follows the `aws-sam-translator` package (v1.110): logical ids
//! (`{Fn}Role`, `{Fn}{Event}Permission`, `ServerlessHttpApi`, `{Api}ApiGatewayDefaultStage`,
//! `{Api}{Stage}Stage`), the Globals merge rules, default authorizers and scopes, permissions'
//! `SourceArn`s. Where the translator writes an OpenAPI `Body`, stackgate writes the explicit
//! `AWS::ApiGatewayV2::Route`/`Integration`/`Authorizer` resources AWS creates when it imports that
//! body (`{Fn}{Event}Route`, `{Fn}{Event}Integration`, `{Api}{Name}Authorizer`).

mod function;
mod globals;
mod http_api;
mod sha1;

use std::path::Path;

use crate::diagnostics::{Diagnostic, Severity};
use crate::model::{IgnoredProperty, Location, NotEmulated};
use crate::node::{Node, NodeValue, Style};

pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// The expanded template and what it could not express in plain CloudFormation.
#[derive(Debug, Clone)]
pub struct Expansion {
    /// The plain CloudFormation template (no `Globals`, no SAM transform).
    pub root: Node,
    /// SAM features stackgate does not emulate, named at start-up.
    pub not_emulated: Vec<NotEmulated>,
    pub ignored_properties: Vec<IgnoredProperty>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether `Transform` names the SAM transform.
pub fn is_sam(root: &Node) -> bool {
    match root.get("Transform") {
        Some(t) => match (t.as_str(), t.as_seq()) {
            (Some(s), _) => s == SAM_TRANSFORM,
            (_, Some(items)) => items.iter().any(|i| i.as_str() == Some(SAM_TRANSFORM)),
            _ => false,
        },
        None => false,
    }
}

/// Diagnostics and start-up notes gathered while expanding.
pub(crate) struct Sink {
    pub file: std::path::PathBuf,
    pub diagnostics: Vec<Diagnostic>,
    pub not_emulated: Vec<NotEmulated>,
    pub ignored: Vec<IgnoredProperty>,
    pub resource: Option<String>,
}

impl Sink {
    fn push(&mut self, severity: Severity, at: &Node, path: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: at.line,
            col: at.col,
            resource: self.resource.clone(),
            path: path.to_string(),
            message,
        });
    }
    pub fn error(&mut self, at: &Node, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, at, path, message.into());
    }
    pub fn location(&self, at: &Node) -> Location {
        Location {
            file: self.file.clone(),
            line: at.line,
            col: at.col,
        }
    }
    pub fn ignore(&mut self, id: &str, property: &str, reason: impl Into<String>, at: &Node) {
        let location = self.location(at);
        self.ignored.push(IgnoredProperty {
            logical_id: id.to_string(),
            property: property.to_string(),
            reason: reason.into(),
            location,
        });
    }
}

// ---- node construction (positions from `at`) ----

pub(crate) fn scalar(text: &str, at: &Node) -> Node {
    Node {
        value: NodeValue::Scalar(text.to_string(), Style::Quoted),
        tag: None,
        line: at.line,
        col: at.col,
    }
}

pub(crate) fn plain(text: &str, at: &Node) -> Node {
    Node {
        value: NodeValue::Scalar(text.to_string(), Style::Plain),
        tag: None,
        line: at.line,
        col: at.col,
    }
}

pub(crate) fn map(entries: Vec<(&str, Node)>, at: &Node) -> Node {
    Node {
        value: NodeValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (scalar(k, at), v))
                .collect(),
        ),
        tag: None,
        line: at.line,
        col: at.col,
    }
}

pub(crate) fn seq(items: Vec<Node>, at: &Node) -> Node {
    Node {
        value: NodeValue::Seq(items),
        tag: None,
        line: at.line,
        col: at.col,
    }
}

pub(crate) fn tagged(tag: &str, mut value: Node) -> Node {
    value.tag = Some(tag.to_string());
    value
}

pub(crate) fn reference(id: &str, at: &Node) -> Node {
    tagged("!Ref", scalar(id, at))
}

pub(crate) fn get_att(id: &str, attribute: &str, at: &Node) -> Node {
    tagged("!GetAtt", scalar(&format!("{id}.{attribute}"), at))
}

pub(crate) fn sub(text: &str, at: &Node) -> Node {
    tagged("!Sub", scalar(text, at))
}

/// A resource node: `Type`, `Properties`, and the pass-through attributes.
pub(crate) fn resource(
    rtype: &str,
    properties: Node,
    attributes: &[(String, Node)],
    at: &Node,
) -> Node {
    let mut entries = vec![("Type", scalar(rtype, at)), ("Properties", properties)];
    for (k, v) in attributes {
        entries.push((k.as_str(), v.clone()));
    }
    map(entries, at)
}

/// Whether a node is an intrinsic function (short-form tag or a one-key `Ref`/`Fn::` map): SAM
/// treats these as opaque values.
pub(crate) fn is_intrinsic(node: &Node) -> bool {
    if node.tag.as_deref().is_some_and(|t| !t.starts_with("!!")) {
        return true;
    }
    match node.as_map() {
        Some([(k, _)]) => k
            .as_str()
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::")),
        _ => false,
    }
}

/// A plain string (not an intrinsic).
pub(crate) fn text(node: &Node) -> Option<&str> {
    if is_intrinsic(node) {
        None
    } else {
        node.as_str()
    }
}

/// The logical id a `!Ref X` / `{Ref: X}` / plain `X` names.
pub(crate) fn ref_target(node: &Node) -> Option<&str> {
    if node.tag.as_deref() == Some("!Ref") {
        return node.as_str();
    }
    if node.tag.is_none() {
        if let Some([(k, v)]) = node.as_map()
            && k.as_str() == Some("Ref")
        {
            return v.as_str();
        }
        return node.as_str();
    }
    None
}

/// Replaces the value of `key` in a map node (or appends it).
pub(crate) fn set(node: &mut Node, key: &str, value: Node) {
    if let NodeValue::Map(entries) = &mut node.value {
        if let Some((_, v)) = entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
            *v = value;
        } else {
            let at = value.clone();
            entries.push((scalar(key, &at), value));
        }
    }
}

/// Expands a SAM template. `root` must have been checked with [`is_sam`].
pub fn expand(root: &Node, file: &Path) -> Expansion {
    let mut sink = Sink {
        file: file.to_path_buf(),
        diagnostics: Vec::new(),
        not_emulated: Vec::new(),
        ignored: Vec::new(),
        resource: None,
    };
    let root = expand_root(root, &mut sink);
    Expansion {
        root,
        not_emulated: sink.not_emulated,
        ignored_properties: sink.ignored,
        diagnostics: sink.diagnostics,
    }
}

fn expand_root(root: &Node, sink: &mut Sink) -> Node {
    let Some(entries) = root.as_map() else {
        return root.clone();
    };
    let globals = globals::Globals::parse(root.get("Globals"), sink);
    let resources = root.get("Resources");
    let expanded = match resources {
        Some(r) if r.as_map().is_some() => Some(expand_resources(r, &globals, sink)),
        _ => None,
    };
    let stage_refs = expanded
        .as_ref()
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let expanded = expanded.map(|(r, _)| r);
    let mut out = Vec::new();
    for (k, v) in entries {
        match k.as_str() {
            Some("Globals") => {}
            Some("Transform") => {
                // Other transforms stay (the model builder refuses them by name).
                if let Some(items) = v.as_seq() {
                    let rest: Vec<Node> = items
                        .iter()
                        .filter(|i| i.as_str() != Some(SAM_TRANSFORM))
                        .cloned()
                        .collect();
                    if !rest.is_empty() {
                        out.push((k.clone(), seq(rest, v)));
                    }
                }
            }
            Some("Resources") => match &expanded {
                Some(r) => out.push((k.clone(), r.clone())),
                None => out.push((k.clone(), v.clone())),
            },
            _ => out.push((k.clone(), v.clone())),
        }
    }
    if !stage_refs.is_empty() {
        for (k, v) in &mut out {
            if matches!(k.as_str(), Some("Resources" | "Outputs")) {
                rewrite_stage_refs(v, &stage_refs);
            }
        }
    }
    Node {
        value: NodeValue::Map(out),
        tag: root.tag.clone(),
        line: root.line,
        col: root.col,
    }
}

/// Pass-through resource attributes SAM copies onto what it generates.
pub(crate) fn passthrough_attributes(resource: &Node) -> Vec<(String, Node)> {
    let mut out = Vec::new();
    for key in ["Condition", "DeletionPolicy", "UpdateReplacePolicy"] {
        if let Some(v) = resource.get(key) {
            out.push((key.to_string(), v.clone()));
        }
    }
    out
}

/// SAM's referable property `Stage`: `!Ref Api.Stage`, `{Ref: Api.Stage}` and `${Api.Stage}` in
/// `Fn::Sub` name the generated stage.
fn rewrite_stage_refs(node: &mut Node, refs: &[(String, String)]) {
    let short_sub = node.tag.as_deref() == Some("!Sub");
    let short_ref = node.tag.as_deref() == Some("!Ref");
    match &mut node.value {
        NodeValue::Scalar(s, _) => {
            if short_ref && let Some((_, to)) = refs.iter().find(|(from, _)| from == s) {
                *s = to.clone();
            } else if short_sub {
                for (from, to) in refs {
                    *s = s.replace(&format!("${{{from}}}"), &format!("${{{to}}}"));
                }
            }
        }
        NodeValue::Seq(items) => {
            if short_sub && let Some(first) = items.first_mut() {
                first.tag = Some("!Sub".to_string());
                rewrite_stage_refs(first, refs);
                first.tag = None;
            }
            for item in items.iter_mut().skip(usize::from(short_sub)) {
                rewrite_stage_refs(item, refs);
            }
        }
        NodeValue::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                match k.as_str() {
                    Some("Ref") if v.tag.is_none() => {
                        v.tag = Some("!Ref".to_string());
                        rewrite_stage_refs(v, refs);
                        v.tag = None;
                    }
                    Some("Fn::Sub") if v.tag.is_none() => {
                        v.tag = Some("!Sub".to_string());
                        rewrite_stage_refs(v, refs);
                        v.tag = None;
                    }
                    _ => rewrite_stage_refs(v, refs),
                }
            }
        }
    }
}

type StageRefs = Vec<(String, String)>;

fn expand_resources(
    resources: &Node,
    globals: &globals::Globals,
    sink: &mut Sink,
) -> (Node, StageRefs) {
    let entries = resources.as_map().unwrap_or_default();
    // Globals first: SAM merges them before anything reads the properties.
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries {
        let id = k.as_str().unwrap_or_default().to_string();
        sink.resource = Some(id.clone());
        let rtype = v.get("Type").and_then(Node::as_str).unwrap_or_default();
        let merged_node = match rtype {
            "AWS::Serverless::Function" | "AWS::Serverless::HttpApi" => {
                globals.apply(&id, rtype, v, sink)
            }
            _ => v.clone(),
        };
        merged.push((k.clone(), merged_node));
    }
    sink.resource = None;
    let mut plan = http_api::Plan::new(&merged, globals, sink);
    let mut out: Vec<(Node, Node)> = Vec::new();
    for (k, v) in &merged {
        let id = k.as_str().unwrap_or_default();
        sink.resource = Some(id.to_string());
        let rtype = v.get("Type").and_then(Node::as_str).unwrap_or_default();
        match rtype {
            "AWS::Serverless::Function" => {
                for (gid, node) in function::expand(id, v, &mut plan, sink) {
                    out.push((scalar(&gid, k), node));
                }
            }
            "AWS::Serverless::HttpApi" => {
                // Generated once every function's events are known (below).
            }
            _ => out.push((k.clone(), v.clone())),
        }
    }
    sink.resource = None;
    let stage_refs = plan.stage_refs();
    for (gid, node) in plan.finish(sink) {
        let at = node.clone();
        out.push((scalar(&gid, &at), node));
    }
    // A generated logical id may not clash with one of the template's (or another generated one).
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut deduped: Vec<(Node, Node)> = Vec::new();
    for (k, v) in out {
        let id = k.as_str().unwrap_or_default().to_string();
        if let Some(first) = seen.get(&id) {
            let first_line = deduped
                .get(*first)
                .map_or(0, |(fk, _): &(Node, Node)| fk.line);
            sink.error(
                &k,
                &format!("Resources.{id}"),
                format!("the SAM expansion generates the logical id `{id}`, which is already used (line {first_line}): rename one of them"),
            );
            continue;
        }
        seen.insert(id, deduped.len());
        deduped.push((k, v));
    }
    let out = deduped;
    (
        Node {
            value: NodeValue::Map(out),
            tag: resources.tag.clone(),
            line: resources.line,
            col: resources.col,
        },
        stage_refs,
    )
}

#[cfg(test)]
mod tests;
