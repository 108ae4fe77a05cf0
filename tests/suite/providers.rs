//! Identity providers' real token shapes over real HTTP: an issuer that
//! differs from the configured one only by a trailing slash (Auth0's issuer
//! ends with `/`), AWS Cognito access tokens without `aud`, and Entra ID
//! multi-tenant issuers (`{tenantid}` templates).
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    RESOURCE,
    app::{build_auth, default_app},
    assert_invalid_token, assert_invalid_token_exactly, assert_ok, bearer, send,
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

/// One resource trusting `issuer` that accepts Cognito-shaped access
/// tokens (no `aud`) from the client `cognito-app`.
fn cognito_auth(issuer: &TestIssuer) -> McpAuth {
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(
            ResourceConfig::new(RESOURCE)
                .scopes_supported(["mcp:read", "mcp:write"])
                .accept_client_ids(["cognito-app"])
                .require_claim("token_use", "access"),
        )
        .build()
        .expect("valid configuration")
}

#[actix_web::test]
async fn cognito_access_tokens_without_aud_are_accepted_from_listed_clients() {
    let issuer = TestIssuer::start().await;
    let auth = cognito_auth(&issuer);
    let app = default_app(&auth).await;
    let cognito = || {
        issuer
            .token_builder(RESOURCE)
            .without_claim("aud")
            .claim("client_id", "cognito-app")
            .claim("token_use", "access")
            .claim("scope", "mcp:read")
            .header("typ", "JWT")
    };

    let body = assert_ok(&send(&app, bearer(&cognito().sign())).await, "access");
    assert_eq!(body["client_id"], "cognito-app");

    let id_token = cognito().claim("token_use", "id").sign();
    assert_invalid_token_exactly(
        &send(&app, bearer(&id_token)).await,
        "The access token's `token_use` claim is missing or not the required value.",
        "token_use: id",
    );
    let no_use = cognito().without_claim("token_use").sign();
    assert_invalid_token(&send(&app, bearer(&no_use)).await, "no token_use");

    let unknown = cognito().claim("client_id", "other-app").sign();
    assert_invalid_token_exactly(
        &send(&app, bearer(&unknown)).await,
        "The access token has no `aud` and its `client_id` is not accepted for this resource.",
        "unknown client_id",
    );
    let azp_only = cognito()
        .without_claim("client_id")
        .claim("azp", "cognito-app")
        .sign();
    assert_invalid_token(&send(&app, bearer(&azp_only)).await, "azp is no client_id");

    // A token with an `aud` is checked against the audiences, whatever its client.
    let wrong_aud = cognito().claim("aud", "https://other.example/mcp").sign();
    assert_invalid_token_exactly(
        &send(&app, bearer(&wrong_aud)).await,
        "The access token was not issued for this resource (`aud`).",
        "wrong aud, allowed client_id",
    );
    let empty_aud = cognito().claim("aud", serde_json::json!([])).sign();
    assert_invalid_token(&send(&app, bearer(&empty_aud)).await, "empty aud");
    let right_aud = cognito().claim("aud", RESOURCE).sign();
    assert_ok(&send(&app, bearer(&right_aud)).await, "right aud");
}

#[actix_web::test]
async fn without_accept_client_ids_a_token_without_aud_is_refused() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let token = issuer
        .token_builder(RESOURCE)
        .without_claim("aud")
        .claim("token_use", "access")
        .sign();
    assert_invalid_token_exactly(
        &send(&app, bearer(&token)).await,
        "The access token was not issued for this resource (`aud`).",
        "no aud, default policy",
    );
}

#[actix_web::test]
async fn audience_relaxations_show_in_debug_and_bad_ones_fail_build() {
    let config = ResourceConfig::new(RESOURCE)
        .audience("api://mcp")
        .accept_client_ids(["cognito-app"])
        .require_claim("token_use", "access");
    let debug = format!("{config:?}");
    for needle in ["api://mcp", "cognito-app", "token_use", "access"] {
        assert!(debug.contains(needle), "{needle} in {debug}");
    }

    let issuer = TestIssuer::start().await;
    let build = |config: ResourceConfig| {
        McpAuth::builder()
            .without_declared_resources()
            .authorization_server(issuer.discovery_config())
            .resource(config)
            .build()
    };
    let field_of = |err: ConfigError| match err {
        ConfigError::InvalidField { subject, field, .. } => {
            assert_eq!(subject, RESOURCE);
            field
        }
        other => panic!("unexpected {other:?}"),
    };
    let cases = [
        (
            ResourceConfig::new(RESOURCE).accept_client_ids(Vec::<String>::new()),
            "accept_client_ids",
        ),
        (
            ResourceConfig::new(RESOURCE).accept_client_ids([""]),
            "accept_client_ids",
        ),
        (
            ResourceConfig::new(RESOURCE).require_claim("aud", "x"),
            "require_claim",
        ),
        (
            ResourceConfig::new(RESOURCE).require_claim("", "x"),
            "require_claim",
        ),
        (
            ResourceConfig::new(RESOURCE)
                .require_claim("token_use", "access")
                .require_claim("token_use", "id"),
            "require_claim",
        ),
    ];
    for (config, field) in cases {
        let ctx = format!("{config:?}");
        let err = build(config).expect_err(&ctx);
        assert_eq!(field_of(err), field, "{ctx}");
    }
}

const TENANT_A: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const TENANT_B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const TENANT_C: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// Entra ID multi-tenant metadata: the test issuer's own metadata and
/// JWKS, with `issuer` the template `<base>/{tenantid}/v2.0`.
fn entra_multi_tenant(issuer: &TestIssuer) -> AuthServerConfig {
    let mut metadata = issuer.metadata();
    metadata.issuer = format!("{}/{{tenantid}}/v2.0", issuer.issuer());
    AuthServerConfig::resolved(metadata, AuthServerType::Oidc)
}

fn entra_issuer_of(issuer: &TestIssuer, tid: &str) -> String {
    format!("{}/{tid}/v2.0", issuer.issuer())
}

#[actix_web::test]
async fn entra_multi_tenant_tokens_need_their_own_tid_in_iss_and_an_allowed_tid() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(entra_multi_tenant(&issuer).allowed_tenants([TENANT_A, TENANT_B]))
        .resource(ResourceConfig::new(RESOURCE).scopes_supported(["mcp:read", "mcp:write"]))
        .build()
        .expect("valid configuration");
    let app = default_app(&auth).await;
    let entra = |iss_tid: &str, tid: &str| {
        issuer
            .token_builder(RESOURCE)
            .claim("iss", entra_issuer_of(&issuer, iss_tid))
            .claim("tid", tid)
            .claim("scp", "mcp:read")
            .header("typ", "JWT")
    };

    for tid in [TENANT_A, TENANT_B] {
        let body = assert_ok(&send(&app, bearer(&entra(tid, tid).sign())).await, tid);
        assert_eq!(body["iss"], entra_issuer_of(&issuer, tid));
    }
    let untrusted = "The token was issued by an untrusted issuer.";
    // A tenant outside the allow-list.
    let resp = send(&app, bearer(&entra(TENANT_C, TENANT_C).sign())).await;
    assert_invalid_token_exactly(&resp, untrusted, "tid not allowed");
    // `{tenantid}` substituted with another (allowed) tenant's id.
    let resp = send(&app, bearer(&entra(TENANT_B, TENANT_A).sign())).await;
    assert_invalid_token_exactly(&resp, untrusted, "iss of another tenant");
    let resp = send(&app, bearer(&entra(TENANT_C, TENANT_A).sign())).await;
    assert_invalid_token_exactly(&resp, untrusted, "iss of a foreign tenant");
    // No `tid`, a non-string `tid`, or the template itself as `iss`.
    let resp = send(
        &app,
        bearer(&entra(TENANT_A, TENANT_A).without_claim("tid").sign()),
    )
    .await;
    assert_invalid_token_exactly(&resp, untrusted, "no tid");
    let resp = send(
        &app,
        bearer(
            &entra(TENANT_A, TENANT_A)
                .claim("tid", serde_json::json!([TENANT_A]))
                .sign(),
        ),
    )
    .await;
    assert_invalid_token_exactly(&resp, untrusted, "tid not a string");
    let template = issuer
        .token_builder(RESOURCE)
        .claim("iss", format!("{}/{{tenantid}}/v2.0", issuer.issuer()))
        .claim("tid", TENANT_A)
        .sign();
    assert_invalid_token_exactly(
        &send(&app, bearer(&template)).await,
        untrusted,
        "template iss",
    );
    let raw = issuer.token(RESOURCE, &["mcp:read"]);
    assert_invalid_token_exactly(&send(&app, bearer(&raw)).await, untrusted, "base issuer");
}

#[actix_web::test]
async fn entra_multi_tenant_configuration_mistakes_fail_build() {
    let issuer = TestIssuer::start().await;
    let build = |server: AuthServerConfig| {
        McpAuth::builder()
            .without_declared_resources()
            .authorization_server(server)
            .resource(ResourceConfig::new(RESOURCE))
            .build()
    };
    let template = format!("{}/{{tenantid}}/v2.0", issuer.issuer());
    let cases = [
        (
            "no allow-list",
            entra_multi_tenant(&issuer),
            template.clone(),
        ),
        (
            "empty allow-list",
            entra_multi_tenant(&issuer).allowed_tenants(Vec::<String>::new()),
            template.clone(),
        ),
        (
            "bad tenant id",
            entra_multi_tenant(&issuer).allowed_tenants(["a/b"]),
            template.clone(),
        ),
        (
            "discovery of a template",
            AuthServerConfig::discover(template.clone()).allowed_tenants([TENANT_A]),
            template.clone(),
        ),
        (
            "tenants without a template",
            issuer.resolved_config().allowed_tenants([TENANT_A]),
            issuer.issuer().to_owned(),
        ),
    ];
    for (ctx, server, subject) in cases {
        match build(server).expect_err(ctx) {
            ConfigError::InvalidField {
                subject: s, field, ..
            } => {
                assert_eq!(s, subject, "{ctx}");
                assert_eq!(field, "allowed_tenants", "{ctx}");
            }
            other => panic!("{ctx}: unexpected {other:?}"),
        }
    }
    let debug = format!(
        "{:?}",
        entra_multi_tenant(&issuer).allowed_tenants([TENANT_A])
    );
    assert!(debug.contains(TENANT_A), "{debug}");
}
