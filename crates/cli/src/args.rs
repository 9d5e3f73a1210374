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
    /// Invoke one function once, without a server: result on stdout, its log on stderr.
    Invoke(InvokeArgs),
    /// Print the route table: API, stage, route, authorizer, integration, function.
    Routes(RoutesArgs),
    /// Find, without running anything, what AWS would answer with 500/503/401 (missing invoke
    /// permissions, bad issuers, timeouts, handlers…): file:line:col, what and the fix.
    Check(CheckArgs),
}

/// What every command that reads a template accepts.
#[derive(Debug, Clone, Args)]
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

#[derive(Debug, Clone, Args)]
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

    /// Port of the Lambda Invoke API (`aws lambda invoke --endpoint-url http://127.0.0.1:PORT`);
    /// 0 picks a free one.
    #[arg(long, default_value_t = 3002)]
    pub lambda_port: u16,

    /// Most execution environments per function (functions without reserved concurrency);
    /// further requests wait for a free one.
    #[arg(long, default_value_t = 10)]
    pub max_environments: usize,

    /// Reload on changes to the template or a function's code (the default): the next request
    /// sees them, without a restart.
    #[arg(long, overrides_with = "no_watch")]
    pub watch: bool,

    /// Do not watch the template and code for changes.
    #[arg(long, overrides_with = "watch")]
    pub no_watch: bool,
}

impl ServeArgs {
    /// `--watch` unless `--no-watch` came last.
    pub fn watching(&self) -> bool {
        !self.no_watch
    }
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

#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// The function: logical id or function name (optional with --event-from: the route's).
    #[arg(value_name = "FUNCTION")]
    pub function: Option<String>,

    /// The event: a JSON file, or `-` for stdin; `{}` when absent.
    #[arg(
        long,
        short = 'e',
        value_name = "FILE|-",
        conflicts_with = "event_from"
    )]
    pub event: Option<String>,

    /// Build the API Gateway event the route matching this request would receive, e.g.
    /// `--event-from "GET /pets/7?verbose=1"`.
    #[arg(long, value_name = "METHOD /PATH?QUERY")]
    pub event_from: Option<String>,

    /// A request header for --event-from, `NAME: VALUE`; repeatable.
    #[arg(
        long = "header",
        short = 'H',
        value_name = "NAME: VALUE",
        requires = "event_from"
    )]
    pub headers: Vec<String>,

    /// The request body for --event-from (`@FILE` reads a file).
    #[arg(long, requires = "event_from")]
    pub body: Option<String>,

    /// A token for the route's JWT authorizer, sent as `Authorization: Bearer TOKEN`; verified as
    /// the gateway would (issuer keys, claims, scopes), unless --no-verify.
    #[arg(long, requires = "event_from")]
    pub token: Option<String>,

    /// With --token: put the token's claims into the event without verifying it.
    #[arg(long, requires = "token")]
    pub no_verify: bool,

    /// The API (logical id) for --event-from; the template's first HTTP API by default.
    #[arg(long, requires = "event_from")]
    pub api: Option<String>,

    /// Port of the dev issuer that verifies --token for authorizers without an issuer (as
    /// `serve --issuer-port`; started here when nothing listens on it).
    #[arg(long, default_value_t = 3001)]
    pub issuer_port: u16,
}

#[derive(Debug, Args)]
pub struct RoutesArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// `text` (a table) or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// Output: `human` (like a compiler, with the source line) or `json` (for tools).
    #[arg(long, value_enum, default_value = "human")]
    pub format: CheckFormat,

    /// Fail (exit 1) on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
}
