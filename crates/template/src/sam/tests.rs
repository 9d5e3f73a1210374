#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::{LoadOptions, Loaded, Model, load_str};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("stackgate-sam-unit-{}", std::process::id()));
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(
        d.join("src/index.js"),
        "exports.handler = async () => ({});",
    )
    .unwrap();
    std::fs::write(d.join("code.zip"), b"PK\x05\x06").unwrap();
    d
}

fn load(yaml: &str) -> Loaded {
    let text = format!("Transform: AWS::Serverless-2016-10-31\n{yaml}");
    load_str(&text, &dir().join("template.yaml"), &LoadOptions::default())
}

fn model(yaml: &str) -> Model {
    let l = load(yaml);
    let msgs: Vec<String> = l.diagnostics.iter().map(ToString::to_string).collect();
    l.model.unwrap_or_else(|| panic!("{msgs:#?}"))
}

fn errors(yaml: &str) -> Vec<String> {
    let l = load(yaml);
    assert!(l.model.is_none(), "expected errors");
    l.errors().map(ToString::to_string).collect()
}

fn expect_error(yaml: &str, needle: &str) -> String {
    let e = errors(yaml);
    e.iter()
        .find(|m| m.contains(needle))
        .cloned()
        .unwrap_or_else(|| panic!("no error with {needle:?} in {e:#?}"))
}

const FN: &str = "
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      InlineCode: 'exports.handler = async () => ({})'
";

fn api_id(m: &Model, logical: &str) -> String {
    m.apis
        .iter()
        .find(|a| a.logical_id == logical)
        .map(|a| a.id.clone())
        .unwrap_or_else(|| panic!("no api {logical}"))
}

fn route<'m>(m: &'m Model, key: &str) -> &'m crate::Route {
    m.routes
        .iter()
        .find(|r| r.route_key == key)
        .unwrap_or_else(|| panic!("no route {key}: {:?}", m.routes))
}

fn source_arn(m: &Model, permission: &str) -> String {
    m.permissions
        .iter()
        .find(|p| p.logical_id == permission)
        .and_then(|p| p.source_arn.clone())
        .unwrap_or_else(|| {
            panic!(
                "no permission {permission}: {:?}",
                m.permissions
                    .iter()
                    .map(|p| &p.logical_id)
                    .collect::<Vec<_>>()
            )
        })
}

#[test]
fn implicit_api_default_route_stage_and_permission() {
    let m = model(&format!(
        "Resources:{FN}      Events:\n        Any:\n          Type: HttpApi\nOutputs:\n  Url:\n    Value: !Sub https://${{ServerlessHttpApi}}.execute-api.${{AWS::Region}}.amazonaws.com\n  Ep:\n    Value: !GetAtt ServerlessHttpApi.ApiEndpoint\n"
    ));
    let id = api_id(&m, "ServerlessHttpApi");
    assert_eq!(
        m.apis[0].name, "stackgate",
        "the implicit API is named after the stack"
    );
    let r = route(&m, "$default");
    assert_eq!(r.authorization_type, "NONE");
    let stage = &m.stages[0];
    assert_eq!(stage.logical_id, "ServerlessHttpApiApiGatewayDefaultStage");
    assert_eq!(stage.name, "$default");
    assert!(stage.auto_deploy);
    assert_eq!(
        source_arn(&m, "FnAnyPermission"),
        format!("arn:aws:execute-api:us-east-1:123456789012:{id}/*/*")
    );
    let i = &m.integrations[0];
    assert_eq!(i.payload_format_version.as_deref(), Some("2.0"));
    assert_eq!(
        i.function.as_ref().unwrap().function_name,
        m.functions[0].name
    );
    assert_eq!(i.timeout_ms, 30_000);
    assert_eq!(
        m.outputs[0].value,
        format!("https://{id}.execute-api.us-east-1.amazonaws.com")
    );
    assert!(m.outputs[1].value.contains(&id));
    // The generated role.
    assert_eq!(m.roles[0].logical_id, "FnRole");
    assert_eq!(
        m.functions[0].role_arn.as_deref(),
        Some(m.roles[0].arn.as_str())
    );
}

#[test]
fn no_implicit_api_without_events() {
    let m = model(&format!("Resources:{FN}"));
    assert!(m.apis.is_empty());
    assert!(m.permissions.is_empty());
}

#[test]
fn globals_merge_like_sam() {
    let m = model(&format!(
        "Globals:\n  Function:\n    Runtime: python3.12\n    Timeout: 9\n    MemorySize: 256\n    Environment:\n      Variables:\n        A: global\n        B: global\nResources:{FN}      Environment:\n        Variables:\n          B: local\n          C: local\n  Other:\n    Type: AWS::Serverless::Function\n    IgnoreGlobals: '*'\n    Properties:\n      Runtime: nodejs22.x\n      Handler: index.handler\n      InlineCode: x\n"
    ));
    let f = m.functions.iter().find(|f| f.logical_id == "Fn").unwrap();
    assert_eq!(f.runtime, "nodejs22.x", "local scalars win");
    assert_eq!(f.timeout_s, 9);
    assert_eq!(f.memory_mb, 256);
    let env: Vec<(&str, &str)> = f
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, vec![("A", "global"), ("B", "local"), ("C", "local")]);
    let o = m
        .functions
        .iter()
        .find(|f| f.logical_id == "Other")
        .unwrap();
    assert_eq!(o.timeout_s, 3, "IgnoreGlobals: '*'");
}

#[test]
fn globals_lists_concatenate_and_intrinsics_are_scalars() {
    use crate::node::parse;
    let g = parse("L: [a, b]\nM: {x: 1, y: {z: 1}}\nR: !Ref P\n")
        .0
        .unwrap();
    let l = parse("L: [c]\nM: {y: {w: 2}}\nR: {k: v}\n").0.unwrap();
    let merged = super::globals::merge(&g, &l);
    let items: Vec<&str> = merged
        .get("L")
        .and_then(|n| n.as_seq())
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert_eq!(items, vec!["a", "b", "c"]);
    let y = merged.get("M").and_then(|m| m.get("y")).unwrap();
    assert!(y.get("z").is_some() && y.get("w").is_some());
    assert!(merged.get("M").and_then(|m| m.get("x")).is_some());
    assert!(
        merged.get("R").and_then(|r| r.get("k")).is_some(),
        "types differ: local wins"
    );
}

#[test]
fn globals_unsupported_property_is_an_error() {
    let e = expect_error(
        &format!("Globals:\n  Function:\n    FunctionName: x\nResources:{FN}"),
        "'FunctionName' is not a supported property of 'Function'",
    );
    assert!(e.contains("template.yaml:4:5"), "{e}");
    expect_error(
        &format!("Globals:\n  Nope: {{}}\nResources:{FN}"),
        "'Nope' is not supported",
    );
}

const AUTH_API: &str = "
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            AuthorizationScopes: [read]
            JwtConfiguration:
              issuer: https://issuer.example/
              Audience: [aud1]
          Other:
            IdentitySource: $request.querystring.token
            JwtConfiguration: {Issuer: https://other.example/, audience: [aud2]}
";

#[test]
fn default_authorizer_none_scopes_and_named_authorizers() {
    let m = model(&format!(
        "Resources:{AUTH_API}{FN}      Events:
        A:
          Type: HttpApi
          Properties: {{ApiId: !Ref Api, Path: /a, Method: get}}
        B:
          Type: HttpApi
          Properties: {{ApiId: !Ref Api, Path: /b, Method: post, Auth: {{Authorizer: NONE}}}}
        C:
          Type: HttpApi
          Properties: {{ApiId: !Ref Api, Path: /c, Method: put, Auth: {{AuthorizationScopes: [write, admin]}}}}
        D:
          Type: HttpApi
          Properties: {{ApiId: !Ref Api, Path: /d, Method: delete, Auth: {{Authorizer: Other}}}}
"
    ));
    let jwt = m.authorizers.iter().find(|a| a.name == "Jwt").unwrap();
    assert_eq!(jwt.logical_id, "ApiJwtAuthorizer");
    assert_eq!(jwt.issuer.as_deref(), Some("https://issuer.example/"));
    assert_eq!(jwt.audience, vec!["aud1"]);
    assert_eq!(jwt.identity_source, vec!["$request.header.Authorization"]);
    let other = m.authorizers.iter().find(|a| a.name == "Other").unwrap();
    assert_eq!(other.issuer.as_deref(), Some("https://other.example/"));
    assert_eq!(other.audience, vec!["aud2"]);

    let a = route(&m, "GET /a");
    assert_eq!(a.authorization_type, "JWT");
    assert_eq!(a.authorizer.as_deref(), Some("ApiJwtAuthorizer"));
    assert_eq!(
        a.authorization_scopes,
        vec!["read"],
        "the authorizer's scopes by default"
    );
    let b = route(&m, "POST /b");
    assert_eq!(b.authorization_type, "NONE");
    assert!(b.authorizer.is_none());
    let c = route(&m, "PUT /c");
    assert_eq!(c.authorizer.as_deref(), Some("ApiJwtAuthorizer"));
    assert_eq!(
        c.authorization_scopes,
        vec!["write", "admin"],
        "event scopes replace"
    );
    let d = route(&m, "DELETE /d");
    assert_eq!(d.authorizer.as_deref(), Some("ApiOtherAuthorizer"));
    assert!(d.authorization_scopes.is_empty());
    assert_eq!(m.stages[0].logical_id, "ApiApiGatewayDefaultStage");
}

#[test]
fn auth_errors_follow_the_translator() {
    expect_error(
        &format!(
            "Resources:{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{Path: /a, Method: get, Auth: {{Authorizer: NONE}}}}\n"
        ),
        "'NONE' is only a valid value when a DefaultAuthorizer",
    );
    expect_error(
        &format!(
            "Resources:{AUTH_API}{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{ApiId: !Ref Api, Path: /a, Method: get, Auth: {{Authorizer: Nope}}}}\n"
        ),
        "wasn't defined in the API's Authorizers",
    );
    expect_error(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        DefaultAuthorizer: X\n",
        "Unable to set DefaultAuthorizer because 'X' was not defined",
    );
    expect_error(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        Authorizers:\n          L:\n            FunctionArn: arn:aws:lambda:us-east-1:1:function:x\n            AuthorizerPayloadFormatVersion: '2.0'\n",
        "Lambda authorizers (FunctionArn) are not supported yet",
    );
}

#[test]
fn permission_source_arns() {
    let m = model(&format!(
        "Resources:{FN}      Events:
        Params:
          Type: HttpApi
          Properties: {{Path: '/test/{{id}}/{{proxy+}}', Method: get}}
        Any:
          Type: HttpApi
          Properties: {{Path: /open/, Method: any}}
        Greedy:
          Type: HttpApi
          Properties: {{Path: '/files/{{path+}}', Method: post}}
"
    ));
    let id = api_id(&m, "ServerlessHttpApi");
    let base = format!("arn:aws:execute-api:us-east-1:123456789012:{id}");
    assert_eq!(
        source_arn(&m, "FnParamsPermission"),
        format!("{base}/*/GET/test/*/*")
    );
    assert_eq!(
        source_arn(&m, "FnAnyPermission"),
        format!("{base}/*/*/open")
    );
    // The translator's OpenAPI regex only rewrites {name} and {proxy+}.
    assert_eq!(
        source_arn(&m, "FnGreedyPermission"),
        format!("{base}/*/POST/files/{{path+}}")
    );
    assert!(
        route(&m, "ANY /open").integration.is_some(),
        "the import drops a trailing slash"
    );
}

#[test]
fn a_default_route_covers_the_functions_other_permissions() {
    let m = model(&format!(
        "Resources:{FN}      Events:\n        X:\n          Type: HttpApi\n          Properties: {{Path: /x, Method: get}}\n        D:\n          Type: HttpApi\n"
    ));
    let ids: Vec<&str> = m
        .permissions
        .iter()
        .map(|p| p.logical_id.as_str())
        .collect();
    assert_eq!(ids, vec!["FnDPermission"]);
    assert_eq!(m.routes.len(), 2);
}

#[test]
fn payload_version_timeout_and_route_settings() {
    let m = model(&format!(
        "Resources:{FN}      Events:\n        V1:\n          Type: HttpApi\n          Properties: {{Path: /v1, Method: get, PayloadFormatVersion: '1.0', TimeoutInMillis: 1500, RouteSettings: {{ThrottlingBurstLimit: 5}}}}\n        V2:\n          Type: HttpApi\n          Properties: {{Path: /v2, Method: get}}\n"
    ));
    let v1 = m
        .integrations
        .iter()
        .find(|i| i.logical_id == "FnV1Integration")
        .unwrap();
    assert_eq!(v1.payload_format_version.as_deref(), Some("1.0"));
    assert_eq!(v1.timeout_ms, 1500);
    let v2 = m
        .integrations
        .iter()
        .find(|i| i.logical_id == "FnV2Integration")
        .unwrap();
    assert_eq!(v2.payload_format_version.as_deref(), Some("2.0"));
    assert!(
        m.ignored_properties.iter().any(|p| p.logical_id
            == "ServerlessHttpApiApiGatewayDefaultStage"
            && p.property == "RouteSettings"),
        "{:?}",
        m.ignored_properties
    );
}

#[test]
fn explicit_api_stage_names_and_variables() {
    let m = model(&format!(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      StageName: prod\n      StageVariables: {{v: '1'}}\n  Api2:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      StageName: my-stage\n      Name: named\n{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{ApiId: !Ref Api, Path: /a, Method: get}}\n"
    ));
    let s = m.stages.iter().find(|s| s.api == "Api").unwrap();
    assert_eq!(s.logical_id, "ApiprodStage");
    assert_eq!(s.name, "prod");
    assert_eq!(s.stage_variables.get("v").map(String::as_str), Some("1"));
    let s2 = m.stages.iter().find(|s| s.api == "Api2").unwrap();
    assert_eq!(s2.logical_id, "Api2Stagea9d64949ee");
    assert_eq!(
        m.apis.iter().find(|a| a.logical_id == "Api2").unwrap().name,
        "named"
    );
    assert!(m.apis.iter().all(|a| a.logical_id != "ServerlessHttpApi"));
}

#[test]
fn code_uri_dir_zip_inline_and_s3() {
    let d = dir();
    let m = model(
        "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: nodejs22.x, Handler: index.handler, CodeUri: src/}\n  B:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: nodejs22.x, Handler: index.handler, CodeUri: code.zip}\n  C:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12, Handler: index.handler, InlineCode: 'def handler(e, c): pass'}\n",
    );
    let code = |id: &str| {
        m.functions
            .iter()
            .find(|f| f.logical_id == id)
            .unwrap()
            .code
            .clone()
    };
    assert_eq!(code("A"), crate::Code::Path(d.join("src/")));
    assert_eq!(code("B"), crate::Code::Path(d.join("code.zip")));
    assert_eq!(
        code("C"),
        crate::Code::Inline("def handler(e, c): pass".into())
    );
    let e = expect_error(
        "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs22.x\n      Handler: index.handler\n      CodeUri: s3://bucket/key\n",
        "stackgate needs local code",
    );
    assert!(
        e.contains("template.yaml:8:16"),
        "points at the user's line: {e}"
    );
    expect_error(
        "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: nodejs22.x, Handler: index.handler, CodeUri: missing/}\n",
        "does not exist",
    );
    expect_error(
        "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: nodejs22.x, Handler: index.handler, CodeUri: src/, InlineCode: x}\n",
        "Specify only one of",
    );
}

#[test]
fn unsupported_features_are_named() {
    let m = model(&format!(
        "Resources:{FN}      AutoPublishAlias: live\n      Policies:\n        - AWSLambdaBasicExecutionRole\n        - S3ReadPolicy: {{BucketName: b}}\n        - Statement: [{{Effect: Allow, Action: 's3:*', Resource: '*'}}]\n      Events:\n        Q:\n          Type: SQS\n          Properties: {{Queue: arn:aws:sqs:us-east-1:1:q}}\n  T:\n    Type: AWS::Serverless::SimpleTable\n"
    ));
    let ignored: Vec<String> = m
        .ignored_properties
        .iter()
        .map(|p| format!("{}.{}", p.logical_id, p.property))
        .collect();
    for want in ["Fn.AutoPublishAlias", "Fn.Events.Q", "Fn.Policies[1]"] {
        assert!(ignored.iter().any(|i| i == want), "{want} in {ignored:?}");
    }
    assert!(m.not_emulated.iter().any(|n| n.logical_id == "T"));
    let role = &m.roles[0];
    assert_eq!(role.policies.len(), 1);
    assert_eq!(
        role.managed_policy_arns,
        vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        "the translator adds a managed policy once"
    );
}

#[test]
fn definition_body_and_bad_api_ids_are_refused() {
    expect_error(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      DefinitionBody: {openapi: 3.0.1}\n",
        "DefinitionBody (OpenAPI) is not supported yet",
    );
    expect_error(
        &format!(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{ApiId: !Ref Q, Path: /a, Method: get}}\n"
        ),
        "ApiId must be a valid reference to an 'AWS::Serverless::HttpApi'",
    );
    expect_error(
        &format!(
            "Resources:{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{Path: /a, Method: get}}\n        B:\n          Type: HttpApi\n          Properties: {{Path: /a, Method: GET}}\n"
        ),
        "defined multiple times for path '/a'",
    );
    expect_error(
        &format!(
            "Resources:{FN}      Events:\n        A:\n          Type: HttpApi\n          Properties: {{Path: /a}}\n"
        ),
        "Property 'Method' is required",
    );
}

#[test]
fn diagnostics_from_the_model_builder_point_at_sam_lines() {
    // An unknown runtime-level problem found after the expansion: Timeout out of range.
    let l = load(&format!("Resources:{FN}      Timeout: 901\n"));
    let e: Vec<String> = l.errors().map(ToString::to_string).collect();
    assert!(
        e.iter()
            .any(|m| m.contains("template.yaml:9:16") && m.contains("Timeout")),
        "{e:#?}"
    );
    let _ = Path::new("");
}

#[test]
fn generated_ids_may_not_clash() {
    expect_error(
        &format!("Resources:{FN}  FnRole:\n    Type: AWS::SQS::Queue\n"),
        "generates the logical id `FnRole`, which is already used",
    );
}

#[test]
fn json_sam_templates_with_long_form_intrinsics() {
    let text = r#"{
  "Transform": ["AWS::Serverless-2016-10-31"],
  "Resources": {
    "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {"StageName": "v1"}},
    "Fn": {
      "Type": "AWS::Serverless::Function",
      "Properties": {
        "Runtime": "nodejs22.x", "Handler": "index.handler", "InlineCode": "x",
        "Events": {"E": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/p/{id}", "Method": "GET"}}}
      }
    }
  },
  "Outputs": {"Id": {"Value": {"Ref": "Api"}}}
}"#;
    let l = load_str(text, &dir().join("template.json"), &LoadOptions::default());
    let msgs: Vec<String> = l.diagnostics.iter().map(ToString::to_string).collect();
    let m = l.model.unwrap_or_else(|| panic!("{msgs:#?}"));
    let id = api_id(&m, "Api");
    assert_eq!(m.stages[0].logical_id, "Apiv1Stage");
    assert_eq!(
        source_arn(&m, "FnEPermission"),
        format!("arn:aws:execute-api:us-east-1:123456789012:{id}/*/GET/p/*")
    );
    assert_eq!(m.outputs[0].value, id);
}

#[test]
fn api_stage_references_name_the_generated_stage() {
    let m = model(&format!(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties: {{StageName: prod}}\n{FN}      Events:\n        E:\n          Type: HttpApi\n          Properties: {{ApiId: !Ref Api, Path: /e, Method: get}}\nOutputs:\n  A:\n    Value: !Ref Api.Stage\n  B:\n    Value: !Sub 'https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/${{Api.Stage}}'\n  C:\n    Value: {{Ref: Api.Stage}}\n  D:\n    Value: {{'Fn::Sub': ['${{S}}/x', {{S: !Ref Api.Stage}}]}}\n"
    ));
    let id = api_id(&m, "Api");
    let values: Vec<&str> = m.outputs.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(
        values,
        vec![
            "prod".to_string(),
            format!("https://{id}.execute-api.us-east-1.amazonaws.com/prod"),
            "prod".to_string(),
            "prod/x".to_string()
        ]
    );
}

#[test]
fn event_invoke_config_expands_like_the_translator() {
    let m = model(
        r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: src
      EventInvokeConfig:
        MaximumEventAgeInSeconds: 120
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure:
            Type: SQS
"#,
    );
    let c = &m.event_invoke_configs[0];
    assert_eq!(c.logical_id, "FnEventInvokeConfig");
    assert_eq!(c.function_name, m.functions[0].name);
    assert_eq!(c.qualifier, "$LATEST");
    assert_eq!(c.maximum_retry_attempts, Some(1));
    assert_eq!(c.maximum_event_age_s, Some(120));
    assert!(
        m.ignored_properties
            .iter()
            .any(|p| p.property == "EventInvokeConfig.DestinationConfig"),
        "{:?}",
        m.ignored_properties
    );
}
