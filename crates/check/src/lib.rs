//! `stackgate check`: the pitfalls AWS only reveals at request time (a 500, a 401, a 503), found
//! statically in a template. Pure over the loaded [`Model`] and the template's text; every
//! [`Finding`] has a code, a severity, a `file:line:col`, the resource and property, a message and
//! a fix.

mod locate;
mod render;
mod rules;

use std::path::PathBuf;

use stackgate_template::Model;

pub use render::{render_human, render_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `SG001`…
    pub code: &'static str,
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
    /// Logical id of the resource.
    pub resource: Option<String>,
    /// E.g. `Resources.TestIntegration.Properties.CredentialsArn`.
    pub property: String,
    pub message: String,
    /// What to change (may span lines: YAML to paste).
    pub fix: Option<String>,
}

/// Every finding for the model loaded from `source`, sorted by position.
pub fn check(model: &Model, source: &str) -> Vec<Finding> {
    let mut findings = rules::run(model, source);
    findings.sort_by(|a, b| {
        (a.line, a.col, a.severity, a.code).cmp(&(b.line, b.col, b.severity, b.code))
    });
    findings.dedup();
    findings
}

/// The codes `check` can report, with a one-line summary each (for `--help`-like listings and
/// documentation).
pub const CODES: &[(&str, &str)] = &[
    (
        "SG001",
        "no invoke permission: no CredentialsArn and no AWS::Lambda::Permission for the function",
    ),
    (
        "SG002",
        "the function's AWS::Lambda::Permissions do not cover the route (SourceArn, principal, action, account)",
    ),
    (
        "SG003",
        "an AWS::Lambda::Permission for API Gateway whose SourceArn matches no route",
    ),
    (
        "SG004",
        "integration role does not trust apigateway.amazonaws.com",
    ),
    (
        "SG005",
        "integration role's policies do not allow lambda:InvokeFunction on the function",
    ),
    (
        "SG006",
        "invoke permission that cannot be checked (external role or function, caller identity)",
    ),
    ("SG007", "IAM Condition that is not evaluated"),
    (
        "SG010",
        "route Target is not an integration of the same API",
    ),
    ("SG011", "JWT authorizer without audience"),
    (
        "SG012",
        "JWT issuer differs from the IdP's iss by a trailing slash",
    ),
    (
        "SG013",
        "identity source is not a header or query-string selector",
    ),
    ("SG014", "integration without PayloadFormatVersion"),
    (
        "SG015",
        "route key AWS refuses (trailing /, greedy not last, duplicate)",
    ),
    (
        "SG016",
        "function Timeout above the integration timeout (AWS answers 503 first)",
    ),
    ("SG017", "Handler names a file or export not in the code"),
    ("SG018", "Authorization: Bearer <token> is accepted (info)"),
    (
        "SG019",
        "payload 1.0 integration whose function never sets statusCode (500)",
    ),
];
