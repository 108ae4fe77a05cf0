//! Introspection (RFC 7662) as the introspection tests set it up: one
//! resource verified by calls to the issuers' endpoint, and the call count.

use std::time::Duration;

use actix_web::{App, HttpResponse, test, web};
use mcp_auth::{
    AuthInfo, AuthServerConfig, ConfigError, HttpOptions, McpAuth, ResourceConfig,
    testing::{Endpoint, TestIssuer},
    verify::Introspection,
};
use serde_json::json;

use super::{RESOURCE, Resp, TestApp, bearer, send};

/// The descriptions of the two kinds of refusal.
pub const INACTIVE: &str = "The access token is not active.";
pub const NOT_ACCESS: &str = "The token is not an access token.";

/// Client credentials `rs` / `secret`, endpoint from the metadata.
pub fn introspection() -> Introspection {
    Introspection::client_secret_basic("rs", "secret")
}

/// One resource (`RESOURCE`) trusting `servers`, verified by `introspection`.
pub fn build(servers: Vec<AuthServerConfig>, introspection: Introspection) -> McpAuth {
    try_build(servers, introspection, false).expect("valid configuration")
}

pub fn try_build(
    servers: Vec<AuthServerConfig>,
    introspection: Introspection,
    allow_insecure_http: bool,
) -> Result<McpAuth, ConfigError> {
    let resource = servers
        .into_iter()
        .fold(ResourceConfig::new(RESOURCE), |r, s| {
            r.authorization_server(s)
        })
        .introspection(introspection);
    McpAuth::builder()
        .without_declared_resources()
        .allow_insecure_http(allow_insecure_http)
        .resource(resource)
        .build()
}

async fn echo(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": auth.subject(), "iss": auth.issuer() }))
}

/// `POST /mcp` behind `auth`'s guard for `RESOURCE`.
pub async fn protected_app(auth: &McpAuth) -> impl TestApp + use<> {
    test::init_service(
        App::new().app_data(auth.clone()).service(
            web::resource("/mcp")
                .wrap(auth.bearer_auth(RESOURCE).unwrap())
                .route(web::post().to(echo)),
        ),
    )
    .await
}

/// `n` requests with `token`, all in flight at once.
pub async fn send_concurrently(app: &impl TestApp, token: &str, n: usize) -> Vec<Resp> {
    futures_util::future::join_all((0..n).map(|_| send(app, bearer(token)))).await
}

/// A 500: the resource is misconfigured; no challenge.
#[track_caller]
pub fn assert_server_error(resp: &Resp, ctx: &str) {
    assert_eq!(resp.status, 500, "{ctx}: {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: a 500 carries no challenge");
    assert_eq!(resp.json()["error"], "server_error", "{ctx}");
}

/// Calls the issuer's introspection endpoint received.
pub fn calls(issuer: &TestIssuer) -> usize {
    issuer.requests(Endpoint::Introspection)
}

/// HTTP options that give up after 300 ms.
pub fn fast() -> HttpOptions {
    HttpOptions::default().timeout(Duration::from_millis(300))
}
