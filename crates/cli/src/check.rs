//! `stackgate check TEMPLATE`: load the template (its diagnostics first), then the static checks
//! of `stackgate-check`, printed like a compiler's or as JSON. Exit 1 on errors (on warnings too
//! with `--strict`), else 0.

use std::process::ExitCode;

use crate::args::{CheckArgs, CheckFormat};
use crate::load::load_template;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    // Load diagnostics go to stderr; a template that does not load is an error (exit 1).
    let model = match load_template(&args.template) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let source = std::fs::read_to_string(&args.template.template).unwrap_or_default();
    let findings = stackgate_check::check(&model, &source);
    match args.format {
        CheckFormat::Human => print!("{}", stackgate_check::render_human(&findings, &source)),
        CheckFormat::Json => println!("{}", stackgate_check::render_json(&findings)),
    }
    let failing = findings.iter().any(|f| {
        f.severity == stackgate_check::Severity::Error
            || (args.strict && f.severity == stackgate_check::Severity::Warning)
    });
    Ok(if failing {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
