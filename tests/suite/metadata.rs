//! Protected Resource Metadata endpoints (RFC 9728) as a client sees them.

use crate::common::{RESOURCE, Resp, get, send};
use actix_web::{App, http::Method, test, web};
use mcp_auth::{
    McpAuth, ResourceConfig,
    testing::{Endpoint, TestIssuer},
};
use serde_json::json;

/// Sends `req` to an app serving only `auth`'s metadata routes.
async fn serve(auth: &McpAuth, req: test::TestRequest) -> Resp {
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes),
    )
    .await;
    send(&app, req).await
}

#[actix_web::test]
async fn serves_path_inserted_and_root_documents() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(
            ResourceConfig::new(RESOURCE)
                .scopes_supported(["mcp:read", "mcp:write"])
                .resource_name("Notes"),
        )
        .build()
        .unwrap();
    let expected = json!({
        "resource": RESOURCE,
        "authorization_servers": [issuer.issuer()],
        "scopes_supported": ["mcp:read", "mcp:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes",
    });
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let r = serve(&auth, get(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
        assert!(r.www().is_none());
        let doc = r.json();
        assert_eq!(doc, expected, "{path}");
        // `resource` is byte-identical to the configured identifier.
        assert!(
            r.text()
                .contains(r#""resource":"http://127.0.0.1:8080/mcp""#)
        );
    }
    // Discovery is lazy: serving metadata fetched nothing.
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 0);
}

#[actix_web::test]
async fn head_options_and_other_methods() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE))
        .build()
        .unwrap();
    let path = "/.well-known/oauth-protected-resource/mcp";
    // The HTTP/1 dispatcher drops HEAD bodies on the wire; here we check the route answers.
    let r = serve(
        &auth,
        test::TestRequest::default().method(Method::HEAD).uri(path),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));

    let r = serve(
        &auth,
        test::TestRequest::default()
            .method(Method::OPTIONS)
            .uri(path)
            .insert_header(("Origin", "https://inspector.example"))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "mcp-protocol-version")),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("mcp-protocol-version")
    );

    let r = serve(&auth, test::TestRequest::post().uri(path)).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(r.www().is_none());
}

#[actix_web::test]
async fn unknown_well_known_paths_are_404_without_challenge() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new("http://127.0.0.1:8080/a"))
        .resource(ResourceConfig::new("http://127.0.0.1:8080/b"))
        .build()
        .unwrap();
    for path in [
        "/.well-known/oauth-protected-resource/nope",
        // Two resources: no root document (it would be ambiguous).
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/a/",
        // Legacy AS metadata is off by default.
        "/.well-known/oauth-authorization-server",
    ] {
        let r = serve(&auth, get(path)).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.www().is_none(), "{path}");
        assert_eq!(r.json()["error"], "not_found", "{path}");
    }
    for (path, resource) in [
        (
            "/.well-known/oauth-protected-resource/a",
            "http://127.0.0.1:8080/a",
        ),
        (
            "/.well-known/oauth-protected-resource/b",
            "http://127.0.0.1:8080/b",
        ),
    ] {
        let r = serve(&auth, get(path)).await;
        assert_eq!(r.status, 200);
        let doc = r.json();
        assert_eq!(doc["resource"], resource);
    }
}

#[actix_web::test]
async fn scope_variant_and_web_data() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new("http://127.0.0.1:8080/"))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .service(mcp_auth::well_known_scope()),
    )
    .await;
    let r = send(&app, get("/.well-known/oauth-protected-resource")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["resource"], "http://127.0.0.1:8080/");
}

#[actix_web::test]
async fn legacy_authorization_server_metadata() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(ResourceConfig::new(RESOURCE))
        .legacy_authorization_server_metadata(true)
        .build()
        .unwrap();
    let r = serve(&auth, get("/.well-known/oauth-authorization-server")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let doc = r.json();
    assert_eq!(doc["issuer"], issuer.issuer());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
}

#[actix_web::test]
async fn missing_app_data_is_a_logged_500_not_a_panic() {
    let app = test::init_service(App::new().configure(mcp_auth::routes)).await;
    let r = send(&app, get("/.well-known/oauth-protected-resource")).await;
    assert_eq!(r.status, 500);
}
