//! Route authorization (reference §1). JWT authorizers are checked through `stackgate-jwt`;
//! Lambda (`REQUEST`) authorizers and IAM authorization are not emulated yet: such routes answer
//! 500 and the log says so. On any rejection the integration is never invoked.

use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;
use http::header::HeaderName;
use stackgate_jwt::{JwtConfig, KeyCache, Rejection};
use stackgate_template::{Authorizer, Route};

use crate::error::GatewayError;
use crate::events::{AuthContext, query_params};

/// Where a JWT authorizer finds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `$request.header.NAME` (name lower-cased: lookups are case-insensitive).
    Header(HeaderName),
    /// `$request.querystring.NAME` (the decoded value).
    Query(String),
}

impl IdentitySource {
    /// The raw identity value of a request: the header, or the query parameter (its last value
    /// when repeated). `None` when the request does not carry it.
    pub fn extract(&self, headers: &HeaderMap, raw_query: &str) -> Option<String> {
        match self {
            Self::Header(name) => headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            Self::Query(name) => query_params(raw_query)
                .into_iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, mut values)| values.pop().map(|v| v.into_owned())),
        }
    }

    /// Parses an authorizer's `IdentitySource`: exactly one header or query-string selector.
    pub fn parse(sources: &[String]) -> Result<Self, String> {
        let [one] = sources else {
            return Err(format!(
                "a JWT authorizer needs exactly one IdentitySource, this one has {} ({sources:?}); use e.g. \"$request.header.Authorization\"",
                sources.len()
            ));
        };
        if let Some(name) = one.strip_prefix("$request.header.") {
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("IdentitySource {one:?} names an invalid header"))?;
            return Ok(Self::Header(name));
        }
        if let Some(name) = one
            .strip_prefix("$request.querystring.")
            .filter(|n| !n.is_empty())
        {
            return Ok(Self::Query(name.to_owned()));
        }
        Err(format!(
            "IdentitySource {one:?} is not supported for JWT authorizers: use \"$request.header.NAME\" or \"$request.querystring.NAME\""
        ))
    }

    /// Where the log says the token was looked for.
    fn describe(&self) -> String {
        match self {
            Self::Header(name) => format!("{name} header"),
            Self::Query(name) => format!("query-string parameter {name:?}"),
        }
    }
}

/// One compiled JWT authorizer.
#[derive(Debug, Clone)]
pub struct JwtAuthorizer {
    pub name: String,
    pub config: JwtConfig,
    pub source: IdentitySource,
}

impl JwtAuthorizer {
    /// `dev_issuer` replaces an issuer that resolved to no value.
    pub fn compile(a: &Authorizer, dev_issuer: Option<&str>) -> Result<Self, String> {
        let issuer = match (&a.issuer, dev_issuer) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(dev)) => dev.to_owned(),
            (None, None) => {
                return Err(format!(
                    "JWT authorizer {} has no Issuer and no dev issuer is running",
                    a.logical_id
                ));
            }
        };
        Ok(Self {
            name: a.logical_id.clone(),
            config: JwtConfig {
                issuer,
                audience: a.audience.clone(),
            },
            source: IdentitySource::parse(&a.identity_source)
                .map_err(|e| format!("authorizer {}: {e}", a.logical_id))?,
        })
    }
}

/// What a route requires before its integration runs.
#[derive(Debug, Clone)]
pub enum RouteAuth {
    None,
    Jwt {
        authorizer: Arc<JwtAuthorizer>,
        scopes: Vec<String>,
    },
    /// A kind of authorization stackgate does not emulate yet (answers 500).
    NotEmulated(String),
    /// A configuration AWS would refuse or that cannot work (answers 500).
    Misconfigured(String),
}

impl RouteAuth {
    /// The plan for `route`, given the API's compiled JWT authorizers (by logical id; an `Err`
    /// holds why that authorizer cannot be used) and all its authorizers.
    pub fn for_route(
        route: &Route,
        jwt: &[(String, Result<Arc<JwtAuthorizer>, String>)],
        all: &[&Authorizer],
    ) -> Self {
        let authorizer_id = route.authorizer.as_deref();
        match route.authorization_type.as_str() {
            "" | "NONE" => Self::None,
            "JWT" => {
                let Some(id) = authorizer_id else {
                    return Self::Misconfigured(format!(
                        "route {:?} has AuthorizationType JWT but no AuthorizerId",
                        route.route_key
                    ));
                };
                match jwt.iter().find(|(lid, _)| lid == id) {
                    Some((_, Ok(a))) => Self::Jwt {
                        authorizer: Arc::clone(a),
                        scopes: route.authorization_scopes.clone(),
                    },
                    Some((_, Err(e))) => Self::Misconfigured(e.clone()),
                    None => match all.iter().find(|a| a.logical_id == id) {
                        Some(a) => Self::Misconfigured(format!(
                            "route {:?} has AuthorizationType JWT but authorizer {id} is of type {}",
                            route.route_key, a.authorizer_type
                        )),
                        None => Self::Misconfigured(format!(
                            "route {:?} names authorizer {id}, which is not an authorizer of this API",
                            route.route_key
                        )),
                    },
                }
            }
            "CUSTOM" => Self::NotEmulated(format!(
                "route {:?} uses a Lambda (REQUEST) authorizer{}; Lambda authorizers are not emulated by stackgate yet",
                route.route_key,
                authorizer_id.map(|a| format!(" ({a})")).unwrap_or_default()
            )),
            "AWS_IAM" => Self::NotEmulated(format!(
                "route {:?} uses AWS_IAM authorization; IAM (SigV4) authorization is not emulated by stackgate yet",
                route.route_key
            )),
            other => Self::Misconfigured(format!(
                "route {:?} has AuthorizationType {other:?}; HTTP APIs accept NONE, JWT, AWS_IAM or CUSTOM",
                route.route_key
            )),
        }
    }
}

/// Runs the route's authorization. `Ok(None)`: no authorizer; `Ok(Some(..))`: the verified
/// token's context for the event.
pub async fn authorize(
    plan: &RouteAuth,
    keys: &KeyCache,
    headers: &HeaderMap,
    raw_query: &str,
    now: SystemTime,
) -> Result<Option<AuthContext>, GatewayError> {
    let (authorizer, scopes) = match plan {
        RouteAuth::None => return Ok(None),
        RouteAuth::NotEmulated(reason) | RouteAuth::Misconfigured(reason) => {
            return Err(GatewayError::Internal {
                reason: reason.clone(),
            });
        }
        RouteAuth::Jwt { authorizer, scopes } => (authorizer, scopes),
    };
    let value = authorizer.source.extract(headers, raw_query);
    let Some(token) = value
        .as_deref()
        .and_then(stackgate_jwt::token_from_identity)
    else {
        let missing = if value.is_some() { "an empty" } else { "no" };
        return Err(GatewayError::Unauthorized {
            description: "the request has no token".to_owned(),
            reason: format!(
                "{missing} token in the {} (JWT authorizer {} reads it there); send e.g. `Authorization: Bearer <token>` (`stackgate token` prints one)",
                authorizer.source.describe(),
                authorizer.name
            ),
        });
    };
    match stackgate_jwt::authorize(keys, &authorizer.config, token, scopes, now).await {
        Ok(verified) => Ok(Some(AuthContext {
            claims: verified.claims,
            scopes: (!scopes.is_empty()).then_some(verified.scopes),
        })),
        Err(Rejection::Unauthorized {
            description,
            reason,
        }) => Err(GatewayError::Unauthorized {
            description,
            reason: format!("JWT authorizer {}: {reason}", authorizer.name),
        }),
        Err(Rejection::Forbidden { reason }) => Err(GatewayError::Forbidden {
            reason: format!("JWT authorizer {}: {reason}", authorizer.name),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identity_sources() {
        assert_eq!(
            IdentitySource::parse(&["$request.header.Authorization".into()]),
            Ok(IdentitySource::Header(HeaderName::from_static(
                "authorization"
            )))
        );
        assert_eq!(
            IdentitySource::parse(&["$request.querystring.access_token".into()]),
            Ok(IdentitySource::Query("access_token".into()))
        );
        for bad in [
            vec![],
            vec![
                "$request.header.A".to_owned(),
                "$request.header.B".to_owned(),
            ],
            vec!["$context.identity.sourceIp".to_owned()],
            vec!["$request.header.".to_owned()],
            vec!["$request.querystring.".to_owned()],
        ] {
            assert!(IdentitySource::parse(&bad).is_err(), "{bad:?}");
        }
    }

    fn route(auth: &str, authorizer: Option<&str>) -> Route {
        Route {
            logical_id: "R".into(),
            id: "r".into(),
            api: "Api".into(),
            route_key: "GET /x".into(),
            integration: None,
            authorization_type: auth.into(),
            authorizer: authorizer.map(Into::into),
            authorization_scopes: vec![],
            location: Default::default(),
        }
    }

    fn reason(plan: RouteAuth) -> String {
        match plan {
            RouteAuth::NotEmulated(r) => format!("not emulated: {r}"),
            RouteAuth::Misconfigured(r) => format!("misconfigured: {r}"),
            RouteAuth::None => "none".into(),
            RouteAuth::Jwt { .. } => "jwt".into(),
        }
    }

    #[test]
    fn plans_for_non_jwt_routes() {
        assert_eq!(
            reason(RouteAuth::for_route(&route("NONE", None), &[], &[])),
            "none"
        );
        let r = reason(RouteAuth::for_route(
            &route("CUSTOM", Some("LambdaAuth")),
            &[],
            &[],
        ));
        assert!(
            r.starts_with("not emulated") && r.contains("Lambda (REQUEST) authorizer (LambdaAuth)"),
            "{r}"
        );
        let r = reason(RouteAuth::for_route(&route("AWS_IAM", None), &[], &[]));
        assert!(
            r.starts_with("not emulated") && r.contains("AWS_IAM"),
            "{r}"
        );
        let r = reason(RouteAuth::for_route(&route("JWT", None), &[], &[]));
        assert!(
            r.starts_with("misconfigured") && r.contains("no AuthorizerId"),
            "{r}"
        );
        let r = reason(RouteAuth::for_route(
            &route("JWT", Some("Missing")),
            &[],
            &[],
        ));
        assert!(r.contains("not an authorizer of this API"), "{r}");
        let r = reason(RouteAuth::for_route(
            &route("JWT", Some("Bad")),
            &[("Bad".into(), Err("authorizer Bad: broken".into()))],
            &[],
        ));
        assert_eq!(r, "misconfigured: authorizer Bad: broken");
    }
}
