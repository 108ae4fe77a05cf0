//! MCP sessions bound to their callers (`McpAuthBuilder::session_binding`,
//! MCP security best practices "Session Hijacking"): a session a protected
//! response opened answers 404 "Session not found" to another principal's
//! valid token, through the middleware's slow and cached paths and at an
//! extractor-protected route of the same resource, without running the
//! handler; the owner keeps it, and a successful `DELETE` ends the binding.

use actix_web::{App, HttpResponse, http::header, test, web};
use mcp_auth::{AuthInfo, McpAuth, ResourceConfig, testing::TestIssuer};
use serde_json::json;

use crate::common::{
    RESOURCE, Resp, TestApp, send,
    two_resources::{Hits, plain},
};

const SESSION: &str = "mcp-session-id";

/// Opens a session on `initialize` (a fresh id per call), like an MCP
/// server of protocol 2025-11-25; counts its runs.
async fn mcp(hits: web::Data<Hits>, body: web::Bytes) -> HttpResponse {
    plain(hits.clone(), web::Bytes::new()).await;
    if body.as_ref().windows(10).any(|w| w == b"initialize") {
        let id = format!("session-{}", hits.count());
        return HttpResponse::Ok().insert_header((SESSION, id)).finish();
    }
    HttpResponse::Ok().finish()
}

async fn extract(_auth: AuthInfo, hits: web::Data<Hits>) -> HttpResponse {
    plain(hits, web::Bytes::new()).await
}

async fn app(auth: &McpAuth, hits: &Hits) -> impl TestApp + use<> {
    let guard = auth.bearer_auth(RESOURCE).unwrap();
    test::init_service(
        App::new()
            .app_data(auth.clone())
            .app_data(web::Data::new(hits.clone()))
            .service(web::resource("/mcp").wrap(guard.clone()).to(mcp))
            .service(web::resource("/extract").app_data(guard).to(extract)),
    )
    .await
}

fn build(issuer: &TestIssuer, binding: bool) -> McpAuth {
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE))
        .session_binding(binding)
        .build()
        .unwrap()
}

fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    session: Option<&str>,
    body: &str,
) -> test::TestRequest {
    let mut req = test::TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(body.to_owned());
    if let Some(token) = token {
        req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    if let Some(session) = session {
        req = req.insert_header((SESSION, session));
    }
    req
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;

fn assert_not_found(resp: &Resp, hits: &Hits, before: usize, ctx: &str) {
    assert_eq!(resp.status, 404, "{ctx}: {}", resp.text());
    assert_eq!(
        resp.json(),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": "Session not found"}}),
        "{ctx}"
    );
    assert!(resp.www().is_none(), "{ctx}: not an auth failure");
    assert_eq!(hits.count(), before, "{ctx}: the handler ran");
}

#[actix_web::test]
async fn a_session_answers_only_the_principal_that_opened_it() {
    let issuer = TestIssuer::start().await;
    let alice = issuer.token_builder(RESOURCE).claim("sub", "alice").sign();
    let alice_other_token = issuer.token_builder(RESOURCE).claim("sub", "alice").sign();
    let bob = issuer.token_builder(RESOURCE).claim("sub", "bob").sign();
    let hits = Hits::default();
    let auth = build(&issuer, true);
    let app = app(&auth, &hits).await;

    let opened = send(&app, request("POST", "/mcp", Some(&alice), None, INIT)).await;
    assert_eq!(opened.status, 200);
    let session = opened.header(SESSION).unwrap().to_owned();

    // Another principal's valid token: slow path (bob's token is new), then
    // the cached path (bob's token verified once without a session).
    let before = hits.count();
    let resp = send(
        &app,
        request("POST", "/mcp", Some(&bob), Some(&session), CALL),
    )
    .await;
    assert_not_found(&resp, &hits, before, "bob, slow path");
    assert_eq!(
        send(&app, request("POST", "/mcp", Some(&bob), None, CALL))
            .await
            .status,
        200
    );
    let before = hits.count();
    for method in ["POST", "GET", "DELETE"] {
        let resp = send(
            &app,
            request(method, "/mcp", Some(&bob), Some(&session), CALL),
        )
        .await;
        assert_not_found(&resp, &hits, before, &format!("bob, cached path, {method}"));
    }
    // At an extractor-protected route of the same resource too.
    let resp = send(
        &app,
        request("POST", "/extract", Some(&bob), Some(&session), CALL),
    )
    .await;
    assert_not_found(&resp, &hits, before, "bob, extractor");
    // No token at all: the challenge comes first.
    let resp = send(&app, request("POST", "/mcp", None, Some(&session), CALL)).await;
    assert_eq!(resp.status, 401);

    // The owner, with the same or another token of the same subject, twice
    // (slow then cached path).
    for token in [&alice, &alice, &alice_other_token, &alice_other_token] {
        let resp = send(
            &app,
            request("POST", "/mcp", Some(token), Some(&session), CALL),
        )
        .await;
        assert_eq!(resp.status, 200);
    }
    assert_eq!(
        send(
            &app,
            request("POST", "/extract", Some(&alice), Some(&session), CALL)
        )
        .await
        .status,
        200
    );

    // A session bob opens is his; alice cannot use it.
    let bobs = send(&app, request("POST", "/mcp", Some(&bob), None, INIT)).await;
    let bobs = bobs.header(SESSION).unwrap().to_owned();
    let before = hits.count();
    let resp = send(
        &app,
        request("POST", "/mcp", Some(&alice), Some(&bobs), CALL),
    )
    .await;
    assert_not_found(&resp, &hits, before, "alice in bob's session");

    // The owner ends the session: the binding goes with it (the MCP server
    // answers for the ended session from then on).
    let resp = send(
        &app,
        request("DELETE", "/mcp", Some(&alice), Some(&session), ""),
    )
    .await;
    assert_eq!(resp.status, 200);
    let resp = send(
        &app,
        request("POST", "/mcp", Some(&bob), Some(&session), CALL),
    )
    .await;
    assert_eq!(resp.status, 200, "no longer bound");
}

#[actix_web::test]
async fn session_binding_can_be_turned_off() {
    let issuer = TestIssuer::start().await;
    let alice = issuer.token_builder(RESOURCE).claim("sub", "alice").sign();
    let bob = issuer.token_builder(RESOURCE).claim("sub", "bob").sign();
    let hits = Hits::default();
    let auth = build(&issuer, false);
    let app = app(&auth, &hits).await;
    let opened = send(&app, request("POST", "/mcp", Some(&alice), None, INIT)).await;
    let session = opened.header(SESSION).unwrap().to_owned();
    let resp = send(
        &app,
        request("POST", "/mcp", Some(&bob), Some(&session), CALL),
    )
    .await;
    assert_eq!(resp.status, 200);
}
