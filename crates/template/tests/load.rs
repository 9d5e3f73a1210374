//! Loading whole templates: the model built and the diagnostics given.

use std::path::{Path, PathBuf};

use stackgate_template::{Code, LoadOptions, Loaded, load, load_str};

fn opts() -> LoadOptions {
    LoadOptions {
        stack_name: "teststack".into(),
        ..LoadOptions::default()
    }
}

fn load_yaml(text: &str) -> Loaded {
    load_str(text, Path::new("template.yaml"), &opts())
}

fn messages(l: &Loaded) -> Vec<String> {
    l.diagnostics.iter().map(ToString::to_string).collect()
}

fn expect_error(l: &Loaded, needle: &str) {
    assert!(
        l.model.is_none(),
        "model built despite errors: {:?}",
        messages(l)
    );
    assert!(
        messages(l).iter().any(|m| m.contains(needle)),
        "no `{needle}` in {:#?}",
        messages(l)
    );
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/auth0-http-api/template.yaml")
}

#[test]
fn auth0_example_loads() {
    let l = load(&example(), &opts());
    assert!(l.diagnostics.is_empty(), "{:#?}", messages(&l));
    let m = l.model.unwrap_or_else(|| panic!("no model"));
    assert_eq!(m.apis.len(), 1);
    let api = &m.apis[0];
    assert_eq!(api.id.len(), 10);
    assert!(
        api.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    assert_eq!(
        api.endpoint,
        format!("https://{}.execute-api.us-east-1.amazonaws.com", api.id)
    );
    assert_eq!(m.stages.len(), 1);
    assert_eq!(m.stages[0].name, "$default");
    assert!(m.stages[0].auto_deploy);
    assert_eq!(m.authorizers.len(), 1);
    let a = &m.authorizers[0];
    assert_eq!(a.issuer, None, "IssuerUri has no default: dev issuer");
    assert_eq!(a.audience, vec!["https://api.example.test".to_string()]);
    assert_eq!(
        a.identity_source,
        vec!["$request.header.Authorization".to_string()]
    );
    assert_eq!(m.routes.len(), 1);
    let r = &m.routes[0];
    assert_eq!(r.route_key, "GET /test");
    assert_eq!(r.integration.as_deref(), Some("TestIntegration"));
    assert_eq!(r.authorizer.as_deref(), Some("JwtAuthorizer"));
    assert_eq!(r.authorization_type, "JWT");
    assert_eq!(m.integrations.len(), 1);
    let i = &m.integrations[0];
    assert_eq!(i.id.len(), 7);
    assert_eq!(i.payload_format_version.as_deref(), Some("2.0"));
    assert_eq!(i.timeout_ms, 30_000);
    let f = &m.functions[0];
    assert!(f.name.starts_with("teststack-TestFunction-"), "{}", f.name);
    assert_eq!(
        f.arn,
        format!("arn:aws:lambda:us-east-1:123456789012:function:{}", f.name)
    );
    assert_eq!(
        i.function.as_ref().map(|t| t.arn.clone()),
        Some(f.arn.clone())
    );
    assert_eq!(
        i.function.as_ref().map(|t| t.function_name.clone()),
        Some(f.name.clone())
    );
    assert!(matches!(&f.code, Code::Inline(src) if src.contains("Hello from Lambda")));
    assert_eq!((f.timeout_s, f.memory_mb), (3, 128));
    assert_eq!(m.roles.len(), 2);
    let invoke_role = m
        .roles
        .iter()
        .find(|r| r.logical_id == "ApiGatewayInvokeRole")
        .unwrap_or_else(|| panic!());
    assert_eq!(i.credentials_arn.as_deref(), Some(invoke_role.arn.as_str()));
    assert!(
        invoke_role
            .arn
            .starts_with("arn:aws:iam::123456789012:role/teststack-ApiGatewayInvokeRole-")
    );
    assert_eq!(invoke_role.policies.len(), 1);
    assert_eq!(
        invoke_role.policies[0]["Statement"][0]["Resource"],
        serde_json::Value::String(f.arn.clone())
    );
    assert_eq!(
        f.role_arn.as_deref(),
        m.roles
            .iter()
            .find(|r| r.logical_id == "TestFunctionRole")
            .map(|r| r.arn.as_str())
    );
    assert_eq!(m.outputs.len(), 1);
    assert_eq!(m.outputs[0].value, api.endpoint);
    // Stable across loads.
    let again = load(&example(), &opts()).model.unwrap_or_else(|| panic!());
    assert_eq!(again.apis[0].id, api.id);
    assert_eq!(again.functions[0].name, f.name);
    assert_eq!(again.routes[0].id, r.id);
    // With the issuer given.
    let mut o = opts();
    o.parameter_overrides
        .push(("IssuerUri".into(), "https://tenant.auth0.com/".into()));
    let m = load(&example(), &o).model.unwrap_or_else(|| panic!());
    assert_eq!(
        m.authorizers[0].issuer.as_deref(),
        Some("https://tenant.auth0.com/")
    );
}

const BASE: &str = r#"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: a, ProtocolType: HTTP}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/r
      Code: {ZipFile: "def handler(e, c): return 1"}
"#;

fn with(extra: &str) -> Loaded {
    load_yaml(&format!("{BASE}{extra}"))
}

#[test]
fn integration_uri_forms() {
    for (uri, qualifier) in [
        ("!GetAtt Fn.Arn", None),
        ("!Sub '${Fn.Arn}:live'", Some("live")),
        (
            "!Sub 'arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations'",
            None,
        ),
        (
            "!Sub 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${Fn.Arn}:7/invocations'",
            Some("7"),
        ),
    ] {
        let l = with(&format!(
            "  I:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      PayloadFormatVersion: '2.0'\n      IntegrationUri: {uri}\n"
        ));
        let m = l
            .model
            .unwrap_or_else(|| panic!("{uri}: {:?}", l.diagnostics));
        let t = m.integrations[0]
            .function
            .clone()
            .unwrap_or_else(|| panic!("{uri}"));
        assert_eq!(t.qualifier.as_deref(), qualifier, "{uri}");
        assert_eq!(t.arn, m.functions[0].arn);
        assert_eq!(t.function_name, m.functions[0].name);
    }
}

#[test]
fn integration_timeout_validated() {
    let l = with(
        "  I:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref Api\n      IntegrationType: AWS_PROXY\n      PayloadFormatVersion: '2.0'\n      IntegrationUri: !GetAtt Fn.Arn\n      TimeoutInMillis: 40000\n",
    );
    expect_error(&l, "TimeoutInMillis` must be an integer from 50 to 30000");
}

#[test]
fn route_target_must_be_an_integration() {
    let l = with(
        "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: GET /x\n      Target: integrations/abc\n",
    );
    expect_error(
        &l,
        "template.yaml:18:15: error: Resources.R.Properties.Target: Target `integrations/abc` must be",
    );
}

#[test]
fn quick_create() {
    let l = load_yaml(
        "Resources:\n  Api:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      Name: q\n      ProtocolType: HTTP\n      Target: arn:aws:lambda:us-east-1:123456789012:function:f\n      RouteKey: GET /q\n      CredentialsArn: arn:aws:iam::123456789012:role/x\n",
    );
    let m = l.model.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    assert_eq!(m.integrations.len(), 1);
    assert_eq!(m.integrations[0].integration_type, "AWS_PROXY");
    assert_eq!(
        m.integrations[0].payload_format_version.as_deref(),
        Some("2.0")
    );
    assert_eq!(
        m.integrations[0].credentials_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/x")
    );
    assert_eq!(
        m.integrations[0]
            .function
            .as_ref()
            .map(|f| f.function_name.as_str()),
        Some("f")
    );
    assert_eq!(m.routes[0].route_key, "GET /q");
    assert_eq!(
        m.routes[0].integration.as_deref(),
        Some(m.integrations[0].logical_id.as_str())
    );
    assert_eq!(m.stages[0].name, "$default");
    assert!(m.stages[0].auto_deploy);
}

#[test]
fn ref_getatt_values_per_type() {
    let l = with(concat!(
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      Path: /svc/\n      RoleName: myrole\n      AssumeRolePolicyDocument: {}\n",
        "  S:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: prod}\n",
        "  Q:\n    Type: AWS::SQS::Queue\n",
        "  P:\n    Type: AWS::Lambda::Permission\n    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref Fn, Principal: apigateway.amazonaws.com}\n",
        "Outputs:\n",
        "  ApiId: {Value: !GetAtt Api.ApiId}\n  ApiRef: {Value: !Ref Api}\n",
        "  RoleArn: {Value: !GetAtt Role.Arn}\n  RoleRef: {Value: !Ref Role}\n  RoleId: {Value: !GetAtt Role.RoleId}\n",
        "  Stage: {Value: !Ref S}\n  Queue: {Value: !Ref Q}\n  QueueArn: {Value: !GetAtt Q.Arn}\n  Perm: {Value: !Ref P}\n",
        "  FnRef: {Value: !Ref Fn}\n",
    ));
    let m = l.model.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    let out = |n: &str| {
        m.outputs
            .iter()
            .find(|o| o.name == n)
            .map(|o| o.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(out("ApiId"), out("ApiRef"));
    assert_eq!(out("ApiId"), m.apis[0].id);
    assert_eq!(out("RoleArn"), "arn:aws:iam::123456789012:role/svc/myrole");
    assert_eq!(out("RoleRef"), "myrole");
    assert!(
        out("RoleId").starts_with("AROA") && out("RoleId").len() == 21,
        "{}",
        out("RoleId")
    );
    assert!(
        out("RoleId")
            .chars()
            .skip(4)
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(out("Stage"), "prod");
    assert!(!out("Queue").is_empty());
    assert!(out("QueueArn").starts_with("arn:aws:"));
    assert!(!out("Perm").is_empty());
    assert_eq!(out("FnRef"), m.functions[0].name);
    assert_eq!(m.permissions[0].function_name, m.functions[0].name);
    assert_eq!(m.not_emulated.len(), 1);
    assert_eq!(m.not_emulated[0].logical_id, "Q");
    // A different stack gives different ids; the same one the same.
    let other = load_str(
        BASE,
        Path::new("t.yaml"),
        &LoadOptions {
            stack_name: "other".into(),
            ..opts()
        },
    );
    let other = other.model.unwrap_or_else(|| panic!());
    assert_ne!(other.apis[0].id, m.apis[0].id);
}

#[test]
fn getatt_unknown_attribute_has_position() {
    let l = with("Outputs:\n  X:\n    Value: !GetAtt Fn.Nope\n");
    expect_error(
        &l,
        "template.yaml:15:12: error: Outputs.X.Value.Fn::GetAtt: AWS::Lambda::Function has no attribute `Nope`",
    );
}

#[test]
fn parameters_defaults_overrides_allowed_values() {
    let t = "Parameters:\n  Env:\n    Type: String\n    Default: dev\n    AllowedValues: [dev, prod]\n  Secret:\n    Type: String\n    NoEcho: true\n    AllowedValues: [a]\n    Default: b\n  Subnets:\n    Type: CommaDelimitedList\n    Default: 'x, y,z'\n  Nums:\n    Type: List<Number>\n    Default: '1,2'\n  N:\n    Type: Number\n    Default: 5\nResources:\n  Q:\n    Type: AWS::SQS::Queue\nOutputs:\n  Env: {Value: !Ref Env}\n  Second: {Value: !Select [1, !Ref Subnets]}\n  Joined: {Value: !Join ['+', !Ref Nums]}\n  N: {Value: !Ref N}\n";
    let l = load_yaml(t);
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].contains("parameter Secret") && m[0].contains("****") && !m[0].contains("\"b\""),
        "{m:?}"
    );
    let fixed = t.replace("Default: b", "Default: a");
    let l = load_str(
        &fixed,
        Path::new("t.yaml"),
        &LoadOptions {
            parameter_overrides: vec![("Env".into(), "prod".into())],
            ..opts()
        },
    );
    let model = l.model.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    let out = |n: &str| {
        model
            .outputs
            .iter()
            .find(|o| o.name == n)
            .map(|o| o.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(out("Env"), "prod");
    assert_eq!(out("Second"), "y");
    assert_eq!(out("Joined"), "1+2");
    assert_eq!(out("N"), "5");
    let l = load_str(
        &fixed,
        Path::new("t.yaml"),
        &LoadOptions {
            parameter_overrides: vec![("Env".into(), "qa".into())],
            ..opts()
        },
    );
    expect_error(
        &l,
        "parameter Env: --parameter-overrides value \"qa\" is not one of AllowedValues [dev, prod]",
    );
    let l = load_str(
        &fixed,
        Path::new("t.yaml"),
        &LoadOptions {
            parameter_overrides: vec![("Nope".into(), "1".into())],
            ..opts()
        },
    );
    expect_error(&l, "Parameters: [Nope] do not exist in the template");
    let l = load_str(
        &fixed,
        Path::new("t.yaml"),
        &LoadOptions {
            parameter_overrides: vec![("N".into(), "five".into())],
            ..opts()
        },
    );
    expect_error(&l, "is not a number");
}

#[test]
fn unset_parameter_is_an_error_outside_the_issuer() {
    let l = load_yaml(
        "Parameters:\n  P: {Type: String}\nResources:\n  Q: {Type: 'AWS::SQS::Queue'}\nOutputs:\n  O: {Value: !Sub 'x-${P}'}\n",
    );
    expect_error(
        &l,
        "template.yaml:6:14: error: Outputs.O.Value: parameter P has no value: give it a Default or pass --parameter-overrides P=…",
    );
}

#[test]
fn conditions_skip_resources_and_pick_branches() {
    let l = load_yaml(concat!(
        "Parameters:\n  Env: {Type: String, Default: dev}\n",
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\n  IsDev: !Not [!Condition IsProd]\n",
        "Mappings:\n  Sizes:\n    dev: {Mem: 256}\n    prod: {Mem: 1024}\n",
        "Resources:\n",
        "  ProdOnly:\n    Type: AWS::SQS::Queue\n    Condition: IsProd\n",
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: nodejs22.x\n      Handler: index.handler\n      Role: r\n",
        "      Code: {ZipFile: x}\n      MemorySize: !FindInMap [Sizes, !Ref Env, Mem]\n",
        "      Timeout: !If [IsProd, 30, !Ref AWS::NoValue]\n",
        "      Environment:\n        Variables:\n          MODE: !If [IsDev, development, production]\n          FLAG: true\n          NUM: 3\n",
        "Outputs:\n  Q:\n    Condition: IsProd\n    Value: !GetAtt ProdOnly.Arn\n",
    ));
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    assert!(m.not_emulated.is_empty(), "ProdOnly is skipped");
    assert!(m.outputs.is_empty());
    let f = &m.functions[0];
    assert_eq!(f.memory_mb, 256);
    assert_eq!(f.timeout_s, 3);
    assert_eq!(
        f.environment.get("MODE").map(String::as_str),
        Some("development")
    );
    assert_eq!(f.environment.get("FLAG").map(String::as_str), Some("true"));
    assert_eq!(f.environment.get("NUM").map(String::as_str), Some("3"));
}

#[test]
fn ref_to_a_resource_whose_condition_is_false() {
    let l = load_yaml(
        "Conditions:\n  No: !Equals [a, b]\nResources:\n  Q: {Type: 'AWS::SQS::Queue', Condition: No}\n  R: {Type: 'AWS::SNS::Topic', Properties: {TopicName: !Ref Q}}\n",
    );
    expect_error(&l, "Condition is false");
}

#[test]
fn unknown_properties_missing_required_and_ignored() {
    let l = with(
        "  S:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties:\n      ApiId: !Ref Api\n      Bogus: 1\n",
    );
    expect_error(
        &l,
        "template.yaml:17:7: error: Resources.S.Properties.Bogus: `Bogus` is not a property of AWS::ApiGatewayV2::Stage (cfn-lint E3002)",
    );
    expect_error(&l, "requires the property `StageName`");
    let l = with(
        "  S:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties:\n      ApiId: !Ref Api\n      StageName: $default\n      DefaultRouteSettings: {ThrottlingBurstLimit: 1}\n",
    );
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    assert_eq!(m.ignored_properties.len(), 1);
    assert_eq!(m.ignored_properties[0].property, "DefaultRouteSettings");
    assert_eq!(m.ignored_properties[0].location.line, 18);
}

#[test]
fn errors_are_collected() {
    let l = load_yaml(
        "Resources:\n  A: {Type: 'AWS::SQS::Queue', Properties: {X: !Ref Nope1}}\n  B: {Type: 'AWS::SQS::Queue', Properties: {X: !Ref Nope2}, DependsOn: [Ghost]}\n",
    );
    let m = messages(&l);
    assert!(
        m.iter().any(|x| x.contains("Nope1")) && m.iter().any(|x| x.contains("Nope2")),
        "{m:#?}"
    );
    assert!(
        m.iter().any(|x| x.contains("DependsOn names `Ghost`")),
        "{m:#?}"
    );
}

#[test]
fn sam_openapi_websocket_import_and_s3_code() {
    expect_error(
        &load_yaml(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  F: {Type: 'AWS::Serverless::Function'}\n",
        ),
        "'CodeUri' (a local directory or .zip, relative to the template) or 'InlineCode'",
    );
    expect_error(
        &load_yaml(
            "Resources:\n  A: {Type: 'AWS::ApiGatewayV2::Api', Properties: {Body: {openapi: 3.0.1}}}\n",
        ),
        "OpenAPI",
    );
    let l = load_yaml(
        "Resources:\n  A: {Type: 'AWS::ApiGatewayV2::Api', Properties: {Name: w, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}}\n  R: {Type: 'AWS::ApiGatewayV2::Route', Properties: {ApiId: !Ref A, RouteKey: $connect}}\n",
    );
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    assert_eq!(m.not_emulated.len(), 2);
    let l = with(
        "  G:\n    Type: AWS::Lambda::Function\n    Properties: {Runtime: nodejs22.x, Handler: index.h, Role: r, Code: {S3Bucket: b, S3Key: k}}\n",
    );
    expect_error(&l, "stackgate needs local code");
    expect_error(
        &load_yaml(
            "Resources:\n  A: {Type: 'AWS::SQS::Queue', Properties: {X: !ImportValue Other}}\n",
        ),
        "no other stack exists locally",
    );
}

#[test]
fn code_paths() {
    let dir = std::env::temp_dir().join(format!("stackgate-template-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(dir.join("src"));
    let t = format!(
        "{}  G:\n    Type: AWS::Lambda::Function\n    Properties: {{Runtime: nodejs22.x, Handler: app.h, Role: r, Code: ./src}}\n",
        BASE
    );
    let l = load_str(&t, &dir.join("template.yaml"), &opts());
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    assert!(matches!(&m.functions[1].code, Code::Path(p) if p.ends_with("src")));
    let l = load_str(
        &t.replace("./src", "./missing"),
        &dir.join("template.yaml"),
        &opts(),
    );
    expect_error(&l, "does not exist");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_templates() {
    let l = load_str(
        r#"{
  "Parameters": {"P": {"Type": "String", "Default": "v"}},
  "Resources": {
    "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": {"Fn::Sub": "api-${P}"}, "ProtocolType": "HTTP", "DisableExecuteApiEndpoint": true}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["apigateway.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}, "MaxSessionDuration": 3600}}
  },
  "Outputs": {"E": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}}}
}"#,
        Path::new("template.json"),
        &opts(),
    );
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    assert_eq!(m.apis[0].name, "api-v");
    assert!(m.apis[0].disable_execute_api_endpoint);
    assert_eq!(
        m.roles[0].assume_role_policy["Statement"][0]["Principal"]["Service"][0],
        "apigateway.amazonaws.com"
    );
    assert_eq!(m.outputs[0].value, m.apis[0].endpoint);
    let l = load_str("{\"Resources\": {\"A\": }", Path::new("t.json"), &opts());
    assert!(l.model.is_none());
    assert!(
        l.diagnostics[0].to_string().starts_with("t.json:"),
        "{:?}",
        messages(&l)
    );
}

#[test]
fn partitions() {
    for (region, partition, suffix) in [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("eu-west-1", "aws", "amazonaws.com"),
    ] {
        let l = load_str(
            BASE,
            Path::new("t.yaml"),
            &LoadOptions {
                region: region.into(),
                ..opts()
            },
        );
        let m = l.model.unwrap_or_else(|| panic!());
        assert_eq!(
            m.apis[0].endpoint,
            format!("https://{}.execute-api.{region}.{suffix}", m.apis[0].id)
        );
        assert!(
            m.functions[0]
                .arn
                .starts_with(&format!("arn:{partition}:lambda:{region}:"))
        );
    }
}

#[test]
fn duplicate_keys_and_unknown_tags_are_errors() {
    expect_error(
        &load_yaml("Resources:\n  A: {Type: 'AWS::SQS::Queue'}\n  A: {Type: 'AWS::SNS::Topic'}\n"),
        "template.yaml:3:3: error: duplicate key `A`",
    );
    expect_error(
        &load_yaml(
            "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !Reff Y\n",
        ),
        "template.yaml:5:10: error: Resources.A.Properties.X: unknown tag `!Reff`",
    );
}

#[test]
fn junk_never_panics() {
    let valid = std::fs::read_to_string(example()).unwrap_or_default();
    let mut inputs: Vec<String> = vec![
        String::new(),
        "---".into(),
        "[]".into(),
        "a".into(),
        "Resources: 5".into(),
        "Resources: {A: 5}".into(),
        "Resources: {A: {Type: [1]}}".into(),
        "Resources: {A: {Type: 'AWS::Lambda::Function', Properties: [1]}}".into(),
        "Resources: {A: {Type: 'AWS::Lambda::Function', Properties: {Code: [1], Environment: [x], Timeout: -1}}}".into(),
        "Resources: {A: {Type: 'AWS::IAM::Role', Properties: {Policies: 5, AssumeRolePolicyDocument: !Ref A}}}".into(),
        "Resources: {A: {Type: 'AWS::SQS::Queue', Properties: {X: !Sub [1, 2, 3], Y: !Join 5, Z: !Select [a, b], W: !GetAtt 'A', V: !If [X]}}}".into(),
        "Conditions: {C: !Condition C}\nResources: {A: {Type: 'AWS::SQS::Queue', Condition: C}}".into(),
        "&a [*a]".into(),
        "*unknown".into(),
        "a: !Ref\n".into(),
        "\u{0}\u{1}\u{2}".into(),
        "{\"a\": [1, 2".into(),
        "Resources:\n  R: {Type: 'AWS::IAM::Role', Properties: {RoleName: !GetAtt R.Arn, AssumeRolePolicyDocument: {}}}\n".into(),
    ];
    for cut in (0..valid.len()).step_by(37) {
        if valid.is_char_boundary(cut) {
            inputs.push(valid[..cut].to_string());
        }
    }
    for (i, input) in inputs.iter().enumerate() {
        let l = load_str(input, Path::new("junk.yaml"), &opts());
        if i > 0 && i < 18 {
            assert!(l.model.is_none() || l.diagnostics.is_empty(), "{input:?}");
        }
    }
}

#[test]
fn unset_parameter_anywhere_but_the_issuer_is_an_error() {
    let l = with("Parameters:\n  P: {Type: String}\n");
    assert!(
        l.model.is_some(),
        "an unused unset parameter is fine: {:?}",
        messages(&l)
    );
    let t = format!(
        "Parameters:\n  P: {{Type: String}}\n{BASE}  Q:\n    Type: AWS::SQS::Queue\n    Properties: {{QueueName: !Ref P}}\n"
    );
    expect_error(
        &load_yaml(&t),
        "Resources.Q.Properties: parameter P has no value",
    );
    let t = format!(
        "Parameters:\n  P: {{Type: String}}\n{}",
        BASE.replace(
            "Properties: {Name: a,",
            "Properties: {Description: !Sub 'd ${P}', Name: a,"
        )
    );
    expect_error(
        &load_yaml(&t),
        "Resources.Api.Properties.Description: parameter P has no value",
    );
    let t = format!(
        "Parameters:\n  P: {{Type: String}}\n{BASE}  Au:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties:\n      ApiId: !Ref Api\n      Name: a\n      AuthorizerType: JWT\n      IdentitySource: [$request.header.Authorization]\n      JwtConfiguration: {{Issuer: !Sub '${{P}}', Audience: [!Ref P]}}\n"
    );
    expect_error(
        &load_yaml(&t),
        "JwtConfiguration.Audience: parameter P has no value",
    );
}

#[test]
fn getatt_forms_sub_attributes_and_findinmap() {
    let l = with(concat!(
        "Mappings:\n  M:\n    us-east-1: {Name: east}\n",
        "Outputs:\n",
        "  A: {Value: !GetAtt [Fn, Arn]}\n",
        "  B: {Value: {'Fn::GetAtt': [Api, !Sub 'Api${AWS::NoValue}Endpoint']}}\n",
        "  C: {Value: !Sub '${Fn.Arn}|${Api}'}\n",
        "  D: {Value: !FindInMap [M, !Ref AWS::Region, Name]}\n",
        "  E: {Value: !Join [',', !GetAZs '']}\n",
    ));
    // `${AWS::NoValue}` inside Sub is not a string: an error, at the Sub.
    expect_error(&l, "Outputs.B.Value");
    let l = with(concat!(
        "Mappings:\n  M:\n    us-east-1: {Name: east}\n",
        "Outputs:\n",
        "  A: {Value: !GetAtt [Fn, Arn]}\n",
        "  C: {Value: !Sub '${Fn.Arn}|${Api}'}\n",
        "  D: {Value: !FindInMap [M, !Ref AWS::Region, Name]}\n",
        "  E: {Value: !Join [',', !GetAZs '']}\n",
    ));
    let m = l
        .model
        .clone()
        .unwrap_or_else(|| panic!("{:?}", messages(&l)));
    let out = |n: &str| {
        m.outputs
            .iter()
            .find(|o| o.name == n)
            .map(|o| o.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(out("A"), m.functions[0].arn);
    assert_eq!(out("C"), format!("{}|{}", m.functions[0].arn, m.apis[0].id));
    assert_eq!(out("D"), "east");
    assert_eq!(out("E"), "us-east-1a,us-east-1b,us-east-1c");
    let l = with(
        "Mappings:\n  M:\n    us-east-1: {Name: east}\nOutputs:\n  D: {Value: !FindInMap [M, nowhere, Name]}\n",
    );
    expect_error(&l, "Fn::FindInMap: Mappings has no M.nowhere.Name");
    let l = with("Outputs:\n  D: {Value: !If [Nope, a, b]}\n");
    expect_error(&l, "no condition named `Nope`");
}

#[test]
fn diagnostics_name_their_resource() {
    let l = with(
        "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: GET /, AuthorizationType: JWT}\n",
    );
    assert!(l.model.is_none());
    let d = l.errors().next().unwrap_or_else(|| panic!("no error"));
    assert_eq!(d.resource.as_deref(), Some("R"));
    assert!(d.message.contains("needs AuthorizerId"), "{d}");
}

/// Mutations of a valid template (a tiny deterministic LCG, no dependency): never a panic.
#[test]
fn mutated_templates_never_panic() {
    let valid: Vec<char> = std::fs::read_to_string(example())
        .unwrap_or_default()
        .chars()
        .collect();
    if valid.is_empty() {
        return;
    }
    let specials = [
        '!', ':', '-', '[', ']', '{', '}', '&', '*', '\'', '"', '\n', ' ', '$', '|', '#', 'x',
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
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
        let l = load_str(&text, Path::new("m.yaml"), &opts());
        // Every diagnostic has a position inside the text (or at its end).
        let lines = text.lines().count() + 2;
        for d in &l.diagnostics {
            assert!(d.line >= 1 && d.line <= lines, "{d} in {text}");
        }
    }
}

#[test]
fn jwt_identity_source_exactly_one_header_or_querystring() {
    let authorizer = |source: &str| {
        with(&format!(
            "  Au:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties:\n      ApiId: !Ref Api\n      Name: a\n      AuthorizerType: JWT\n{source}      JwtConfiguration: {{Issuer: 'https://i.test/', Audience: [x]}}\n"
        ))
    };
    for ok in [
        "      IdentitySource: [$request.header.Authorization]\n",
        "      IdentitySource: [$request.querystring.access_token]\n",
        "      IdentitySource: $request.header.X-Token\n",
    ] {
        let l = authorizer(ok);
        assert!(l.model.is_some(), "{ok}: {:#?}", messages(&l));
    }
    // Position of the IdentitySource value.
    let l = authorizer(
        "      IdentitySource: [$request.header.Authorization, $request.querystring.t]\n",
    );
    expect_error(
        &l,
        "template.yaml:19:23: error: Resources.Au.Properties.IdentitySource: a JWT authorizer needs exactly one IdentitySource entry, this one has 2",
    );
    expect_error(&authorizer("      IdentitySource: []\n"), "this one has 0");
    expect_error(
        &authorizer(""),
        "a JWT authorizer requires `IdentitySource` with exactly one entry",
    );
    for bad in [
        "$context.identity.sourceIp",
        "$request.header.",
        "$request.querystring.",
        "$request.header.Bad Name",
        "$stageVariables.token",
    ] {
        expect_error(
            &authorizer(&format!("      IdentitySource: ['{bad}']\n")),
            &format!("IdentitySource {bad:?} is not valid for a JWT authorizer"),
        );
    }
    // A REQUEST authorizer's identity sources are not checked by these rules.
    let l = with(
        "  Au:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties:\n      ApiId: !Ref Api\n      Name: a\n      AuthorizerType: REQUEST\n      AuthorizerPayloadFormatVersion: '2.0'\n      IdentitySource: [$request.header.A, $request.header.B]\n",
    );
    assert!(
        !messages(&l).iter().any(|m| m.contains("IdentitySource")),
        "{:#?}",
        messages(&l)
    );
}

#[test]
fn event_invoke_config() {
    let l = with(
        "  C:\n    Type: AWS::Lambda::EventInvokeConfig\n    Properties:\n      FunctionName: !Ref Fn\n      Qualifier: $LATEST\n      MaximumRetryAttempts: 1\n      MaximumEventAgeInSeconds: 120\n      DestinationConfig: {OnFailure: {Destination: arn:aws:sqs:us-east-1:123456789012:q}}\n",
    );
    let m = l.model.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    let c = &m.event_invoke_configs[0];
    assert_eq!(c.function_name, m.functions[0].name);
    assert_eq!(c.qualifier, "$LATEST");
    assert_eq!(c.maximum_retry_attempts, Some(1));
    assert_eq!(c.maximum_event_age_s, Some(120));
    assert!(
        m.ignored_properties
            .iter()
            .any(|p| p.property == "DestinationConfig"),
        "destinations are named as ignored: {:?}",
        m.ignored_properties
    );
    let l = with(
        "  C:\n    Type: AWS::Lambda::EventInvokeConfig\n    Properties:\n      FunctionName: !Ref Fn\n      Qualifier: $LATEST\n      MaximumEventAgeInSeconds: 30\n",
    );
    expect_error(
        &l,
        "`MaximumEventAgeInSeconds` must be an integer from 60 to 21600, not 30",
    );
}
