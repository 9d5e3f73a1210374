//! Problems found in a template, printed the way a compiler prints them:
//! `template.yaml:42:7: error: Resources.TestRoute.Properties.Target: …`.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
    /// Logical id of the resource the problem is in, if any.
    pub resource: Option<String>,
    /// Where in the template, e.g. `Resources.TestRoute.Properties.Target`.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file.display(),
            self.line,
            self.col,
            self.severity
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_a_compiler() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: PathBuf::from("template.yaml"),
            line: 42,
            col: 7,
            resource: Some("TestRoute".into()),
            path: "Resources.TestRoute.Properties.Target".into(),
            message: "bad".into(),
        };
        assert_eq!(
            d.to_string(),
            "template.yaml:42:7: error: Resources.TestRoute.Properties.Target: bad"
        );
    }
}
