//! `python3.*`: the machine's `python3` running the embedded shim (`shims/python_runtime.py`).

use std::path::Path;

use super::{Interpreters, Launch};

pub const SHIM: &str = include_str!("../shims/python_runtime.py");
pub const SHIM_FILE: &str = "python_runtime.py";

/// Launch for `runtime` (e.g. `python3.12`); a warning when the local minor version differs.
pub async fn launch(
    runtime: &str,
    interpreters: &Interpreters,
    shims_dir: &Path,
) -> Result<(Launch, Option<String>), String> {
    let version = interpreters.python().await?;
    let shim = super::write_shim(shims_dir, SHIM_FILE, SHIM)
        .await
        .map_err(|e| {
            format!(
                "cannot write the Python shim to {}: {e}",
                shims_dir.display()
            )
        })?;
    // "Python 3.11.7" → "3.11"
    let local: String = version
        .trim_start_matches("Python ")
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let wanted = runtime.trim_start_matches("python");
    let warning = (wanted != local).then(|| {
        format!(
            "{runtime}: running on local {version}; behaviour of newer Python features may differ"
        )
    });
    Ok((
        Launch {
            program: "python3".into(),
            args: vec!["-u".into(), shim.into_os_string()],
            execution_env: Some(format!("AWS_Lambda_{runtime}")),
            defaults: &[("LANG", "en_US.UTF-8"), ("PYTHONDONTWRITEBYTECODE", "1")],
        },
        warning,
    ))
}
