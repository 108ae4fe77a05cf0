//! JWT signatures as tables of attacks: `alg: none` and HMAC confusion,
//! tampered tokens, keys chosen by `kid` and algorithm, the algorithm
//! allow-list, and header members that name keys (`jku`, `jwk`) or demand
//! support (`crit`).
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    RESOURCE, jwk_of, jwks_of, now, segments,
    token_table::{
        Expect::{Accepted, Invalid},
        Options, check_tokens,
    },
    unique,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::testing::{Endpoint, TestIssuer};
use serde_json::json;

const NOT_ALLOWED: &str = "signing algorithm is not allowed";
const BAD_SIGNATURE: &str = "signature is invalid";
const NO_KEY: &str = "No published key";

#[actix_web::test]
async fn alg_none_and_hmac_with_public_key_material_are_refused() {
    let issuer = TestIssuer::start().await;
    let rs_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let rs_jwk = jwk_of(&jwks_of(&issuer).await, &rs_kid);

    // alg: none, with and without kid, in several spellings.
    let none_token = |alg: &str, keep_kid: bool| {
        let mut b = issuer.token_builder(RESOURCE).header("alg", alg);
        if !keep_kid {
            b = b.without_header("kid");
        }
        let (h, p, _) = segments(&b.sign());
        format!("{h}.{p}.")
    };

    // HS256 signed with public key material as the HMAC secret.
    let n = now();
    let hs256 = |secret: &[u8]| {
        let claims = json!({"iss": issuer.issuer(), "aud": RESOURCE, "sub": "attacker",
            "client_id": "x", "exp": n + 300, "iat": n, "jti": "hs"});
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(rs_kid.clone());
        let key = EncodingKey::from_secret(secret).expect("key");
        jsonwebtoken::encode(&header, &claims, &key).expect("HS256")
    };
    let modulus = URL_SAFE_NO_PAD
        .decode(rs_jwk["n"].as_str().unwrap())
        .expect("n");

    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "alg none, kid kept",
                none_token("none", true),
                Invalid(NOT_ALLOWED),
            ),
            (
                "alg none, no kid",
                none_token("none", false),
                Invalid(NOT_ALLOWED),
            ),
            (
                "alg None spelling",
                none_token("None", true),
                Invalid(NOT_ALLOWED),
            ),
            (
                "alg NONE spelling",
                none_token("NONE", true),
                Invalid(NOT_ALLOWED),
            ),
            (
                "HS256 with JWK JSON as secret",
                hs256(rs_jwk.to_string().as_bytes()),
                Invalid(NOT_ALLOWED),
            ),
            (
                "HS256 with RSA modulus as secret",
                hs256(&modulus),
                Invalid(NOT_ALLOWED),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn tampered_tokens_are_refused() {
    let issuer = TestIssuer::start().await;
    let valid = || issuer.token(RESOURCE, &["mcp:read"]);
    let rs_kid = issuer.current_kid(Algorithm::RS256).unwrap();

    let swapped_payload = {
        let (h, _, s) = segments(&valid());
        let (_, p, _) = segments(
            &issuer
                .token_builder(RESOURCE)
                .claim("sub", "admin")
                .scopes(&["mcp:read", "mcp:write", "admin"])
                .sign(),
        );
        format!("{h}.{p}.{s}")
    };
    let flipped_signature = {
        let (h, p, s) = segments(&valid());
        let mid = s.len() / 2;
        let c = if &s[mid..=mid] == "A" { "B" } else { "A" };
        format!("{h}.{p}.{}{c}{}", &s[..mid], &s[mid + 1..])
    };
    let stripped_signature = {
        let (h, p, _) = segments(&valid());
        format!("{h}.{p}.")
    };
    // A key that was never published, presenting a published kid.
    let hidden_kid = issuer.add_key(Algorithm::RS256);
    issuer.retire_key(&hidden_kid);
    let unpublished = issuer
        .token_builder(RESOURCE)
        .key(&hidden_kid)
        .header("kid", rs_kid.as_str())
        .sign();

    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "payload swapped from another token",
                swapped_payload,
                Invalid(BAD_SIGNATURE),
            ),
            (
                "signature byte flipped",
                flipped_signature,
                Invalid(BAD_SIGNATURE),
            ),
            (
                "signature stripped",
                stripped_signature,
                Invalid(BAD_SIGNATURE),
            ),
            (
                "unpublished key with a published kid",
                unpublished,
                Invalid(BAD_SIGNATURE),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn a_kid_selects_only_a_published_key_of_the_tokens_algorithm() {
    let issuer = TestIssuer::start().await;
    let rs_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let ed_kid = issuer.current_kid(Algorithm::EdDSA).unwrap();
    let signed = |alg: Algorithm, kid: &str| {
        issuer
            .token_builder(RESOURCE)
            .algorithm(alg)
            .header("kid", kid)
            .sign()
    };
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "PS256 token with the RS256 key's kid (JWK alg RS256)",
                signed(Algorithm::PS256, &rs_kid),
                Invalid(NO_KEY),
            ),
            (
                "ES256 token with the EdDSA key's kid",
                signed(Algorithm::ES256, &ed_kid),
                Invalid(NO_KEY),
            ),
            (
                "random kid",
                issuer
                    .token_builder(RESOURCE)
                    .header("kid", unique("random"))
                    .sign(),
                Invalid(NO_KEY),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn the_algorithm_allow_list_is_enforced() {
    let issuer = TestIssuer::start().await;
    check_tokens(
        &issuer,
        Options::Rs256Only,
        vec![
            (
                "ES256 when only RS256 is allowed",
                issuer
                    .token_builder(RESOURCE)
                    .algorithm(Algorithm::ES256)
                    .sign(),
                Invalid(NOT_ALLOWED),
            ),
            (
                "RS256 when only RS256 is allowed",
                issuer.token(RESOURCE, &["mcp:read"]),
                Accepted,
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn crit_jku_and_jwk_headers_are_never_trusted() {
    let issuer = TestIssuer::start().await;
    let attacker = TestIssuer::start().await;
    let attacker_kid = attacker.current_kid(Algorithm::RS256).unwrap();
    let attacker_jwk = jwk_of(&jwks_of(&attacker).await, &attacker_kid);
    let attacker_jwks_before = attacker.requests(Endpoint::Jwks);
    let jwt = || issuer.token_builder(RESOURCE);
    let forged = || {
        attacker
            .token_builder(RESOURCE)
            .claim("iss", issuer.issuer())
    };

    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "unknown crit",
                jwt().header("crit", json!(["x"])).sign(),
                Invalid("critical header"),
            ),
            (
                "jku to a dead URL, issuer-signed (jku ignored)",
                jwt().header("jku", "http://127.0.0.1:9/jwks").sign(),
                Accepted,
            ),
            (
                "jku to the attacker's JWKS, issuer-signed (jku ignored)",
                jwt().header("jku", attacker.jwks_uri()).sign(),
                Accepted,
            ),
            (
                "jku to the attacker's JWKS, attacker-signed",
                forged().header("jku", attacker.jwks_uri()).sign(),
                Invalid(""),
            ),
            (
                "embedded jwk of the attacker key",
                forged().header("jwk", attacker_jwk.clone()).sign(),
                Invalid(""),
            ),
            (
                "embedded jwk of the attacker key, no kid",
                forged()
                    .header("jwk", attacker_jwk)
                    .without_header("kid")
                    .sign(),
                Invalid(BAD_SIGNATURE),
            ),
        ],
    )
    .await;

    // `jku`/`jwk` were never dereferenced.
    assert_eq!(attacker.requests(Endpoint::Jwks), attacker_jwks_before);
    assert_eq!(attacker.requests(Endpoint::OAuthMetadata), 0);
    assert_eq!(attacker.requests(Endpoint::OidcMetadata), 0);
}
