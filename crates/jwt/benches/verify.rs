//! JWT verification cost per request, keys already fetched (no network is measured):
//! - `cached`: the same token again, answered from the verified-token cache (claim rules only);
//! - `uncached`: the token cache disabled, so every call decodes the token and checks its RS256
//!   signature (what a request with a new token costs).
//!
//! Run: `cargo bench -p stackgate-jwt --bench verify`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use stackgate_jwt::{JwtConfig, KeyCache, KeySettings, authorize};

const AUDIENCE: &str = "https://api.bench.test";

struct Setup {
    runtime: tokio::runtime::Runtime,
    config: JwtConfig,
    token: String,
    _state: std::path::PathBuf,
}

/// A dev issuer on loopback serving discovery and the JWKS, and a token it signed.
fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let state = std::env::temp_dir().join(format!("stackgate-bench-{}", std::process::id()));
    let (config, token) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let issuer =
            Arc::new(stackgate_issuer::DevIssuer::load_or_create(&state, url.clone()).unwrap());
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("user-1"));
        claims.insert("aud".into(), Value::String(AUDIENCE.into()));
        claims.insert("scope".into(), json!("read:things write:things"));
        let token = issuer.mint(claims, 3600).unwrap();
        tokio::spawn(stackgate_issuer::serve(listener, issuer));
        let config = JwtConfig {
            issuer: url,
            audience: vec![AUDIENCE.into()],
        };
        (config, token)
    });
    Setup {
        runtime,
        config,
        token,
        _state: state,
    }
}

fn keys(setup: &Setup, token_cache_capacity: usize) -> KeyCache {
    let keys = KeyCache::with_settings(KeySettings {
        token_cache_capacity,
        ..KeySettings::default()
    });
    let fetched = setup.runtime.block_on(keys.prefetch(&setup.config.issuer));
    assert_eq!(fetched, Ok(1), "keys fetched before measuring");
    keys
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let scopes = vec!["read:things".to_owned()];
    let mut group = c.benchmark_group("jwt_verify");

    let cached = keys(&setup, 10_000);
    group.bench_function("cached", |b| {
        b.iter(|| {
            setup
                .runtime
                .block_on(authorize(
                    &cached,
                    &setup.config,
                    &setup.token,
                    &scopes,
                    SystemTime::now(),
                ))
                .unwrap()
        })
    });

    let uncached = keys(&setup, 0);
    group.bench_function("uncached_rs256", |b| {
        b.iter(|| {
            setup
                .runtime
                .block_on(authorize(
                    &uncached,
                    &setup.config,
                    &setup.token,
                    &scopes,
                    SystemTime::now(),
                ))
                .unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&setup._state);
}

criterion_group!(benches, bench);
criterion_main!(benches);
