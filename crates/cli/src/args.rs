//! Command-line arguments (clap derive). Collected cheaply here; the expensive things (template,
//! listeners, processes) are built by each command.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "stackgate",
    version,
    about = "Run an API Gateway HTTP API + JWT authorizer + Lambda stack locally from its unchanged CloudFormation template"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the template's HTTP APIs on one local port, running its functions as local processes.
    Serve(ServeArgs),
    /// Print a token signed by the dev issuer's key, valid for `serve` on the same issuer port.
    Token(TokenArgs),
}

/// What every command that reads a template accepts.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The CloudFormation template (YAML or JSON).
    #[arg(value_name = "TEMPLATE")]
    pub template: PathBuf,

    /// Region the stack pretends to run in (`AWS::Region`, ARNs, endpoints).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// Account id the stack pretends to run in (`AWS::AccountId`).
    #[arg(long, default_value = "123456789012")]
    pub account_id: String,

    /// Stack name (`AWS::StackName`); defaults to the template's directory name.
    #[arg(long)]
    pub stack_name: Option<String>,

    /// Template parameter values, the AWS CLI's way: `--parameter-overrides Key1=Value1 Key2=Value2`.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    pub parameter_overrides: Vec<String>,

    /// Where stackgate keeps its state (dev issuer key, materialised code, shims); defaults to
    /// `.stackgate/` beside the template.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// Gateway port; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// Address every listener binds.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port of the built-in OIDC dev issuer (started when an authorizer's issuer has no value); 0
    /// picks a free one.
    #[arg(long, default_value_t = 3001)]
    pub issuer_port: u16,

    /// Most execution environments per function (functions without reserved concurrency);
    /// further requests wait for a free one.
    #[arg(long, default_value_t = 10)]
    pub max_environments: usize,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// Audience (`aud`); defaults to the audience of the template's one JWT authorizer.
    #[arg(long)]
    pub aud: Option<String>,

    /// Scopes, space-separated (`scope` claim).
    #[arg(long)]
    pub scope: Option<String>,

    /// Subject (`sub`).
    #[arg(long, default_value = "stackgate-dev@clients")]
    pub sub: String,

    /// Extra claims, `KEY=VALUE` (JSON values stay typed: `n=42`, `groups=["a","b"]`); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub claim: Vec<String>,

    /// Lifetime: seconds, or with a unit (`30m`, `1h`, `2d`).
    #[arg(long, default_value = "1h")]
    pub expires_in: String,

    /// Host of the dev issuer, as `serve --host` (part of the token's `iss`).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port of the dev issuer, as `serve --issuer-port` (part of the token's `iss`).
    #[arg(long, default_value_t = 3001)]
    pub issuer_port: u16,
}
