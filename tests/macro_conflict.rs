//! Conflicting `#[protected_resource]` declarations for one identifier are
//! a start-up error naming both places (separate binary: declarations are
//! collected per binary).

use actix_web::{HttpResponse, Responder};
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
    // Opting out of declarations builds fine.
    let _ = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(mcp_auth::ResourceConfig::new("https://api.example.com/mcp"))
        .build()
        .unwrap();
    let _ = (first, second);
}
