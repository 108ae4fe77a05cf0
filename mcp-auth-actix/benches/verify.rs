//! Verification cost: the full pipeline for a token not seen before versus a
//! bare `jsonwebtoken::decode` with the same key (the ratio is what matters),
//! per algorithm; and the verified-token cache hit. Then a whole request
//! through the middleware: a cached bearer token (the fast path) next to a
//! cached DPoP-bound token with a fresh proof (the proof is never cached:
//! signature, claims and replay store on every request), per proof
//! algorithm.
//!
//! `cargo bench -p mcp-auth-actix --features testing --bench verify`

use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, http::header, test, web};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use mcp_auth::{
    BearerAuth, DpopMode, DpopOptions, JwtOptions, McpAuth, MemoryReplayStore, ResourceConfig,
    testing::{DpopKey, TestIssuer},
};
use serde_json::{Map, Value};

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const POOL: usize = 256;

struct Setup {
    system: actix_rt::SystemRunner,
    issuer: TestIssuer,
    jwks: JwkSet,
    no_cache: BearerAuth,
    cached: BearerAuth,
}

fn guard(issuer: &TestIssuer, options: JwtOptions) -> BearerAuth {
    McpAuth::builder()
        .without_declared_resources()
        .jwt_options(options)
        .resource(ResourceConfig::new(RESOURCE).authorization_server(issuer.resolved_config()))
        .build()
        .unwrap()
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap()
}

fn setup() -> Setup {
    let system = actix_rt::System::new();
    let (issuer, jwks) = system.block_on(async {
        let issuer = TestIssuer::start().await;
        let mut res = awc::Client::default()
            .get(issuer.jwks_uri())
            .send()
            .await
            .unwrap();
        let jwks: JwkSet = res.json().await.unwrap();
        (issuer, jwks)
    });
    let no_cache = guard(&issuer, JwtOptions::default().cache_capacity(0));
    let cached = guard(&issuer, JwtOptions::default());
    Setup {
        system,
        issuer,
        jwks,
        no_cache,
        cached,
    }
}

/// Runs `iters` verifications inside one `block_on` so executor overhead
/// is not measured per call.
fn time_pipeline(setup: &Setup, guard: &BearerAuth, tokens: &[String], iters: u64) -> Duration {
    setup.system.block_on(async {
        let start = Instant::now();
        for i in 0..iters as usize {
            let auth = guard.verify(&tokens[i % tokens.len()]).await;
            assert!(auth.is_ok());
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    for alg in [
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let tokens: Vec<String> = (0..POOL)
            .map(|_| {
                setup
                    .issuer
                    .token_builder(RESOURCE)
                    .algorithm(alg)
                    .scopes(&["mcp:read"])
                    .expires_in(3600)
                    .sign()
            })
            .collect();
        // Warm the key cache (one JWKS fetch) before measuring.
        time_pipeline(&setup, &setup.no_cache, &tokens[..1], 1);

        let kid = setup.issuer.current_kid(alg).unwrap();
        let key = DecodingKey::from_jwk(setup.jwks.find(&kid).unwrap()).unwrap();
        let mut validation = Validation::new(alg);
        validation.set_audience(&[RESOURCE]);
        validation.set_issuer(&[setup.issuer.issuer()]);

        let mut group = c.benchmark_group(format!("new_token/{alg:?}"));
        group.bench_function("jsonwebtoken::decode", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % POOL;
                jsonwebtoken::decode::<Map<String, Value>>(&tokens[i], &key, &validation).unwrap()
            })
        });
        group.bench_function("mcp_auth (full pipeline, cache off)", |b| {
            b.iter_custom(|iters| time_pipeline(&setup, &setup.no_cache, &tokens, iters))
        });
        group.finish();
    }

    let token = vec![
        setup
            .issuer
            .token_builder(RESOURCE)
            .scopes(&["mcp:read"])
            .expires_in(3600)
            .sign(),
    ];
    time_pipeline(&setup, &setup.cached, &token, 1);
    c.bench_function("cached_token/RS256", |b| {
        b.iter_custom(|iters| time_pipeline(&setup, &setup.cached, &token, iters))
    });
}

/// One request through `.wrap(guard)`: a cached bearer token, or a cached
/// DPoP-bound token with a fresh proof (signed before the clock starts).
fn dpop(c: &mut Criterion) {
    let setup = setup();
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(setup.issuer.resolved_config())
                .dpop(DpopMode::Allowed),
        )
        .dpop(DpopOptions::default().replay_store(MemoryReplayStore::new(4_000_000)))
        .build()
        .unwrap();
    let guard = auth.bearer_auth(RESOURCE).unwrap();
    let app = setup.system.block_on(test::init_service(
        App::new().service(web::resource("/mcp").wrap(guard).to(HttpResponse::Ok)),
    ));
    let run = |requests: Vec<(String, Option<String>)>| {
        setup.system.block_on(async {
            let start = Instant::now();
            for (authorization, proof) in requests {
                let mut req = test::TestRequest::post()
                    .uri("/mcp")
                    .insert_header((header::AUTHORIZATION, authorization));
                if let Some(proof) = proof {
                    req = req.insert_header(("DPoP", proof));
                }
                let res = test::call_service(&app, req.to_request()).await;
                assert!(res.status().is_success());
            }
            start.elapsed()
        })
    };
    let bearer = setup.issuer.token(RESOURCE, &["mcp:read"]);
    run(vec![(format!("Bearer {bearer}"), None)]);
    let mut group = c.benchmark_group("request");
    group.bench_function("bearer (cached token)", |b| {
        b.iter_custom(|iters| {
            run((0..iters)
                .map(|_| (format!("Bearer {bearer}"), None))
                .collect())
        })
    });
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let key = DpopKey::generate(alg);
        let bound = setup
            .issuer
            .token_builder(RESOURCE)
            .scopes(&["mcp:read"])
            .dpop_bound(&key)
            .expires_in(3600)
            .sign();
        let url = RESOURCE;
        let requests = |n: u64| {
            (0..n)
                .map(|_| {
                    (
                        format!("DPoP {bound}"),
                        Some(key.proof("POST", url, Some(&bound))),
                    )
                })
                .collect::<Vec<_>>()
        };
        run(requests(1));
        group.bench_function(format!("dpop {alg:?} (cached token, fresh proof)"), |b| {
            b.iter_custom(|iters| run(requests(iters)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench, dpop
}
criterion_main!(benches);
