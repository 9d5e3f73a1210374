//! IAM policy documents: parsing the JSON (`Statement` as object or list, `Action`/`NotAction`,
//! `Resource`/`NotResource`, `Principal`/`NotPrincipal`, each a string or a list) and evaluating
//! them the way IAM does for one request: an explicit `Deny` wins, else any `Allow`, else denied.
//! `Condition` blocks are not evaluated: a statement with one is taken to apply, and
//! [`Document::conditions`] lists them so the caller can warn.

use serde_json::Value;

use crate::pattern::{action_matches, string_like};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` (any of the patterns) or `NotAction` (none of them); the same for resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Any(Vec<String>),
    Not(Vec<String>),
}

impl Matcher {
    fn matches(&self, value: &str, f: fn(&str, &str) -> bool) -> bool {
        match self {
            Matcher::Any(p) => p.iter().any(|p| f(p, value)),
            Matcher::Not(p) => !p.iter().any(|p| f(p, value)),
        }
    }
}

/// `Principal` / `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub not: bool,
    /// `"*"` or `{"AWS": "*"}`.
    pub everyone: bool,
    pub services: Vec<String>,
    pub others: Vec<String>,
}

impl Principal {
    fn names_service(&self, service: &str) -> bool {
        let named = self.everyone || self.services.iter().any(|s| string_like(s, service));
        named != self.not
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, or `Statement[i]`.
    pub label: String,
    pub effect: Effect,
    pub action: Matcher,
    /// `None` in trust policies (they have no `Resource`).
    pub resource: Option<Matcher>,
    pub principal: Option<Principal>,
    pub has_condition: bool,
}

/// A parsed policy document and where it came from (for explanations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// E.g. `role InvokeRole's inline policy "invoke"`.
    pub source: String,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Which statement decided, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` applies and no `Deny` does.
    Allowed { by: String },
    /// An explicit `Deny` applies.
    Denied { by: String },
    /// Nothing allows it (implicit deny).
    NotAllowed,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

impl Document {
    /// Parses a policy document (identity or trust policy).
    pub fn parse(source: &str, doc: &Value) -> Result<Document, PolicyError> {
        let err = |message: String| PolicyError::Invalid {
            origin: source.to_owned(),
            message,
        };
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(_) => return Err(err("Statement must be a statement or a list of them".into())),
            None => return Err(err("the policy document has no Statement".into())),
        };
        let mut parsed = Vec::new();
        for (i, st) in statements.into_iter().enumerate() {
            let label = st
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("Statement[{i}]"), |s| format!("statement {s:?}"));
            let effect = match st.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => {
                    return Err(err(format!(
                        "{label}: Effect must be Allow or Deny, not {}",
                        other.unwrap_or("missing")
                    )));
                }
            };
            let matcher = |yes: &str, no: &str| -> Result<Option<Matcher>, PolicyError> {
                match (st.get(yes), st.get(no)) {
                    (Some(_), Some(_)) => {
                        Err(err(format!("{label}: {yes} and {no} cannot both be given")))
                    }
                    (Some(v), None) => strings(v).map(|s| Some(Matcher::Any(s))).ok_or_else(|| {
                        err(format!(
                            "{label}: {yes} must be a string or a list of strings"
                        ))
                    }),
                    (None, Some(v)) => strings(v).map(|s| Some(Matcher::Not(s))).ok_or_else(|| {
                        err(format!(
                            "{label}: {no} must be a string or a list of strings"
                        ))
                    }),
                    (None, None) => Ok(None),
                }
            };
            let Some(action) = matcher("Action", "NotAction")? else {
                return Err(err(format!(
                    "{label}: a statement needs Action or NotAction"
                )));
            };
            let resource = matcher("Resource", "NotResource")?;
            let principal = match (st.get("Principal"), st.get("NotPrincipal")) {
                (Some(p), None) => Some(principal(p, false)),
                (None, Some(p)) => Some(principal(p, true)),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(err(format!(
                        "{label}: Principal and NotPrincipal cannot both be given"
                    )));
                }
            };
            parsed.push(Statement {
                label,
                effect,
                action,
                resource,
                principal,
                has_condition: st.get("Condition").is_some_and(|c| !c.is_null()),
            });
        }
        Ok(Document {
            source: source.to_owned(),
            statements: parsed,
        })
    }

    /// Statements with a `Condition` (not evaluated: taken to apply), as `source: label`.
    pub fn conditions(&self) -> Vec<String> {
        self.statements
            .iter()
            .filter(|s| s.has_condition)
            .map(|s| format!("{}: {}", self.source, s.label))
            .collect()
    }

    fn describe(&self, st: &Statement) -> String {
        let mut d = format!("{} ({})", self.source, st.label);
        if st.has_condition {
            d.push_str(", whose Condition stackgate does not evaluate");
        }
        d
    }
}

fn principal(value: &Value, not: bool) -> Principal {
    let mut p = Principal {
        not,
        everyone: value.as_str() == Some("*"),
        services: Vec::new(),
        others: Vec::new(),
    };
    if let Value::Object(map) = value {
        for (k, v) in map {
            let items = strings(v).unwrap_or_default();
            if k == "Service" {
                p.services.extend(items);
            } else {
                if k == "AWS" && items.iter().any(|i| i == "*") {
                    p.everyone = true;
                }
                p.others.extend(items);
            }
        }
    }
    p
}

/// Evaluates identity policies for `action` on `resource`: an explicit `Deny` in any document
/// wins, else an `Allow` in any document allows, else it is not allowed.
pub fn evaluate(documents: &[Document], action: &str, resource: &str) -> Decision {
    let mut allowed = None;
    for doc in documents {
        for st in &doc.statements {
            let applies = st.action.matches(action, action_matches)
                && st
                    .resource
                    .as_ref()
                    .is_some_and(|r| r.matches(resource, string_like));
            if !applies {
                continue;
            }
            match st.effect {
                Effect::Deny => {
                    return Decision::Denied {
                        by: doc.describe(st),
                    };
                }
                Effect::Allow => {
                    allowed.get_or_insert_with(|| doc.describe(st));
                }
            }
        }
    }
    match allowed {
        Some(by) => Decision::Allowed { by },
        None => Decision::NotAllowed,
    }
}

/// Evaluates a role's trust policy: may `service` (e.g. `apigateway.amazonaws.com`) call
/// `sts:AssumeRole`?
pub fn evaluate_trust(trust: &Document, service: &str) -> Decision {
    let mut allowed = None;
    for st in &trust.statements {
        let applies = st.action.matches("sts:AssumeRole", action_matches)
            && st
                .principal
                .as_ref()
                .is_some_and(|p| p.names_service(service));
        if !applies {
            continue;
        }
        match st.effect {
            Effect::Deny => {
                return Decision::Denied {
                    by: trust.describe(st),
                };
            }
            Effect::Allow => {
                allowed.get_or_insert_with(|| trust.describe(st));
            }
        }
    }
    match allowed {
        Some(by) => Decision::Allowed { by },
        None => Decision::NotAllowed,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:echo";
    const INVOKE: &str = "lambda:InvokeFunction";

    fn doc(v: Value) -> Document {
        Document::parse("test policy", &v).unwrap()
    }

    fn allow(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    fn identity_policy_table() {
        let cases: Vec<(Value, &str, bool)> = vec![
            (allow(json!(INVOKE), json!(FN)), FN, true),
            (allow(json!("lambda:invokefunction"), json!(FN)), FN, true),
            (allow(json!("lambda:*"), json!("*")), FN, true),
            (allow(json!("*"), json!("*")), FN, true),
            (
                allow(
                    json!("lambda:Invoke*"),
                    json!("arn:aws:lambda:*:*:function:*"),
                ),
                FN,
                true,
            ),
            (
                allow(
                    json!(["s3:GetObject", INVOKE]),
                    json!(["arn:aws:s3:::b/*", FN]),
                ),
                FN,
                true,
            ),
            (
                allow(
                    json!(INVOKE),
                    json!("arn:aws:lambda:us-east-1:123456789012:function:ech?"),
                ),
                FN,
                true,
            ),
            (
                allow(
                    json!(INVOKE),
                    json!("arn:aws:lambda:us-east-1:123456789012:function:other"),
                ),
                FN,
                false,
            ),
            (allow(json!("lambda:InvokeAsync"), json!(FN)), FN, false),
            (allow(json!(INVOKE), json!(FN.to_uppercase())), FN, false),
            // Qualified invocations need the qualified ARN (or a wildcard) in Resource.
            (
                allow(json!(INVOKE), json!(FN)),
                "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
                false,
            ),
            (
                allow(json!(INVOKE), json!(format!("{FN}:*"))),
                "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
                true,
            ),
            (
                allow(json!(INVOKE), json!(format!("{FN}*"))),
                "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
                true,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}),
                FN,
                true,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "NotAction": "lambda:*", "Resource": "*"}}),
                FN,
                false,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": FN}}),
                FN,
                false,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::*"}}),
                FN,
                true,
            ),
            (
                json!({"Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Action": INVOKE, "Resource": FN}
                ]}),
                FN,
                false,
            ),
            (
                json!({"Statement": [
                    {"Effect": "Deny", "Action": INVOKE, "Resource": "arn:aws:lambda:*:*:function:other"},
                    {"Effect": "Allow", "Action": "*", "Resource": "*"}
                ]}),
                FN,
                true,
            ),
            (json!({"Statement": []}), FN, false),
        ];
        for (i, (policy, resource, expected)) in cases.into_iter().enumerate() {
            let d = doc(policy.clone());
            assert_eq!(
                evaluate(&[d], INVOKE, resource).is_allowed(),
                expected,
                "case {i}: {policy} on {resource}"
            );
        }
    }

    #[test]
    fn deny_in_another_document_wins() {
        let a = doc(allow(json!("*"), json!("*")));
        let d = doc(
            json!({"Statement": {"Sid": "NoInvoke", "Effect": "Deny", "Action": "lambda:*", "Resource": "*"}}),
        );
        match evaluate(&[a, d], INVOKE, FN) {
            Decision::Denied { by } => assert!(by.contains("NoInvoke"), "{by}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conditions_are_listed_and_named() {
        let d = doc(
            json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:x": "y"}}}}),
        );
        assert_eq!(d.conditions(), vec!["test policy: Statement[0]".to_owned()]);
        match evaluate(&[d], INVOKE, FN) {
            Decision::Allowed { by } => assert!(by.contains("Condition"), "{by}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trust_policy_table() {
        let gw = "apigateway.amazonaws.com";
        let trust = |principal: Value, action: Value| json!({"Statement": [{"Effect": "Allow", "Principal": principal, "Action": action}]});
        let cases: Vec<(Value, bool)> = vec![
            (trust(json!({"Service": gw}), json!("sts:AssumeRole")), true),
            (
                trust(
                    json!({"Service": [ "lambda.amazonaws.com", gw ]}),
                    json!(["sts:AssumeRole"]),
                ),
                true,
            ),
            (
                trust(
                    json!({"Service": "lambda.amazonaws.com"}),
                    json!("sts:AssumeRole"),
                ),
                false,
            ),
            (
                trust(json!({"Service": gw}), json!("sts:TagSession")),
                false,
            ),
            (trust(json!({"Service": gw}), json!("sts:*")), true),
            (trust(json!("*"), json!("sts:AssumeRole")), true),
            (trust(json!({"AWS": "*"}), json!("sts:AssumeRole")), true),
            (
                trust(
                    json!({"AWS": "arn:aws:iam::123456789012:root"}),
                    json!("sts:AssumeRole"),
                ),
                false,
            ),
            (
                json!({"Statement": [
                    {"Effect": "Allow", "Principal": {"Service": gw}, "Action": "sts:AssumeRole"},
                    {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}
                ]}),
                false,
            ),
            (
                json!({"Statement": {"Effect": "Allow", "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}),
                true,
            ),
        ];
        for (i, (policy, expected)) in cases.into_iter().enumerate() {
            let d = doc(policy.clone());
            assert_eq!(
                evaluate_trust(&d, gw).is_allowed(),
                expected,
                "case {i}: {policy}"
            );
        }
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        let bad = [
            json!(null),
            json!("text"),
            json!({}),
            json!({"Statement": 3}),
            json!({"Statement": {"Effect": "Maybe", "Action": "*"}}),
            json!({"Statement": {"Effect": "Allow"}}),
            json!({"Statement": {"Effect": "Allow", "Action": 3}}),
            json!({"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "*"}}),
            json!({"Statement": {"Effect": "Allow", "Action": ["*", 1]}}),
            json!({"Statement": [1]}),
        ];
        for b in bad {
            assert!(Document::parse("p", &b).is_err(), "{b}");
        }
    }
}
