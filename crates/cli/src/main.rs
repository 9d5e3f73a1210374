//! `stackgate`: the one binary. Parses arguments, sets up logging, and hands over to a command.
//! Only this crate wires the library crates together.

mod args;
mod invoker;
mod load;
mod serve;
mod summary;
mod token;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_logging();
    let result = match cli.command {
        args::Command::Serve(args) => serve::run(args),
        args::Command::Token(args) => token::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `tracing` to stderr: access lines, function output, explanations. `STACKGATE_LOG` takes a
/// filter like `info` or `info,lambda=warn`.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let filter: Targets = std::env::var("STACKGATE_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(ansi)
                .with_target(true)
                .with_filter(filter),
        )
        .init();
}
