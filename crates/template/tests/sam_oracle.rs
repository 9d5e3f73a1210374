#![allow(clippy::unwrap_used)]
//! The oracle for the SAM expansion: AWS's own translator (`aws-sam-translator`, run offline by
//! `fixtures/sam/oracle.py`, which also does API Gateway's OpenAPI import of the `Body` it
//! writes) against stackgate's SAM path. Both results are loaded into a `Model` and compared:
//! APIs, stages, routes with their authorizers (issuer, audience, identity source), scopes,
//! integrations (function, payload version, timeout), permissions' SourceArns, functions, roles
//! and outputs. Skipped, with a note, when `python3 -c "import samtranslator"` fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use stackgate_template::{LoadOptions, Model, load};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn translator_available() -> bool {
    Command::new("python3")
        .args(["-c", "import samtranslator"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the translator + import; `None` when it is not available.
fn translate(template: &Path) -> PathBuf {
    let out = std::env::temp_dir().join(format!(
        "stackgate-sam-oracle-{}-{}.json",
        std::process::id(),
        template.file_stem().unwrap().to_string_lossy()
    ));
    let o = Command::new("python3")
        .arg(root().join("tests/fixtures/sam/oracle.py"))
        .arg(template)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the translator failed on {}:\n{}",
        template.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn loaded(path: &Path) -> Model {
    let l = load(path, &LoadOptions::default());
    let msgs: Vec<String> = l.diagnostics.iter().map(ToString::to_string).collect();
    l.model
        .unwrap_or_else(|| panic!("{} did not load: {msgs:#?}", path.display()))
}

/// What must agree, as sorted text lines (easy to diff).
fn summary(m: &Model) -> BTreeMap<String, Vec<String>> {
    let mut s: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |k: &str, v: String| s.entry(k.to_string()).or_default().push(v);
    for a in &m.apis {
        add(
            "apis",
            format!(
                "{} id={} name={} protocol={} disable_endpoint={}",
                a.logical_id, a.id, a.name, a.protocol_type, a.disable_execute_api_endpoint
            ),
        );
    }
    for st in &m.stages {
        add(
            "stages",
            format!(
                "{} api={} name={} auto_deploy={} vars={:?}",
                st.logical_id, st.api, st.name, st.auto_deploy, st.stage_variables
            ),
        );
    }
    for r in &m.routes {
        let authorizer = r.authorizer.as_ref().map(|id| {
            let a = m
                .authorizers
                .iter()
                .find(|a| &a.logical_id == id)
                .unwrap_or_else(|| panic!("route {} names authorizer {id}", r.route_key));
            format!(
                "{} type={} source={:?} issuer={:?} audience={:?}",
                a.name, a.authorizer_type, a.identity_source, a.issuer, a.audience
            )
        });
        let integration = r.integration.as_ref().map(|id| {
            let i = m
                .integrations
                .iter()
                .find(|i| &i.logical_id == id)
                .unwrap_or_else(|| panic!("route {} names integration {id}", r.route_key));
            format!(
                "{} function={:?} payload={:?} timeout={} uri={}",
                i.integration_type,
                i.function.as_ref().map(|f| &f.function_name),
                i.payload_format_version,
                i.timeout_ms,
                i.uri
            )
        });
        add(
            "routes",
            format!(
                "{} {:?} auth={} authorizer={authorizer:?} scopes={:?} -> {integration:?}",
                r.api, r.route_key, r.authorization_type, r.authorization_scopes
            ),
        );
    }
    for p in &m.permissions {
        add(
            "permissions",
            format!(
                "{} {} {} {} source_arn={:?} account={:?}",
                p.logical_id,
                p.action,
                p.function_name,
                p.principal,
                p.source_arn,
                p.source_account
            ),
        );
    }
    for f in &m.functions {
        let code = match &f.code {
            stackgate_template::Code::Inline(src) => format!("inline {src:?}"),
            stackgate_template::Code::Path(p) => {
                format!("path {}", p.canonicalize().unwrap_or(p.clone()).display())
            }
        };
        add(
            "functions",
            format!(
                "{} name={} arn={} runtime={} handler={} env={:?} timeout={} memory={} reserved={:?} role={:?} code={code}",
                f.logical_id,
                f.name,
                f.arn,
                f.runtime,
                f.handler,
                f.environment,
                f.timeout_s,
                f.memory_mb,
                f.reserved_concurrency,
                f.role_arn
            ),
        );
    }
    for r in &m.roles {
        add(
            "roles",
            format!(
                "{} arn={} managed={:?} policies={}",
                r.logical_id,
                r.arn,
                r.managed_policy_arns,
                serde_json::Value::Array(r.policies.clone())
            ),
        );
    }
    for o in &m.outputs {
        add("outputs", format!("{}={}", o.name, o.value));
    }
    for v in s.values_mut() {
        v.sort();
    }
    s
}

fn compare(template: &Path) {
    let oracle = translate(template);
    let theirs = summary(&loaded(&oracle));
    let ours = summary(&loaded(template));
    let _ = std::fs::remove_file(&oracle);
    if std::env::var_os("STACKGATE_ORACLE_PRINT").is_some() {
        eprintln!("{}: {ours:#?}", template.display());
    }
    let keys: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
    let mut diffs = Vec::new();
    for k in keys {
        let (t, o) = (theirs.get(k), ours.get(k));
        if t != o {
            diffs.push(format!(
                "== {k}\n-- translator:\n{}\n-- stackgate:\n{}",
                t.map(|v| v.join("\n")).unwrap_or_default(),
                o.map(|v| v.join("\n")).unwrap_or_default()
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{}: stackgate's SAM expansion differs from the translator's:\n{}",
        template.display(),
        diffs.join("\n")
    );
    // Something was compared.
    assert!(ours.get("routes").is_some_and(|r| !r.is_empty()));
}

macro_rules! oracle_test {
    ($name:ident, $path:expr) => {
        #[test]
        fn $name() {
            if !translator_available() {
                eprintln!(
                    "note: skipping the SAM oracle: python3 cannot import samtranslator (pip install aws-sam-translator)"
                );
                return;
            }
            compare(&root().join($path));
        }
    };
}

oracle_test!(
    example_sam_http_api,
    "../../examples/sam-http-api/template.yaml"
);
oracle_test!(
    implicit_api_with_globals,
    "tests/fixtures/sam/implicit.yaml"
);
oracle_test!(
    explicit_apis_named_stages,
    "tests/fixtures/sam/explicit.yaml"
);
