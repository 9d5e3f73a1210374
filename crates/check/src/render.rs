//! Output: like a compiler's (source line and caret), or JSON for tools.

use crate::{Finding, Severity};

/// Human output: one block per finding, then a summary line.
pub fn render_human(findings: &[Finding], source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}[{}]: {}\n",
            f.severity.as_str(),
            f.code,
            f.message
        ));
        out.push_str(&format!(
            "  --> {}:{}:{}\n",
            f.file.display(),
            f.line,
            f.col
        ));
        if let Some(text) = f.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let number = f.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = text
                .chars()
                .take(f.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!(
                "{pad} |\n{number} | {text}\n{pad} | {caret_pad}^\n"
            ));
        }
        match &f.resource {
            Some(r) => out.push_str(&format!("  = in {r}: {}\n", f.property)),
            None if !f.property.is_empty() => out.push_str(&format!("  = in {}\n", f.property)),
            None => {}
        }
        if let Some(fix) = &f.fix {
            let mut first = true;
            for line in fix.lines() {
                if first {
                    out.push_str(&format!("  = fix: {line}\n"));
                    first = false;
                } else {
                    out.push_str(&format!("         {line}\n"));
                }
            }
        }
        out.push('\n');
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    out.push_str(&format!(
        "check: {} error(s), {} warning(s), {} note(s)\n",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    out
}

/// JSON output: `{"findings": [...], "errors": n, "warnings": n}`.
pub fn render_json(findings: &[Finding]) -> String {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "code": f.code,
                "severity": f.severity.as_str(),
                "file": f.file.display().to_string(),
                "line": f.line,
                "col": f.col,
                "resource": f.resource,
                "property": f.property,
                "message": f.message,
                "fix": f.fix,
            })
        })
        .collect();
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    serde_json::json!({
        "findings": items,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
    })
    .to_string()
}
