//! Who verifies a token, and what is remembered: issuer pinning per
//! resource, introspection and custom verifiers behind the same claim
//! policy, token redaction in `AuthInfo`, and the verified-token cache.
//! (JWT claims, signatures and keys: `jwt_*.rs`; refusals: `challenges.rs`.)
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use crate::common::{
    RESOURCE,
    app::{build_auth, default_app, echo},
    assert_invalid_token, assert_invalid_token_exactly, assert_ok, assert_unavailable, bearer,
    bearer_at, now, segments, send, unique,
};
use actix_web::{App, test, web};
use mcp_auth::{
    HttpOptions, JwtOptions, McpAuth, ResourceConfig,
    testing::{Endpoint, TestIssuer},
    verify::{Introspection, VerifiedClaims, VerifyError},
};
use serde_json::json;

const OTHER_RESOURCE: &str = "http://127.0.0.1:8080/other";

// ---------------------------------------------------------------------------
// Issuer pinning
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn tokens_of_another_resources_issuer_are_refused_without_network() {
    let as1 = TestIssuer::start().await;
    let as2 = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(as1.discovery_config()))
        .resource(ResourceConfig::new(OTHER_RESOURCE).authorization_server(as2.discovery_config()))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(auth.bearer_auth(RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/other")
                    .wrap(auth.bearer_auth(OTHER_RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            ),
    )
    .await;
    let counters = |i: &TestIssuer| {
        [
            i.requests(Endpoint::Jwks),
            i.requests(Endpoint::OAuthMetadata),
            i.requests(Endpoint::OidcMetadata),
        ]
    };

    // A valid AS2 token, audience resource 1.
    let resp = send(&app, bearer(&as2.token(RESOURCE, &[]))).await;
    assert_invalid_token(&resp, "AS2 token at resource 1");
    assert_eq!(counters(&as2), [0, 0, 0], "AS2 was contacted");
    assert_eq!(
        counters(&as1),
        [0, 0, 0],
        "AS1 was contacted for a foreign token"
    );

    // Positive controls.
    let body = assert_ok(
        &send(&app, bearer(&as1.token(RESOURCE, &[]))).await,
        "AS1 at resource 1",
    );
    assert_eq!(body["iss"], as1.issuer());
    assert_eq!(counters(&as1), [1, 1, 0]);
    let body = assert_ok(
        &send(&app, bearer_at("/other", &as2.token(OTHER_RESOURCE, &[]))).await,
        "AS2 at resource 2",
    );
    assert_eq!(body["resource"], OTHER_RESOURCE);

    // A token verified (and cached) for resource 1 is not valid at resource 2.
    let token = as1.token(RESOURCE, &[]);
    assert_ok(&send(&app, bearer(&token)).await, "cache fill");
    let resp = send(&app, bearer_at("/other", &token)).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert_eq!(resp.json()["error"], "invalid_token");
}

// ---------------------------------------------------------------------------
// Introspection
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn introspection_verifies_opaque_tokens() {
    let issuer = TestIssuer::start().await;
    // A port nobody listens on.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/introspect", l.local_addr().unwrap())
    };
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .introspection(Introspection::client_secret_basic("rs", "secret")),
        )
        .resource(
            ResourceConfig::new(OTHER_RESOURCE)
                .authorization_server(issuer.resolved_config())
                .introspection(
                    Introspection::client_secret_basic("rs", "secret")
                        .endpoint(dead)
                        .http(HttpOptions::default().timeout(Duration::from_millis(500))),
                ),
        )
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .service(
                web::resource("/mcp")
                    .wrap(auth.bearer_auth(RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/other")
                    .wrap(auth.bearer_auth(OTHER_RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            ),
    )
    .await;

    let active = issuer.token(RESOURCE, &["mcp:read"]);
    let body = assert_ok(&send(&app, bearer(&active)).await, "active");
    assert_eq!(body["sub"], "test-user");
    assert_eq!(body["scopes"], json!(["mcp:read"]));
    assert_eq!(issuer.requests(Endpoint::Introspection), 1);
    assert_ok(&send(&app, bearer(&active)).await, "active, cached");
    assert_eq!(
        issuer.requests(Endpoint::Introspection),
        1,
        "result not cached"
    );

    let revoked = issuer.token(RESOURCE, &["mcp:read"]);
    issuer.revoke(&revoked);
    // (case, token) — each a 401 `invalid_token`.
    let refused = [
        ("revoked", revoked),
        ("unknown", unique("opaque")),
        (
            "audience mismatch",
            issuer.token("https://other.example/mcp", &["mcp:read"]),
        ),
        (
            "active but expired",
            issuer.token_builder(RESOURCE).expires_in(-600).sign(),
        ),
    ];
    for (case, token) in refused {
        assert_invalid_token(&send(&app, bearer(&token)).await, case);
    }

    let token = issuer.token(OTHER_RESOURCE, &[]);
    let started = Instant::now();
    let resp = send(&app, bearer_at("/other", &token)).await;
    assert!(resp.www().is_none());
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert_eq!(resp.json()["error"], "temporarily_unavailable");
    assert!(started.elapsed() < Duration::from_secs(5));
}

// ---------------------------------------------------------------------------
// Custom verifier
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn custom_verifier_results_go_through_the_claim_policy() {
    let issuer = TestIssuer::start().await;
    let verifier = |token: String| async move {
        let mut claims = VerifiedClaims::new();
        claims.insert("sub".into(), "custom-user".into());
        claims.insert("scope".into(), "mcp:read".into());
        match token.as_str() {
            "good" => {}
            "no-aud" => return Ok(claims),
            "foreign-iss" => {
                claims.insert("iss".into(), "https://evil.example".into());
            }
            "expired" => {
                claims.insert("exp".into(), (now() - 600).into());
            }
            "down" => return Err(VerifyError::Unavailable("backend down".into())),
            _ => return Err(VerifyError::Invalid("unknown token".into())),
        }
        claims.insert("aud".into(), RESOURCE.into());
        Ok::<VerifiedClaims, VerifyError>(claims)
    };
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .verifier(verifier),
        )
        .show_error_details(true)
        .build()
        .unwrap();
    let app = default_app(&auth).await;

    let body = assert_ok(&send(&app, bearer("good")).await, "good");
    assert_eq!(body["sub"], "custom-user");
    assert_eq!(body["scopes"], json!(["mcp:read"]));

    let resp = send(&app, bearer("bogus")).await;
    assert_invalid_token(&resp, "invalid");
    assert_eq!(resp.json()["cause"], "unknown token");

    for token in ["no-aud", "foreign-iss", "expired"] {
        assert_invalid_token(&send(&app, bearer(token)).await, token);
    }

    let resp = send(&app, bearer("down")).await;
    assert_unavailable(&resp, "verifier unavailable");
    assert_eq!(resp.json()["cause"], "backend down");
}

// ---------------------------------------------------------------------------
// Token redaction
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn auth_info_never_shows_the_token() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let resp = send(&app, bearer_at("/debug", &token)).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["token_len"], token.len());
    let debug = body["debug"].as_str().unwrap();
    let serialized = body["serialized"].as_str().unwrap();
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.contains("test-user"), "{debug}");
    let (_, _, signature) = segments(&token);
    for text in [debug, serialized] {
        assert!(!text.contains(&token), "token leaked: {text}");
        assert!(!text.contains(&signature), "signature leaked: {text}");
    }
}

// ---------------------------------------------------------------------------
// Verified-token cache
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn repeated_token_costs_no_issuer_request() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let counters = || {
        [
            Endpoint::Jwks,
            Endpoint::OAuthMetadata,
            Endpoint::OidcMetadata,
            Endpoint::Token,
            Endpoint::Introspection,
        ]
        .map(|e| issuer.requests(e))
    };
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    assert_ok(&send(&app, bearer(&token)).await, "first");
    let after_first = counters();
    assert_eq!(after_first, [1, 1, 0, 0, 0]);
    assert_ok(&send(&app, bearer(&token)).await, "second");
    assert_eq!(counters(), after_first);
}

#[actix_web::test]
async fn cached_token_is_not_used_after_exp() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(
        issuer.resolved_config(),
        JwtOptions::default().leeway(Duration::ZERO),
    );
    let app = default_app(&auth).await;
    let token = issuer.token_builder(RESOURCE).expires_in(2).sign();
    assert_ok(&send(&app, bearer(&token)).await, "fresh");
    assert_ok(&send(&app, bearer(&token)).await, "cached");
    actix_rt::time::sleep(Duration::from_millis(3200)).await;
    let resp = send(&app, bearer(&token)).await;
    assert_invalid_token_exactly(&resp, "The access token has expired.", "after exp");
}
