//! `stackgate token TEMPLATE`: prints a token from the dev issuer's persisted key, for the issuer
//! URL `serve` uses with the same `--host`/`--issuer-port` — no server needs to be running.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Map, Value};
use stackgate_issuer::DevIssuer;

use crate::args::TokenArgs;
use crate::load::{load_template, state_dir};

pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let model = load_template(&args.template)?;
    let audience = match args.aud {
        Some(aud) => aud,
        None => default_audience(&model)?,
    };
    let issuer_url = format!("http://{}:{}/", args.host, args.issuer_port);
    let state = state_dir(&args.template)?;
    let issuer = DevIssuer::load_or_create(&state, issuer_url)
        .context("cannot load the dev issuer's key")?;

    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(args.sub));
    claims.insert("aud".into(), Value::String(audience));
    if let Some(scope) = args.scope {
        claims.insert("scope".into(), Value::String(scope));
    }
    for pair in &args.claim {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--claim takes KEY=VALUE; got {pair:?}");
        };
        // JSON values (numbers, arrays, objects, true/false) stay typed; anything else is text.
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        claims.insert(key.to_string(), value);
    }
    let expires_in = parse_duration(&args.expires_in)?;
    let token = issuer
        .mint(claims, expires_in)
        .context("cannot sign the token")?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// The audience of the template's only JWT authorizer (preferring those served by the dev issuer).
fn default_audience(model: &stackgate_template::Model) -> anyhow::Result<String> {
    let jwt: Vec<_> = model
        .authorizers
        .iter()
        .filter(|a| a.authorizer_type == "JWT")
        .collect();
    let dev: Vec<_> = jwt.iter().filter(|a| a.issuer.is_none()).collect();
    let chosen = match (dev.as_slice(), jwt.as_slice()) {
        ([one], _) => one,
        ([], [one]) => one,
        _ => bail!(
            "the template has {} JWT authorizers: choose the audience with --aud",
            jwt.len()
        ),
    };
    match chosen.audience.first() {
        Some(aud) => Ok(aud.clone()),
        None => bail!(
            "authorizer {} has no audience: pass --aud",
            chosen.logical_id
        ),
    }
}

/// `3600`, `90s`, `30m`, `1h`, `2d` → seconds.
fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .with_context(|| format!("--expires-in {text:?}: expected e.g. 3600, 30m, 1h, 2d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("--expires-in {text:?}: the unit must be s, m, h or d"),
    };
    Ok(n.saturating_mul(scale))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600").ok(), Some(3600));
        assert_eq!(parse_duration("30m").ok(), Some(1800));
        assert_eq!(parse_duration("1h").ok(), Some(3600));
        assert_eq!(parse_duration("2d").ok(), Some(172_800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
