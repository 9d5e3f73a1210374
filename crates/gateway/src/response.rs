//! Turns a function's result payload into the HTTP response (reference §3.4). Only this module and
//! `events` know the proxy JSON. A malformed result is a [`MappingError`] saying what came back and
//! what should have; the pipeline answers it with 500.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::error::Answer;

/// Payload format version of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    V1,
    V2,
}

impl PayloadVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "1.0",
            Self::V2 => "2.0",
        }
    }
}

/// Why a function result could not be turned into a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}: {expected}; the function returned: {got}")]
pub struct MappingError {
    /// What is wrong.
    pub problem: String,
    /// What the function should return instead.
    pub expected: String,
    /// The start of what the function returned (about 200 characters).
    pub got: String,
}

const V2_EXAMPLE: &str = r#"return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "..."} (or any JSON value without "statusCode" for a 200 with that JSON as body)"#;
const V1_EXAMPLE: &str =
    r#"return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "..."}"#;

/// Maps `payload` as API Gateway does for `version`.
pub fn map(version: PayloadVersion, payload: &[u8]) -> Result<Answer, MappingError> {
    let fail = |problem: String| MappingError {
        problem: format!("payload format {} response {problem}", version.as_str()),
        expected: match version {
            PayloadVersion::V1 => V1_EXAMPLE.to_owned(),
            PayloadVersion::V2 => V2_EXAMPLE.to_owned(),
        },
        got: truncate(payload),
    };
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| fail(format!("is not valid JSON ({e})")))?;
    match version {
        PayloadVersion::V2 => map_v2(value).map_err(fail),
        PayloadVersion::V1 => map_v1(value).map_err(fail),
    }
}

fn map_v2(value: Value) -> Result<Answer, String> {
    let obj = match value {
        Value::Object(obj) if obj.contains_key("statusCode") => obj,
        // No statusCode: 200, application/json, the value as body (a string's value; else JSON).
        Value::String(s) => return Ok(json_200(Bytes::from(s))),
        other => return Ok(json_200(Bytes::from(other.to_string()))),
    };
    let status = status_code(&obj)?;
    let mut headers = Vec::new();
    if let Some(h) = obj.get("headers") {
        add_single_headers(&mut headers, h)?;
    }
    if let Some(cookies) = obj.get("cookies") {
        match cookies {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    let Value::String(c) = item else {
                        return Err(format!(
                            "has a \"cookies\" entry that is not a string ({item})"
                        ));
                    };
                    headers.push((header::SET_COOKIE, header_value("set-cookie", c)?));
                }
            }
            other => return Err(format!("has \"cookies\" that is not an array ({other})")),
        }
    }
    finish(status, headers, &obj)
}

fn map_v1(value: Value) -> Result<Answer, String> {
    let Value::Object(obj) = value else {
        return Err(format!("is not a JSON object ({})", kind(&value)));
    };
    if !obj.contains_key("statusCode") {
        return Err("has no \"statusCode\", so there is no status code to answer with".to_owned());
    }
    let status = status_code(&obj)?;
    let mut headers = Vec::new();
    if let Some(h) = obj.get("headers") {
        add_single_headers(&mut headers, h)?;
    }
    match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, values) in map {
                let values = match values {
                    Value::Array(values) => values.as_slice(),
                    Value::Null => continue,
                    other => {
                        return Err(format!(
                            "has multiValueHeaders[{name:?}] that is not an array ({other})"
                        ));
                    }
                };
                let name = header_name(name)?;
                for v in values {
                    let text = scalar_text(v).ok_or_else(|| {
                        format!(
                            "has a multiValueHeaders[{name:?}] value that is not a string ({v})"
                        )
                    })?;
                    let value = header_value(name.as_str(), &text)?;
                    // `headers` and `multiValueHeaders` are merged: a value given in both is sent
                    // once.
                    if !headers.iter().any(|(n, v)| *n == name && *v == value) {
                        headers.push((name.clone(), value));
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "has \"multiValueHeaders\" that is not an object ({other})"
            ));
        }
    }
    finish(status, headers, &obj)
}

/// Reads `body` and `isBase64Encoded`, adds the default content type.
fn finish(
    status: StatusCode,
    mut headers: Vec<(HeaderName, HeaderValue)>,
    obj: &Map<String, Value>,
) -> Result<Answer, String> {
    let base64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "has \"isBase64Encoded\" that is not a boolean ({other})"
            ));
        }
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => STANDARD
            .decode(s.as_bytes())
            .map(Bytes::from)
            .map_err(|e| {
                format!("has \"isBase64Encoded\": true but \"body\" is not valid base64 ({e})")
            })?,
        Some(Value::String(s)) => Bytes::copy_from_slice(s.as_bytes()),
        Some(other) => {
            return Err(format!(
                "has a \"body\" that is not a string ({}); serialize it first, e.g. JSON.stringify(body) / json.dumps(body)",
                kind(other)
            ));
        }
    };
    if !headers.iter().any(|(n, _)| *n == header::CONTENT_TYPE) {
        headers.push((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn json_200(body: Bytes) -> Answer {
    Answer {
        status: StatusCode::OK,
        headers: vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    }
}

fn status_code(obj: &Map<String, Value>) -> Result<StatusCode, String> {
    let v = obj.get("statusCode").unwrap_or(&Value::Null);
    let n = v
        .as_u64()
        .filter(|n| (100..=599).contains(n))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            format!("has \"statusCode\": {v}, which is not an integer from 100 to 599")
        })?;
    StatusCode::from_u16(n).map_err(|e| format!("has an unusable \"statusCode\" {n} ({e})"))
}

/// `headers`: a map of strings (numbers and booleans are sent as their text).
fn add_single_headers(
    out: &mut Vec<(HeaderName, HeaderValue)>,
    headers: &Value,
) -> Result<(), String> {
    let map = match headers {
        Value::Null => return Ok(()),
        Value::Object(map) => map,
        other => return Err(format!("has \"headers\" that is not an object ({other})")),
    };
    for (name, v) in map {
        if v.is_null() {
            continue;
        }
        let text = scalar_text(v)
            .ok_or_else(|| format!("has headers[{name:?}] that is not a string ({v})"))?;
        let name = header_name(name)?;
        out.push((name.clone(), header_value(name.as_str(), &text)?));
    }
    Ok(())
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Header names the function may not set: hyper computes the framing itself.
fn header_name(name: &str) -> Result<HeaderName, String> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("has an invalid header name {name:?}"))?;
    Ok(parsed)
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value)
        .map_err(|_| format!("has an invalid value for header {name:?}: {value:?}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first ~200 characters of `payload`, for log lines.
pub fn truncate(payload: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}… ({} bytes)", &text[..i], payload.len()),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests;
