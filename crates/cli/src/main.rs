//! `stackgate`: the one binary. Parses arguments, sets up logging, and hands over to a command.
//! Only this crate wires the library crates together.

mod args;
mod check;
mod invoke;
mod invoker;
mod load;
mod log_format;
mod log_writer;
mod routes;
mod serve;
mod summary;
mod token;
mod watch;

use std::process::ExitCode;

/// Many small allocations per request (headers, events, log lines): mimalloc serves them with
/// less work than glibc's malloc under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // `invoke` prints the function's log itself (stderr), so the runtime's copy stays quiet.
    init_logging(matches!(cli.command, args::Command::Invoke(_)));
    // Buffered log lines go out before a panic's message.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        log_writer::flush();
        default_hook(info);
    }));
    let result = match cli.command {
        args::Command::Serve(args) => serve::run(args),
        args::Command::Token(args) => token::run(args),
        args::Command::Invoke(args) => invoke::run(args),
        args::Command::Routes(args) => routes::run(args),
        args::Command::Check(args) => check::run(args),
    };
    log_writer::flush();
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
fn init_logging(quiet_functions: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let filter: Targets = std::env::var("STACKGATE_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| {
            let targets = Targets::new().with_default(tracing::Level::INFO);
            if quiet_functions {
                targets.with_target("lambda", tracing::Level::WARN)
            } else {
                targets
            }
        });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(log_writer::Stderr)
                .with_ansi(ansi)
                .event_format(log_format::LineFormat)
                .with_filter(filter),
        )
        .init();
}
