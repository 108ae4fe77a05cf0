//! RFC 7662 introspection as a client of a protected route sees it —
//! status, `WWW-Authenticate`, and how many calls the authorization server
//! received — for what is remembered and what is refused:
//!
//! * refusals (inactive tokens, tokens that are not access tokens) are
//!   remembered briefly, so a repeated bad token costs one call;
//! * concurrent requests with one token share one call;
//! * refresh tokens and other non-access tokens are refused;
//! * active results are cached until `exp`, at most `cache_ttl`.
//!
//! (Which endpoint, its failures and the logs: `introspection_endpoints.rs`.)
//! Every test runs real in-process authorization servers
//! (`mcp_auth::testing::TestIssuer`) on 127.0.0.1.

use std::time::Duration;

use crate::common::{
    RESOURCE, assert_invalid_token_exactly, assert_ok, assert_unavailable, bearer,
    introspection::{
        INACTIVE, NOT_ACCESS, build, calls, introspection, protected_app, send_concurrently,
    },
    send, unique,
};
use mcp_auth::testing::{IntrospectionMode, TestIssuer};

// ---------------------------------------------------------------------------
// Refusals are remembered briefly (negative cache)
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn repeated_inactive_token_costs_one_call() {
    let issuer = TestIssuer::start().await;
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    let token = unique("random");
    for i in 0..20 {
        assert_invalid_token_exactly(
            &send(&app, bearer(&token)).await,
            INACTIVE,
            &format!("try {i}"),
        );
    }
    assert_eq!(
        calls(&issuer),
        1,
        "inactive result not cached (default 5 s)"
    );

    // Per token: other random tokens still cost one call each.
    for i in 0..3 {
        let other = unique("other");
        assert_invalid_token_exactly(
            &send(&app, bearer(&other)).await,
            INACTIVE,
            &format!("other {i}"),
        );
    }
    assert_eq!(calls(&issuer), 4);

    // A revoked token is refused, and that refusal is remembered too.
    let revoked = issuer.token(RESOURCE, &[]);
    issuer.revoke(&revoked);
    assert_invalid_token_exactly(&send(&app, bearer(&revoked)).await, INACTIVE, "revoked");
    assert_invalid_token_exactly(
        &send(&app, bearer(&revoked)).await,
        INACTIVE,
        "revoked again",
    );
    assert_eq!(calls(&issuer), 5);
}

#[actix_web::test]
async fn inactive_result_is_forgotten_after_negative_cache_ttl() {
    let issuer = TestIssuer::start().await;
    let ttl = Duration::from_millis(400);
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().negative_cache_ttl(ttl),
    );
    let app = protected_app(&auth).await;
    let token = unique("random");
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "first");
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "cached");
    assert_eq!(calls(&issuer), 1);
    actix_rt::time::sleep(ttl + Duration::from_millis(200)).await;
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "after the ttl");
    assert_eq!(calls(&issuer), 2, "a refusal is never reused past its ttl");

    // Zero disables the negative cache.
    let uncached = build(
        vec![issuer.resolved_config()],
        introspection().negative_cache_ttl(Duration::ZERO),
    );
    let app = protected_app(&uncached).await;
    for i in 0..3 {
        assert_invalid_token_exactly(
            &send(&app, bearer(&token)).await,
            INACTIVE,
            &format!("ttl 0, {i}"),
        );
    }
    assert_eq!(calls(&issuer), 5);
}

// ---------------------------------------------------------------------------
// Single-flight per token
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn concurrent_requests_with_one_token_share_one_call() {
    let issuer = TestIssuer::start().await;
    issuer.set_introspection_delay(300);
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    // A fresh active token.
    let token = issuer.token(RESOURCE, &[]);
    for (i, resp) in send_concurrently(&app, &token, 50).await.iter().enumerate() {
        assert_ok(resp, &format!("active #{i}"));
    }
    assert_eq!(calls(&issuer), 1, "50 concurrent requests, one call");

    // A fresh unknown token: one call, 50 refusals.
    let unknown = unique("unknown");
    for (i, resp) in send_concurrently(&app, &unknown, 50)
        .await
        .iter()
        .enumerate()
    {
        assert_invalid_token_exactly(resp, INACTIVE, &format!("inactive #{i}"));
    }
    assert_eq!(calls(&issuer), 2);

    // An outage: one call, 50 bounded 503s; the failure is not cached.
    issuer.set_introspection_mode(IntrospectionMode::Fail(500));
    let during = issuer.token(RESOURCE, &[]);
    for (i, resp) in send_concurrently(&app, &during, 50)
        .await
        .iter()
        .enumerate()
    {
        assert_unavailable(resp, &format!("outage #{i}"));
    }
    assert_eq!(calls(&issuer), 3);
    issuer.set_introspection_mode(IntrospectionMode::Normal);
    assert_ok(&send(&app, bearer(&during)).await, "after the outage");
    assert_eq!(calls(&issuer), 4, "a failed call is not cached");

    // Different tokens are not merged.
    let (a, b) = (issuer.token(RESOURCE, &[]), issuer.token(RESOURCE, &[]));
    let (ra, rb) = futures_util::future::join(
        send_concurrently(&app, &a, 10),
        send_concurrently(&app, &b, 10),
    )
    .await;
    for r in ra.iter().chain(&rb) {
        assert_ok(r, "a or b");
    }
    assert_eq!(calls(&issuer), 6);
}

#[actix_web::test]
async fn concurrent_requests_share_one_call_even_without_a_cache() {
    let issuer = TestIssuer::start().await;
    issuer.set_introspection_delay(300);
    let auth = build(
        vec![issuer.resolved_config()],
        introspection()
            .cache_ttl(Duration::ZERO)
            .negative_cache_ttl(Duration::ZERO),
    );
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    for resp in send_concurrently(&app, &token, 50).await {
        assert_ok(&resp, "concurrent");
    }
    assert_eq!(calls(&issuer), 1);
    // Caching is off: a later request asks again.
    assert_ok(&send(&app, bearer(&token)).await, "later");
    assert_eq!(calls(&issuer), 2);
}

// ---------------------------------------------------------------------------
// Only access tokens
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn refresh_tokens_and_other_non_access_tokens_are_refused() {
    let issuer = TestIssuer::start().await;
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    // What the issuer's introspection reports is the token's claims, so a
    // claim sets the `token_type` / `token_use` / `typ` of the response.
    let refused = [
        ("token_type", "refresh_token"),
        ("token_type", "Refresh_Token"),
        (
            "token_type",
            "urn:ietf:params:oauth:token-type:refresh_token",
        ),
        ("token_type", "N_A"),
        ("token_type", "DPoP"),
        ("token_type", "id_token"),
        ("token_use", "refresh"),
        ("token_use", "refresh_token"),
        ("token_use", "id"),
        ("typ", "Refresh"),
        ("typ", "ID"),
    ];
    for (n, (member, value)) in refused.into_iter().enumerate() {
        let token = issuer.token_builder(RESOURCE).claim(member, value).sign();
        let ctx = format!("{member}: {value}");
        assert_invalid_token_exactly(&send(&app, bearer(&token)).await, NOT_ACCESS, &ctx);
        assert_invalid_token_exactly(&send(&app, bearer(&token)).await, NOT_ACCESS, &ctx);
        assert_eq!(calls(&issuer), n + 1, "{ctx}: refusal not remembered");
    }

    let before = calls(&issuer);
    let accepted = [
        ("token_type", "Bearer"),
        ("token_type", "bearer"),
        ("token_type", "access_token"),
        (
            "token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("token_use", "access"),
        ("token_use", "access_token"),
        ("typ", "Bearer"),
        ("typ", "at+jwt"),
    ];
    for (member, value) in accepted {
        let token = issuer.token_builder(RESOURCE).claim(member, value).sign();
        assert_ok(
            &send(&app, bearer(&token)).await,
            &format!("{member}: {value}"),
        );
    }
    assert_eq!(calls(&issuer), before + accepted.len());
}

// ---------------------------------------------------------------------------
// Active results: until exp, at most cache_ttl
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn active_results_are_cached_until_exp_at_most_cache_ttl() {
    let issuer = TestIssuer::start().await;
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().cache_ttl(Duration::from_secs(1)),
    );
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    assert_ok(&send(&app, bearer(&token)).await, "first");
    issuer.revoke(&token);
    assert_ok(
        &send(&app, bearer(&token)).await,
        "cached (revocation not seen yet)",
    );
    assert_eq!(calls(&issuer), 1);
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    assert_invalid_token_exactly(
        &send(&app, bearer(&token)).await,
        INACTIVE,
        "after cache_ttl",
    );
    assert_eq!(calls(&issuer), 2);

    // `exp` bounds the cache below a long cache_ttl (the claim leeway still
    // accepts the token, so only the call count shows it).
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().cache_ttl(Duration::from_secs(60)),
    );
    let app = protected_app(&auth).await;
    let short = issuer.token_builder(RESOURCE).expires_in(1).sign();
    assert_ok(&send(&app, bearer(&short)).await, "short-lived");
    assert_ok(&send(&app, bearer(&short)).await, "short-lived, cached");
    assert_eq!(calls(&issuer), 3);
    actix_rt::time::sleep(Duration::from_millis(2100)).await;
    assert_ok(
        &send(&app, bearer(&short)).await,
        "after exp, within leeway",
    );
    assert_eq!(calls(&issuer), 4, "cached past exp");
}
