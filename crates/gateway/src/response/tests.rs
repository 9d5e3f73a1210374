use super::*;

fn ok(version: PayloadVersion, payload: &str) -> Answer {
    match map(version, payload.as_bytes()) {
        Ok(a) => a,
        Err(e) => panic!("{payload}: {e}"),
    }
}

fn bad(version: PayloadVersion, payload: &str) -> MappingError {
    match map(version, payload.as_bytes()) {
        Ok(a) => panic!("{payload} mapped to {a:?}"),
        Err(e) => e,
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> Vec<&'a str> {
    a.headers
        .iter()
        .filter(|(n, _)| n.as_str() == name)
        .filter_map(|(_, v)| v.to_str().ok())
        .collect()
}

#[test]
fn v2_inferred_responses() {
    let a = ok(PayloadVersion::V2, r#""Hello from Lambda!""#);
    assert_eq!(
        (a.status.as_u16(), &a.body[..]),
        (200, &b"Hello from Lambda!"[..])
    );
    assert_eq!(header(&a, "content-type"), ["application/json"]);

    let a = ok(PayloadVersion::V2, r#"{ "message": "Hello from Lambda!" }"#);
    assert_eq!(&a.body[..], br#"{"message":"Hello from Lambda!"}"#);
    assert_eq!(a.status, StatusCode::OK);

    for (payload, body) in [
        ("42", "42"),
        ("true", "true"),
        ("null", "null"),
        ("[1, 2]", "[1,2]"),
    ] {
        let a = ok(PayloadVersion::V2, payload);
        assert_eq!(
            (a.status.as_u16(), &a.body[..]),
            (200, body.as_bytes()),
            "{payload}"
        );
    }
}

#[test]
fn v2_structured_response() {
    let a = ok(
        PayloadVersion::V2,
        r#"{"statusCode": 201, "headers": {"x-n": 5, "x-b": true, "content-type": "text/plain"},
            "multiValueHeaders": {"x-ignored": ["1"]}, "body": "made",
            "cookies": ["a=1; Path=/", "b=2"], "extra": 1}"#,
    );
    assert_eq!(a.status.as_u16(), 201);
    assert_eq!(&a.body[..], b"made");
    assert_eq!(header(&a, "x-n"), ["5"]);
    assert_eq!(header(&a, "x-b"), ["true"]);
    assert_eq!(header(&a, "content-type"), ["text/plain"]);
    assert_eq!(header(&a, "set-cookie"), ["a=1; Path=/", "b=2"]);
    assert!(header(&a, "x-ignored").is_empty());
}

#[test]
fn v2_defaults_and_base64() {
    let a = ok(PayloadVersion::V2, r#"{"statusCode": 204}"#);
    assert_eq!(a.status.as_u16(), 204);
    assert!(a.body.is_empty());
    assert_eq!(header(&a, "content-type"), ["application/json"]);

    let a = ok(
        PayloadVersion::V2,
        r#"{"statusCode": 200, "body": "AAEC/w==", "isBase64Encoded": true}"#,
    );
    assert_eq!(&a.body[..], &[0u8, 1, 2, 255][..]);
}

#[test]
fn v2_malformed() {
    for payload in [
        "not json",
        "",
        r#"{"statusCode": "200"}"#,
        r#"{"statusCode": 99}"#,
        r#"{"statusCode": 600}"#,
        r#"{"statusCode": 200.5}"#,
        r#"{"statusCode": -1}"#,
        r#"{"statusCode": null}"#,
        r#"{"statusCode": 200, "body": {"a": 1}}"#,
        r#"{"statusCode": 200, "body": 5}"#,
        r#"{"statusCode": 200, "headers": "x"}"#,
        r#"{"statusCode": 200, "headers": {"a": [1]}}"#,
        r#"{"statusCode": 200, "headers": {"bad name": "1"}}"#,
        r#"{"statusCode": 200, "headers": {"a": "line\nbreak"}}"#,
        r#"{"statusCode": 200, "cookies": "a=1"}"#,
        r#"{"statusCode": 200, "cookies": [1]}"#,
        r#"{"statusCode": 200, "isBase64Encoded": "yes"}"#,
        r#"{"statusCode": 200, "isBase64Encoded": true, "body": "***"}"#,
    ] {
        let e = bad(PayloadVersion::V2, payload);
        assert!(e.problem.starts_with("payload format 2.0 response"), "{e}");
        assert!(e.expected.contains("statusCode"), "{e}");
        assert_eq!(e.got, payload);
    }
}

#[test]
fn v1_structured_response_merges_headers() {
    let a = ok(
        PayloadVersion::V1,
        r#"{"statusCode": 200, "headers": {"x-a": "1", "content-type": "text/html"},
            "multiValueHeaders": {"x-a": ["1", "2"], "set-cookie": ["a=1", "b=2"]},
            "body": "<p>", "isBase64Encoded": false, "unknown": 1}"#,
    );
    assert_eq!(a.status.as_u16(), 200);
    assert_eq!(&a.body[..], b"<p>");
    assert_eq!(header(&a, "x-a"), ["1", "2"]);
    assert_eq!(header(&a, "set-cookie"), ["a=1", "b=2"]);
    assert_eq!(header(&a, "content-type"), ["text/html"]);

    let a = ok(PayloadVersion::V1, r#"{"statusCode": 404}"#);
    assert_eq!(a.status.as_u16(), 404);
    assert!(a.body.is_empty());
    assert_eq!(header(&a, "content-type"), ["application/json"]);
}

#[test]
fn v1_malformed() {
    for payload in [
        r#""Hello""#,
        "[]",
        "42",
        "not json",
        r#"{"body": "no status"}"#,
        r#"{"statusCode": "200"}"#,
        r#"{"statusCode": 200, "body": {"a": 1}}"#,
        r#"{"statusCode": 200, "multiValueHeaders": {"a": "1"}}"#,
        r#"{"statusCode": 200, "multiValueHeaders": []}"#,
        r#"{"statusCode": 200, "isBase64Encoded": 1}"#,
    ] {
        let e = bad(PayloadVersion::V1, payload);
        assert!(e.problem.starts_with("payload format 1.0 response"), "{e}");
    }
    let e = bad(PayloadVersion::V1, r#"{"body": "x"}"#);
    assert_eq!(
        e.problem,
        r#"payload format 1.0 response has no "statusCode", so there is no status code to answer with"#
    );
    assert!(e.expected.starts_with(r#"return {"statusCode": 200"#));
}

#[test]
fn truncates_long_payloads() {
    let long = "x".repeat(1000);
    let t = truncate(long.as_bytes());
    assert!(t.starts_with(&"x".repeat(200)));
    assert!(t.ends_with("… (1000 bytes)"), "{t}");
    assert_eq!(truncate("é".repeat(10).as_bytes()), "é".repeat(10));
}
