//! The gateway's own per-request steps, without sockets or processes:
//! - `route_match`: stage-less route selection in a 300-route table (the hit is in the middle, a
//!   miss scans everything);
//! - `event_build`: the Lambda proxy event JSON, 2.0 with JWT claims (the seed's `GET /test`),
//!   2.0 without authorizer, and 1.0, from the headers wrk sends plus a bearer token;
//! - `response_map`: the function's answer mapped to the HTTP response (the seed's
//!   `{statusCode, body}`, an inferred 2.0 body, a 1.0 answer);
//! - `request_id`: a new API Gateway request id.
//!
//! Run: `cargo bench -p stackgate-gateway --bench request_path` (figures in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use stackgate_gateway::bench_support::{
    ApiInfo, AuthContext, EventInput, PayloadVersion, Router, StageInfo, map_response,
    new_request_id, v1, v2,
};

/// 300 route keys shaped like a real API: static paths, one-parameter paths, greedy proxies, a
/// few ANY routes.
fn route_keys() -> Vec<String> {
    let mut keys = Vec::with_capacity(300);
    for i in 0..300 {
        keys.push(match i % 4 {
            0 => format!("GET /r{i}/{{id}}"),
            1 => format!("POST /r{i}/items"),
            2 => format!("ANY /r{i}/{{proxy+}}"),
            _ => format!("GET /r{i}/items/{{item}}/detail"),
        });
    }
    keys
}

fn route_match(c: &mut Criterion) {
    let keys = route_keys();
    let (router, errors) = Router::new(keys.iter().enumerate().map(|(i, k)| (i, k.as_str())));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(router.select("GET", "/r148/abc").is_some());
    assert!(router.select("GET", "/nope/abc").is_none());
    let mut g = c.benchmark_group("route_match");
    g.bench_function("300_routes/param_hit", |b| {
        b.iter(|| router.select(black_box("GET"), black_box("/r148/abc")))
    });
    g.bench_function("300_routes/greedy_hit", |b| {
        b.iter(|| router.select(black_box("GET"), black_box("/r150/a/b/c")))
    });
    g.bench_function("300_routes/miss", |b| {
        b.iter(|| router.select(black_box("GET"), black_box("/nope/abc")))
    });
    g.finish();
}

/// The headers `wrk -H "Authorization: Bearer …"` sends, with a dev-issuer-sized token.
fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
    let token = format!("Bearer {}", "eyJhbGciOiJSUzI1NiJ9.".repeat(30));
    h.insert("authorization", HeaderValue::from_str(&token).unwrap());
    h.insert("user-agent", HeaderValue::from_static("wrk/4.2.0"));
    h.insert("accept", HeaderValue::from_static("*/*"));
    h
}

fn claims() -> Map<String, Value> {
    let v = json!({
        "sub": "user-1",
        "aud": "https://api.example.test",
        "iss": "http://127.0.0.1:3001/",
        "scope": "read write",
        "iat": 1_760_000_000,
        "exp": 1_760_007_200,
    });
    v.as_object().cloned().unwrap()
}

fn event_build(c: &mut Criterion) {
    let api = ApiInfo {
        api_id: "abc123defg".into(),
        account_id: "123456789012".into(),
        domain_name: "abc123defg.execute-api.us-east-1.amazonaws.com".into(),
        domain_prefix: "abc123defg".into(),
    };
    let stage = StageInfo {
        name: "$default".into(),
        variables: BTreeMap::new(),
    };
    let headers = headers();
    let auth = AuthContext {
        claims: claims(),
        scopes: None,
    };
    let params = [("proxy", "x".to_owned())];
    let input = EventInput {
        api: &api,
        method: "GET",
        raw_path: "/test",
        raw_query: "",
        headers: &headers,
        body: b"",
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        local_port: 3000,
        request_id: "LV7fzho-PHcEJPw=",
        time: SystemTime::now(),
        route_key: "GET /test",
        stage: &stage,
        path_params: &[],
        authorizer: Some(&auth),
    };
    let open = EventInput {
        authorizer: None,
        raw_path: "/open",
        route_key: "GET /open",
        ..input
    };
    let v1_input = EventInput {
        raw_path: "/rust/x",
        raw_query: "a=1&b=2&a=3",
        route_key: "GET /rust/{proxy+}",
        path_params: &params,
        ..input
    };
    let mut g = c.benchmark_group("event_build");
    g.bench_function("v2_jwt", |b| b.iter(|| v2::build(black_box(&input))));
    g.bench_function("v2_no_authorizer", |b| {
        b.iter(|| v2::build(black_box(&open)))
    });
    g.bench_function("v1_jwt_query_params", |b| {
        b.iter(|| v1::build(black_box(&v1_input)))
    });
    g.finish();
}

fn response_map(c: &mut Criterion) {
    let seed = br#"{"statusCode":200,"body":"\"Hello from Lambda!\""}"#;
    let inferred = br#"{"hello":"world","n":[1,2,3]}"#;
    let v1_answer = br#"{"statusCode":201,"headers":{"content-type":"application/json","x-a":"1"},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"{\"ok\":true}","isBase64Encoded":false}"#;
    assert!(map_response(PayloadVersion::V2, seed).is_ok());
    assert!(map_response(PayloadVersion::V1, v1_answer).is_ok());
    let mut g = c.benchmark_group("response_map");
    g.bench_function("v2_seed", |b| {
        b.iter(|| map_response(PayloadVersion::V2, black_box(seed)))
    });
    g.bench_function("v2_inferred", |b| {
        b.iter(|| map_response(PayloadVersion::V2, black_box(inferred)))
    });
    g.bench_function("v1_headers_cookies", |b| {
        b.iter(|| map_response(PayloadVersion::V1, black_box(v1_answer)))
    });
    g.finish();
}

fn request_id(c: &mut Criterion) {
    c.bench_function("request_id", |b| b.iter(new_request_id));
}

criterion_group!(benches, route_match, event_build, response_map, request_id);
criterion_main!(benches);
