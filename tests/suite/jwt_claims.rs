//! JWT access tokens: what a valid token yields (every accepted algorithm,
//! the claims read into `AuthInfo`), and the claim checks as tables —
//! lifetime, audience, issuer, and the RFC 9068 `typ`/`jti` rules.
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    RESOURCE,
    app::{build_auth, default_app},
    assert_ok, bearer, jose_header, now, send,
    token_table::{
        Expect::{Accepted, Invalid},
        Options, check_tokens,
    },
};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    JwtOptions,
    testing::{Endpoint, TestIssuer},
};
use serde_json::json;

#[actix_web::test]
async fn valid_tokens_for_every_algorithm_are_accepted() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;

    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = issuer
            .token_builder(RESOURCE)
            .algorithm(alg)
            .scopes(&["mcp:read", "mcp:write"])
            .sign();
        assert_eq!(
            jose_header(&token)["kid"],
            issuer.current_kid(alg).unwrap().as_str()
        );
        let body = assert_ok(&send(&app, bearer(&token)).await, &format!("{alg:?}"));
        assert_eq!(body["sub"], "test-user", "{alg:?}");
        assert_eq!(body["client_id"], "test-client", "{alg:?}");
        assert_eq!(body["scopes"], json!(["mcp:read", "mcp:write"]), "{alg:?}");
        assert_eq!(body["iss"], issuer.issuer(), "{alg:?}");
        assert_eq!(body["aud"], json!([RESOURCE]), "{alg:?}");
        assert_eq!(body["resource"], RESOURCE, "{alg:?}");
    }
}

#[actix_web::test]
async fn azp_is_the_fallback_client_id_and_scp_arrays_are_scopes() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let token = issuer
        .token_builder(RESOURCE)
        .without_claim("client_id")
        .claim("azp", "azp-client")
        .claim("scp", json!(["mcp:read"]))
        .sign();
    let body = assert_ok(&send(&app, bearer(&token)).await, "azp/scp");
    assert_eq!(body["client_id"], "azp-client");
    assert_eq!(body["scopes"], json!(["mcp:read"]));
}

#[actix_web::test]
async fn lifetime_claims() {
    let issuer = TestIssuer::start().await;
    let jwt = || issuer.token_builder(RESOURCE);
    let n = now();
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "expired 10 minutes ago",
                jwt().expires_in(-600).sign(),
                Invalid("has expired"),
            ),
            (
                "expired 5 s ago, within the 30 s leeway",
                jwt().expires_in(-5).sign(),
                Accepted,
            ),
            (
                "nbf 10 minutes ahead",
                jwt().claim("nbf", n + 600).sign(),
                Invalid("`nbf`"),
            ),
            (
                "iat 10 minutes ahead",
                jwt().claim("iat", n + 600).sign(),
                Invalid("`iat`"),
            ),
            (
                "no exp",
                jwt().without_claim("exp").sign(),
                Invalid("no `exp` claim"),
            ),
            (
                "float exp",
                jwt().claim("exp", n as f64 + 300.5).sign(),
                Accepted,
            ),
            // Absurd NumericDates are refused (beyond year 9999), so nothing
            // downstream (cache deadline, `AuthInfo::expires_at`) can overflow.
            (
                "exp in the year 10^292 (float)",
                jwt().claim("exp", 1e300).sign(),
                Invalid("out of range"),
            ),
            (
                "exp = u64::MAX",
                jwt().claim("exp", u64::MAX).sign(),
                Invalid("out of range"),
            ),
            (
                "exp negative",
                jwt().claim("exp", -1).sign(),
                Invalid("out of range"),
            ),
            (
                "string exp",
                jwt().claim("exp", (n + 300).to_string()).sign(),
                Invalid("`exp` claim is not a number"),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn audience_claim() {
    let issuer = TestIssuer::start().await;
    let jwt = || issuer.token_builder(RESOURCE);
    let for_audience = |aud: &str| issuer.token(aud, &["mcp:read"]);
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "no aud",
                jwt().without_claim("aud").sign(),
                Invalid("(`aud`)"),
            ),
            (
                "wrong aud",
                for_audience("https://other.example/mcp"),
                Invalid("(`aud`)"),
            ),
            (
                "aud = resource + -evil",
                for_audience(&format!("{RESOURCE}-evil")),
                Invalid("(`aud`)"),
            ),
            (
                "aud is a prefix of the resource",
                for_audience("http://127.0.0.1:8080/mc"),
                Invalid("(`aud`)"),
            ),
            (
                "aud origin only",
                for_audience("http://127.0.0.1:8080"),
                Invalid("(`aud`)"),
            ),
            (
                "aud array containing the resource",
                jwt()
                    .claim("aud", json!(["https://other.example", RESOURCE]))
                    .sign(),
                Accepted,
            ),
            (
                "aud empty array",
                jwt().claim("aud", json!([])).sign(),
                Invalid("(`aud`)"),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn issuer_claim() {
    let issuer = TestIssuer::start().await;
    let attacker = TestIssuer::start().await;
    let jwt = || issuer.token_builder(RESOURCE);
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "wrong iss",
                jwt().claim("iss", "https://evil.example").sign(),
                Invalid("untrusted issuer"),
            ),
            (
                "no iss",
                jwt().without_claim("iss").sign(),
                Invalid("`iss`"),
            ),
            (
                "iss with trailing slash",
                jwt().claim("iss", format!("{}/", issuer.issuer())).sign(),
                Invalid("did you mean"),
            ),
            (
                "token of another (untrusted) issuer",
                attacker.token(RESOURCE, &["mcp:read"]),
                Invalid("untrusted issuer"),
            ),
            (
                "iss forged, signed by an attacker key",
                attacker
                    .token_builder(RESOURCE)
                    .claim("iss", issuer.issuer())
                    .sign(),
                Invalid(""),
            ),
        ],
    )
    .await;
    // The attacker's server was never asked for anything.
    assert_eq!(attacker.requests(Endpoint::Jwks), 0);
    assert_eq!(attacker.requests(Endpoint::OAuthMetadata), 0);
    assert_eq!(attacker.requests(Endpoint::OidcMetadata), 0);
}

#[actix_web::test]
async fn typ_is_lenient_by_default_but_never_another_kind_of_jwt() {
    let issuer = TestIssuer::start().await;
    let jwt = || issuer.token_builder(RESOURCE);
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "typ dpop+jwt",
                jwt().header("typ", "dpop+jwt").sign(),
                Invalid("`typ`"),
            ),
            (
                "typ JWT (lenient default)",
                jwt().header("typ", "JWT").sign(),
                Accepted,
            ),
            (
                "typ missing (lenient default)",
                jwt().without_header("typ").sign(),
                Accepted,
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn strict_rfc9068_requires_at_jwt_and_jti() {
    let issuer = TestIssuer::start().await;
    let jwt = || issuer.token_builder(RESOURCE);
    check_tokens(
        &issuer,
        Options::Strict,
        vec![
            (
                "typ missing, strict RFC 9068",
                jwt().without_header("typ").sign(),
                Invalid("`typ`"),
            ),
            (
                "typ JWT, strict RFC 9068",
                jwt().header("typ", "JWT").sign(),
                Invalid("`typ`"),
            ),
            (
                "no jti, strict RFC 9068",
                jwt().without_claim("jti").sign(),
                Invalid("`jti`"),
            ),
            (
                "at+jwt with all claims, strict RFC 9068",
                issuer.token(RESOURCE, &["mcp:read"]),
                Accepted,
            ),
        ],
    )
    .await;
}
