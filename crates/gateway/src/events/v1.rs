//! Payload format 1.0 event, HTTP API flavour (reference §3.3), following the AWS sample.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::Serializer;

use super::{EventInput, Pairs, collect_headers, encode_body, query_params};
use crate::clf_time;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Last<'a, &'a str>,
    multi_value_headers: Pairs<'a, &'a str, Vec<Cow<'a, str>>>,
    query_string_parameters: Option<Last<'a, Cow<'a, str>>>,
    multi_value_query_string_parameters: Option<Pairs<'a, Cow<'a, str>, Vec<Cow<'a, str>>>>,
    request_context: Context<'a>,
    path_parameters: Option<Pairs<'a, &'a str, String>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    authorizer: Authorizer<'a>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    extended_request_id: &'a str,
    http_method: &'a str,
    identity: Identity<'a>,
    path: &'a str,
    protocol: &'static str,
    request_id: &'a str,
    request_time: String,
    request_time_epoch: u64,
    resource_id: Option<&'a str>,
    resource_path: &'a str,
    stage: &'a str,
}

#[derive(Serialize)]
struct Authorizer<'a> {
    claims: Option<serde_json::Map<String, serde_json::Value>>,
    scopes: Option<&'a [String]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    access_key: Option<&'a str>,
    account_id: Option<&'a str>,
    caller: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    cognito_identity_pool_id: Option<&'a str>,
    principal_org_id: Option<&'a str>,
    source_ip: String,
    user: Option<&'a str>,
    user_agent: Cow<'a, str>,
    user_arn: Option<&'a str>,
}

/// A multi-valued map serialized with its last value per key (1.0's single-value maps).
struct Last<'a, K>(&'a [(K, Vec<Cow<'a, str>>)]);

impl<K: Serialize> Serialize for Last<'_, K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                .map(|(k, values)| (k, values.last().map_or("", |v| v.as_ref()))),
        )
    }
}

/// The 1.0 event JSON for `input`.
pub fn build(input: &EventInput<'_>) -> Result<Bytes, serde_json::Error> {
    let headers = collect_headers(input, true);
    let query = query_params(input.raw_query);
    let (body, is_base64_encoded) = encode_body(input.headers, input.body);
    let authorizer = match input.authorizer {
        Some(auth) => Authorizer {
            claims: Some(stackgate_jwt::stringify_claims(&auth.claims)),
            scopes: auth.scopes.as_deref(),
        },
        None => Authorizer {
            claims: None,
            scopes: None,
        },
    };
    let resource = input.resource_path();
    let event = Event {
        version: "1.0",
        resource,
        path: input.raw_path,
        http_method: input.method,
        headers: Last(&headers),
        multi_value_headers: Pairs(&headers),
        query_string_parameters: (!query.is_empty()).then_some(Last(&query)),
        multi_value_query_string_parameters: (!query.is_empty()).then_some(Pairs(&query)),
        request_context: Context {
            account_id: &input.api.account_id,
            api_id: &input.api.api_id,
            authorizer,
            domain_name: &input.api.domain_name,
            domain_prefix: &input.api.domain_prefix,
            extended_request_id: input.request_id,
            http_method: input.method,
            identity: Identity {
                access_key: None,
                account_id: None,
                caller: None,
                cognito_authentication_provider: None,
                cognito_authentication_type: None,
                cognito_identity_id: None,
                cognito_identity_pool_id: None,
                principal_org_id: None,
                source_ip: input.source_ip.to_string(),
                user: None,
                user_agent: input.user_agent(),
                user_arn: None,
            },
            path: input.raw_path,
            protocol: "HTTP/1.1",
            request_id: input.request_id,
            request_time: clf_time::clf(input.time),
            request_time_epoch: clf_time::epoch_millis(input.time),
            resource_id: None,
            resource_path: resource,
            stage: &input.stage.name,
        },
        path_parameters: (!input.path_params.is_empty()).then_some(Pairs(input.path_params)),
        stage_variables: (!input.stage.variables.is_empty()).then_some(&input.stage.variables),
        body,
        is_base64_encoded,
    };
    serde_json::to_vec(&event).map(Bytes::from)
}
