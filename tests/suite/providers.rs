//! Identity providers' real token shapes over real HTTP: an issuer that
//! differs from the configured one only by a trailing slash (Auth0's issuer
//! ends with `/`), AWS Cognito access tokens without `aud`, Entra ID
//! multi-tenant issuers (`{tenantid}` templates), and the provider profiles
//! (`mcp_auth::providers`), one test per provider with its token shapes and
//! its refusals, plus the shape rules of their issuers.
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    RESOURCE, Resp, TestApp,
    app::{build_auth, default_app, read_scoped_app},
    assert_invalid_token, assert_invalid_token_exactly, assert_ok, assert_rejected, bearer,
    bearer_at, get, send,
};
use mcp_auth::{
    AuthServerConfig, AuthServerType, ConfigError, JwtOptions, McpAuth, ResourceConfig, providers,
    testing::{JwksStyle, TestIssuer, TokenBuilder},
};
use serde_json::{Value, json};

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

// ---------------------------------------------------------------------------
// Provider profiles (`mcp_auth::providers`)
// ---------------------------------------------------------------------------

/// Builds one resource made by a profile, advertising `mcp:read` and `mcp:write`.
fn build_profile(resource: ResourceConfig) -> Result<McpAuth, ConfigError> {
    McpAuth::builder()
        .without_declared_resources()
        .resource(resource.scopes_supported(["mcp:read", "mcp:write"]))
        .build()
}

/// `token` grants `mcp:read` and `mcp:write`: the route-level scope and the
/// step-up in `/write` pass. Returns what `/mcp` saw.
async fn assert_grants_read_write(app: &impl TestApp, token: &str, ctx: &str) -> Value {
    let body = assert_ok(&send(app, bearer(token)).await, ctx);
    let written = assert_ok(&send(app, bearer_at("/write", token)).await, ctx);
    assert_eq!(written["written"], true, "{ctx}");
    body
}

/// `token` grants `mcp:read` only: `/mcp` passes, `/write` is a 403 naming
/// the granted scopes and the needed one (`challenge_scope`).
async fn assert_grants_read_only(
    app: &impl TestApp,
    token: &str,
    challenge_scope: &str,
    ctx: &str,
) {
    assert_ok(&send(app, bearer(token)).await, ctx);
    let resp = send(app, bearer_at("/write", token)).await;
    assert_rejected(
        &resp,
        403,
        Some("insufficient_scope"),
        Some(challenge_scope),
        ctx,
    );
}

/// A 401 `invalid_token` from a route needing `mcp:read` (the challenge
/// names it).
#[track_caller]
fn assert_refused(resp: &Resp, ctx: &str) {
    assert_rejected(resp, 401, Some("invalid_token"), Some("mcp:read"), ctx);
}

/// [`assert_refused`] with exactly this description.
#[track_caller]
fn assert_refused_exactly(resp: &Resp, description: &str, ctx: &str) {
    assert_refused(resp, ctx);
    assert_eq!(resp.json()["error_description"], description, "{ctx}");
}

/// `token` grants no scope the routes need: a 403 naming the granted
/// scopes and `mcp:read` (`challenge_scope`).
async fn assert_grants_nothing(app: &impl TestApp, token: &str, challenge_scope: &str, ctx: &str) {
    let resp = send(app, bearer(token)).await;
    assert_rejected(
        &resp,
        403,
        Some("insufficient_scope"),
        Some(challenge_scope),
        ctx,
    );
}

/// The `authorization_servers` the resource metadata advertises.
async fn advertised(app: &impl TestApp) -> Value {
    let resp = send(app, get("/.well-known/oauth-protected-resource/mcp")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["authorization_servers"].clone()
}

const ENTRA_CLIENT_ID: &str = "6e0c3d3a-1111-2222-3333-444455556666";
const NO_SCP_OR_ROLES: &str =
    "The access token carries none of the claims `scp`, `roles` (one is required).";

/// An Entra ID v2 access token of `issuer` for the app `ENTRA_CLIENT_ID`:
/// `typ: JWT`, `aud` the client id, `tid`, `azp`, `ver: 2.0`, no `client_id`.
fn entra_v2<'a>(issuer: &'a TestIssuer, tid: &str) -> TokenBuilder<'a> {
    issuer
        .token_builder(RESOURCE)
        .header("typ", "JWT")
        .claim("aud", ENTRA_CLIENT_ID)
        .claim("tid", tid)
        .claim("azp", "entra-client")
        .claim("azpacr", "0")
        .claim("ver", "2.0")
        .claim("oid", "00000000-0000-0000-0000-0000000000aa")
        .without_claim("client_id")
        .without_claim("jti")
        .claim("uti", "AbCdEf")
}

#[actix_web::test]
async fn entra_id_v2_tokens_grant_scp_and_roles_and_id_tokens_are_refused() {
    let issuer = TestIssuer::start_with_path(&format!("/{TENANT_A}/v2.0")).await;
    issuer.set_jwks_style(JwksStyle::WithoutAlgWithX5c);
    let auth =
        build_profile(providers::entra_id(RESOURCE, issuer.issuer()).audience(ENTRA_CLIENT_ID))
            .expect("valid configuration");
    let app = read_scoped_app(&auth).await;

    // Delegated: `scp`, space-delimited.
    let delegated = entra_v2(&issuer, TENANT_A).claim("scp", "mcp:read mcp:write");
    let body = assert_grants_read_write(&app, &delegated.sign(), "scp").await;
    assert_eq!(body["client_id"], "entra-client");
    assert_eq!(body["scopes"], json!(["mcp:read", "mcp:write"]));
    let read = entra_v2(&issuer, TENANT_A).claim("scp", "mcp:read").sign();
    assert_grants_read_only(&app, &read, "mcp:read mcp:write", "scp read").await;
    // App-only (client credentials): app roles in `roles`, no `scp`.
    let app_only = entra_v2(&issuer, TENANT_A).claim("roles", json!(["mcp:read", "mcp:write"]));
    assert_grants_read_write(&app, &app_only.sign(), "roles").await;
    let role_read = entra_v2(&issuer, TENANT_A).claim("roles", json!(["mcp:read"]));
    assert_grants_read_only(&app, &role_read.sign(), "mcp:read mcp:write", "roles read").await;
    // A `scope` claim is not Entra's: it grants nothing.
    let scope_only = entra_v2(&issuer, TENANT_A)
        .claim("scp", "User.Read")
        .claim("scope", "mcp:read");
    assert_grants_nothing(
        &app,
        &scope_only.sign(),
        "User.Read mcp:read",
        "scope claim ignored",
    )
    .await;

    // An ID token: `aud` is the client id (an accepted audience), no scp/roles.
    let id_token = entra_v2(&issuer, TENANT_A)
        .claim("nonce", "n-0S6_WzA2Mj")
        .claim("name", "Test User")
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&id_token)).await,
        NO_SCP_OR_ROLES,
        "ID token",
    );
    let empty = entra_v2(&issuer, TENANT_A)
        .claim("scp", "")
        .claim("roles", json!([]));
    assert_refused_exactly(
        &send(&app, bearer(&empty.sign())).await,
        NO_SCP_OR_ROLES,
        "empty",
    );

    // A v1 token where the v2 issuer is configured: refused with a hint.
    let v1 = entra_v2(&issuer, TENANT_A)
        .claim("iss", format!("https://sts.windows.net/{TENANT_A}/"))
        .claim("scp", "mcp:read")
        .sign();
    let resp = send(&app, bearer(&v1)).await;
    assert_refused(&resp, "v1 iss");
    let description = resp.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains("requestedAccessTokenVersion"),
        "{description}"
    );
    assert_eq!(advertised(&app).await, json!([issuer.issuer()]));
}

#[actix_web::test]
async fn entra_id_v1_issuer_with_its_trailing_slash_is_discovered_and_verified() {
    // `https://sts.windows.net/<tenant>/`: discovery appends to the issuer
    // without its slash; `aud` of a v1 token is the application ID URI.
    let issuer = TestIssuer::start_with_trailing_slash(&format!("/{TENANT_A}")).await;
    issuer.set_jwks_style(JwksStyle::WithoutAlgWithX5c);
    assert!(issuer.issuer().ends_with(&format!("/{TENANT_A}/")));
    let auth =
        build_profile(providers::entra_id(RESOURCE, issuer.issuer()).audience("api://mcp-notes"))
            .expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    let v1 = || {
        entra_v2(&issuer, TENANT_A)
            .claim("aud", "api://mcp-notes")
            .claim("ver", "1.0")
            .claim("appid", "entra-client")
            .without_claim("azp")
    };
    assert_grants_read_write(
        &app,
        &v1().claim("scp", "mcp:read mcp:write").sign(),
        "v1 scp",
    )
    .await;
    assert_grants_read_only(
        &app,
        &v1().claim("roles", json!(["mcp:read"])).sign(),
        "mcp:read mcp:write",
        "v1 roles",
    )
    .await;
    assert_refused_exactly(
        &send(&app, bearer(&v1().sign())).await,
        NO_SCP_OR_ROLES,
        "v1 no scp",
    );
    // The slash is part of the issuer.
    let no_slash = v1()
        .claim("scp", "mcp:read")
        .claim("iss", issuer.issuer().trim_end_matches('/'))
        .sign();
    assert_refused(&send(&app, bearer(&no_slash)).await, "iss without slash");
}

#[actix_web::test]
async fn entra_id_multi_tenant_profile_accepts_listed_tenants_and_advertises_the_given_endpoint() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_style(JwksStyle::WithoutAlgWithX5c);
    let mut metadata = issuer.metadata();
    metadata.issuer = format!("{}/{{tenantid}}/v2.0", issuer.issuer());
    // Entra's metadata does not list `code_challenge_methods_supported`.
    metadata.code_challenge_methods_supported = None;
    let organizations = format!("{}/organizations/v2.0", issuer.issuer());
    let auth = build_profile(
        providers::entra_id_multi_tenant(RESOURCE, metadata, [TENANT_A, TENANT_B], &organizations)
            .audience(ENTRA_CLIENT_ID),
    )
    .expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    let token = |iss_tid: &str, tid: &str| {
        entra_v2(&issuer, tid).claim("iss", entra_issuer_of(&issuer, iss_tid))
    };

    for tid in [TENANT_A, TENANT_B] {
        let body = assert_grants_read_write(
            &app,
            &token(tid, tid).claim("scp", "mcp:read mcp:write").sign(),
            tid,
        )
        .await;
        assert_eq!(body["iss"], entra_issuer_of(&issuer, tid));
    }
    assert_grants_read_only(
        &app,
        &token(TENANT_B, TENANT_B)
            .claim("roles", json!(["mcp:read"]))
            .sign(),
        "mcp:read mcp:write",
        "roles",
    )
    .await;
    let untrusted = "The token was issued by an untrusted issuer.";
    let resp = send(
        &app,
        bearer(&token(TENANT_C, TENANT_C).claim("scp", "mcp:read").sign()),
    )
    .await;
    assert_refused_exactly(&resp, untrusted, "tenant not allowed");
    let resp = send(
        &app,
        bearer(&token(TENANT_B, TENANT_A).claim("scp", "mcp:read").sign()),
    )
    .await;
    assert_refused_exactly(&resp, untrusted, "another tenant's id in iss");
    let resp = send(&app, bearer(&token(TENANT_A, TENANT_A).sign())).await;
    assert_refused_exactly(&resp, NO_SCP_OR_ROLES, "ID token");

    // Clients are pointed at the endpoint given, not at the template.
    assert_eq!(advertised(&app).await, json!([organizations]));
}

#[actix_web::test]
async fn cognito_profile_accepts_access_tokens_of_its_app_clients_only() {
    let issuer = TestIssuer::start_with_path("/us-east-1_AbCdEf123").await;
    issuer.set_jwks_style(JwksStyle::WithoutAlg);
    let auth = build_profile(providers::cognito(
        RESOURCE,
        issuer.issuer(),
        ["cognito-app"],
    ))
    .expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    // Cognito access tokens: no `typ` header, no `aud`, `client_id`,
    // `token_use: access`, `scope`, `username`, `auth_time`, `version`.
    let access = || {
        issuer
            .token_builder(RESOURCE)
            .without_header("typ")
            .without_claim("aud")
            .claim("client_id", "cognito-app")
            .claim("token_use", "access")
            .claim("username", "test-user")
            .claim("auth_time", 1_700_000_000)
            .claim("version", 2)
    };
    let body = assert_grants_read_write(
        &app,
        &access().scopes(&["mcp:read", "mcp:write"]).sign(),
        "access",
    )
    .await;
    assert_eq!(body["client_id"], "cognito-app");
    assert_grants_read_only(
        &app,
        &access().scopes(&["mcp:read"]).sign(),
        "mcp:read mcp:write",
        "read",
    )
    .await;

    // An ID token: `token_use: id`, `aud` the app client.
    let id_token = access()
        .claim("token_use", "id")
        .claim("aud", "cognito-app")
        .without_claim("client_id")
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&id_token)).await,
        "The access token's `token_use` claim is missing or not the required value.",
        "ID token",
    );
    let other_client = access()
        .claim("client_id", "other-app")
        .scopes(&["mcp:read"])
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&other_client)).await,
        "The access token has no `aud` and its `client_id` is not accepted for this resource.",
        "other app client",
    );
}

#[actix_web::test]
async fn keycloak_profile_requires_the_bearer_typ_claim() {
    let issuer = TestIssuer::start_with_path("/realms/mcp").await;
    let auth =
        build_profile(providers::keycloak(RESOURCE, issuer.issuer())).expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    // Keycloak access tokens: `typ: JWT` header, the claim `typ: Bearer`,
    // `azp`, `aud` with an audience mapper (plus `account`), `scope`.
    let access = || {
        issuer
            .token_builder(RESOURCE)
            .header("typ", "JWT")
            .claim("typ", "Bearer")
            .claim("azp", "mcp-client")
            .claim("aud", json!([RESOURCE, "account"]))
            .claim("realm_access", json!({"roles": ["offline_access"]}))
            .claim("sid", "b5c1")
            .without_claim("client_id")
    };
    let body = assert_grants_read_write(
        &app,
        &access()
            .scopes(&["openid", "profile", "mcp:read", "mcp:write"])
            .sign(),
        "access",
    )
    .await;
    assert_eq!(body["client_id"], "mcp-client");
    assert_grants_read_only(
        &app,
        &access().scopes(&["openid", "mcp:read"]).sign(),
        "openid mcp:read mcp:write",
        "read",
    )
    .await;
    let refused = "The access token's `typ` claim is missing or not the required value.";
    for typ in ["ID", "Refresh", "bearer"] {
        let token = access().claim("typ", typ).scopes(&["mcp:read"]).sign();
        assert_refused_exactly(&send(&app, bearer(&token)).await, refused, typ);
    }
    let no_typ = access().without_claim("typ").scopes(&["mcp:read"]).sign();
    assert_refused_exactly(&send(&app, bearer(&no_typ)).await, refused, "no typ claim");
    // Keycloak's default audience (`account` only) is not this resource.
    let account = access()
        .claim("aud", "account")
        .scopes(&["mcp:read"])
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&account)).await,
        "The access token was not issued for this resource (`aud`).",
        "aud account",
    );
}

#[actix_web::test]
async fn auth0_profile_grants_rbac_permissions_with_the_slashed_issuer() {
    let issuer = TestIssuer::start_with_trailing_slash("").await;
    issuer.set_jwks_style(JwksStyle::WithoutAlgWithX5c);
    assert!(issuer.issuer().ends_with('/'));
    let auth =
        build_profile(providers::auth0(RESOURCE, issuer.issuer())).expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    // Auth0: `typ: at+jwt`, `aud` the API identifier and `/userinfo`,
    // `azp`, `scope` (OIDC scopes) and `permissions` (RBAC).
    let access = |permissions: Value| {
        issuer
            .token_builder(RESOURCE)
            .claim(
                "aud",
                json!([RESOURCE, format!("{}userinfo", issuer.issuer())]),
            )
            .claim("azp", "auth0-client")
            .claim("scope", "openid profile")
            .claim("permissions", permissions)
            .without_claim("client_id")
    };
    let body = assert_grants_read_write(
        &app,
        &access(json!(["mcp:read", "mcp:write"])).sign(),
        "permissions",
    )
    .await;
    assert_eq!(body["client_id"], "auth0-client");
    assert_eq!(
        body["scopes"],
        json!(["openid", "profile", "mcp:read", "mcp:write"])
    );
    assert_grants_read_only(
        &app,
        &access(json!(["mcp:read"])).sign(),
        "openid profile mcp:read mcp:write",
        "read",
    )
    .await;
    assert_grants_nothing(
        &app,
        &access(json!([])).sign(),
        "openid profile mcp:read",
        "no permissions",
    )
    .await;
    // Client credentials: `gty`, scopes in `scope` too.
    let m2m = access(json!(["mcp:read"]))
        .claim("gty", "client-credentials")
        .claim("scope", "mcp:read mcp:write")
        .sign();
    assert_grants_read_write(&app, &m2m, "client credentials").await;
    // `iss` without the slash: refused with the hint.
    let slashless = access(json!(["mcp:read"]))
        .claim("iss", issuer.issuer().trim_end_matches('/'))
        .sign();
    let resp = send(&app, bearer(&slashless)).await;
    assert_refused(&resp, "iss without slash");
    assert!(
        resp.json()["error_description"]
            .as_str()
            .unwrap()
            .ends_with(&format!("did you mean `{}`?", issuer.issuer())),
        "{}",
        resp.text()
    );
}

#[actix_web::test]
async fn okta_profile_reads_scp_and_cid_and_explains_org_server_tokens() {
    let issuer = TestIssuer::start_with_path("/oauth2/default").await;
    issuer.set_jwks_style(JwksStyle::WithoutAlg);
    let configured = issuer.issuer().to_owned();
    let auth = build_profile(providers::okta(RESOURCE, &configured).audience("api://default"))
        .expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    // Okta custom authorization server: no `typ` header, `aud:
    // api://default`, `cid`, `uid`, `scp` as an array, `ver: 1`.
    let access = |scp: Value| {
        issuer
            .token_builder(RESOURCE)
            .without_header("typ")
            .claim("aud", "api://default")
            .claim("cid", "okta-app")
            .claim("uid", "00u1a2b3c4")
            .claim("ver", 1)
            .claim("scp", scp)
            .without_claim("client_id")
    };
    let body = assert_grants_read_write(
        &app,
        &access(json!(["mcp:read", "mcp:write"])).sign(),
        "scp",
    )
    .await;
    assert_eq!(body["client_id"], "okta-app");
    assert_grants_read_only(
        &app,
        &access(json!(["mcp:read"])).sign(),
        "mcp:read mcp:write",
        "read",
    )
    .await;
    // `scope` is not Okta's claim: it grants nothing.
    let scope = access(json!([])).claim("scope", "mcp:read").sign();
    assert_grants_nothing(&app, &scope, "mcp:read", "scope claim ignored").await;

    // A token of the org authorization server (`iss` the origin).
    let origin = configured.trim_end_matches("/oauth2/default").to_owned();
    let org = access(json!(["mcp:read"]))
        .claim("iss", origin.as_str())
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&org)).await,
        &format!(
            "The token was issued by the Okta org authorization server of `{configured}`: its \
             access tokens are for Okta's own APIs and cannot be verified by a resource server. \
             Request tokens from the custom authorization server `{configured}`."
        ),
        "org authorization server",
    );
}

#[actix_web::test]
async fn logto_profile_verifies_api_resource_tokens() {
    let issuer = TestIssuer::start_with_path("/oidc").await;
    let auth =
        build_profile(providers::logto(RESOURCE, issuer.issuer())).expect("valid configuration");
    let app = read_scoped_app(&auth).await;
    // Logto: `typ: at+jwt`, `aud` the API resource indicator, `client_id`, `scope`.
    let access = |scope: &[&str]| {
        issuer
            .token_builder(RESOURCE)
            .claim("client_id", "logto-app")
            .scopes(scope)
    };
    let body =
        assert_grants_read_write(&app, &access(&["mcp:read", "mcp:write"]).sign(), "scope").await;
    assert_eq!(body["client_id"], "logto-app");
    assert_grants_read_only(
        &app,
        &access(&["mcp:read"]).sign(),
        "mcp:read mcp:write",
        "read",
    )
    .await;
    let other_api = access(&["mcp:read"])
        .claim("aud", "https://other.example/api")
        .sign();
    assert_refused_exactly(
        &send(&app, bearer(&other_api)).await,
        "The access token was not issued for this resource (`aud`).",
        "another API resource",
    );
}

#[actix_web::test]
async fn provider_issuer_shape_violations_fail_build() {
    let tid = TENANT_A;
    let cases: Vec<(ResourceConfig, &str, String, &str)> = vec![
        (
            providers::entra_id(RESOURCE, "https://login.microsoftonline.com/common/v2.0"),
            "entra_id",
            "https://login.microsoftonline.com/common/v2.0".into(),
            "use `providers::entra_id_multi_tenant`",
        ),
        (
            providers::entra_id(RESOURCE, "https://login.microsoftonline.com/organizations/"),
            "entra_id",
            "https://login.microsoftonline.com/organizations/".into(),
            "multi-tenant endpoint",
        ),
        (
            providers::entra_id(
                RESOURCE,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
            ),
            "entra_id",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0".into(),
            "GUID",
        ),
        (
            providers::entra_id(
                RESOURCE,
                format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0"),
            ),
            "entra_id",
            format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0"),
            "`https://login.microsoftonline.com/<tenant id>/v2.0`",
        ),
        (
            providers::entra_id_multi_tenant(
                RESOURCE,
                mcp_auth::AuthorizationServerMetadata::new(
                    "https://login.microsoftonline.com/organizations/v2.0",
                    "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
                    "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
                    ["code"],
                ),
                Vec::<String>::new(),
                "https://login.microsoftonline.com/organizations/v2.0",
            ),
            "allowed_tenants",
            String::new(),
            "",
        ),
        (
            providers::cognito(
                RESOURCE,
                "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbC123",
                ["app"],
            ),
            "cognito",
            "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbC123".into(),
            "its issuer's host is `cognito-idp.eu-west-1.amazonaws.com`",
        ),
        (
            providers::cognito(
                RESOURCE,
                "https://cognito-idp.eu-west-1.amazonaws.com/pools/eu-west-1_AbC123",
                ["app"],
            ),
            "cognito",
            "https://cognito-idp.eu-west-1.amazonaws.com/pools/eu-west-1_AbC123".into(),
            "`<region>_<id>`",
        ),
        (
            providers::keycloak(RESOURCE, "https://sso.example.com/realms/mcp/"),
            "keycloak",
            "https://sso.example.com/realms/mcp/".into(),
            "did you mean `https://sso.example.com/realms/mcp`?",
        ),
        (
            providers::keycloak(RESOURCE, "https://sso.example.com/mcp"),
            "keycloak",
            "https://sso.example.com/mcp".into(),
            "`https://<host>/realms/<realm>`",
        ),
        (
            providers::auth0(RESOURCE, "https://my-tenant.us.auth0.com"),
            "auth0",
            "https://my-tenant.us.auth0.com".into(),
            "did you mean `https://my-tenant.us.auth0.com/`?",
        ),
        (
            providers::auth0(RESOURCE, "https://my-tenant.us.auth0.com/api/v2/"),
            "auth0",
            "https://my-tenant.us.auth0.com/api/v2/".into(),
            "not a URL with a path",
        ),
        (
            providers::okta(RESOURCE, "https://acme.okta.com"),
            "okta",
            "https://acme.okta.com".into(),
            "is the Okta org authorization server: its access tokens are for Okta's own APIs and \
             cannot be verified by a resource server; create or use a custom authorization server",
        ),
        (
            providers::okta(RESOURCE, "https://acme.okta.com/oauth2/default/"),
            "okta",
            "https://acme.okta.com/oauth2/default/".into(),
            "did you mean `https://acme.okta.com/oauth2/default`?",
        ),
        (
            providers::logto(RESOURCE, "https://abc123.logto.app"),
            "logto",
            "https://abc123.logto.app".into(),
            "did you mean `https://abc123.logto.app/oidc`?",
        ),
    ];
    for (config, provider, issuer, reason_part) in cases {
        let ctx = format!("{config:?}");
        let err = build_profile(config).expect_err(&ctx);
        if provider == "allowed_tenants" {
            // The multi-tenant profile's own checks still apply first.
            assert!(
                matches!(
                    err,
                    ConfigError::InvalidField {
                        field: "allowed_tenants",
                        ..
                    }
                ),
                "{err:?}"
            );
            continue;
        }
        let message = err.to_string();
        match err {
            ConfigError::Provider {
                provider: p,
                issuer: i,
                reason,
            } => {
                assert_eq!((p, i.as_str()), (provider, issuer.as_str()), "{ctx}");
                assert!(reason.contains(reason_part), "{reason}");
                assert_eq!(
                    message,
                    format!("invalid `issuer` `{issuer}` for `providers::{provider}`: {reason}")
                );
            }
            other => panic!("{ctx}: unexpected {other:?}"),
        }
    }
}

#[actix_web::test]
async fn profiles_of_one_issuer_share_one_server_and_show_their_settings_in_debug() {
    // Two resources of one Entra tenant: one server configuration.
    let entra = format!("https://login.microsoftonline.com/{TENANT_A}/v2.0");
    McpAuth::builder()
        .without_declared_resources()
        .resource(providers::entra_id(RESOURCE, &entra))
        .resource(providers::entra_id("http://127.0.0.1:8080/other", &entra))
        .build()
        .expect("one issuer, two resources");
    let debug = format!("{:?}", providers::entra_id(RESOURCE, &entra));
    for needle in [
        r#"scope_claims: ["scp", "roles"]"#,
        r#"required_any_claims: [["scp", "roles"]]"#,
        "entra_id",
    ] {
        assert!(debug.contains(needle), "{needle} in {debug}");
    }
    let debug = format!(
        "{:?}",
        providers::cognito(
            RESOURCE,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            ["app"]
        )
    );
    for needle in ["token_use", "\"app\"", "cognito"] {
        assert!(debug.contains(needle), "{needle} in {debug}");
    }
}

#[actix_web::test]
async fn advertise_as_is_checked_at_build() {
    let issuer = TestIssuer::start().await;
    let mut metadata = issuer.metadata();
    metadata.issuer = format!("{}/{{tenantid}}/v2.0", issuer.issuer());
    for bad in [
        "not a url",
        "https://login.example/organizations/v2.0?x=1",
        "https://login.example/organizations/v2.0#f",
        "http://login.example/organizations/v2.0",
        "https://login.example/{tenantid}/v2.0",
    ] {
        let err = build_profile(providers::entra_id_multi_tenant(
            RESOURCE,
            metadata.clone(),
            [TENANT_A],
            bad,
        ))
        .expect_err(bad);
        match err {
            ConfigError::InvalidField { subject, field, .. } => {
                assert_eq!(subject, metadata.issuer, "{bad}");
                assert_eq!(field, "advertise_as", "{bad}");
            }
            other => panic!("{bad}: unexpected {other:?}"),
        }
    }
    let debug = format!(
        "{:?}",
        AuthServerConfig::resolved(metadata, AuthServerType::Oidc)
            .advertise_as("https://login.example/organizations/v2.0")
    );
    assert!(
        debug.contains("https://login.example/organizations/v2.0"),
        "{debug}"
    );
}
