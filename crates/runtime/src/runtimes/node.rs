//! `nodejs*`: the machine's `node` running the embedded shim (`shims/node_runtime.cjs`).

use std::path::Path;

use super::{Interpreters, Launch};

pub const SHIM: &str = include_str!("../shims/node_runtime.cjs");
pub const SHIM_FILE: &str = "node_runtime.cjs";

/// Launch for `runtime` (e.g. `nodejs22.x`); a warning when the local major version differs.
pub async fn launch(
    runtime: &str,
    interpreters: &Interpreters,
    shims_dir: &Path,
) -> Result<(Launch, Option<String>), String> {
    let version = interpreters.node().await?;
    let shim = super::write_shim(shims_dir, SHIM_FILE, SHIM)
        .await
        .map_err(|e| {
            format!(
                "cannot write the Node.js shim to {}: {e}",
                shims_dir.display()
            )
        })?;
    let wanted = runtime
        .trim_start_matches("nodejs")
        .split('.')
        .next()
        .unwrap_or("");
    let local = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap_or("");
    let warning = (wanted != local).then(|| {
        format!(
            "{runtime}: running on local node {version}; behaviour of newer Node APIs may differ"
        )
    });
    Ok((
        Launch {
            program: "node".into(),
            args: vec![shim.into_os_string()],
            execution_env: Some(format!("AWS_Lambda_{runtime}")),
            defaults: &[("LANG", "en_US.UTF-8")],
        },
        warning,
    ))
}
