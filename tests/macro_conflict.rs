//! Conflicting `#[protected_resource]` declarations for one identifier are
//! a start-up error naming both places (separate binary: declarations are
//! collected per binary).

use actix_web::{App, HttpResponse, Responder, test, web};
use mcp_auth::{ConfigError, McpAuth, protected_resource, testing::TestIssuer};

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["a"])]
async fn first() -> impl Responder {
    HttpResponse::Ok()
}

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["a", "b"])]
async fn second() -> impl Responder {
    HttpResponse::Ok()
}

#[actix_web::test]
async fn conflicting_declarations_fail_build() {
    let issuer = TestIssuer::start().await;
    let err = McpAuth::builder()
        .authorization_server(issuer.resolved_config())
        .build()
        .unwrap_err();
    match &err {
        ConfigError::ConflictingDeclarations {
            resource,
            field,
            first,
            second,
        } => {
            assert_eq!(resource, "https://api.example.com/mcp");
            assert_eq!(*field, "scopes");
            let both = format!("{first} {second}");
            assert!(
                both.contains("tests/macro_conflict.rs:8")
                    || both.contains("tests/macro_conflict.rs:9"),
                "{both}"
            );
            assert!(
                both.contains("(first)") && both.contains("(second)"),
                "{both}"
            );
        }
        other => panic!("unexpected: {other}"),
    }
    assert!(err.to_string().contains("conflicting declarations"));
    // Opting out of declarations builds fine, even when the configured
    // resource of the same identifier advertises none of their scopes: the
    // declarations are ignored, guards included.
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(
            mcp_auth::ResourceConfig::new("https://api.example.com/mcp").scopes_supported(["x"]),
        )
        .build()
        .unwrap();
    // A declared handler mounted anyway never runs: 500, not a pass.
    let app = test::init_service(
        App::new()
            .app_data(auth)
            .route("/first", web::post().to(first)),
    )
    .await;
    let token = issuer.token("https://api.example.com/mcp", &["a", "b", "x"]);
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/first")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 500);
    let _ = second;
}
