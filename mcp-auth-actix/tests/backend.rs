//! End-to-end verification with whichever jsonwebtoken backend this build
//! selected. CI runs it twice: with the default `aws-lc-rs`, and with
//! `--no-default-features --features rust-crypto,testing`.

use jsonwebtoken::Algorithm;
use mcp_auth::{McpAuth, ResourceConfig, error::AuthErrorKind, testing::TestIssuer};

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";

#[actix_rt::test]
async fn every_algorithm_verifies_and_tampering_fails() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(issuer.discovery_config()))
        .build()
        .expect("exactly one JWT backend is enabled");
    let guard = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap();
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = issuer
            .token_builder(RESOURCE)
            .algorithm(alg)
            .scopes(&["mcp:read"])
            .sign();
        let info = guard
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(info.subject(), Some("test-user"));

        let mut tampered = token.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let err = guard
            .verify(std::str::from_utf8(&tampered).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidToken, "{alg:?}");
    }
    let wrong_audience = issuer
        .token_builder("https://other.example/mcp")
        .scopes(&["mcp:read"])
        .sign();
    assert_eq!(
        guard.verify(&wrong_audience).await.unwrap_err().kind(),
        AuthErrorKind::InvalidToken
    );
}
