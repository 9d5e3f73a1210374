//! Template loading: text → (model, diagnostics). Pure: this crate reads files and nothing else.

pub mod model;

pub use model::*;
