//! The issuer's signing keys as the verifier sees them: rotation, retired
//! keys, JWKS outages, concurrent and flooding requests for unknown `kid`s,
//! and the key refresh policy's configuration.
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use std::time::{Duration, Instant};

use crate::common::{
    RESOURCE, TestApp,
    app::{build_auth, default_app},
    assert_invalid_token, assert_ok, assert_unavailable, bearer, jose_header, send, unique,
};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    AuthServerConfig, HttpOptions, JwtOptions, McpAuth, ResourceConfig,
    auth_server::FetchOptions,
    testing::{Endpoint, JwksMode, TestIssuer},
    verify::KeyRefreshPolicy,
};

/// An issuer config whose HTTP fetches time out after 500 ms.
fn fast(config: AuthServerConfig) -> AuthServerConfig {
    config.fetch_options(
        FetchOptions::default().http(HttpOptions::default().timeout(Duration::from_millis(500))),
    )
}

/// JWT options whose JWKS goes stale after one second (for rotation tests).
fn short_refresh() -> JwtOptions {
    JwtOptions::default().key_refresh(
        KeyRefreshPolicy::default()
            .default_max_age(Duration::from_secs(1))
            .max_age_bounds(Duration::ZERO, Duration::from_secs(24 * 3600)),
    )
}

/// Sends a fresh token for `RESOURCE` (the current RS256 key) and expects a 200.
async fn assert_fresh_token_ok(app: &impl TestApp, issuer: &TestIssuer, ctx: &str) {
    assert_ok(&send(app, bearer(&issuer.token(RESOURCE, &[]))).await, ctx);
}

/// The default app trusting `issuer`, after a first request loaded its keys.
async fn warmed_up_app(issuer: &TestIssuer) -> impl TestApp + use<> {
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    assert_fresh_token_ok(&app, issuer, "warm-up").await;
    app
}

// ---------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn rotated_key_is_accepted_with_exactly_one_refetch() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = default_app(&auth).await;

    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    assert_fresh_token_ok(&app, &issuer, "first").await;
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    let new_kid = issuer.add_key(Algorithm::RS256);
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_eq!(jose_header(&token)["kid"], new_kid.as_str());
    assert_ok(&send(&app, bearer(&token)).await, "new kid");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        2,
        "one refetch for the new kid"
    );

    // Both keys are now known: no further fetches.
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_ok(&send(&app, bearer(&token)).await, "new kid again");
    let token = issuer.token_builder(RESOURCE).key(&old_kid).sign();
    assert_ok(&send(&app, bearer(&token)).await, "old kid");
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[actix_web::test]
async fn retired_key_is_refused_after_the_background_refresh() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), short_refresh());
    let app = default_app(&auth).await;

    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    // Verified and cached before the rotation.
    let cached = issuer.token_builder(RESOURCE).key(&old_kid).sign();
    assert_ok(&send(&app, bearer(&cached)).await, "before rotation");

    let new_kid = issuer.add_key(Algorithm::RS256);
    issuer.retire_key(&old_kid);
    actix_rt::time::sleep(Duration::from_millis(1200)).await;

    // The first request after staleness may still be served from the old
    // keys while the refresh runs; within a few retries it must be refused.
    let mut refused = false;
    for attempt in 0..30 {
        let token = issuer.token_builder(RESOURCE).key(&old_kid).sign();
        let resp = send(&app, bearer(&token)).await;
        match resp.status {
            200 => actix_rt::time::sleep(Duration::from_millis(100)).await,
            401 => {
                assert_invalid_token(&resp, "retired kid");
                refused = true;
                break;
            }
            other => panic!(
                "attempt {attempt}: unexpected status {other}: {}",
                resp.text()
            ),
        }
    }
    assert!(
        refused,
        "a token signed with the retired key is still accepted"
    );

    // The cache entry of a token signed by the retired key is gone too.
    let resp = send(&app, bearer(&cached)).await;
    assert_invalid_token(&resp, "cached token of the retired key");

    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_ok(&send(&app, bearer(&token)).await, "new kid");
}

// ---------------------------------------------------------------------------
// JWKS outages
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn jwks_failure_keeps_cached_keys_and_fails_closed_for_unknown_kids() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = default_app(&auth).await;
    assert_fresh_token_ok(&app, &issuer, "warm-up").await;

    issuer.set_jwks_mode(JwksMode::Fail(500));
    assert_fresh_token_ok(&app, &issuer, "cached kid while the JWKS is down").await;

    let new_kid = issuer.add_key(Algorithm::RS256);
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    let started = Instant::now();
    let resp = send(&app, bearer(&token)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_unavailable(&resp, "unknown kid while the JWKS answers 500");

    // Recovery: the same token is accepted once the JWKS is back.
    issuer.set_jwks_mode(JwksMode::Normal);
    assert_ok(&send(&app, bearer(&token)).await, "after recovery");
}

#[actix_web::test]
async fn hanging_jwks_on_first_use_is_a_bounded_503() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_mode(JwksMode::Hang);
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = default_app(&auth).await;

    let started = Instant::now();
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    let elapsed = started.elapsed();
    assert_unavailable(&resp, "hanging JWKS");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

    // A failed fetch backs off (2 s): requests in between fail fast
    // without touching the issuer, then the next one fetches again.
    issuer.set_jwks_mode(JwksMode::Normal);
    let fetches = issuer.requests(Endpoint::Jwks);
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    assert_unavailable(&resp, "during the back-off");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        fetches,
        "no fetch during the back-off"
    );
    actix_rt::time::sleep(Duration::from_millis(2100)).await;
    assert_fresh_token_ok(&app, &issuer, "after the JWKS recovers").await;
}

#[actix_web::test]
async fn garbage_jwks_is_a_503() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_mode(JwksMode::Garbage);
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = default_app(&auth).await;
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    assert_unavailable(&resp, "garbage JWKS");
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

// ---------------------------------------------------------------------------
// Concurrency and unknown-kid floods
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn concurrent_requests_for_a_new_kid_share_one_fetch() {
    let issuer = TestIssuer::start().await;
    let app = warmed_up_app(&issuer).await;
    let before = issuer.requests(Endpoint::Jwks);

    let new_kid = issuer.add_key(Algorithm::RS256);
    issuer.set_jwks_delay(200);
    // Issue #7 target: 1,000 concurrent requests, one JWKS fetch.
    let tokens: Vec<String> = (0..1000)
        .map(|_| issuer.token_builder(RESOURCE).key(&new_kid).sign())
        .collect();
    let calls = tokens.iter().map(|t| send(&app, bearer(t)));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status)
        .collect();

    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 1000, "statuses: {statuses:?}");
    assert_eq!(issuer.requests(Endpoint::Jwks), before + 1);
}

#[actix_web::test]
async fn flood_of_random_kids_costs_few_fetches() {
    let issuer = TestIssuer::start().await;
    let app = warmed_up_app(&issuer).await;
    let before = issuer.requests(Endpoint::Jwks);

    for i in 0..50 {
        let token = issuer
            .token_builder(RESOURCE)
            .header("kid", unique("flood"))
            .sign();
        let resp = send(&app, bearer(&token)).await;
        assert_invalid_token(&resp, &format!("random kid {i}"));
    }
    let fetched = issuer.requests(Endpoint::Jwks) - before;
    assert!(fetched <= 4, "{fetched} JWKS fetches for 50 random kids");

    // Known kids are unaffected by the flood.
    assert_fresh_token_ok(&app, &issuer, "after the flood").await;
}

// ---------------------------------------------------------------------------
// Configuration of the key refresh policy
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn inverted_key_refresh_bounds_are_rejected_at_build() {
    let issuer = TestIssuer::start().await;
    let jwt = JwtOptions::default().key_refresh(
        KeyRefreshPolicy::default()
            .max_age_bounds(Duration::from_secs(7200), Duration::from_secs(3600)),
    );
    let built = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(fast(issuer.resolved_config()))
        .resource(ResourceConfig::new(RESOURCE))
        .jwt_options(jwt)
        .build();
    let Ok(auth) = built else {
        return; // Expected: the mistake is reported by `build`.
    };
    // Otherwise every request fails: the fetch task panics, keys never load.
    let app = default_app(&auth).await;
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    panic!(
        "build() accepted min_max_age > max_max_age; a valid token then got {} {}",
        resp.status,
        resp.text()
    );
}
