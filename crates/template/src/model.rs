//! The resolved stack: what the rest of stackgate needs to know about a template, with every
//! intrinsic already evaluated. Pure data; built by `crate::load`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where something came from in the template text (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

/// Stack-wide values (pseudo parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    pub partition: String,
    pub url_suffix: String,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub template_path: PathBuf,
    pub stack: Option<StackInfo>,
    pub apis: Vec<Api>,
    pub stages: Vec<Stage>,
    pub routes: Vec<Route>,
    pub integrations: Vec<Integration>,
    pub authorizers: Vec<Authorizer>,
    pub functions: Vec<Function>,
    pub permissions: Vec<Permission>,
    /// `AWS::Lambda::EventInvokeConfig`: retries and event age of asynchronous invocations.
    pub event_invoke_configs: Vec<EventInvokeConfig>,
    pub roles: Vec<Role>,
    /// `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources (attached to roles by `Roles`
    /// or, for managed policies, by a role's `ManagedPolicyArns`).
    pub policies: Vec<PolicyResource>,
    /// Resources stackgate loads but does not emulate (one start-up line each).
    pub not_emulated: Vec<NotEmulated>,
    /// Properties present on emulated resources that stackgate ignores although they change
    /// behaviour in AWS (one start-up line each; never silently ignored).
    pub ignored_properties: Vec<IgnoredProperty>,
    /// Template `Outputs`, resolved to text where possible.
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone)]
pub struct NotEmulated {
    pub logical_id: String,
    pub resource_type: String,
    pub reason: String,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct IgnoredProperty {
    pub logical_id: String,
    pub property: String,
    pub reason: String,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: String,
}

/// `AWS::ApiGatewayV2::Api` (HTTP protocol).
#[derive(Debug, Clone)]
pub struct Api {
    pub logical_id: String,
    /// The API id, as `Ref` returns it: 10 lower-case alphanumerics, stable across restarts.
    pub id: String,
    pub name: String,
    pub protocol_type: String,
    /// `https://{id}.execute-api.{region}.amazonaws.com`
    pub endpoint: String,
    pub disable_execute_api_endpoint: bool,
    pub location: Location,
}

/// `AWS::ApiGatewayV2::Stage` (or the `$default` stage of a quick-create API).
#[derive(Debug, Clone)]
pub struct Stage {
    pub logical_id: String,
    /// Logical id of the API.
    pub api: String,
    /// `$default` or a stage name.
    pub name: String,
    pub auto_deploy: bool,
    pub stage_variables: BTreeMap<String, String>,
    pub location: Location,
}

/// `AWS::ApiGatewayV2::Route`.
#[derive(Debug, Clone)]
pub struct Route {
    pub logical_id: String,
    pub id: String,
    /// Logical id of the API.
    pub api: String,
    /// `$default` or `METHOD /path`.
    pub route_key: String,
    /// Logical id of the integration named by `Target: integrations/{id}`.
    pub integration: Option<String>,
    /// `NONE`, `JWT`, `AWS_IAM` or `CUSTOM`.
    pub authorization_type: String,
    /// Logical id of the authorizer.
    pub authorizer: Option<String>,
    pub authorization_scopes: Vec<String>,
    pub location: Location,
}

/// `AWS::ApiGatewayV2::Integration`.
#[derive(Debug, Clone)]
pub struct Integration {
    pub logical_id: String,
    pub id: String,
    /// Logical id of the API.
    pub api: String,
    /// `AWS_PROXY`, `HTTP_PROXY`, ...
    pub integration_type: String,
    /// Resolved `IntegrationUri`.
    pub uri: String,
    /// The Lambda function the URI names, when it names one.
    pub function: Option<FunctionTarget>,
    /// `1.0` or `2.0`; `None` when the template does not say (AWS refuses that for HTTP APIs).
    pub payload_format_version: Option<String>,
    /// `TimeoutInMillis`, default 30000.
    pub timeout_ms: u64,
    pub credentials_arn: Option<String>,
    pub location: Location,
}

/// A Lambda function named by an integration URI or a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionTarget {
    /// Function name as it appears in the ARN (`FunctionName` or the generated name).
    pub function_name: String,
    /// Alias or version after the name, if any.
    pub qualifier: Option<String>,
    /// The unqualified function ARN.
    pub arn: String,
}

/// `AWS::ApiGatewayV2::Authorizer`.
#[derive(Debug, Clone)]
pub struct Authorizer {
    pub logical_id: String,
    pub id: String,
    /// Logical id of the API.
    pub api: String,
    pub name: String,
    /// `JWT` or `REQUEST`.
    pub authorizer_type: String,
    pub identity_source: Vec<String>,
    /// `JwtConfiguration.Issuer`; `None` when it resolves to no value (a parameter without a
    /// value or default): stackgate then runs its dev issuer.
    pub issuer: Option<String>,
    pub audience: Vec<String>,
    pub location: Location,
}

/// `AWS::Lambda::Function`.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// `FunctionName`, or the name CloudFormation would generate (stable across restarts).
    pub name: String,
    /// `arn:aws:lambda:{region}:{account}:function:{name}`
    pub arn: String,
    pub runtime: String,
    pub handler: String,
    pub code: Code,
    pub environment: BTreeMap<String, String>,
    /// Seconds; default 3.
    pub timeout_s: u64,
    /// MB; default 128.
    pub memory_mb: u64,
    pub reserved_concurrency: Option<u64>,
    pub role_arn: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `Code.ZipFile`: inline source, written as `index.js` / `index.py`.
    Inline(String),
    /// A local path (directory or .zip file), resolved against the template's directory, the way
    /// `aws cloudformation package` accepts it.
    Path(PathBuf),
}

/// `AWS::Lambda::Permission`.
#[derive(Debug, Clone)]
pub struct Permission {
    pub logical_id: String,
    pub action: String,
    /// Resolved `FunctionName` (name, ARN or partial ARN).
    pub function_name: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub location: Location,
}

/// `AWS::Lambda::EventInvokeConfig` (its destinations are not emulated).
#[derive(Debug, Clone)]
pub struct EventInvokeConfig {
    pub logical_id: String,
    /// Resolved `FunctionName` (name, ARN or partial ARN).
    pub function_name: String,
    /// `$LATEST`, a version or an alias.
    pub qualifier: String,
    /// `MaximumRetryAttempts` (0–2; Lambda's default is 2).
    pub maximum_retry_attempts: Option<u64>,
    /// `MaximumEventAgeInSeconds` (60–21600; Lambda's default is 21600).
    pub maximum_event_age_s: Option<u64>,
    pub location: Location,
}

/// `AWS::IAM::Role`.
#[derive(Debug, Clone)]
pub struct Role {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub assume_role_policy: serde_json::Value,
    /// Inline `Policies[].PolicyDocument`.
    pub policies: Vec<serde_json::Value>,
    pub managed_policy_arns: Vec<String>,
    pub location: Location,
}

/// `AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy`.
#[derive(Debug, Clone)]
pub struct PolicyResource {
    pub logical_id: String,
    /// `AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy`.
    pub resource_type: String,
    /// The policy's ARN (what `Ref` returns) for a managed policy; `None` for `AWS::IAM::Policy`.
    pub arn: Option<String>,
    /// `PolicyDocument`.
    pub document: serde_json::Value,
    /// Role names from `Roles` (what `Ref` on a role returns).
    pub roles: Vec<String>,
    pub location: Location,
}
