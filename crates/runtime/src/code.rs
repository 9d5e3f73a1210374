//! Materialising a function's code into a directory the process runs in.

use std::path::{Path, PathBuf};

use crate::CodeSource;
use crate::runtimes::Family;

/// The directory holding `function`'s code (`LAMBDA_TASK_ROOT`, and the process's cwd).
pub async fn materialise(
    function: &str,
    family: Family,
    code: &CodeSource,
    work_dir: &Path,
) -> Result<PathBuf, String> {
    match code {
        CodeSource::Inline(source) => {
            let Some(file) = family.inline_file() else {
                return Err(
                    "inline code (Code.ZipFile) works only for Node.js and Python runtimes".into(),
                );
            };
            let dir = function_dir(work_dir, function);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join(file);
            tokio::fs::write(&path, source)
                .await
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(absolute(dir))
        }
        CodeSource::Path(path) => {
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| format!("code path {} is not readable: {e}", path.display()))?;
            if meta.is_dir() {
                Ok(absolute(path.clone()))
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
            {
                let dir = function_dir(work_dir, function);
                let zip = path.clone();
                let target = dir.clone();
                tokio::task::spawn_blocking(move || extract(&zip, &target))
                    .await
                    .map_err(|e| format!("extracting {} failed: {e}", path.display()))??;
                Ok(absolute(dir))
            } else {
                Err(format!(
                    "code path {} is neither a directory nor a .zip archive",
                    path.display()
                ))
            }
        }
    }
}

/// Unpacks `zip` into a fresh `dir` (entries escaping `dir` are refused by `zip`).
fn extract(zip: &Path, dir: &Path) -> Result<(), String> {
    let file =
        std::fs::File::open(zip).map_err(|e| format!("cannot open {}: {e}", zip.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{} is not a readable .zip archive: {e}", zip.display()))?;
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot clear {}: {e}", dir.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    archive.extract(dir).map_err(|e| {
        format!(
            "cannot extract {} into {}: {e}",
            zip.display(),
            dir.display()
        )
    })
}

fn function_dir(work_dir: &Path, function: &str) -> PathBuf {
    // Keep the name a single path segment whatever the template says.
    let safe: String = function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    };
    work_dir.join("functions").join(safe)
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        return p;
    }
    std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
}
