//! `GET`/`HEAD`/`OPTIONS` handlers for the well-known documents.
//!
//! The routes are registered once, statically; each request looks up the
//! [`McpAuth`] in app data and the document by path, so the same
//! `configure(mcp_auth::routes)` serves any number of resources, including
//! those declared with `#[protected_resource]`.

use actix_web::{
    HttpRequest, HttpResponse, Scope,
    http::{Method, StatusCode, header},
    web,
};

use crate::metadata::WELL_KNOWN_PREFIX;
use crate::{
    McpAuth,
    error::{Misconfiguration, json_error},
    web::cors,
};

const LEGACY_AS_PATH: &str = "/.well-known/oauth-authorization-server";

/// Registers the metadata endpoints on an `App` or scope:
/// `App::new().app_data(auth).configure(mcp_auth::routes)`.
///
/// Serves `/.well-known/oauth-protected-resource[/<resource path>]` for every
/// configured resource (and the root path too when there is exactly one
/// resource), plus the deprecated `/.well-known/oauth-authorization-server`
/// when [`legacy_authorization_server_metadata`](crate::McpAuthBuilder::legacy_authorization_server_metadata)
/// is on. Unknown paths answer 404 without any challenge.
pub fn routes(cfg: &mut web::ServiceConfig) {
    register(cfg, "");
}

/// The same endpoints as [`routes`], as an Actix [`Scope`] mounted at
/// `/.well-known`: `App::new().service(mcp_auth::well_known_scope())`.
pub fn well_known_scope() -> Scope {
    web::scope("/.well-known").configure(|cfg| register(cfg, "/.well-known"))
}

fn register(cfg: &mut web::ServiceConfig, mount: &str) {
    let local = |path: &str| path.strip_prefix(mount).unwrap_or(path).to_owned();
    cfg.service(
        web::resource([
            local(WELL_KNOWN_PREFIX),
            local(&format!("{WELL_KNOWN_PREFIX}/{{tail:.*}}")),
        ])
        .route(web::get().to(resource_metadata))
        .route(web::head().to(resource_metadata))
        .route(web::method(Method::OPTIONS).to(preflight))
        .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(local(LEGACY_AS_PATH))
            .route(web::get().to(legacy_server_metadata))
            .route(web::head().to(legacy_server_metadata))
            .route(web::method(Method::OPTIONS).to(preflight))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn resource_metadata(req: HttpRequest) -> HttpResponse {
    let Some(auth) = McpAuth::from_request(&req) else {
        return Misconfiguration::NoMcpAuth.error().error_response();
    };
    match auth.metadata_document(mount_relative(req.path())) {
        Some(json) => json_document(auth.metadata_max_age(), json.clone()),
        None => not_found(),
    }
}

/// The path below the mount point: `web::scope("/p").configure(routes)`
/// serves `/p/.well-known/oauth-protected-resource/mcp` for the resource
/// `https://host/mcp`, for a proxy that strips `/p`. (RFC 9728 clients ask
/// at the origin's root; the challenges point there.)
fn mount_relative(path: &str) -> &str {
    path.find(WELL_KNOWN_PREFIX)
        .map_or(path, |start| &path[start..])
}

async fn legacy_server_metadata(req: HttpRequest) -> HttpResponse {
    let Some(auth) = McpAuth::from_request(&req) else {
        return Misconfiguration::NoMcpAuth.error().error_response();
    };
    match auth.legacy_server_metadata().await {
        None => not_found(),
        Some(Ok(json)) => json_document(auth.metadata_max_age(), json),
        Some(Err(err)) => {
            tracing::warn!(error = %err, "legacy authorization server metadata unavailable");
            cors::allow_any_origin(HttpResponse::ServiceUnavailable())
                .insert_header((header::RETRY_AFTER, "5"))
                .json(serde_json::json!({
                    "error": "temporarily_unavailable",
                    "error_description": "The authorization server metadata is unavailable; try again later."
                }))
        }
    }
}

fn json_document(max_age: u32, body: web::Bytes) -> HttpResponse {
    cors::allow_any_origin(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .body(body)
}

/// CORS preflight: the documents are public, so any origin may read them.
async fn preflight(req: HttpRequest) -> HttpResponse {
    cors::preflight(&req, Some("GET, HEAD, OPTIONS"))
}

async fn method_not_allowed() -> HttpResponse {
    let mut res = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Metadata documents are served to GET and HEAD.",
    );
    res.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    res
}

fn not_found() -> HttpResponse {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "No metadata document at this path.",
    )
}
