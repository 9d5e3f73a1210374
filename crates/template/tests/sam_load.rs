#![allow(clippy::unwrap_used)]
//! The SAM path through the public loader: mutated SAM templates never panic, and diagnostics
//! keep pointing at the user's lines.

use std::path::{Path, PathBuf};

use stackgate_template::{LoadOptions, load, load_str};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn templates() -> Vec<PathBuf> {
    vec![
        root().join("../../examples/sam-http-api/template.yaml"),
        root().join("tests/fixtures/sam/implicit.yaml"),
        root().join("tests/fixtures/sam/explicit.yaml"),
    ]
}

#[test]
fn fixtures_load_cleanly() {
    for t in templates() {
        let l = load(&t, &LoadOptions::default());
        let errors: Vec<String> = l.errors().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", t.display());
        let m = l.model.unwrap();
        assert!(!m.routes.is_empty());
    }
}

/// Mutations of valid SAM templates (a tiny deterministic LCG): never a panic.
#[test]
fn mutated_sam_templates_never_panic() {
    let specials = [
        '!', ':', '-', '[', ']', '{', '}', '&', '*', '\'', '"', '\n', ' ', '$', '|', '#', 'x', '/',
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for t in templates() {
        let valid: Vec<char> = std::fs::read_to_string(&t).unwrap().chars().collect();
        for _ in 0..300 {
            let mut text = valid.clone();
            for _ in 0..(1 + next() % 4) {
                let at = next() % text.len();
                let c = specials[next() % specials.len()];
                match next() % 3 {
                    0 => text[at] = c,
                    1 => text.insert(at, c),
                    _ => {
                        text.remove(at);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            let _ = load_str(&text, &t, &LoadOptions::default());
        }
    }
}

#[test]
fn errors_point_at_the_sam_template() {
    let text = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs22.x\n      Handler: index.handler\n      InlineCode: x\n      MemorySize: 5\n      Events:\n        E:\n          Type: HttpApi\n          Properties:\n            Path: /x\n            Method: get\n            PayloadFormatVersion: '3.0'\n";
    let l = load_str(text, Path::new("t.yaml"), &LoadOptions::default());
    let errors: Vec<String> = l.errors().map(ToString::to_string).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("t.yaml:9:19:") && e.contains("MemorySize")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("t.yaml:16:35:") && e.contains("PayloadFormatVersion")),
        "{errors:#?}"
    );
}
