//! What a client sees when it is refused, and where it learns what to do:
//! malformed tokens and `Authorization` headers, the metadata document the
//! challenge points to, required scopes and step-up, extractors without a
//! middleware, and custom error handlers.
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use crate::common::{
    METADATA_URL, RESOURCE,
    app::{build_auth, default_app, standard_app},
    assert_ok, assert_rejected, b64, bearer, bearer_at, get, segments, send,
    token_table::{
        Expect::{Invalid, Refused},
        Options, check_requests, check_tokens,
    },
};
use actix_web::{HttpResponse, http::header, test::TestRequest};
use mcp_auth::{AuthError, BearerAuth, JwtOptions, McpAuth, ResourceConfig, testing::TestIssuer};
use serde_json::{Value, json};

const MALFORMED: &str = "well-formed";

/// The guard for `RESOURCE` with `required_scopes(["mcp:read"])`.
fn needs_read(auth: &McpAuth) -> BearerAuth {
    auth.bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap()
}

#[actix_web::test]
async fn malformed_tokens_are_invalid() {
    let issuer = TestIssuer::start().await;
    let rs_kid = issuer.current_kid(jsonwebtoken::Algorithm::RS256).unwrap();
    let (h, p, s) = segments(&issuer.token(RESOURCE, &["mcp:read"]));
    check_tokens(
        &issuer,
        Options::Default,
        vec![
            (
                "3 MB token",
                "a".repeat(3 * 1024 * 1024),
                Invalid("too large"),
            ),
            (
                "non-base64url segments",
                "a+b/c.d+e/f.g+h/i".into(),
                Invalid(MALFORMED),
            ),
            (
                "base64 but not JSON",
                "abcd.efgh.ijkl".into(),
                Invalid(MALFORMED),
            ),
            (
                "header not JSON",
                format!("{}.{p}.{s}", b64("not json")),
                Invalid(MALFORMED),
            ),
            (
                "header without alg",
                format!(
                    "{}.{p}.{s}",
                    b64(json!({"kid": rs_kid, "typ": "at+jwt"}).to_string())
                ),
                Invalid(MALFORMED),
            ),
            ("two segments", format!("{h}.{p}"), Invalid(MALFORMED)),
            (
                "four segments",
                format!("{h}.{p}.{s}.extra"),
                Invalid(MALFORMED),
            ),
            (
                "payload is a JSON array",
                format!("{h}.{}.{s}", b64("[1]")),
                Invalid(MALFORMED),
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn authorization_header_problems() {
    let issuer = TestIssuer::start().await;
    let valid = issuer.token(RESOURCE, &["mcp:read"]);
    let post = || TestRequest::post().uri("/mcp");
    let authorization = |value: &str| post().insert_header((header::AUTHORIZATION, value));
    check_requests(
        &issuer,
        Options::Default,
        vec![
            (
                "characters outside token68",
                bearer("abc!def.ghi"),
                Refused(400, Some("invalid_request")),
            ),
            (
                "Bearer without a token",
                authorization("Bearer"),
                Refused(400, Some("invalid_request")),
            ),
            (
                "Basic scheme",
                authorization("Basic dXNlcjpwYXNz"),
                Refused(401, None),
            ),
            (
                "two Authorization headers",
                post()
                    .append_header((header::AUTHORIZATION, format!("Bearer {valid}")))
                    .append_header((header::AUTHORIZATION, format!("Bearer {valid}"))),
                Refused(400, Some("invalid_request")),
            ),
            (
                "token only in the query string",
                TestRequest::post().uri(&format!("/mcp?access_token={valid}")),
                Refused(401, None),
            ),
            ("no Authorization header", post(), Refused(401, None)),
        ],
    )
    .await;
}

#[actix_web::test]
async fn the_scheme_is_case_insensitive() {
    // RFC 7235 §2.1.
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let token = issuer.token(RESOURCE, &["mcp:read"]);
        let req = TestRequest::post()
            .uri("/mcp")
            .insert_header((header::AUTHORIZATION, format!("{scheme} {token}")));
        assert_ok(&send(&app, req).await, scheme);
    }
}

#[actix_web::test]
async fn the_metadata_document_is_served_next_to_the_protected_route() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let resp = send(&app, get("/.well-known/oauth-protected-resource/mcp")).await;
    assert_eq!(resp.status, 200);
    let doc = resp.json();
    assert_eq!(doc["resource"], RESOURCE);
    assert_eq!(doc["authorization_servers"], json!([issuer.issuer()]));
    assert_eq!(doc["scopes_supported"], json!(["mcp:read", "mcp:write"]));
}

#[actix_web::test]
async fn required_scopes_and_step_up() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = standard_app(&auth, needs_read(&auth)).await;
    let read = issuer.token(RESOURCE, &["mcp:read"]);

    // (case, request, status, error, scope of the challenge)
    let refusals = [
        (
            "no token",
            TestRequest::post().uri("/mcp"),
            401,
            None,
            "mcp:read",
        ),
        (
            "bad token",
            bearer("not.a.jwt"),
            401,
            Some("invalid_token"),
            "mcp:read",
        ),
        (
            "no scope",
            bearer(&issuer.token(RESOURCE, &[])),
            403,
            Some("insufficient_scope"),
            "mcp:read",
        ),
        (
            "step-up in the handler",
            bearer_at("/write", &read),
            403,
            Some("insufficient_scope"),
            "mcp:read mcp:write",
        ),
    ];
    for (case, req, status, error, scope) in refusals {
        let resp = send(&app, req).await;
        assert_rejected(&resp, status, error, Some(scope), case);
    }

    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    assert_eq!(
        resp.www(),
        Some(
            format!(
                "Bearer error=\"insufficient_scope\", error_description=\"The access token does not grant the scopes this request needs.\", scope=\"mcp:read\", resource_metadata=\"{METADATA_URL}\""
            )
            .as_str()
        )
    );

    assert_ok(&send(&app, bearer(&read)).await, "mcp:read");
    let both = issuer.token(RESOURCE, &["mcp:read", "mcp:write"]);
    let resp = send(&app, bearer_at("/write", &both)).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["written"], true);
}

#[actix_web::test]
async fn optional_extractors_configured_by_app_data() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let expired = issuer.token_builder(RESOURCE).expires_in(-600).sign();
    let anonymous = Some(json!({"authenticated": false, "sub": null}));
    let anonymous_maybe = Some(json!({"authenticated": false}));

    // actix's blanket `Option<T>` swallows errors: an expired token is
    // anonymous; `MaybeAuthInfo` is anonymous only without credentials.
    // (case, request, status, body)
    let cases: [(&str, TestRequest, u16, Option<Value>); 6] = [
        (
            "Option, no token",
            TestRequest::post().uri("/opt"),
            200,
            anonymous.clone(),
        ),
        (
            "Option, valid token",
            bearer_at("/opt", &token),
            200,
            Some(json!({"authenticated": true, "sub": "test-user"})),
        ),
        (
            "Option, expired token",
            bearer_at("/opt", &expired),
            200,
            anonymous,
        ),
        (
            "MaybeAuthInfo, no token",
            TestRequest::post().uri("/maybe"),
            200,
            anonymous_maybe,
        ),
        (
            "MaybeAuthInfo, valid token",
            bearer_at("/maybe", &token),
            200,
            Some(json!({"authenticated": true})),
        ),
        (
            "MaybeAuthInfo, expired token",
            bearer_at("/maybe", &expired),
            401,
            None,
        ),
    ];
    for (case, req, status, body) in cases {
        let resp = send(&app, req).await;
        assert_eq!(resp.status, status, "{case}: {}", resp.text());
        if let Some(body) = body {
            assert_eq!(resp.json(), body, "{case}");
        }
    }
}

#[actix_web::test]
async fn an_auth_info_route_without_middleware_still_challenges() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = default_app(&auth).await;
    let resp = send(&app, TestRequest::post().uri("/extract")).await;
    assert_rejected(&resp, 401, None, None, "extractor, no token");
    let resp = send(&app, bearer_at("/extract", "x.y.z")).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        None,
        "extractor, bad token",
    );
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let body = assert_ok(
        &send(&app, bearer_at("/extract", &token)).await,
        "extractor",
    );
    assert_eq!(body["sub"], "test-user");
}

/// Renders every refusal as a JSON-RPC error, keeping the challenge.
fn json_rpc_error(err: AuthError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let mut res = HttpResponse::build(err.kind().status());
    if let Some(challenge) = err.www_authenticate() {
        res.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    let body = json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32001, "message": err.description(), "kind": err.kind().code()}});
    let res = res.json(body);
    actix_web::error::InternalError::from_response(err, res).into()
}

#[actix_web::test]
async fn a_per_route_error_handler_renders_the_response() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = standard_app(&auth, needs_read(&auth).error_handler(json_rpc_error)).await;

    let resp = send(&app, bearer("x.y.z")).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["jsonrpc"], "2.0");
    assert_eq!(resp.json()["error"]["kind"], "invalid_token");
    assert!(
        resp.challenge()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"]["kind"], "insufficient_scope");
    let resp = send(&app, TestRequest::post().uri("/mcp")).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"]["code"], -32001);
    assert_eq!(
        resp.www(),
        Some(format!("Bearer scope=\"mcp:read\", resource_metadata=\"{METADATA_URL}\"").as_str())
    );
}

#[actix_web::test]
async fn a_builder_wide_error_handler_renders_the_response() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE))
        .error_handler(json_rpc_error)
        .build()
        .unwrap();
    let app = default_app(&auth).await;
    let resp = send(&app, bearer("x.y.z")).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["jsonrpc"], "2.0");
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[]))).await,
        "valid with a custom handler",
    );
}
