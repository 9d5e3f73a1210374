//! Payload format 2.0 event (reference §3.2), field for field as AWS sends it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::Serializer;

use super::{EventInput, Pairs, collect_headers, cookies, encode_body, query_params};
use crate::clf_time;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Vec<Cow<'a, str>>>,
    headers: Joined<'a, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<Joined<'a, Cow<'a, str>>>,
    request_context: Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<Pairs<'a, &'a str, String>>,
    is_base64_encoded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<Authorizer<'a>>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: u64,
}

#[derive(Serialize)]
struct Authorizer<'a> {
    jwt: Jwt<'a>,
}

#[derive(Serialize)]
struct Jwt<'a> {
    claims: serde_json::Map<String, serde_json::Value>,
    scopes: Option<&'a [String]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'static str,
    source_ip: String,
    user_agent: Cow<'a, str>,
}

/// A multi-valued map serialized with values joined by `,` (2.0's header and query rules).
struct Joined<'a, K>(Vec<(K, Vec<Cow<'a, str>>)>);

impl<K: Serialize> Serialize for Joined<'_, K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, values)| {
            let v: Cow<'_, str> = match values.as_slice() {
                [one] => Cow::Borrowed(one.as_ref()),
                many => Cow::Owned(many.join(",")),
            };
            (k, v)
        }))
    }
}

/// The 2.0 event JSON for `input`.
pub fn build(input: &EventInput<'_>) -> Result<Bytes, serde_json::Error> {
    let cookies = cookies(input.headers);
    let query = query_params(input.raw_query);
    let (body, is_base64_encoded) = encode_body(input.headers, input.body);
    let claims;
    let authorizer = match input.authorizer {
        Some(auth) => {
            claims = stackgate_jwt::stringify_claims(&auth.claims);
            Some(Authorizer {
                jwt: Jwt {
                    claims,
                    scopes: auth.scopes.as_deref(),
                },
            })
        }
        None => None,
    };
    let event = Event {
        version: "2.0",
        route_key: input.route_key,
        raw_path: input.raw_path,
        raw_query_string: input.raw_query,
        cookies: (!cookies.is_empty()).then_some(cookies),
        headers: Joined(collect_headers(input, false)),
        query_string_parameters: (!query.is_empty()).then_some(Joined(query)),
        request_context: Context {
            account_id: &input.api.account_id,
            api_id: &input.api.api_id,
            authorizer,
            domain_name: &input.api.domain_name,
            domain_prefix: &input.api.domain_prefix,
            http: Http {
                method: input.method,
                path: input.raw_path,
                protocol: "HTTP/1.1",
                source_ip: input.source_ip.to_string(),
                user_agent: input.user_agent(),
            },
            request_id: input.request_id,
            route_key: input.route_key,
            stage: &input.stage.name,
            time: clf_time::clf(input.time),
            time_epoch: clf_time::epoch_millis(input.time),
        },
        body,
        path_parameters: (!input.path_params.is_empty()).then_some(Pairs(input.path_params)),
        is_base64_encoded,
        stage_variables: (!input.stage.variables.is_empty()).then_some(&input.stage.variables),
    };
    serde_json::to_vec(&event).map(Bytes::from)
}
