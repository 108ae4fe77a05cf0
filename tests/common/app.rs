//! The app most verification tests run against: `/mcp`, `/write` and
//! `/debug` behind the middleware; `/extract` (`AuthInfo`), `/maybe`
//! (`MaybeAuthInfo`) and `/opt` (`Option<AuthInfo>`) configured by app data
//! only. Plus the one-resource `McpAuth` those tests build.

use actix_web::{App, HttpResponse, test, web};
use mcp_auth::{
    AuthError, AuthInfo, AuthServerConfig, BearerAuth, JwtOptions, MaybeAuthInfo, McpAuth,
    ResourceConfig,
};
use serde_json::json;

use super::{RESOURCE, TestApp};

/// One resource (`RESOURCE`, scopes `mcp:read` and `mcp:write`) trusting
/// `server`, with JWT options `jwt`.
pub fn build_auth(server: AuthServerConfig, jwt: JwtOptions) -> McpAuth {
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(server)
        .resource(ResourceConfig::new(RESOURCE).scopes_supported(["mcp:read", "mcp:write"]))
        .jwt_options(jwt)
        .build()
        .expect("valid configuration")
}

/// The standard app with `auth` in app data, metadata routes, and `guard`
/// protecting every route.
pub async fn standard_app(auth: &McpAuth, guard: BearerAuth) -> impl TestApp + use<> {
    test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(guard.clone())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/write")
                    .wrap(guard.clone())
                    .route(web::post().to(write)),
            )
            .service(
                web::resource("/debug")
                    .wrap(guard.clone())
                    .route(web::post().to(debug)),
            )
            .service(
                web::resource("/extract")
                    .app_data(guard.clone())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/maybe")
                    .app_data(guard.clone())
                    .route(web::post().to(maybe)),
            )
            .service(
                web::resource("/opt")
                    .app_data(guard)
                    .route(web::post().to(optional)),
            ),
    )
    .await
}

/// The standard app guarded by `auth.bearer_auth(RESOURCE)` as it is.
pub async fn default_app(auth: &McpAuth) -> impl TestApp + use<> {
    standard_app(auth, auth.bearer_auth(RESOURCE).unwrap()).await
}

/// Echoes what the caller was verified as.
pub async fn echo(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "sub": auth.subject(),
        "scopes": auth.scopes(),
        "client_id": auth.client_id(),
        "iss": auth.issuer(),
        "aud": auth.audience(),
        "resource": auth.resource(),
    }))
}

/// Step-up inside a handler.
async fn write(auth: AuthInfo) -> Result<HttpResponse, AuthError> {
    auth.require_scopes(&["mcp:write"])?;
    Ok(HttpResponse::Ok().json(json!({"written": true})))
}

async fn optional(auth: Option<AuthInfo>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "authenticated": auth.is_some(),
        "sub": auth.as_ref().and_then(AuthInfo::subject),
    }))
}

/// Strict optional authentication.
async fn maybe(auth: MaybeAuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "authenticated": auth.0.is_some() }))
}

async fn debug(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "debug": format!("{auth:?}"),
        "serialized": serde_json::to_string(&auth).expect("serialize"),
        "token_len": auth.token().len(),
    }))
}

/// The standard app where every route needs `mcp:read` (route-level
/// required scope) and `/write` also `mcp:write` (step-up in the handler).
pub async fn read_scoped_app(auth: &McpAuth) -> impl TestApp + use<> {
    let guard = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap();
    standard_app(auth, guard).await
}
