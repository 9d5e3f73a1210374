//! How each runtime family starts its process: the managed runtimes run an embedded shim on the
//! machine's interpreter; `provided.*` runs the code's own `bootstrap`.

pub mod node;
pub mod provided;
pub mod python;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;

/// The runtime families stackgate can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Node,
    Python,
    Provided,
}

impl Family {
    /// `nodejs22.x` → Node, `python3.12` → Python, `provided.al2023` → Provided.
    pub fn of(runtime: &str) -> Option<Family> {
        if runtime.starts_with("nodejs") {
            Some(Family::Node)
        } else if runtime.starts_with("python3") {
            Some(Family::Python)
        } else if matches!(runtime, "provided" | "provided.al2" | "provided.al2023") {
            Some(Family::Provided)
        } else {
            None
        }
    }

    /// The file CloudFormation writes inline code (`Code.ZipFile`) to.
    pub fn inline_file(self) -> Option<&'static str> {
        match self {
            Family::Node => Some("index.js"),
            Family::Python => Some("index.py"),
            Family::Provided => None,
        }
    }
}

/// How to start one environment's process.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// `AWS_EXECUTION_ENV` (not set for `provided.*`).
    pub execution_env: Option<String>,
    /// Extra unreserved variables the runtime family sets (overridable by the function).
    pub defaults: &'static [(&'static str, &'static str)],
}

/// The local interpreters, probed once (`node --version`, `python3 --version`).
#[derive(Default)]
pub struct Interpreters {
    node: OnceCell<Result<String, String>>,
    python: OnceCell<Result<String, String>>,
}

impl Interpreters {
    pub async fn node(&self) -> Result<&str, String> {
        self.node
            .get_or_init(|| probe("node", "Node.js"))
            .await
            .as_deref()
            .map_err(Clone::clone)
    }

    pub async fn python(&self) -> Result<&str, String> {
        self.python
            .get_or_init(|| probe("python3", "Python 3"))
            .await
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// Runs `program --version`; its version string, or why it cannot run.
async fn probe(program: &str, language: &str) -> Result<String, String> {
    let out = tokio::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            format!("`{program}` is needed to run {language} functions but could not be started ({e}); install it and make sure it is on PATH")
        })?;
    if !out.status.success() {
        return Err(format!(
            "`{program} --version` failed ({}); {language} functions need a working `{program}` on PATH",
            out.status
        ));
    }
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    Ok(String::from_utf8_lossy(&text).trim().to_owned())
}

/// Writes `contents` to `dir/name` unless it already holds exactly that.
pub async fn write_shim(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    if tokio::fs::read(&path).await.ok().as_deref() == Some(contents.as_bytes()) {
        return Ok(path);
    }
    tokio::fs::create_dir_all(dir).await?;
    // Write beside and rename, so a concurrent reader never sees half a file.
    let tmp = dir.join(format!(".{name}.{}", fastrand::u64(..)));
    tokio::fs::write(&tmp, contents).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}
