//! The claim rules of an API Gateway JWT authorizer, in the documented order: `iss`, `aud` (or
//! `client_id` when `aud` is absent), `exp`, `nbf`, `iat`, then the route's scopes. Pure: the
//! clock is a parameter.

use serde_json::{Map, Value};

use crate::{Failure, JwtConfig, Rejection};

const D_ISSUER: &str = "the token does not have a valid issuer";
/// AWS's documented wording.
const D_AUDIENCE: &str = "the token does not have a valid audience";
const D_EXPIRED: &str = "the token has expired";
const D_NO_EXP: &str = "the token has no expiry";
const D_NOT_YET: &str = "the token is not valid yet";
const D_IAT: &str = "the token was issued in the future";

/// Checks every claim rule except scopes.
pub fn check(config: &JwtConfig, claims: &Map<String, Value>, now_s: f64) -> Result<(), Failure> {
    check_issuer(&config.issuer, claims)?;
    check_audience(&config.audience, claims)?;
    check_times(claims, now_s)
}

pub fn check_issuer(issuer: &str, claims: &Map<String, Value>) -> Result<(), Failure> {
    let iss = match claims.get("iss") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(Failure::new(
                D_ISSUER,
                format!("token iss is not a string: {other}"),
            ));
        }
        None => {
            return Err(Failure::new(
                D_ISSUER,
                format!("token has no iss claim (expected {issuer:?})"),
            ));
        }
    };
    if iss == issuer {
        return Ok(());
    }
    let hint = if iss.trim_end_matches('/') == issuer.trim_end_matches('/') {
        " (trailing slash)"
    } else {
        ""
    };
    Err(Failure::new(
        D_ISSUER,
        format!("issuer {issuer:?} differs from token iss {iss:?}{hint}"),
    ))
}

fn list(values: &[String]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

pub fn check_audience(audience: &[String], claims: &Map<String, Value>) -> Result<(), Failure> {
    let allowed = |s: &str| audience.iter().any(|a| a == s);
    match claims.get("aud") {
        // `client_id` is only looked at when `aud` is absent (AWS's current rule).
        None => match claims.get("client_id") {
            Some(Value::String(c)) if allowed(c) => Ok(()),
            Some(Value::String(c)) => Err(Failure::new(
                D_AUDIENCE,
                format!(
                    "token has no aud, and client_id {c:?} not in {}",
                    list(audience)
                ),
            )),
            Some(other) => Err(Failure::new(
                D_AUDIENCE,
                format!("token has no aud, and client_id is not a string: {other}"),
            )),
            None => Err(Failure::new(
                D_AUDIENCE,
                format!(
                    "token has neither aud nor client_id (expected one of {})",
                    list(audience)
                ),
            )),
        },
        Some(Value::String(a)) if allowed(a) => Ok(()),
        Some(Value::String(a)) => Err(Failure::new(
            D_AUDIENCE,
            format!("aud {a:?} not in {}", list(audience)),
        )),
        Some(Value::Array(items)) => {
            if items.iter().any(|v| v.as_str().is_some_and(allowed)) {
                Ok(())
            } else {
                Err(Failure::new(
                    D_AUDIENCE,
                    format!(
                        "no element of aud {} is in {}",
                        Value::Array(items.clone()),
                        list(audience)
                    ),
                ))
            }
        }
        Some(other) => Err(Failure::new(
            D_AUDIENCE,
            format!("aud is neither a string nor an array: {other}"),
        )),
    }
}

/// A NumericDate claim: a JSON number (seconds since the epoch; fractions allowed).
fn numeric(
    claims: &Map<String, Value>,
    name: &str,
    description: &'static str,
) -> Result<Option<f64>, Failure> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| {
            Failure::new(description, format!("{name} is not a usable number: {n}"))
        }),
        Some(other) => Err(Failure::new(
            description,
            format!("{name} must be a number of seconds since 1970, not {other}"),
        )),
    }
}

/// "3 min", "2 h", "45 s", "3 days", each rounded to the nearest unit (a token made to expire
/// in 5 minutes and checked a moment later is "5 min", not "4 min").
pub fn human(seconds: f64) -> String {
    let s = seconds.abs();
    let rounded = |unit: f64| (s / unit).round() as u64;
    if s < 59.5 {
        format!("{} s", rounded(1.0))
    } else if s < 59.5 * 60.0 {
        format!("{} min", rounded(60.0))
    } else if s < 47.5 * 3600.0 {
        format!("{} h", rounded(3600.0))
    } else {
        format!("{} days", rounded(86_400.0))
    }
}

pub fn check_times(claims: &Map<String, Value>, now_s: f64) -> Result<(), Failure> {
    let Some(exp) = numeric(claims, "exp", D_EXPIRED)? else {
        return Err(Failure::new(
            D_NO_EXP,
            "token has no exp claim; API Gateway requires one".into(),
        ));
    };
    if exp <= now_s {
        return Err(Failure::new(
            D_EXPIRED,
            format!("token expired {} ago", human(now_s - exp)),
        ));
    }
    if let Some(nbf) = numeric(claims, "nbf", D_NOT_YET)?
        && nbf > now_s
    {
        return Err(Failure::new(
            D_NOT_YET,
            format!(
                "token not valid before nbf, {} from now (check the clocks)",
                human(nbf - now_s)
            ),
        ));
    }
    if let Some(iat) = numeric(claims, "iat", D_IAT)?
        && iat > now_s
    {
        return Err(Failure::new(
            D_IAT,
            format!(
                "token iat is {} in the future (check the clocks)",
                human(iat - now_s)
            ),
        ));
    }
    Ok(())
}

fn push_split(out: &mut Vec<String>, s: &str) {
    for scope in s.split_whitespace() {
        if !out.iter().any(|o| o == scope) {
            out.push(scope.to_owned());
        }
    }
}

/// The token's scopes: `scope` (OAuth's space-separated string) and `scp` (a string or an array,
/// as Okta and Azure AD issue it). When both are present we take the union: which one AWS prefers
/// is unconfirmed, and the union never refuses a token AWS would accept.
pub fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => push_split(&mut out, s),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::String(s) = item {
                        push_split(&mut out, s);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// At least one of the route's `AuthorizationScopes` must be among the token's scopes.
pub fn check_scopes(token_scopes: &[String], required: &[String]) -> Result<(), Rejection> {
    if required.is_empty() || required.iter().any(|r| token_scopes.contains(r)) {
        return Ok(());
    }
    let reason = if token_scopes.is_empty() {
        format!(
            "token has no scope/scp claim; the route requires one of {}",
            list(required)
        )
    } else {
        format!(
            "token scopes {} include none of the route's {}",
            list(token_scopes),
            list(required)
        )
    };
    Err(Rejection::Forbidden { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn config() -> JwtConfig {
        JwtConfig {
            issuer: "https://t.auth0.com/".into(),
            audience: vec!["https://api.example.test".into(), "client-a".into()],
        }
    }

    fn good() -> Value {
        json!({"iss":"https://t.auth0.com/","aud":"https://api.example.test","exp":NOW + 60.0})
    }

    fn err(v: Value) -> Failure {
        check(&config(), &claims(v), NOW).expect_err("should fail")
    }

    #[test]
    fn valid_claims_pass() {
        check(&config(), &claims(good()), NOW).expect("valid");
    }

    #[test]
    fn issuer_must_match_exactly() {
        let mut v = good();
        v["iss"] = json!("https://other/");
        let e = err(v);
        assert_eq!(e.description, D_ISSUER);
        assert_eq!(
            e.reason,
            r#"issuer "https://t.auth0.com/" differs from token iss "https://other/""#
        );
        let mut v = good();
        v["iss"] = json!("https://t.auth0.com");
        assert!(err(v).reason.ends_with("(trailing slash)"));
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("iss"));
        assert!(err(v).reason.contains("no iss"));
        let mut v = good();
        v["iss"] = json!(5);
        assert!(err(v).reason.contains("not a string"));
    }

    #[test]
    fn audience_string_and_array() {
        let mut v = good();
        v["aud"] = json!("https://x");
        let e = err(v);
        assert_eq!(e.description, "the token does not have a valid audience");
        assert_eq!(
            e.reason,
            r#"aud "https://x" not in ["https://api.example.test","client-a"]"#
        );
        let mut v = good();
        v["aud"] = json!(["https://x", "client-a"]);
        check(&config(), &claims(v), NOW).expect("array element matches");
        let mut v = good();
        v["aud"] = json!(["https://x", "https://y"]);
        assert!(err(v).reason.contains("no element of aud"));
        let mut v = good();
        v["aud"] = json!(7);
        assert!(err(v).reason.contains("neither a string nor an array"));
    }

    #[test]
    fn client_id_only_when_aud_absent() {
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("aud"));
        v["client_id"] = json!("client-a");
        check(&config(), &claims(v.clone()), NOW).expect("client_id fallback");
        // aud present and wrong: client_id is not consulted.
        v["aud"] = json!("nope");
        assert!(err(v).reason.contains("aud \"nope\""));
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("aud"));
        v["client_id"] = json!("client-b");
        assert!(err(v).reason.contains("client_id \"client-b\""));
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("aud"));
        assert!(err(v).reason.contains("neither aud nor client_id"));
    }

    #[test]
    fn exp_required_and_in_future() {
        let mut v = good();
        v["exp"] = json!(NOW - 180.0);
        let e = err(v);
        assert_eq!(e.description, D_EXPIRED);
        assert_eq!(e.reason, "token expired 3 min ago");
        let mut v = good();
        v["exp"] = json!(NOW);
        assert_eq!(err(v).reason, "token expired 0 s ago");
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("exp"));
        assert_eq!(err(v).description, D_NO_EXP);
        let mut v = good();
        v["exp"] = json!("1700000100");
        assert!(err(v).reason.contains("must be a number"));
        let mut v = good();
        v["exp"] = json!(NOW + 0.5);
        check(&config(), &claims(v), NOW).expect("fractional exp");
    }

    #[test]
    fn nbf_and_iat_not_in_future() {
        let mut v = good();
        v["nbf"] = json!(NOW + 300.0);
        let e = err(v);
        assert_eq!(e.description, D_NOT_YET);
        assert!(e.reason.contains("5 min from now"), "{}", e.reason);
        let mut v = good();
        v["iat"] = json!(NOW + 7200.0);
        let e = err(v);
        assert_eq!(e.description, D_IAT);
        assert!(e.reason.contains("2 h in the future"), "{}", e.reason);
        let mut v = good();
        v["nbf"] = json!(NOW);
        v["iat"] = json!(NOW - 10.0);
        check(&config(), &claims(v), NOW).expect("past nbf/iat");
    }

    #[test]
    fn scope_sources() {
        assert_eq!(scopes(&claims(json!({"scope":"a b  c"}))), ["a", "b", "c"]);
        assert_eq!(scopes(&claims(json!({"scp":["x","y"]}))), ["x", "y"]);
        assert_eq!(scopes(&claims(json!({"scp":"x y"}))), ["x", "y"]);
        assert_eq!(
            scopes(&claims(json!({"scope":"a b","scp":["b","c"]}))),
            ["a", "b", "c"]
        );
        assert!(scopes(&claims(json!({}))).is_empty());
    }

    #[test]
    fn scope_check() {
        let have = vec!["read".to_owned(), "list".to_owned()];
        check_scopes(&have, &[]).expect("no requirement");
        check_scopes(&have, &["write".into(), "read".into()]).expect("one matches");
        let e = check_scopes(&have, &["write".into()]).expect_err("none");
        assert_eq!(
            e,
            Rejection::Forbidden {
                reason: r#"token scopes ["read","list"] include none of the route's ["write"]"#
                    .into()
            }
        );
        let e = check_scopes(&[], &["write".into()]).expect_err("none");
        assert!(matches!(e, Rejection::Forbidden { reason } if reason.contains("no scope/scp")));
    }

    #[test]
    fn rules_run_in_documented_order() {
        // Everything wrong at once: iss is reported first, then aud, then exp, nbf, iat.
        let bad = json!({"iss":"https://x/","aud":"nope","exp":NOW - 1.0,"nbf":NOW + 99.0,"iat":NOW + 99.0});
        assert_eq!(err(bad.clone()).description, D_ISSUER);
        let mut v = bad;
        v["iss"] = json!("https://t.auth0.com/");
        assert_eq!(err(v.clone()).description, D_AUDIENCE);
        v["aud"] = json!("client-a");
        assert_eq!(err(v.clone()).description, D_EXPIRED);
        v["exp"] = json!(NOW + 60.0);
        assert_eq!(err(v.clone()).description, D_NOT_YET);
        v["nbf"] = json!(NOW - 1.0);
        assert_eq!(err(v.clone()).description, D_IAT);
        v["iat"] = json!(NOW - 1.0);
        check(&config(), &claims(v), NOW).expect("all fixed");
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        for (name, description) in [("exp", D_EXPIRED), ("nbf", D_NOT_YET), ("iat", D_IAT)] {
            for bad in [
                json!("1700000000"),
                json!(true),
                json!([1]),
                json!({"t": 1}),
            ] {
                let mut v = good();
                v[name] = bad.clone();
                let e = err(v);
                assert_eq!(e.description, description, "{name} {bad}");
                assert!(
                    e.reason
                        .starts_with(&format!("{name} must be a number of seconds since 1970")),
                    "{}",
                    e.reason
                );
            }
        }
        // A null nbf/iat is treated as absent; a null exp as missing.
        let mut v = good();
        v["nbf"] = Value::Null;
        v["iat"] = Value::Null;
        check(&config(), &claims(v), NOW).expect("null nbf/iat");
        let mut v = good();
        v["exp"] = Value::Null;
        assert_eq!(err(v).description, D_NO_EXP);
        // Large and negative numbers are just numbers.
        let mut v = good();
        v["exp"] = json!(u64::MAX);
        v["iat"] = json!(-5);
        check(&config(), &claims(v), NOW).expect("huge exp, negative iat");
    }

    #[test]
    fn audience_edge_cases() {
        // Array elements that are not strings never match; an empty array matches nothing.
        let mut v = good();
        v["aud"] = json!([1, null, {"a": "client-a"}, ["client-a"]]);
        assert!(err(v).reason.contains("no element of aud"));
        let mut v = good();
        v["aud"] = json!([]);
        assert!(err(v).reason.contains("no element of aud []"));
        // aud: null counts as present (so client_id is not consulted).
        let mut v = good();
        v["aud"] = Value::Null;
        v["client_id"] = json!("client-a");
        assert!(err(v).reason.contains("neither a string nor an array"));
        // client_id that is not a string.
        let mut v = good();
        v.as_object_mut().map(|m| m.remove("aud"));
        v["client_id"] = json!(["client-a"]);
        assert!(err(v).reason.contains("client_id is not a string"));
        // Matching is exact: case and trailing slashes matter.
        for near in [
            "HTTPS://api.example.test",
            "https://api.example.test/",
            " client-a",
        ] {
            let mut v = good();
            v["aud"] = json!(near);
            assert_eq!(err(v).description, D_AUDIENCE, "{near}");
        }
        // An authorizer without audiences accepts no token.
        let none = JwtConfig {
            issuer: "https://t.auth0.com/".into(),
            audience: vec![],
        };
        assert!(check(&none, &claims(good()), NOW).is_err());
    }

    #[test]
    fn scope_claims_of_other_types_are_ignored() {
        assert!(scopes(&claims(json!({"scope": 5, "scp": {"a": 1}}))).is_empty());
        assert_eq!(
            scopes(&claims(json!({"scp": ["a b", 7, null, "c"]}))),
            ["a", "b", "c"]
        );
        assert_eq!(scopes(&claims(json!({"scope": "a a  a"}))), ["a"]);
        // Scope names are case-sensitive.
        let have = scopes(&claims(json!({"scope": "Read"})));
        assert!(check_scopes(&have, &["read".into()]).is_err());
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(59.0), "59 s");
        assert_eq!(human(180.0), "3 min");
        assert_eq!(human(7200.0), "2 h");
        assert_eq!(human(3.0 * 86_400.0), "3 days");
        assert_eq!(human(299.4), "5 min");
        assert_eq!(human(7199.4), "2 h");
        assert_eq!(human(59.6), "1 min");
        assert_eq!(human(3590.0), "1 h");
        assert_eq!(human(-45.2), "45 s");
    }
}
