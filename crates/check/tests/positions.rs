//! Findings point at the user's own lines, also for resources SAM generates (they are not in the
//! text, so the finding uses the SAM line the model recorded, not the `Resources:` line).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use stackgate_template::{LoadOptions, load};

#[test]
fn sam_generated_authorizer_finding_points_at_its_sam_line() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sam-http-api/template.yaml");
    let source = std::fs::read_to_string(&path).unwrap();
    let loaded = load(&path, &LoadOptions::default());
    let model = loaded.model.unwrap();
    let findings = stackgate_check::check(&model, &source);
    let bearer = findings.iter().find(|f| f.code == "SG018").unwrap();
    let line = source.lines().nth(bearer.line - 1).unwrap();
    assert!(
        line.contains("IdentitySource"),
        "SG018 at line {} ({line:?}), expected the IdentitySource line",
        bearer.line
    );
}
