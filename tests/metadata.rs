//! Protected Resource Metadata endpoints (RFC 9728) as a client sees them.

use actix_web::{App, http::StatusCode, test, web};
use mcp_auth::{McpAuth, ResourceConfig, testing::TestIssuer};
use serde_json::{Value, json};

async fn call(
    auth: &McpAuth,
    req: test::TestRequest,
) -> (StatusCode, actix_web::http::header::HeaderMap, Vec<u8>) {
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a actix_web::http::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[actix_web::test]
async fn serves_path_inserted_and_root_documents() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(
            ResourceConfig::new("http://127.0.0.1:8080/mcp")
                .scopes_supported(["mcp:read", "mcp:write"])
                .resource_name("Notes"),
        )
        .build()
        .unwrap();
    let expected = json!({
        "resource": "http://127.0.0.1:8080/mcp",
        "authorization_servers": [issuer.issuer()],
        "scopes_supported": ["mcp:read", "mcp:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes",
    });
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, headers, body) = call(&auth, test::TestRequest::get().uri(path)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&headers, "cache-control"),
            Some("public, max-age=3600")
        );
        assert!(headers.get("www-authenticate").is_none());
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc, expected, "{path}");
        // `resource` is byte-identical to the configured identifier.
        assert!(
            String::from_utf8(body)
                .unwrap()
                .contains(r#""resource":"http://127.0.0.1:8080/mcp""#)
        );
    }
    // Discovery is lazy: serving metadata fetched nothing.
    assert_eq!(
        issuer.requests(mcp_auth::testing::Endpoint::OAuthMetadata),
        0
    );
}

#[actix_web::test]
async fn head_options_and_other_methods() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new("http://127.0.0.1:8080/mcp"))
        .build()
        .unwrap();
    let path = "/.well-known/oauth-protected-resource/mcp";
    // The HTTP/1 dispatcher drops HEAD bodies on the wire; here we check the route answers.
    let (status, headers, _) = call(
        &auth,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri(path),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));

    let (status, headers, _) = call(
        &auth,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri(path)
            .insert_header(("Origin", "https://inspector.example"))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "mcp-protocol-version")),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&headers, "access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        header(&headers, "access-control-allow-headers"),
        Some("mcp-protocol-version")
    );

    let (status, headers, _) = call(&auth, test::TestRequest::post().uri(path)).await;
    assert_eq!(status, 405);
    assert_eq!(header(&headers, "allow"), Some("GET, HEAD, OPTIONS"));
    assert!(headers.get("www-authenticate").is_none());
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
        let (status, headers, body) = call(&auth, test::TestRequest::get().uri(path)).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers.get("www-authenticate").is_none(), "{path}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "not_found");
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
        let (status, _, body) = call(&auth, test::TestRequest::get().uri(path)).await;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_slice(&body).unwrap();
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
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let doc: Value = test::read_body_json(res).await;
    assert_eq!(doc["resource"], "http://127.0.0.1:8080/");
}

#[actix_web::test]
async fn legacy_authorization_server_metadata() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(ResourceConfig::new("http://127.0.0.1:8080/mcp"))
        .legacy_authorization_server_metadata(true)
        .build()
        .unwrap();
    let (status, headers, body) = call(
        &auth,
        test::TestRequest::get().uri("/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["issuer"], issuer.issuer());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        issuer.requests(mcp_auth::testing::Endpoint::OAuthMetadata),
        1
    );
}

#[actix_web::test]
async fn missing_app_data_is_a_logged_500_not_a_panic() {
    let app = test::init_service(App::new().configure(mcp_auth::routes)).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 500);
}
