//! `provided`, `provided.al2`, `provided.al2023`: the code's own `bootstrap` executable.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::Launch;

pub fn launch(code_dir: &Path) -> Launch {
    Launch {
        program: code_dir.join("bootstrap"),
        args: Vec::new(),
        execution_env: None,
        defaults: &[],
    }
}

/// Why `bootstrap` cannot be executed, worded like Go's `fork/exec` errors (which is what
/// Lambda reports in `Runtime.InvalidEntrypoint`); `None` if it can.
pub async fn entrypoint_problem(program: &Path) -> Option<String> {
    match tokio::fs::metadata(program).await {
        Err(_) => Some(format!(
            "fork/exec {}: no such file or directory",
            program.display()
        )),
        Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => Some(format!(
            "fork/exec {}: permission denied",
            program.display()
        )),
        Ok(_) => None,
    }
}
