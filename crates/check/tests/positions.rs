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

/// `stackgate check` of the two-API fixture with OtherPermission's SourceArn ending in `tail`
/// instead of `/*`: the template's text and the findings.
fn check_two_apis_with_other_source_arn(
    tail: &str,
    name: &str,
) -> (String, Vec<stackgate_check::Finding>) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/two-apis.yaml");
    let source = std::fs::read_to_string(&fixture)
        .unwrap()
        .replace("${OtherApi}/*\n", &format!("${{OtherApi}}{tail}\n"));
    let path = std::env::temp_dir().join(format!(
        "stackgate-check-{name}-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, &source).unwrap();
    let model = load(&path, &LoadOptions::default()).model.unwrap();
    let _ = std::fs::remove_file(&path);
    let findings = stackgate_check::check(&model, &source);
    (source, findings)
}

/// With several APIs, a wrong permission is reported at the permission meant for the route's API
/// (its SourceArn names that API), not at the function's first permission.
#[test]
fn wrong_source_arn_points_at_the_permission_for_that_api() {
    let (source, findings) = check_two_apis_with_other_source_arn("/*/POST/nothing", "post");
    let denied = findings.iter().find(|f| f.code == "SG002").unwrap();
    let line = source.lines().nth(denied.line - 1).unwrap();
    assert!(
        line.contains("${OtherApi}/*/POST/nothing"),
        "SG002 at line {} ({line:?})",
        denied.line
    );
}

/// A SourceArn naming one concrete path of a `{param}` route allows that path only: a warning
/// naming the path, at that permission, not an error saying the route is denied.
#[test]
fn source_arn_with_a_concrete_path_of_a_param_route_is_a_warning() {
    let (source, findings) = check_two_apis_with_other_source_arn("/*/GET/items/42", "concrete");
    assert!(
        !findings.iter().any(|f| f.code == "SG003"),
        "the permission does match a request of the route: {findings:#?}"
    );
    let sg002: Vec<_> = findings.iter().filter(|f| f.code == "SG002").collect();
    assert_eq!(sg002.len(), 1, "{findings:#?}");
    let f = sg002[0];
    assert_eq!(f.severity, stackgate_check::Severity::Warning, "{f:#?}");
    assert!(f.message.contains("only GET /items/42"), "{}", f.message);
    let line = source.lines().nth(f.line - 1).unwrap();
    assert!(
        line.contains("/*/GET/items/42"),
        "SG002 at line {} ({line:?})",
        f.line
    );
}

/// An EventInvokeConfig for a function the template does not define: SG020 at its FunctionName.
#[test]
fn event_invoke_config_for_another_function_is_reported() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/async-retries.yaml");
    let source = std::fs::read_to_string(&fixture).unwrap();
    let model = load(&fixture, &LoadOptions::default()).model.unwrap();
    assert!(
        !stackgate_check::check(&model, &source)
            .iter()
            .any(|f| f.code == "SG020"),
        "the fixture's config names its own function"
    );
    let source = source.replace(
        "FunctionName: !Ref OnceFunction",
        "FunctionName: some-other-function",
    );
    let path =
        std::env::temp_dir().join(format!("stackgate-check-sg020-{}.yaml", std::process::id()));
    std::fs::write(&path, &source).unwrap();
    let model = load(&path, &LoadOptions::default()).model.unwrap();
    let _ = std::fs::remove_file(&path);
    let findings = stackgate_check::check(&model, &source);
    let f = findings.iter().find(|f| f.code == "SG020").unwrap();
    assert_eq!(f.severity, stackgate_check::Severity::Warning);
    let line = source.lines().nth(f.line - 1).unwrap();
    assert!(
        line.contains("FunctionName: some-other-function"),
        "SG020 at {line:?}"
    );
}
