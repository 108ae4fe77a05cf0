//! Two resources, A and B, trusting one issuer (B's `admin` implies `read`
//! and `write`), a guard with operation scopes, and handlers that count
//! their runs: what the composition tests protect.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use actix_web::{App, HttpResponse, test, web};
use mcp_auth::{
    AuthInfo, BearerAuth, MaybeAuthInfo, McpAuth, OperationScopes, ResourceConfig,
    testing::TestIssuer,
};
use serde_json::json;

use super::TestApp;

pub const A: &str = "http://127.0.0.1:8080/a";
pub const B: &str = "http://127.0.0.1:8080/b";

/// Handler runs, shared through app data.
#[derive(Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// An app counting its handler runs here, with the routes (and any other
    /// app data) that `routes` configures.
    pub async fn app<F>(&self, routes: F) -> impl TestApp + use<F>
    where
        F: FnOnce(&mut web::ServiceConfig),
    {
        test::init_service(
            App::new()
                .app_data(web::Data::new(self.clone()))
                .configure(routes),
        )
        .await
    }
}

/// Counts, echoes the caller's resource and the body it was handed.
pub async fn handler(auth: AuthInfo, hits: web::Data<Hits>, body: web::Bytes) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().json(json!({
        "resource": auth.resource(),
        "body": String::from_utf8_lossy(&body),
    }))
}

/// No `AuthInfo`: relies on a middleware alone.
pub async fn plain(hits: web::Data<Hits>, body: web::Bytes) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(body)
}

pub async fn maybe(auth: MaybeAuthInfo, hits: web::Data<Hits>) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().json(json!({ "anonymous": auth.0.is_none() }))
}

/// `AuthInfo` after a body extractor: the guard can no longer see the body.
pub async fn auth_last(body: web::Bytes, hits: web::Data<Hits>, _auth: AuthInfo) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(body)
}

/// An issuer and the `McpAuth` of A and B.
pub struct Setup {
    pub issuer: TestIssuer,
    pub auth: McpAuth,
}

impl Setup {
    pub async fn new() -> Self {
        let issuer = TestIssuer::start().await;
        let scopes = ["read", "write", "admin"];
        let auth = McpAuth::builder()
            .without_declared_resources()
            .authorization_server(issuer.resolved_config())
            .resource(ResourceConfig::new(A).scopes_supported(scopes))
            .resource(
                ResourceConfig::new(B)
                    .scopes_supported(scopes)
                    .scope_implies("admin", ["read", "write"]),
            )
            .build()
            .unwrap();
        Self { issuer, auth }
    }

    pub fn guard(&self, resource: &str) -> BearerAuth {
        self.auth.bearer_auth(resource).unwrap()
    }

    pub fn token(&self, resource: &str, scopes: &[&str]) -> String {
        self.issuer.token(resource, scopes)
    }

    /// `read` for the route; `add_note` also `write`, `delete` `write` and
    /// `admin`, the `secret` prompt and private notes `admin`.
    pub fn tools(&self, resource: &str) -> BearerAuth {
        self.guard(resource)
            .required_scopes(["read"])
            .unwrap()
            .operation_scopes(
                OperationScopes::new()
                    .tool("add_note", ["write"])
                    .tool("delete", ["write", "admin"])
                    .prompt("secret", ["admin"])
                    .resource("notes://{id}", ["read"])
                    .resource("notes://private/{+path}", ["admin"])
                    .method("resources/list", ["read"]),
            )
            .unwrap()
    }
}
