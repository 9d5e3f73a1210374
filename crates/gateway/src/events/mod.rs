//! The Lambda proxy events (payload format 1.0 and 2.0). Only this module and `response` know the
//! proxy JSON. Both versions are built from one [`EventInput`] that borrows from the request.

pub mod v1;
pub mod v2;

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use serde::ser::{Serialize, Serializer};

use crate::clf_time;
use crate::stage::StageInfo;

/// Identity of the API as events show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInfo {
    pub api_id: String,
    pub account_id: String,
    /// `{apiId}.execute-api.{region}.amazonaws.com`
    pub domain_name: String,
    /// First label of `domain_name`.
    pub domain_prefix: String,
}

/// What a JWT authorizer established.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthContext {
    /// The token's claims, as verified (stringified when put into events).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The token's scopes; `None` when the route has no `AuthorizationScopes` (AWS then sends
    /// `null`, even if the token has scopes).
    pub scopes: Option<Vec<String>>,
}

/// Everything an event is made of, borrowed from the request being answered.
#[derive(Debug, Clone, Copy)]
pub struct EventInput<'a> {
    pub api: &'a ApiInfo,
    pub method: &'a str,
    /// Path as sent, including a named-stage prefix.
    pub raw_path: &'a str,
    /// Query string without `?`; `""` when none.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: IpAddr,
    /// Port the client connected to (`x-forwarded-port`).
    pub local_port: u16,
    pub request_id: &'a str,
    pub time: SystemTime,
    /// `$default` or `METHOD /path`.
    pub route_key: &'a str,
    pub stage: &'a StageInfo,
    pub path_params: &'a [(&'a str, String)],
    pub authorizer: Option<&'a AuthContext>,
}

impl EventInput<'_> {
    /// The route key without its method (`/pets/{id}`), or `$default`: 1.0's `resource`.
    pub fn resource_path(&self) -> &str {
        match self.route_key.split_once(' ') {
            Some((_, path)) => path,
            None => self.route_key,
        }
    }

    pub fn user_agent(&self) -> Cow<'_, str> {
        self.headers
            .get(http::header::USER_AGENT)
            .map_or(Cow::Borrowed(""), |v| String::from_utf8_lossy(v.as_bytes()))
    }
}

/// Serializes a list of pairs as a JSON object, keeping order, without building a map.
pub(crate) struct Pairs<'a, K, V>(pub &'a [(K, V)]);

impl<K: Serialize, V: Serialize> Serialize for Pairs<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Headers grouped by lower-case name (first-appearance order), each with all its values, plus
/// the headers API Gateway adds. Hop-by-hop headers are dropped.
pub(crate) fn collect_headers<'a>(
    input: &EventInput<'a>,
    keep_cookie: bool,
) -> Vec<(&'a str, Vec<Cow<'a, str>>)> {
    let mut out: Vec<(&'a str, Vec<Cow<'a, str>>)> =
        Vec::with_capacity(input.headers.keys_len() + 5);
    for name in input.headers.keys() {
        let n = name.as_str();
        if matches!(
            n,
            "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "proxy-connection"
        ) || (!keep_cookie && n == "cookie")
        {
            continue;
        }
        let values = input
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        out.push((n, values));
    }
    let mut set = |name: &'static str, value: String, replace: bool| {
        if let Some((_, values)) = out.iter_mut().find(|(n, _)| *n == name) {
            if replace {
                *values = vec![Cow::Owned(value)];
            }
        } else {
            out.push((name, vec![Cow::Owned(value)]));
        }
    };
    if !input.body.is_empty() {
        set("content-length", input.body.len().to_string(), true);
    }
    set("host", input.api.domain_name.clone(), false);
    set("x-amzn-trace-id", trace_id(input.time), false);
    let forwarded_for = match input.headers.get("x-forwarded-for") {
        Some(v) => format!(
            "{}, {}",
            String::from_utf8_lossy(v.as_bytes()),
            input.source_ip
        ),
        None => input.source_ip.to_string(),
    };
    set("x-forwarded-for", forwarded_for, true);
    set("x-forwarded-port", input.local_port.to_string(), true);
    set("x-forwarded-proto", "http".to_owned(), true);
    out
}

/// `Root=1-{8 hex epoch seconds}-{24 hex random}`.
pub fn trace_id(time: SystemTime) -> String {
    let secs = clf_time::epoch_secs(time) & 0xffff_ffff;
    format!(
        "Root=1-{secs:08x}-{:08x}{:016x}",
        fastrand::u32(..),
        fastrand::u64(..)
    )
}

/// Cookies from every `Cookie` header, split on `;` (2.0's `cookies`).
pub(crate) fn cookies<'a>(headers: &'a HeaderMap) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    for v in headers.get_all(http::header::COOKIE) {
        match String::from_utf8_lossy(v.as_bytes()) {
            Cow::Borrowed(s) => out.extend(
                s.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(Cow::Borrowed),
            ),
            Cow::Owned(s) => out.extend(
                s.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Cow::Owned(c.to_owned())),
            ),
        }
    }
    out
}

/// Query parameters, decoded, grouped by name in first-appearance order.
///
/// Only `%XX` escapes are decoded; whether API Gateway turns `+` into a space is unconfirmed, so
/// `+` is kept as sent.
pub(crate) fn query_params(raw: &str) -> Vec<(Cow<'_, str>, Vec<Cow<'_, str>>)> {
    let mut out: Vec<(Cow<'_, str>, Vec<Cow<'_, str>>)> = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode_str(k).decode_utf8_lossy();
        let v = percent_decode_str(v).decode_utf8_lossy();
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, values)) => values.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

/// The body as the event carries it: text for textual content types (when valid UTF-8),
/// otherwise base64 (`isBase64Encoded: true`). `None` when there is no body.
pub(crate) fn encode_body<'a>(headers: &HeaderMap, body: &'a [u8]) -> (Option<Cow<'a, str>>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let textual = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_text_content_type);
    if let Some(text) = textual.then(|| std::str::from_utf8(body).ok()).flatten() {
        return (Some(Cow::Borrowed(text)), false);
    }
    (Some(Cow::Owned(STANDARD.encode(body))), true)
}

/// `text/*`, `application/json`, `application/xml`, `application/javascript` (reference §3.5).
pub fn is_text_content_type(value: &str) -> bool {
    let mime = value.split(';').next().unwrap_or("").trim();
    let lower = mime.to_ascii_lowercase();
    lower.starts_with("text/")
        || matches!(
            lower.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        )
}

#[cfg(test)]
mod event_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn query_params_group_and_decode() {
        let q = query_params("p=1&p=2&name=a%20b&flag&&e=");
        let got: Vec<(String, Vec<String>)> = q
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_iter().map(Cow::into_owned).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("p".into(), vec!["1".into(), "2".into()]),
                ("name".into(), vec!["a b".into()]),
                ("flag".into(), vec![String::new()]),
                ("e".into(), vec![String::new()]),
            ]
        );
        assert!(query_params("").is_empty());
    }

    #[test]
    fn text_or_base64_body() {
        let mut h = HeaderMap::new();
        assert_eq!(encode_body(&h, b""), (None, false));
        assert_eq!(encode_body(&h, b"hi"), (Some("aGk=".into()), true));
        for ct in [
            "text/plain",
            "application/json; charset=utf-8",
            "Application/XML",
            "application/javascript",
        ] {
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(encode_body(&h, b"hi"), (Some("hi".into()), false), "{ct}");
        }
        for ct in [
            "application/x-www-form-urlencoded",
            "image/png",
            "application/octet-stream",
        ] {
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(encode_body(&h, b"hi"), (Some("aGk=".into()), true), "{ct}");
        }
    }

    #[test]
    fn cookies_split_across_headers() {
        let mut h = HeaderMap::new();
        h.append(http::header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(http::header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookies(&h), vec!["a=1", "b=2", "c=3"]);
    }

    #[test]
    fn trace_id_shape() {
        let t = trace_id(std::time::UNIX_EPOCH + std::time::Duration::from_secs(0x5e9f_0b45));
        assert!(t.starts_with("Root=1-5e9f0b45-"), "{t}");
        assert_eq!(t.len(), "Root=1-".len() + 8 + 1 + 24);
    }
}
