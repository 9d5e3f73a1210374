//! Claims as API Gateway hands them to the integration (payload 2.0): every value a string.

use serde_json::{Map, Value};

/// One claim value as text: strings as-is, numbers and booleans as their text, arrays as `[a b]`
/// (elements rendered the same way, joined by one space), objects as JSON text. `None` for null.
pub fn value(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(_) => v.to_string(),
    })
}

/// `1787996002` rather than `1.787996002e9`; fractions keep their decimal text.
fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

pub fn claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter_map(|(k, v)| value(v).map(|s| (k.clone(), Value::String(s))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_api_gateway() {
        let input = json!({
            "sub": "abc",
            "exp": 1787996002,
            "float_exp": 1787996002.0,
            "ratio": 1.5,
            "neg": -3,
            "admin": true,
            "cognito:groups": ["admin", "poweruser"],
            "mixed": [1, "a", true],
            "nested": {"a": 1},
            "gone": null,
            "empty": [],
        });
        let Value::Object(m) = input else {
            unreachable!()
        };
        let out = claims(&m);
        assert_eq!(out["sub"], "abc");
        assert_eq!(out["exp"], "1787996002");
        assert_eq!(out["float_exp"], "1787996002");
        assert_eq!(out["ratio"], "1.5");
        assert_eq!(out["neg"], "-3");
        assert_eq!(out["admin"], "true");
        assert_eq!(out["cognito:groups"], "[admin poweruser]");
        assert_eq!(out["mixed"], "[1 a true]");
        assert_eq!(out["nested"], r#"{"a":1}"#);
        assert_eq!(out["empty"], "[]");
        assert!(!out.contains_key("gone"));
    }
}
