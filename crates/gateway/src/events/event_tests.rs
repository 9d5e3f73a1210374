//! Every field of both event versions, for one request with everything set and one with nothing.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::{ApiInfo, AuthContext, EventInput, v1, v2};
use crate::stage::StageInfo;

fn api() -> ApiInfo {
    ApiInfo {
        api_id: "abc1234567".into(),
        account_id: "123456789012".into(),
        domain_name: "abc1234567.execute-api.us-east-1.amazonaws.com".into(),
        domain_prefix: "abc1234567".into(),
    }
}

fn full_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.append("host", HeaderValue::from_static("localhost:3000"));
    h.append("user-agent", HeaderValue::from_static("curl/8"));
    h.append("X-Custom", HeaderValue::from_static("one"));
    h.append("x-custom", HeaderValue::from_static("two"));
    h.append("cookie", HeaderValue::from_static("a=1; b=2"));
    h.append("cookie", HeaderValue::from_static("c=3"));
    h.append("content-type", HeaderValue::from_static("application/json"));
    h.append("transfer-encoding", HeaderValue::from_static("chunked"));
    h
}

struct Fixture {
    api: ApiInfo,
    headers: HeaderMap,
    stage: StageInfo,
    params: Vec<(&'static str, String)>,
    auth: AuthContext,
}

fn fixture() -> Fixture {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!("user-1"));
    claims.insert("n".into(), json!(42));
    claims.insert("groups".into(), json!(["admin", "dev"]));
    Fixture {
        api: api(),
        headers: full_headers(),
        stage: StageInfo {
            name: "dev".into(),
            variables: BTreeMap::from([("color".to_owned(), "blue".to_owned())]),
        },
        params: vec![("id", "a b".to_owned())],
        auth: AuthContext {
            claims,
            scopes: Some(vec!["read".into(), "write".into()]),
        },
    }
}

fn input<'a>(f: &'a Fixture, body: &'a [u8]) -> EventInput<'a> {
    EventInput {
        api: &f.api,
        method: "POST",
        raw_path: "/dev/pets/a%20b",
        raw_query: "p=1&p=2&q=x%21",
        headers: &f.headers,
        body,
        source_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        local_port: 3000,
        request_id: "LV7fzho-PHcEJPw=",
        time: UNIX_EPOCH + Duration::from_millis(1_587_481_701_123),
        route_key: "POST /pets/{id}",
        stage: &f.stage,
        path_params: &f.params,
        authorizer: Some(&f.auth),
    }
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn take_trace_id(headers: &mut Value) -> String {
    let t = headers
        .as_object_mut()
        .and_then(|h| h.remove("x-amzn-trace-id"))
        .and_then(|v| match v {
            Value::Array(mut items) => items.pop(),
            other => Some(other),
        })
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(t.starts_with("Root=1-5e9f0c65-"), "{t}");
    assert_eq!(t.len(), 7 + 8 + 1 + 24, "{t}");
    t
}

#[test]
fn v2_every_field() {
    let f = fixture();
    let mut event = parse(&v2::build(&input(&f, br#"{"a":1}"#)).unwrap_or_default());
    take_trace_id(&mut event["headers"]);
    assert_eq!(
        event,
        json!({
            "version": "2.0",
            "routeKey": "POST /pets/{id}",
            "rawPath": "/dev/pets/a%20b",
            "rawQueryString": "p=1&p=2&q=x%21",
            "cookies": ["a=1", "b=2", "c=3"],
            "headers": {
                "host": "localhost:3000",
                "user-agent": "curl/8",
                "x-custom": "one,two",
                "content-type": "application/json",
                "content-length": "7",
                "x-forwarded-for": "192.0.2.1",
                "x-forwarded-port": "3000",
                "x-forwarded-proto": "http"
            },
            "queryStringParameters": {"p": "1,2", "q": "x!"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc1234567",
                "authorizer": {"jwt": {
                    "claims": {"sub": "user-1", "n": "42", "groups": "[admin dev]"},
                    "scopes": ["read", "write"]
                }},
                "domainName": "abc1234567.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc1234567",
                "http": {
                    "method": "POST",
                    "path": "/dev/pets/a%20b",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "curl/8"
                },
                "requestId": "LV7fzho-PHcEJPw=",
                "routeKey": "POST /pets/{id}",
                "stage": "dev",
                "time": "21/Apr/2020:15:08:21 +0000",
                "timeEpoch": 1_587_481_701_123u64
            },
            "body": "{\"a\":1}",
            "pathParameters": {"id": "a b"},
            "isBase64Encoded": false,
            "stageVariables": {"color": "blue"}
        })
    );
}

#[test]
fn v2_minimal_request_omits_optional_fields() {
    let mut f = fixture();
    f.headers = HeaderMap::new();
    f.stage.variables.clear();
    f.params.clear();
    let mut i = input(&f, b"");
    i.raw_query = "";
    i.authorizer = None;
    i.route_key = "$default";
    let mut event = parse(&v2::build(&i).unwrap_or_default());
    take_trace_id(&mut event["headers"]);
    let obj = event.as_object().cloned().unwrap_or_default();
    for absent in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ] {
        assert!(!obj.contains_key(absent), "{absent} in {event}");
    }
    assert!(event["requestContext"].get("authorizer").is_none());
    assert_eq!(event["rawQueryString"], "");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["requestContext"]["http"]["userAgent"], "");
    assert_eq!(
        event["headers"],
        json!({
            "host": "abc1234567.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-for": "192.0.2.1",
            "x-forwarded-port": "3000",
            "x-forwarded-proto": "http"
        })
    );
}

#[test]
fn v2_binary_body_and_route_without_scopes() {
    let mut f = fixture();
    f.headers.remove("content-type");
    f.auth.scopes = None;
    let event = parse(&v2::build(&input(&f, &[0, 159, 146, 150])).unwrap_or_default());
    assert_eq!(event["body"], "AJ+Slg==");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["scopes"],
        Value::Null
    );
}

#[test]
fn v1_every_field() {
    let f = fixture();
    let mut event = parse(&v1::build(&input(&f, br#"{"a":1}"#)).unwrap_or_default());
    take_trace_id(&mut event["headers"]);
    let trace = take_trace_id(&mut event["multiValueHeaders"]);
    assert!(!trace.is_empty());
    assert_eq!(
        event,
        json!({
            "version": "1.0",
            "resource": "/pets/{id}",
            "path": "/dev/pets/a%20b",
            "httpMethod": "POST",
            "headers": {
                "host": "localhost:3000",
                "user-agent": "curl/8",
                "x-custom": "two",
                "cookie": "c=3",
                "content-type": "application/json",
                "content-length": "7",
                "x-forwarded-for": "192.0.2.1",
                "x-forwarded-port": "3000",
                "x-forwarded-proto": "http"
            },
            "multiValueHeaders": {
                "host": ["localhost:3000"],
                "user-agent": ["curl/8"],
                "x-custom": ["one", "two"],
                "cookie": ["a=1; b=2", "c=3"],
                "content-type": ["application/json"],
                "content-length": ["7"],
                "x-forwarded-for": ["192.0.2.1"],
                "x-forwarded-port": ["3000"],
                "x-forwarded-proto": ["http"]
            },
            "queryStringParameters": {"p": "2", "q": "x!"},
            "multiValueQueryStringParameters": {"p": ["1", "2"], "q": ["x!"]},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc1234567",
                "authorizer": {
                    "claims": {"sub": "user-1", "n": "42", "groups": "[admin dev]"},
                    "scopes": ["read", "write"]
                },
                "domainName": "abc1234567.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc1234567",
                "extendedRequestId": "LV7fzho-PHcEJPw=",
                "httpMethod": "POST",
                "identity": {
                    "accessKey": null,
                    "accountId": null,
                    "caller": null,
                    "cognitoAuthenticationProvider": null,
                    "cognitoAuthenticationType": null,
                    "cognitoIdentityId": null,
                    "cognitoIdentityPoolId": null,
                    "principalOrgId": null,
                    "sourceIp": "192.0.2.1",
                    "user": null,
                    "userAgent": "curl/8",
                    "userArn": null
                },
                "path": "/dev/pets/a%20b",
                "protocol": "HTTP/1.1",
                "requestId": "LV7fzho-PHcEJPw=",
                "requestTime": "21/Apr/2020:15:08:21 +0000",
                "requestTimeEpoch": 1_587_481_701_123u64,
                "resourceId": null,
                "resourcePath": "/pets/{id}",
                "stage": "dev"
            },
            "pathParameters": {"id": "a b"},
            "stageVariables": {"color": "blue"},
            "body": "{\"a\":1}",
            "isBase64Encoded": false
        })
    );
}

#[test]
fn v1_minimal_request_has_nulls() {
    let mut f = fixture();
    f.stage.variables.clear();
    f.params.clear();
    let mut i = input(&f, b"");
    i.raw_query = "";
    i.authorizer = None;
    i.route_key = "$default";
    let event = parse(&v1::build(&i).unwrap_or_default());
    assert_eq!(event["resource"], "$default");
    assert_eq!(event["requestContext"]["resourcePath"], "$default");
    for null in [
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ] {
        assert_eq!(event.get(null), Some(&Value::Null), "{null}");
    }
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"claims": null, "scopes": null})
    );
}
