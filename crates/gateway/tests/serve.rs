//! The gateway over real HTTP on 127.0.0.1 with a fake invoker (closure-based test double).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use stackgate_gateway::{Gateway, GatewayOptions, InvokeOutcome, Invoker};
use stackgate_template::{
    Api, Authorizer, FunctionTarget, Integration, Location, Model, Route, Stage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Behaviour = dyn Fn(&str, &Value) -> (Duration, InvokeOutcome) + Send + Sync;

/// Records every invocation and answers with `behaviour(function name, event)`.
struct Fake {
    calls: Mutex<Vec<(String, Value, String)>>,
    behaviour: Box<Behaviour>,
}

impl Invoker for Fake {
    fn invoke<'a>(
        &'a self,
        function: &'a FunctionTarget,
        payload: Bytes,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = InvokeOutcome> + Send + 'a>> {
        Box::pin(async move {
            let event: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            let (delay, outcome) = (self.behaviour)(&function.function_name, &event);
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((function.function_name.clone(), event, request_id.to_owned()));
            }
            tokio::time::sleep(delay).await;
            outcome
        })
    }
}

fn loc() -> Location {
    Location::default()
}

fn route(key: &str, integration: Option<&str>) -> Route {
    Route {
        logical_id: format!("R{}", key.len()),
        id: "rid".into(),
        api: "Api".into(),
        route_key: key.into(),
        integration: integration.map(Into::into),
        authorization_type: "NONE".into(),
        authorizer: None,
        authorization_scopes: vec![],
        location: loc(),
    }
}

fn integration(id: &str, function: &str, version: Option<&str>, timeout_ms: u64) -> Integration {
    Integration {
        logical_id: id.into(),
        id: id.to_lowercase(),
        api: "Api".into(),
        integration_type: "AWS_PROXY".into(),
        uri: format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
        function: Some(FunctionTarget {
            function_name: function.into(),
            qualifier: None,
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
        }),
        payload_format_version: version.map(Into::into),
        timeout_ms,
        credentials_arn: None,
        location: loc(),
    }
}

fn stage(name: &str) -> Stage {
    Stage {
        logical_id: format!("Stage{}", name.len()),
        api: "Api".into(),
        name: name.into(),
        auto_deploy: true,
        stage_variables: BTreeMap::from([("env".to_owned(), name.to_owned())]),
        location: loc(),
    }
}

fn model() -> Model {
    let mut secure = route("GET /secure", Some("V2"));
    secure.authorization_type = "JWT".into();
    secure.authorizer = Some("Jwt".into());
    let mut lambda_auth = route("GET /lambda-auth", Some("V2"));
    lambda_auth.authorization_type = "CUSTOM".into();
    lambda_auth.authorizer = Some("LambdaAuth".into());
    Model {
        apis: vec![Api {
            logical_id: "Api".into(),
            id: "abc1234567".into(),
            name: "test".into(),
            protocol_type: "HTTP".into(),
            endpoint: "https://abc1234567.execute-api.us-east-1.amazonaws.com".into(),
            disable_execute_api_endpoint: false,
            location: loc(),
        }],
        stages: vec![stage("$default"), stage("dev")],
        routes: vec![
            route("GET /pets/{id}", Some("V2")),
            route("ANY /v1/{proxy+}", Some("V1")),
            route("GET /slow", Some("Slow")),
            route("GET /no-target", None),
            route("GET /no-version", Some("NoVersion")),
            secure,
            lambda_auth,
            route("POST /upload", Some("V2")),
        ],
        integrations: vec![
            integration("V2", "echo", Some("2.0"), 30_000),
            integration("V1", "v1fn", Some("1.0"), 30_000),
            integration("Slow", "slow", Some("2.0"), 100),
            integration("NoVersion", "echo", None, 30_000),
        ],
        authorizers: vec![
            Authorizer {
                logical_id: "Jwt".into(),
                id: "jwt".into(),
                api: "Api".into(),
                name: "jwt".into(),
                authorizer_type: "JWT".into(),
                identity_source: vec!["$request.header.Authorization".into()],
                issuer: Some("http://127.0.0.1:9/issuer".into()),
                audience: vec!["aud".into()],
                location: loc(),
            },
            Authorizer {
                logical_id: "LambdaAuth".into(),
                id: "la".into(),
                api: "Api".into(),
                name: "la".into(),
                authorizer_type: "REQUEST".into(),
                identity_source: vec!["$request.header.Authorization".into()],
                issuer: None,
                audience: vec![],
                location: loc(),
            },
        ],
        // API Gateway may invoke every function (resource-based permission on the API).
        permissions: ["echo", "v1fn", "slow"]
            .into_iter()
            .map(|f| stackgate_template::Permission {
                logical_id: format!("{f}Permission"),
                action: "lambda:InvokeFunction".into(),
                function_name: f.into(),
                principal: "apigateway.amazonaws.com".into(),
                source_arn: Some("arn:aws:execute-api:us-east-1:123456789012:abc1234567/*".into()),
                source_account: None,
                location: loc(),
            })
            .collect(),
        ..Model::default()
    }
}

/// The default behaviour: `echo` returns the event as a 2.0 body; `v1fn` a 1.0 response.
fn default_behaviour(function: &str, event: &Value) -> (Duration, InvokeOutcome) {
    let path = event["rawPath"]
        .as_str()
        .or(event["path"].as_str())
        .unwrap_or("");
    let outcome = match (function, path) {
        (_, p) if p.ends_with("/malformed") => InvokeOutcome::Response(Bytes::from_static(
            br#"{"statusCode": 200, "body": {"not": "a string"}}"#,
        )),
        (_, p) if p.ends_with("/throw") => InvokeOutcome::FunctionError {
            error_type: "Error".into(),
            payload: Bytes::from_static(br#"{"errorType":"Error","errorMessage":"boom"}"#),
        },
        (_, p) if p.ends_with("/rejected") => InvokeOutcome::Rejected("could not start".into()),
        ("v1fn", _) => InvokeOutcome::Response(Bytes::from(
            json!({
                "statusCode": 201,
                "headers": {"x-single": "s"},
                "multiValueHeaders": {"x-multi": ["1", "2"]},
                "body": "created",
                "ignored": true
            })
            .to_string(),
        )),
        ("slow", _) => {
            return (
                Duration::from_secs(3),
                InvokeOutcome::Response(Bytes::new()),
            );
        }
        _ => InvokeOutcome::Response(Bytes::from(
            json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "cookies": ["a=1", "b=2"],
                "body": event.to_string()
            })
            .to_string(),
        )),
    };
    (Duration::ZERO, outcome)
}

struct Server {
    addr: std::net::SocketAddr,
    fake: Arc<Fake>,
}

async fn start() -> Server {
    start_with(model()).await
}

async fn start_with(model: Model) -> Server {
    let fake = Arc::new(Fake {
        calls: Mutex::new(Vec::new()),
        behaviour: Box::new(default_behaviour),
    });
    let invoker: Arc<dyn Invoker> = fake.clone();
    let gateway = Gateway::new(
        &model,
        invoker,
        GatewayOptions {
            dev_issuer: None,
            keys: stackgate_jwt::KeyCache::new(Duration::from_millis(1500)),
        },
    )
    .expect("gateway compiles");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(Arc::new(gateway).serve(listener));
    Server { addr, fake }
}

impl Server {
    fn calls(&self) -> Vec<(String, Value, String)> {
        self.fake
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn request_id(&self) -> String {
        let id = self
            .header("apigw-requestid")
            .unwrap_or_default()
            .to_owned();
        assert_eq!(id.len(), 16, "apigw-requestid {id:?}");
        assert!(id.ends_with('='), "{id}");
        id
    }
}

/// Reads one response (framed by content-length) from `stream`.
async fn read_reply(stream: &mut TcpStream) -> Reply {
    read_reply_to(stream, false).await
}

/// Reads one response; `head_only` for answers to HEAD (no body follows the headers).
async fn read_reply_to(stream: &mut TcpStream, head_only: bool) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(
            n > 0,
            "connection closed before headers: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len && !head_only {
        let n = stream.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Reply {
        status,
        headers,
        body,
    }
}

async fn request(
    server: &Server,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\nuser-agent: gw-test\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write body");
    read_reply_to(&mut stream, method == "HEAD").await
}

async fn get(server: &Server, target: &str) -> Reply {
    request(server, "GET", target, &[], b"").await
}

#[tokio::test]
async fn not_found_has_aws_body_and_headers() {
    let server = start().await;
    for target in ["/nope", "/pets/1/extra", "/pets/1/", "/dev/nope"] {
        let r = get(&server, target).await;
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.request_id();
    }
    // HEAD does not match a GET route.
    let r = request(&server, "HEAD", "/pets/1", &[], b"").await;
    assert_eq!(r.status, 404);
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn v2_event_is_forwarded_and_response_mapped() {
    let server = start().await;
    let r = request(
        &server,
        "GET",
        "/pets/a%20b?x=1&x=2",
        &[
            ("cookie", "c=1; d=2"),
            ("x-custom", "one"),
            ("x-custom", "two"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.all("set-cookie"), ["a=1", "b=2"]);
    let id = r.request_id();
    let event = r.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /pets/{id}");
    assert_eq!(event["rawPath"], "/pets/a%20b");
    assert_eq!(event["rawQueryString"], "x=1&x=2");
    assert_eq!(event["cookies"], json!(["c=1", "d=2"]));
    assert_eq!(event["headers"]["x-custom"], "one,two");
    assert_eq!(event["headers"]["user-agent"], "gw-test");
    assert_eq!(event["headers"]["x-forwarded-proto"], "http");
    assert_eq!(
        event["headers"]["x-forwarded-port"],
        server.addr.port().to_string()
    );
    assert_eq!(event["queryStringParameters"]["x"], "1,2");
    assert_eq!(event["pathParameters"]["id"], "a b");
    assert_eq!(event["stageVariables"]["env"], "$default");
    assert_eq!(event["requestContext"]["requestId"], id);
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert!(event.get("body").is_none());
    let calls = server.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "echo");
    assert_eq!(calls[0].2, id);
}

#[tokio::test]
async fn named_stage_keeps_prefix_in_raw_path() {
    let server = start().await;
    let r = get(&server, "/dev/pets/7").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = r.json();
    assert_eq!(event["rawPath"], "/dev/pets/7");
    assert_eq!(event["requestContext"]["http"]["path"], "/dev/pets/7");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["stageVariables"]["env"], "dev");
    assert_eq!(event["pathParameters"]["id"], "7");
}

#[tokio::test]
async fn v1_event_and_response() {
    let server = start().await;
    let r = request(
        &server,
        "POST",
        "/v1/a/b?q=1&q=2",
        &[("content-type", "text/plain")],
        b"hello",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.text(), "created");
    assert_eq!(r.header("x-single"), Some("s"));
    assert_eq!(r.all("x-multi"), ["1", "2"]);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let calls = server.calls();
    let event = &calls[0].1;
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["resource"], "/v1/{proxy+}");
    assert_eq!(event["path"], "/v1/a/b");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["queryStringParameters"]["q"], "2");
    assert_eq!(
        event["multiValueQueryStringParameters"]["q"],
        json!(["1", "2"])
    );
    assert_eq!(event["pathParameters"]["proxy"], "a/b");
    assert_eq!(event["body"], "hello");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["requestContext"]["requestId"], r.request_id());
}

#[tokio::test]
async fn function_failures_answer_500() {
    let server = start().await;
    for target in [
        "/pets/malformed",
        "/pets/throw",
        "/pets/rejected",
        "/v1/x/malformed",
    ] {
        let r = get(&server, target).await;
        assert_eq!(r.status, 500, "{target}: {}", r.text());
        assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.request_id();
    }
    assert_eq!(server.calls().len(), 4);
}

#[tokio::test]
async fn unusable_routes_answer_500_without_invoking() {
    let server = start().await;
    for target in ["/no-target", "/no-version", "/lambda-auth"] {
        let r = get(&server, target).await;
        assert_eq!(r.status, 500, "{target}");
        assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
    }
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn integration_timeout_is_503() {
    let server = start().await;
    let started = Instant::now();
    let r = get(&server, "/slow").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), r#"{"message":"Service Unavailable"}"#);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    r.request_id();
}

#[tokio::test]
async fn body_over_10_mb_is_413() {
    let server = start().await;
    // Declared length over the quota: refused before the body is read.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 10485761\r\n\r\n")
        .await
        .expect("write");
    let r = read_reply(&mut stream).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), r#"{"message":"Request Entity Too Large"}"#);
    r.request_id();

    // Chunked body that grows past the quota.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .expect("write");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..11 {
            let head = format!("{:x}\r\n", chunk.len());
            if wr.write_all(head.as_bytes()).await.is_err()
                || wr.write_all(&chunk).await.is_err()
                || wr.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
    });
    let mut buf = Vec::new();
    let _ = rd.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains(r#"{"message":"Request Entity Too Large"}"#),
        "{text}"
    );
    writer.abort();
    assert!(server.calls().is_empty());

    // Just under the quota is accepted.
    let body = vec![b'a'; 10 * 1024 * 1024];
    let r = request(
        &server,
        "POST",
        "/upload",
        &[("content-type", "text/plain")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn jwt_route_without_token_is_401_and_never_invokes() {
    let server = start().await;
    let r = get(&server, "/secure").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    let www = r.header("www-authenticate").unwrap_or_default();
    assert!(
        www.starts_with(r#"Bearer scope="" error="invalid_token" error_description=""#),
        "{www}"
    );
    r.request_id();

    let r = request(
        &server,
        "GET",
        "/secure",
        &[("authorization", "Bearer not-a-jwt")],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn keep_alive_serves_several_requests_per_connection() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut ids = Vec::new();
    for target in ["/pets/1", "/nope", "/pets/2"] {
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let r = read_reply(&mut stream).await;
        assert!(r.status == 200 || r.status == 404);
        ids.push(r.request_id());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn stage_without_default_answers_404_outside_it() {
    let mut m = model();
    m.stages = vec![stage("prod")];
    let server = start_with(m).await;
    assert_eq!(get(&server, "/pets/1").await.status, 404);
    let r = get(&server, "/prod/pets/1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["rawPath"], "/prod/pets/1");
}

#[tokio::test]
async fn missing_issuer_without_dev_issuer_is_a_config_error() {
    let mut m = model();
    m.authorizers[0].issuer = None;
    let fake: Arc<dyn Invoker> = Arc::new(Fake {
        calls: Mutex::new(Vec::new()),
        behaviour: Box::new(default_behaviour),
    });
    let opts = || GatewayOptions {
        dev_issuer: None,
        keys: stackgate_jwt::KeyCache::new(Duration::from_millis(100)),
    };
    assert!(Gateway::new(&m, fake.clone(), opts()).is_err());
    let with_dev = GatewayOptions {
        dev_issuer: Some("http://127.0.0.1:9".into()),
        ..opts()
    };
    assert!(Gateway::new(&m, fake, with_dev).is_ok());
}

#[tokio::test]
async fn jwt_tokens_from_a_real_issuer() {
    // A dev issuer serving discovery + JWKS on 127.0.0.1.
    let issuer_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind issuer");
    let issuer_url = format!("http://{}/", issuer_listener.local_addr().expect("addr"));
    let dir = std::env::temp_dir().join(format!(
        "stackgate-gateway-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("state dir");
    let issuer = Arc::new(
        stackgate_issuer::DevIssuer::load_or_create(&dir, issuer_url.clone()).expect("issuer"),
    );
    tokio::spawn(stackgate_issuer::serve(issuer_listener, issuer.clone()));

    let mut m = model();
    m.authorizers[0].issuer = Some(issuer_url);
    let mut scoped = route("GET /scoped", Some("V1"));
    scoped.authorization_type = "JWT".into();
    scoped.authorizer = Some("Jwt".into());
    scoped.authorization_scopes = vec!["read".into()];
    m.routes.push(scoped);
    let server = start_with(m).await;

    let mint = |extra: Value| {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!("user-1"));
        claims.insert("aud".into(), json!("aud"));
        claims.insert("groups".into(), json!(["admin", "dev"]));
        if let Value::Object(extra) = extra {
            claims.extend(extra);
        }
        issuer.mint(claims, 300).expect("mint")
    };

    // Valid token, route without scopes: claims stringified, scopes null.
    let token = mint(json!({"scope": "read write"}));
    let bearer = format!("Bearer {token}");
    let r = request(
        &server,
        "GET",
        "/secure",
        &[("authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let jwt = &r.json()["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["sub"], "user-1");
    assert_eq!(jwt["claims"]["groups"], "[admin dev]");
    assert!(jwt["claims"]["exp"].is_string());
    assert_eq!(jwt["scopes"], Value::Null);

    // Route with scopes (payload 1.0): the token's scopes are listed.
    let r = request(&server, "GET", "/scoped", &[("authorization", &token)], b"").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let calls = server.calls();
    let event = &calls[calls.len() - 1].1;
    assert_eq!(
        event["requestContext"]["authorizer"]["claims"]["sub"],
        "user-1"
    );
    assert_eq!(
        event["requestContext"]["authorizer"]["scopes"],
        json!(["read", "write"])
    );

    // Valid token without the route's scope: 403, not invoked.
    let before = server.calls().len();
    let no_scope = format!("Bearer {}", mint(json!({})));
    let r = request(
        &server,
        "GET",
        "/scoped",
        &[("authorization", &no_scope)],
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));

    // Wrong audience: 401 with AWS's description.
    let wrong_aud = format!("Bearer {}", mint(json!({"aud": "other"})));
    let r = request(
        &server,
        "GET",
        "/secure",
        &[("authorization", &wrong_aud)],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    assert_eq!(server.calls().len(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
