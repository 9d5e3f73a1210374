//! Loading a template for any command: options from the arguments, diagnostics printed the way a
//! compiler prints them, and the state directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use stackgate_template::{LoadOptions, Model};

use crate::args::TemplateArgs;

/// Loads and resolves the template, printing every diagnostic to stderr. Fails when any is an error.
pub fn load_template(args: &TemplateArgs) -> anyhow::Result<Model> {
    let overrides = parse_overrides(&args.parameter_overrides)?;
    let options = LoadOptions {
        region: args.region.clone(),
        account_id: args.account_id.clone(),
        stack_name: args
            .stack_name
            .clone()
            .unwrap_or_else(|| default_stack_name(&args.template)),
        parameter_overrides: overrides,
    };
    let loaded = stackgate_template::load(&args.template, &options);
    for diagnostic in &loaded.diagnostics {
        eprintln!("{diagnostic}");
    }
    match loaded.model {
        Some(model) => Ok(model),
        None => bail!(
            "{} could not be loaded (see the errors above)",
            args.template.display()
        ),
    }
}

/// `Key=Value` pairs, as the AWS CLI's `--parameter-overrides` takes them.
fn parse_overrides(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => bail!("--parameter-overrides takes KEY=VALUE pairs; got {pair:?}"),
        })
        .collect()
}

/// The template's directory name, made into a valid stack name (`[A-Za-z][A-Za-z0-9-]*`).
fn default_stack_name(template: &Path) -> String {
    let dir = std::fs::canonicalize(template)
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let cleaned: String = dir
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    match cleaned.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => cleaned,
        _ => format!("stack-{cleaned}").trim_end_matches('-').to_string(),
    }
}

/// Runs a command's async part on a multi-threaded tokio runtime.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    // Log lines made on the workers are written when a worker runs out of work (log_writer).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(stackgate_runtime::worker_threads())
        .enable_all()
        .on_thread_start(crate::log_writer::buffer_this_thread)
        .on_thread_park(crate::log_writer::flush)
        .on_thread_stop(crate::log_writer::flush)
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// `--state-dir`, or `.stackgate/` beside the template.
pub fn state_dir(args: &TemplateArgs) -> anyhow::Result<PathBuf> {
    let dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => args
            .template
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .join(".stackgate"),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    // Absolute: function processes run in their own working directories.
    std::fs::canonicalize(&dir)
        .with_context(|| format!("cannot resolve the state directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_key_value_pairs() {
        let parsed = parse_overrides(&["A=1".into(), "B=x=y".into(), "C=".into()]).ok();
        assert_eq!(
            parsed,
            Some(vec![
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("C".into(), "".into())
            ])
        );
        assert!(parse_overrides(&["novalue".into()]).is_err());
        assert!(parse_overrides(&["=v".into()]).is_err());
    }

    #[test]
    fn stack_name_is_valid() {
        assert_eq!(
            default_stack_name(Path::new("/nonexistent/x.yaml")),
            "stack"
        );
    }
}
