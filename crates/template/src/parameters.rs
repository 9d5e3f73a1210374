//! The `Parameters` section: types, defaults, overrides (`--parameter-overrides`), constraints.
//! A parameter with neither an override nor a `Default` is *unset* ([`Value::Unset`]).

use crate::intrinsics::{Ctx, Param, Value, is_number};
use crate::node::{Node, NodeValue};

const PARAMETER_KEYS: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "ConstraintDescription",
    "Description",
    "MaxLength",
    "MinLength",
    "MaxValue",
    "MinValue",
    "NoEcho",
];

/// What a parameter's value looks like to `Ref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Number,
    /// `CommaDelimitedList`, `List<Number>`, `List<AWS::EC2::...>`: `Ref` gives a list.
    List {
        numbers: bool,
    },
}

fn kind(type_name: &str) -> Kind {
    match type_name {
        "Number" => Kind::Number,
        "CommaDelimitedList" => Kind::List { numbers: false },
        "List<Number>" => Kind::List { numbers: true },
        t if t.starts_with("List<") => Kind::List { numbers: false },
        _ => Kind::String,
    }
}

/// Text of a scalar node as CloudFormation reads it (every parameter value is a string).
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Scalar(s, _) => Some(s.clone()),
        _ => None,
    }
}

impl Ctx<'_> {
    /// Reads the `Parameters` section and applies `overrides`.
    pub fn load_parameters(
        &mut self,
        section: Option<&Node>,
        overrides: &[(String, String)],
        root: &Node,
    ) {
        let empty = Vec::new();
        let entries: &[(Node, Node)] = match section {
            None => &empty,
            Some(s) => match s.as_map() {
                Some(m) => m,
                None => {
                    self.error_at(
                        s,
                        "Parameters",
                        "Parameters must be a map of names to definitions",
                    );
                    &empty
                }
            },
        };
        // The AWS CLI refuses overrides for parameters the template does not declare.
        let unknown: Vec<&str> = overrides
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !entries.iter().any(|(n, _)| n.as_str() == Some(k)))
            .collect();
        if !unknown.is_empty() {
            let at = section.unwrap_or(root);
            self.error_at(
                at,
                "Parameters",
                format!(
                    "--parameter-overrides: Parameters: [{}] do not exist in the template",
                    unknown.join(", ")
                ),
            );
        }
        for (name_node, def) in entries {
            let Some(name) = name_node.as_str() else {
                self.error_at(name_node, "Parameters", "parameter names must be strings");
                continue;
            };
            let path = format!("Parameters.{name}");
            let Some(def_map) = def.as_map() else {
                self.error_at(def, &path, "a parameter must be a map with at least `Type`");
                continue;
            };
            for (k, _) in def_map {
                let key = k.as_str().unwrap_or_default();
                if !PARAMETER_KEYS.contains(&key) {
                    self.error_at(
                        k,
                        &path,
                        format!(
                            "`{key}` is not a parameter property (known: {})",
                            PARAMETER_KEYS.join(", ")
                        ),
                    );
                }
            }
            let no_echo = def
                .get("NoEcho")
                .and_then(scalar_text)
                .is_some_and(|t| t.eq_ignore_ascii_case("true"));
            let show = |v: &str| {
                if no_echo {
                    "****".to_string()
                } else {
                    format!("{v:?}")
                }
            };
            let type_name = match def.get("Type").map(|t| (t, scalar_text(t))) {
                Some((_, Some(t))) => t,
                Some((t, None)) => {
                    self.error_at(t, &path, "Type must be a string");
                    continue;
                }
                None => {
                    self.error_at(def, &path, "a parameter needs a Type (String, Number, CommaDelimitedList, List<Number>, ...)");
                    continue;
                }
            };
            let kind = kind(&type_name);
            let overridden = overrides
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone());
            let (raw, at) = match (&overridden, def.get("Default")) {
                (Some(v), _) => (Some(v.clone()), name_node),
                (None, Some(d)) => match &d.value {
                    NodeValue::Scalar(s, _) => (Some(s.clone()), d),
                    // A list default for a list type is written as a YAML list sometimes.
                    NodeValue::Seq(items) if matches!(kind, Kind::List { .. }) => (
                        Some(
                            items
                                .iter()
                                .filter_map(scalar_text)
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        d,
                    ),
                    _ => {
                        self.error_at(d, &path, "Default must be a string");
                        (None, d)
                    }
                },
                (None, None) => (None, name_node),
            };
            let Some(raw) = raw else {
                self.params.insert(
                    name.to_string(),
                    Param {
                        value: Value::Unset(name.to_string()),
                        no_echo,
                    },
                );
                continue;
            };
            let source = if overridden.is_some() {
                "--parameter-overrides value"
            } else {
                "Default"
            };
            // AllowedValues.
            if let Some(allowed_node) = def.get("AllowedValues") {
                match allowed_node.as_seq() {
                    Some(items) => {
                        let allowed: Vec<String> = items.iter().filter_map(scalar_text).collect();
                        let values: Vec<&str> = match kind {
                            Kind::List { .. } => raw.split(',').map(str::trim).collect(),
                            _ => vec![raw.as_str()],
                        };
                        if let Some(bad) = values.iter().find(|v| !allowed.iter().any(|a| a == *v))
                        {
                            self.error_at(
                                at,
                                &path,
                                format!(
                                    "parameter {name}: {source} {} is not one of AllowedValues [{}]",
                                    show(bad),
                                    if no_echo { "****".to_string() } else { allowed.join(", ") }
                                ),
                            );
                        }
                    }
                    None => {
                        self.error_at(allowed_node, &path, "AllowedValues must be a list");
                    }
                }
            }
            // Number validation and limits.
            let num_limit = |key: &str| {
                def.get(key)
                    .and_then(scalar_text)
                    .and_then(|t| t.parse::<f64>().ok())
            };
            let len_limit = |key: &str| {
                def.get(key)
                    .and_then(scalar_text)
                    .and_then(|t| t.parse::<usize>().ok())
            };
            let numbers: Vec<&str> = match kind {
                Kind::Number => vec![raw.as_str()],
                Kind::List { numbers: true } => raw.split(',').map(str::trim).collect(),
                _ => Vec::new(),
            };
            for n in &numbers {
                if !is_number(n) {
                    self.error_at(
                        at,
                        &path,
                        format!(
                            "parameter {name}: {source} {} is not a number ({type_name})",
                            show(n)
                        ),
                    );
                } else if let Ok(x) = n.parse::<f64>()
                    && (num_limit("MinValue").is_some_and(|m| x < m)
                        || num_limit("MaxValue").is_some_and(|m| x > m))
                {
                    self.error_at(
                        at,
                        &path,
                        format!(
                            "parameter {name}: {source} {} is outside MinValue/MaxValue",
                            show(n)
                        ),
                    );
                }
            }
            if kind == Kind::String {
                let len = raw.chars().count();
                if len_limit("MinLength").is_some_and(|m| len < m)
                    || len_limit("MaxLength").is_some_and(|m| len > m)
                {
                    self.error_at(
                        at,
                        &path,
                        format!(
                            "parameter {name}: {source} {} is outside MinLength/MaxLength",
                            show(&raw)
                        ),
                    );
                }
            }
            let value = match kind {
                Kind::List { .. } => Value::List(if raw.is_empty() {
                    Vec::new()
                } else {
                    raw.split(',')
                        .map(|s| Value::Str(s.trim().to_string()))
                        .collect()
                }),
                _ => Value::Str(raw),
            };
            self.params
                .insert(name.to_string(), Param { value, no_echo });
        }
    }
}
