//! Template loading: text → (model, diagnostics). Pure: this crate reads files and nothing else.
//!
//! Layers: [`node`] (the only module touching the YAML parser) → [`intrinsics`] (with
//! [`parameters`] and [`conditions`]) → [`model_build`] → [`model::Model`]. Every problem is a
//! [`Diagnostic`] with file, line and column; loading never stops at the first one.

pub mod conditions;
pub mod diagnostics;
pub mod ids;
pub mod intrinsics;
pub mod model;
pub mod model_build;
pub mod node;
pub mod parameters;
pub mod sam;

use std::path::Path;

pub use diagnostics::{Diagnostic, Severity};
pub use model::*;
pub use model_build::function_target;

/// What `load` needs besides the template: the values of the pseudo parameters and the
/// `--parameter-overrides`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// `AWS::Region`; default `us-east-1`.
    pub region: String,
    /// `AWS::AccountId`; default `123456789012`.
    pub account_id: String,
    /// `AWS::StackName`; ids derive from it.
    pub stack_name: String,
    /// `Key=Value` pairs, as `aws cloudformation deploy --parameter-overrides` takes them.
    pub parameter_overrides: Vec<(String, String)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            stack_name: "stackgate".to_string(),
            parameter_overrides: Vec::new(),
        }
    }
}

/// The result of loading: the model when there was no error, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Reads and loads the template at `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Loaded {
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, path, options),
        Err(e) => Loaded {
            model: None,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: path.to_path_buf(),
                line: 1,
                col: 1,
                resource: None,
                path: String::new(),
                message: format!("cannot read the template: {e}"),
            }],
        },
    }
}

/// Loads a template from text; `path` names it in diagnostics and anchors relative code paths.
pub fn load_str(text: &str, path: &Path, options: &LoadOptions) -> Loaded {
    let (root, problems) = node::parse(text);
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| Diagnostic {
            severity: Severity::Error,
            file: path.to_path_buf(),
            line: p.line,
            col: p.col,
            resource: None,
            path: String::new(),
            message: p.message,
        })
        .collect();
    let Some(root) = root else {
        if diagnostics.is_empty() {
            diagnostics.push(Diagnostic {
                severity: Severity::Error,
                file: path.to_path_buf(),
                line: 1,
                col: 1,
                resource: None,
                path: String::new(),
                message: "the template is empty".to_string(),
            });
        }
        return Loaded {
            model: None,
            diagnostics,
        };
    };
    // SAM: expand to plain CloudFormation first, as AWS's transform does.
    let mut sam_notes = None;
    let root = if sam::is_sam(&root) {
        let e = sam::expand(&root, path);
        diagnostics.extend(e.diagnostics);
        sam_notes = Some((e.not_emulated, e.ignored_properties));
        e.root
    } else {
        root
    };
    let (mut model, more) = model_build::build(&root, path, options);
    let parse_failed = diagnostics.iter().any(Diagnostic::is_error);
    diagnostics.extend(more);
    if let (Some(m), Some((not_emulated, ignored))) = (model.as_mut(), sam_notes) {
        m.not_emulated.extend(not_emulated);
        m.ignored_properties.extend(ignored);
    }
    Loaded {
        model: if parse_failed { None } else { model },
        diagnostics,
    }
}
