//! Splitting and decoding a compact JWS (`header.payload.signature`). No cryptography here: this
//! only turns text into parts, and says precisely what is wrong when it cannot.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::Failure;

/// Tokens longer than this are refused before any decoding (API Gateway's header limits make
/// anything bigger impossible anyway, and it bounds the work an attacker can cause).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The signature algorithms we verify. API Gateway documents "only RSA-based algorithms";
/// RS256/384/512 are certain. PS256/384/512 are RSA too, so we accept them as well (AWS's
/// behaviour for PS* is unconfirmed; accepting them is the lenient choice for a dev tool and
/// costs no security: the key must still be the issuer's RSA key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
        }
    }

    fn parse(name: &str) -> Result<Self, Failure> {
        Ok(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "none" | "None" | "NONE" => {
                return Err(Failure::alg(format!(
                    "alg \"{name}\": unsigned tokens are never accepted"
                )));
            }
            other => {
                return Err(Failure::alg(format!(
                    "alg \"{other}\" is not supported: API Gateway only accepts RSA-signed tokens (RS256, RS384, RS512)"
                )));
            }
        })
    }
}

/// A token split into its parts, header checked, signature not yet verified.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `header_b64.payload_b64`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, Failure> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| Failure::malformed(format!("{what} is not valid base64url (no padding): {e}")))
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::malformed(format!(
            "{what} is JSON but not an object"
        ))),
        Err(e) => Err(Failure::malformed(format!("{what} is not valid JSON: {e}"))),
    }
}

/// Splits, decodes and checks the header of `token`.
pub fn parse(token: &str) -> Result<Parsed<'_>, Failure> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Failure::malformed(format!(
            "token is {} bytes; the limit is {MAX_TOKEN_LEN}",
            token.len()
        )));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let dots = token.matches('.').count();
        let hint = if dots == 4 {
            " (5 parts: this looks like an encrypted JWE, which API Gateway does not accept)"
        } else {
            ""
        };
        return Err(Failure::malformed(format!(
            "a JWT has 3 dot-separated parts, this has {}{hint}",
            dots + 1
        )));
    };
    let header = json_object(&b64(h, "header")?, "header")?;
    // The algorithm is checked before anything else in the header so that `alg: none` and HS*
    // get their own, clear reason.
    let alg = match header.get("alg") {
        Some(Value::String(a)) => Alg::parse(a)?,
        Some(_) => return Err(Failure::malformed("header alg is not a string".into())),
        None => return Err(Failure::malformed("header has no alg".into())),
    };
    if let Some(crit) = header.get("crit") {
        return Err(Failure::malformed(format!(
            "header has crit {crit}: no critical extensions are supported"
        )));
    }
    // `jku`, `x5u`, `jwk`, `x5c`: deliberately ignored. Keys only ever come from the configured
    // issuer's discovery document, never from a location the token names.
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(Failure::malformed("header kid is not a string".into())),
    };
    let claims = json_object(&b64(p, "payload")?, "payload")?;
    let signature = b64(s, "signature")?;
    if signature.is_empty() {
        return Err(Failure::malformed("signature is empty".into()));
    }
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(Parsed {
        alg,
        kid,
        signing_input,
        signature,
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn tok(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", enc(header), enc(payload), enc("sig"))
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = tok(r#"{"alg":"RS256","kid":"k1"}"#, r#"{"sub":"x"}"#);
        let p = parse(&t).expect("parses");
        assert_eq!(p.alg, Alg::Rs256);
        assert_eq!(p.kid.as_deref(), Some("k1"));
        assert_eq!(p.claims["sub"], "x");
        assert_eq!(p.signature, b"sig");
        assert_eq!(p.signing_input.matches('.').count(), 1);
    }

    #[test]
    fn rejects_none_hs_es() {
        for alg in ["none", "HS256", "ES256", "EdDSA"] {
            let t = tok(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            let e = parse(&t).expect_err(alg);
            assert!(e.reason.contains(alg), "{}", e.reason);
        }
    }

    /// Mutated tokens (bytes replaced, cut, headers and claims of every JSON type) give a
    /// token or a failure, never a panic.
    #[test]
    fn mutated_tokens_never_panic() {
        let headers = [
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"alg":1}"#,
            r#"{"alg":"RS256","kid":{"a":[]}}"#,
            r#"{"alg":"PS512","crit":[],"b64":false}"#,
            r#"{"alg":null}"#,
            "{}",
            "[]",
            "1e999",
        ];
        let payloads = [
            r#"{"exp":1e400,"nbf":"x","iat":-1,"aud":[1,{}],"scope":7}"#,
            r#"{"iss":null,"sub":["a"],"exp":18446744073709551616}"#,
            "{}",
            "\"\\ud800\"",
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        let alphabet = b"AZaz09-_.=+/ %\\\0";
        for h in headers {
            for p in payloads {
                let token = tok(h, p);
                let _ = parse(&token);
                for _ in 0..200 {
                    let mut bytes = token.clone().into_bytes();
                    for _ in 0..1 + next(3) {
                        let i = next(bytes.len());
                        bytes[i] = alphabet[next(alphabet.len())];
                    }
                    bytes.truncate(bytes.len() - next(bytes.len() / 2 + 1));
                    let mutated = String::from_utf8_lossy(&bytes).into_owned();
                    let _ = parse(&mutated);
                }
            }
        }
    }

    #[test]
    fn rejects_crit_and_malformed() {
        assert!(parse(&tok(r#"{"alg":"RS256","crit":["b64"]}"#, "{}")).is_err());
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d.e").expect_err("jwe").reason.contains("JWE"));
        assert!(parse("!!.??.**").is_err());
        assert!(parse(&tok("[1]", "{}")).is_err());
        assert!(parse(&tok(r#"{"alg":"RS256"}"#, "not json")).is_err());
        let big = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(parse(&big).expect_err("big").reason.contains("limit"));
    }
}
