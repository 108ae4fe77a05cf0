//! Identity providers' real token shapes over real HTTP: an issuer that
//! differs from the configured one only by a trailing slash (Auth0's issuer
//! ends with `/`).
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    RESOURCE,
    app::{build_auth, default_app},
    assert_invalid_token_exactly, assert_ok, bearer, send,
};
use mcp_auth::{
    AuthServerConfig, AuthServerType, ConfigError, JwtOptions, McpAuth, ResourceConfig,
    testing::TestIssuer,
};

#[actix_web::test]
async fn an_issuer_differing_by_a_trailing_slash_is_refused_with_a_hint() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let configured = issuer.issuer().to_owned();
    let expected = format!(
        "The token's issuer differs from a trusted issuer only by a trailing slash \
         (issuers must match exactly); did you mean `{configured}`?"
    );

    // The token's `iss` has a slash the configured issuer lacks.
    let token = issuer
        .token_builder(RESOURCE)
        .claim("iss", format!("{configured}/"))
        .sign();
    let resp = send(&app, bearer(&token)).await;
    assert_invalid_token_exactly(&resp, &expected, "extra slash");

    // An unrelated issuer keeps the generic description (no hint, no echo).
    let token = issuer
        .token_builder(RESOURCE)
        .claim("iss", format!("{configured}/other"))
        .sign();
    let resp = send(&app, bearer(&token)).await;
    assert_invalid_token_exactly(
        &resp,
        "The token was issued by an untrusted issuer.",
        "other issuer",
    );
    assert!(!resp.text().contains("/other"), "{}", resp.text());

    // The exact issuer is still accepted.
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    assert_ok(&send(&app, bearer(&token)).await, "exact issuer");
}

#[actix_web::test]
async fn a_token_without_the_configured_trailing_slash_is_refused_with_a_hint() {
    // Configured `…/` (as for Auth0) and a token without the slash: the hint
    // names the configured issuer, the cause (shown with details) says it too.
    let issuer = TestIssuer::start().await;
    let with_slash = format!("{}/", issuer.issuer());
    let mut metadata = issuer.metadata();
    metadata.issuer = with_slash.clone();
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(AuthServerConfig::resolved(metadata, AuthServerType::OAuth))
        .resource(ResourceConfig::new(RESOURCE).scopes_supported(["mcp:read", "mcp:write"]))
        .show_error_details(true)
        .build()
        .expect("valid configuration");
    let app = default_app(&auth).await;
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let resp = send(&app, bearer(&token)).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    let body = resp.json();
    let hint = format!("did you mean `{with_slash}`?");
    assert!(
        body["error_description"].as_str().unwrap().ends_with(&hint),
        "{body}"
    );
    assert!(body["cause"].as_str().unwrap().ends_with(&hint), "{body}");
}

#[actix_web::test]
async fn two_issuers_differing_by_a_trailing_slash_fail_build() {
    let issuer = TestIssuer::start().await;
    let err = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.discovery_config())
                .authorization_server(AuthServerConfig::discover_as(
                    format!("{}/", issuer.issuer()),
                    AuthServerType::OAuth,
                )),
        )
        .build()
        .expect_err("near-duplicate issuers");
    assert_eq!(
        err,
        ConfigError::TrailingSlashIssuers {
            resource: RESOURCE.to_owned(),
            first: issuer.issuer().to_owned(),
            second: format!("{}/", issuer.issuer()),
        }
    );
    let message = err.to_string();
    assert!(message.contains(issuer.issuer()), "{message}");
}
