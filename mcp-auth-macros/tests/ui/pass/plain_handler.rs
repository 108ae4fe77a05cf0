//! A handler without a route attribute, registered by hand.

use actix_web::{App, HttpResponse, web};
use mcp_auth::__private::{DeclaredResource, Registration, inventory};
use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/notes",
    scopes = ["notes:read", "notes:write"],
    resource_name = "Notes",
    resource_documentation = "https://docs.example.com/notes",
    resource_policy_uri = "https://example.com/policy",
    resource_tos_uri = "https://example.com/tos",
)]
async fn notes(auth: AuthInfo) -> HttpResponse {
    let _ = auth;
    HttpResponse::Ok().finish()
}

#[protected_resource(
    resource = "http://localhost:8080/mcp",
    scopes = ["mcp:tools", "mcp:admin"],
    required_scopes = [],
)]
async fn local(auth: mcp_auth::AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

#[protected_resource(resource = "http://[::1]:8080/mcp", required_scopes = ["mcp"])]
async fn only_required(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {
    let _ = App::new()
        .route("/notes", web::post().to(notes))
        .route("/local", web::get().to(local))
        .route("/required", web::get().to(only_required));

    let decl = <__mcp_auth_resource_notes as DeclaredResource>::declaration();
    assert_eq!(decl.resource, "https://api.example.com/notes");
    assert_eq!(decl.scopes_supported, ["notes:read", "notes:write"]);
    // Fail closed: without `required_scopes`, every advertised scope is required.
    assert_eq!(decl.required_scopes, ["notes:read", "notes:write"]);
    assert_eq!(decl.resource_name, Some("Notes"));
    assert_eq!(decl.resource_documentation, Some("https://docs.example.com/notes"));
    assert_eq!(decl.resource_policy_uri, Some("https://example.com/policy"));
    assert_eq!(decl.resource_tos_uri, Some("https://example.com/tos"));
    assert_eq!(decl.handler, "notes");
    assert!(decl.location.ends_with("plain_handler.rs:15"), "{}", decl.location);

    let decl = <__mcp_auth_resource_local as DeclaredResource>::declaration();
    assert_eq!(decl.scopes_supported, ["mcp:tools", "mcp:admin"]);
    assert!(decl.required_scopes.is_empty());
    assert_eq!(decl.resource_name, None);

    let decl = <__mcp_auth_resource_only_required as DeclaredResource>::declaration();
    assert_eq!(decl.scopes_supported, ["mcp"]);
    assert_eq!(decl.required_scopes, ["mcp"]);

    // All three declarations are registered at link time.
    let mut handlers: Vec<_> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0.handler)
        .collect();
    handlers.sort_unstable();
    assert_eq!(handlers, ["local", "notes", "only_required"]);
}
