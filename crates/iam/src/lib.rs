//! The IAM rules that decide whether API Gateway may invoke a Lambda function, as pure functions
//! that return a decision together with its explanation (and the YAML that would fix it).
//!
//! - [`pattern`]: `StringLike` and action matching (`*`, `?`).
//! - [`arn`]: ARNs, function references (`FunctionName` forms, qualifiers).
//! - [`policy`]: policy documents (identity and trust policies) and their evaluation.
//! - [`managed`]: the AWS-managed policies that grant (or do not grant) invoke.
//! - [`permission`]: `AWS::Lambda::Permission` evaluation and the `execute-api` source ARN.
//!
//! Nothing here knows templates, HTTP or processes; the gateway checks each request with it and
//! `stackgate check` checks each route statically.

pub mod arn;
pub mod invoke;
pub mod managed;
pub mod pattern;
pub mod permission;
pub mod policy;

use serde_json::Value;

pub use arn::{Arn, FunctionName, FunctionRef};
pub use pattern::{action_matches, string_like};
pub use permission::{
    APIGATEWAY, Mismatch, PermissionOutcome, evaluate_permissions, execute_api_arn,
};
pub use policy::{Decision, Document, PolicyError};

/// An integration role (`CredentialsArn`) with everything attached to it.
#[derive(Debug, Clone)]
pub struct RoleSpec<'a> {
    pub logical_id: &'a str,
    /// Trust policy (`AssumeRolePolicyDocument`).
    pub trust: &'a Value,
    /// Identity policies with a label each: inline `Policies`, and the documents of
    /// `AWS::IAM::Policy`/`AWS::IAM::ManagedPolicy` resources attached to the role.
    pub policies: Vec<(String, &'a Value)>,
    /// `ManagedPolicyArns` not defined by the template (AWS-managed, or another stack's).
    pub managed_policy_arns: Vec<String>,
}

/// What the role check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCheck {
    /// May API Gateway assume the role?
    pub trust: Decision,
    /// Do the role's policies allow `lambda:InvokeFunction` on the function?
    pub invoke: Decision,
    /// Policies that could not be read (malformed, or a managed policy stackgate does not know):
    /// they are taken to grant nothing.
    pub unreadable: Vec<String>,
    /// Statements whose `Condition` was not evaluated (taken to apply).
    pub conditions: Vec<String>,
}

impl RoleCheck {
    pub fn allowed(&self) -> bool {
        self.trust.is_allowed() && self.invoke.is_allowed()
    }

    /// What is missing, in words (`None` when allowed).
    pub fn problem(&self, role: &str, function: &FunctionRef) -> Option<String> {
        let target = function.invoked_arn();
        let trust = match &self.trust {
            Decision::Allowed { .. } => None,
            Decision::Denied { by } => Some(format!(
                "role {role}'s trust policy denies sts:AssumeRole to {APIGATEWAY} ({by})"
            )),
            Decision::NotAllowed => Some(format!(
                "role {role}'s trust policy (AssumeRolePolicyDocument) does not let {APIGATEWAY} assume it"
            )),
        };
        if let Some(t) = trust {
            return Some(t);
        }
        let mut text = match &self.invoke {
            Decision::Allowed { .. } => return None,
            Decision::Denied { by } => {
                format!("role {role}'s policies deny lambda:InvokeFunction on {target} ({by})")
            }
            Decision::NotAllowed => {
                format!("no policy of role {role} allows lambda:InvokeFunction on {target}")
            }
        };
        if !self.unreadable.is_empty() {
            text.push_str(&format!(
                " (taken to grant nothing: {})",
                self.unreadable.join("; ")
            ));
        }
        Some(text)
    }
}

/// Checks an integration role for invoking `function`.
pub fn check_role(role: &RoleSpec<'_>, function: &FunctionRef) -> RoleCheck {
    let mut unreadable = Vec::new();
    let mut conditions = Vec::new();
    let trust = match Document::parse(
        &format!("role {}'s AssumeRolePolicyDocument", role.logical_id),
        role.trust,
    ) {
        Ok(doc) => {
            conditions.extend(doc.conditions());
            policy::evaluate_trust(&doc, APIGATEWAY)
        }
        Err(e) => {
            unreadable.push(e.to_string());
            Decision::NotAllowed
        }
    };
    let mut docs = Vec::new();
    for (label, value) in &role.policies {
        match Document::parse(label, value) {
            Ok(d) => docs.push(d),
            Err(e) => unreadable.push(e.to_string()),
        }
    }
    for arn in &role.managed_policy_arns {
        match managed::aws_managed_policy(arn) {
            Some(v) => match Document::parse(&format!("managed policy {arn}"), &v) {
                Ok(d) => docs.push(d),
                Err(e) => unreadable.push(e.to_string()),
            },
            None => unreadable.push(format!("managed policy {arn} is not one stackgate knows")),
        }
    }
    for d in &docs {
        conditions.extend(d.conditions());
    }
    let invoke = policy::evaluate(&docs, "lambda:InvokeFunction", &function.invoked_arn());
    RoleCheck {
        trust,
        invoke,
        unreadable,
        conditions,
    }
}

/// A ready-to-paste `AWS::Lambda::Permission` (YAML, indented for `Resources:`).
pub fn permission_yaml(
    logical_id: &str,
    function_ref: &str,
    api_logical_id: &str,
    source_tail: &str,
) -> String {
    format!(
        "  {logical_id}:\n    Type: AWS::Lambda::Permission\n    Properties:\n      Action: lambda:InvokeFunction\n      FunctionName: {function_ref}\n      Principal: apigateway.amazonaws.com\n      SourceArn: !Sub arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api_logical_id}}}/{source_tail}\n"
    )
}

/// A policy statement granting invoke on `resource` (a YAML expression such as
/// `!GetAtt MyFunction.Arn`), for the role's `Policies[].PolicyDocument.Statement`.
pub fn invoke_statement_yaml(resource: &str) -> String {
    format!("- Effect: Allow\n  Action: lambda:InvokeFunction\n  Resource: {resource}\n")
}

/// The trust statement an integration role needs.
pub fn trust_statement_yaml() -> String {
    "- Effect: Allow\n  Principal:\n    Service: apigateway.amazonaws.com\n  Action: sts:AssumeRole\n".to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f() -> FunctionRef {
        FunctionRef {
            name: "echo".into(),
            qualifier: None,
            arn: "arn:aws:lambda:us-east-1:123456789012:function:echo".into(),
        }
    }

    fn gw_trust() -> Value {
        json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    }

    #[test]
    fn role_with_trust_and_policy_may_invoke() {
        let trust = gw_trust();
        let inline = json!({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:*"}]});
        let role = RoleSpec {
            logical_id: "R",
            trust: &trust,
            policies: vec![("inline".into(), &inline)],
            managed_policy_arns: vec![],
        };
        let check = check_role(&role, &f());
        assert!(check.allowed(), "{check:?}");
        assert_eq!(check.problem("R", &f()), None);
    }

    #[test]
    fn role_without_apigateway_trust() {
        let trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let role = RoleSpec {
            logical_id: "R",
            trust: &trust,
            policies: vec![],
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaRole".into()],
        };
        let check = check_role(&role, &f());
        assert!(!check.allowed());
        assert!(check.problem("R", &f()).unwrap().contains("trust policy"));
    }

    #[test]
    fn managed_policies_known_and_unknown() {
        let trust = gw_trust();
        let known = RoleSpec {
            logical_id: "R",
            trust: &trust,
            policies: vec![],
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaRole".into()],
        };
        assert!(check_role(&known, &f()).allowed());
        let unknown = RoleSpec {
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/Mystery".into()],
            ..known
        };
        let check = check_role(&unknown, &f());
        assert!(!check.allowed());
        assert!(check.problem("R", &f()).unwrap().contains("Mystery"));
    }

    #[test]
    fn policy_on_another_function_is_explained() {
        let trust = gw_trust();
        let inline = json!({"Statement": {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:other"}});
        let role = RoleSpec {
            logical_id: "R",
            trust: &trust,
            policies: vec![("inline".into(), &inline)],
            managed_policy_arns: vec![],
        };
        let problem = check_role(&role, &f()).problem("R", &f()).unwrap();
        assert!(problem.contains("function:echo"), "{problem}");
    }

    #[test]
    fn malformed_trust_is_not_a_panic() {
        let trust = json!("nonsense");
        let role = RoleSpec {
            logical_id: "R",
            trust: &trust,
            policies: vec![],
            managed_policy_arns: vec![],
        };
        let check = check_role(&role, &f());
        assert!(!check.allowed());
        assert_eq!(check.unreadable.len(), 1);
    }

    #[test]
    fn yaml_snippets() {
        let y = permission_yaml("EchoPermission", "!Ref Echo", "Api", "*");
        assert!(y.contains("SourceArn: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"), "{y}");
        assert!(invoke_statement_yaml("!GetAtt Echo.Arn").contains("Resource: !GetAtt Echo.Arn"));
        assert!(trust_statement_yaml().contains("apigateway.amazonaws.com"));
    }
}
