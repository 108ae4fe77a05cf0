//! Protection composes fail-closed: whatever way a route is protected
//! (`.wrap`, `.app_data`, extractors, several guards, operation scopes), a
//! request that should be refused never reaches the handler. Every test
//! counts handler runs, not only statuses.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use actix_web::{
    App, HttpResponse,
    http::{Method, header},
    test::{self, TestRequest},
    web,
};
use common::{WithBearer, call, post_json, rpc, send};
use mcp_auth::{
    AuthInfo, BearerAuth, ConfigError, MaybeAuthInfo, McpAuth, OperationScopes, ResourceConfig,
    testing::TestIssuer,
};
use serde_json::{Value, json};

const A: &str = "http://127.0.0.1:8080/a";
const B: &str = "http://127.0.0.1:8080/b";

/// Handler runs, shared through app data.
#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

impl Hits {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counts, echoes the caller's resource and the body it was handed.
async fn handler(auth: AuthInfo, hits: web::Data<Hits>, body: web::Bytes) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().json(json!({
        "resource": auth.resource(),
        "body": String::from_utf8_lossy(&body),
    }))
}

/// No `AuthInfo`: relies on a middleware alone.
async fn plain(hits: web::Data<Hits>, body: web::Bytes) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(body)
}

async fn maybe(auth: MaybeAuthInfo, hits: web::Data<Hits>) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().json(json!({ "anonymous": auth.0.is_none() }))
}

/// `AuthInfo` after a body extractor: the guard can no longer see the body.
async fn auth_last(body: web::Bytes, hits: web::Data<Hits>, _auth: AuthInfo) -> HttpResponse {
    hits.0.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(body)
}

struct Setup {
    issuer: TestIssuer,
    auth: McpAuth,
}

impl Setup {
    async fn new() -> Self {
        let issuer = TestIssuer::start().await;
        let scopes = ["read", "write", "admin"];
        let auth = McpAuth::builder()
            .without_declared_resources()
            .authorization_server(issuer.resolved_config())
            .resource(ResourceConfig::new(A).scopes_supported(scopes))
            .resource(
                ResourceConfig::new(B)
                    .scopes_supported(scopes)
                    .scope_implies("admin", ["read", "write"]),
            )
            .build()
            .unwrap();
        Self { issuer, auth }
    }

    fn guard(&self, resource: &str) -> BearerAuth {
        self.auth.bearer_auth(resource).unwrap()
    }

    fn token(&self, resource: &str, scopes: &[&str]) -> String {
        self.issuer.token(resource, scopes)
    }

    fn tools(&self, resource: &str) -> BearerAuth {
        self.guard(resource)
            .required_scopes(["read"])
            .unwrap()
            .operation_scopes(
                OperationScopes::new()
                    .tool("add_note", ["write"])
                    .tool("delete", ["write", "admin"])
                    .prompt("secret", ["admin"])
                    .resource("notes://{id}", ["read"])
                    .resource("notes://private/{+path}", ["admin"])
                    .method("resources/list", ["read"]),
            )
            .unwrap()
    }
}

// ---- 1. The most specific guard applies; outer guards still apply ---------

#[actix_web::test]
async fn a_route_guard_is_never_skipped_under_an_outer_middleware() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let stricter_same = s.guard(A).required_scopes(["admin"]).unwrap();
    let other = s.guard(B).required_scopes(["admin"]).unwrap();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(s.auth.clone())
            .service(
                web::scope("")
                    .wrap(s.guard(A))
                    .service(web::resource("/other").app_data(other.clone()).to(handler))
                    .service(
                        web::resource("/stricter")
                            .app_data(stricter_same)
                            .to(handler),
                    )
                    .service(web::resource("/maybe").app_data(other).to(maybe))
                    .service(web::resource("/inner-wrap").wrap(s.guard(B)).to(plain))
                    .service(web::resource("/outer-only").to(handler)),
            ),
    )
    .await;
    let a_plain = s.token(A, &[]);
    let a_admin = s.token(A, &["admin"]);
    let b_admin = s.token(B, &["admin"]);

    // Token for A, no scopes: the outer guard (A) passes, the route's doesn't.
    for path in ["/other", "/stricter", "/maybe", "/inner-wrap"] {
        let r = send(&app, post_json(path).bearer(&a_plain)).await;
        assert!(matches!(r.status, 401 | 403), "{path}: {}", r.status);
        assert!(!r.challenge().is_empty(), "{path}: no challenge");
    }
    // A token for A with `admin` is still not a token for B.
    for path in ["/other", "/maybe", "/inner-wrap"] {
        let r = send(&app, post_json(path).bearer(&a_admin)).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(
            r.challenge().contains("error=\"invalid_token\""),
            "{path}: {}",
            r.challenge()
        );
        assert!(
            r.challenge().contains("oauth-protected-resource/b"),
            "{path}: {}",
            r.challenge()
        );
    }
    // A token for B does not pass the outer guard for A.
    for path in ["/other", "/maybe", "/inner-wrap"] {
        assert_eq!(
            send(&app, post_json(path).bearer(&b_admin)).await.status,
            401,
            "{path}"
        );
    }
    let r = send(&app, post_json("/stricter").bearer(&a_plain)).await;
    assert_eq!(r.status, 403);
    assert!(
        r.challenge().contains("scope=\"admin\""),
        "{}",
        r.challenge()
    );
    assert_eq!(hits.count(), 0, "a refused request reached a handler");

    // What must pass, passes, with the caller verified for the route's resource.
    let r = send(&app, post_json("/stricter").bearer(&a_admin)).await;
    assert_eq!((r.status, r.json()["resource"].as_str()), (200, Some(A)));
    let r = send(&app, post_json("/outer-only").bearer(&a_plain)).await;
    assert_eq!((r.status, r.json()["resource"].as_str()), (200, Some(A)));
    assert_eq!(hits.count(), 2);
}

#[actix_web::test]
async fn nested_middlewares_for_two_resources_need_a_token_for_both() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new().app_data(web::Data::new(hits.clone())).service(
            web::scope("/x")
                .wrap(s.guard(A))
                .service(web::resource("").wrap(s.guard(B)).to(handler)),
        ),
    )
    .await;
    for token in [s.token(A, &["admin"]), s.token(B, &["admin"])] {
        assert_eq!(send(&app, post_json("/x").bearer(&token)).await.status, 401);
    }
    assert_eq!(hits.count(), 0);
}

// ---- 2. Operation scopes fail closed -------------------------------------

#[actix_web::test]
async fn operation_scopes_refuse_what_they_cannot_read() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .service(web::resource("/mcp").wrap(s.tools(A)).to(plain)),
    )
    .await;
    let read = s.token(A, &["read"]);
    let write_json = serde_json::to_vec(&call("add_note")).unwrap();

    // A content coding: decoding it here and again in the handler, or not
    // here and then in the handler, would let the handler see another body.
    for encoding in [
        "gzip",
        "br",
        "deflate",
        "zstd",
        "gzip, gzip",
        "identity, gzip",
        "x-unknown",
    ] {
        let r = send(
            &app,
            post_json("/mcp")
                .bearer(&read)
                .insert_header((header::CONTENT_ENCODING, encoding))
                .set_payload(write_json.clone()),
        )
        .await;
        assert_eq!(r.status, 415, "{encoding}");
        assert_eq!(r.header("accept-encoding"), Some("identity"));
        assert_eq!(r.json()["error"]["code"], -32600);
    }
    // Not JSON, duplicate members (parsers disagree on which one wins), not
    // JSON-RPC, or a named operation without its name.
    let bodies: &[(&str, i64)] = &[
        ("add_note", -32700),
        ("{\"method\":\"tools/call\"", -32700),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"add_note"}}"#,
            -32700,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"add_note"}}"#,
            -32700,
        ),
        ("[]", -32600),
        ("\"tools/call\"", -32600),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}, 5]"#,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":["tools/call"]}"#,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"url":"notes://1"}}"#,
            -32602,
        ),
    ];
    for (body, code) in bodies {
        let r = send(&app, post_json("/mcp").bearer(&read).set_payload(*body)).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"]["code"], *code, "{body}");
    }
    // Every method that carries a body is inspected.
    for method in [
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::GET,
    ] {
        let r = send(
            &app,
            post_json("/mcp")
                .bearer(&read)
                .method(method.clone())
                .set_payload(write_json.clone()),
        )
        .await;
        assert_eq!(r.status, 403, "{method}");
        assert!(
            r.challenge().contains("error=\"insufficient_scope\""),
            "{method}"
        );
    }
    // Larger than the app's `PayloadConfig` allows (256 KiB by default).
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"whoami","pad":"{}"}}}}"#,
        "x".repeat(300 * 1024)
    );
    assert_eq!(
        send(&app, post_json("/mcp").bearer(&read).set_payload(big))
            .await
            .status,
        413
    );
    // Trailing data after the message, or a second message glued on.
    for body in [
        format!("{} x", call("whoami")),
        format!("{}{}", call("whoami"), call("add_note")),
    ] {
        assert_eq!(
            send(&app, post_json("/mcp").bearer(&read).set_payload(body))
                .await
                .status,
            400
        );
    }
    assert_eq!(hits.count(), 0, "a refused request reached the handler");

    // Identity is fine, and the handler gets the exact bytes.
    let whoami = serde_json::to_vec(&call("whoami")).unwrap();
    let r = send(
        &app,
        post_json("/mcp")
            .bearer(&read)
            .insert_header((header::CONTENT_ENCODING, "identity"))
            .set_payload(whoami.clone()),
    )
    .await;
    assert_eq!((r.status, r.body), (200, whoami));
    // No body: no operation, only the route's scopes.
    assert_eq!(
        send(&app, post_json("/mcp").bearer(&read).method(Method::GET))
            .await
            .status,
        200
    );
    assert_eq!(hits.count(), 2);
}

#[actix_web::test]
async fn every_operation_kind_and_batch_position_is_checked() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .service(web::resource("/mcp").wrap(s.tools(B)).to(plain)),
    )
    .await;
    let read = s.token(B, &["read"]);
    let write = s.token(B, &["read", "write"]);
    let admin = s.token(B, &["admin"]);
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"});
    let note = |uri: &str| rpc("resources/read", json!({ "uri": uri }));
    // (body, token, expected status, scopes the 403 must list)
    let cases: Vec<(Value, &str, u16, &str)> = vec![
        (call("whoami"), &read, 200, ""),
        (call("add_note"), &read, 403, "read write"),
        (
            json!([call("add_note"), call("whoami")]),
            &read,
            403,
            "read write",
        ),
        (
            json!([call("whoami"), call("add_note"), call("whoami")]),
            &read,
            403,
            "read write",
        ),
        (
            json!([call("whoami"), list.clone(), call("add_note")]),
            &read,
            403,
            "read write",
        ),
        (
            json!([call("add_note"), call("delete")]),
            &write,
            403,
            "read write admin",
        ),
        (call("delete"), &read, 403, "read write admin"),
        (
            rpc("prompts/get", json!({"name": "secret"})),
            &write,
            403,
            "read write admin",
        ),
        (note("notes://42"), &read, 200, ""),
        (note("notes://private/a/b"), &write, 403, "read write admin"),
        (list.clone(), &read, 200, ""),
        // Scope hierarchy: `admin` implies `read` and `write`.
        (
            json!([call("add_note"), call("delete"), note("notes://private/x")]),
            &admin,
            200,
            "",
        ),
    ];
    let mut allowed = 0;
    for (body, token, status, scope) in cases {
        let r = send(&app, post_json("/mcp").bearer(token).set_json(&body)).await;
        assert_eq!(r.status, status, "{body}");
        if status == 403 {
            let param = |name| r.challenge_param(name).unwrap_or_default();
            assert_eq!(param("error"), "insufficient_scope", "{body}");
            let listed = param("scope");
            for s in scope.split(' ') {
                assert!(
                    listed.split(' ').any(|l| l == s),
                    "{body}: `{s}` not in `{listed}`"
                );
            }
        } else {
            allowed += 1;
        }
        assert_eq!(hits.count(), allowed, "{body}");
    }
    // Anonymous callers get 401 with the scopes of the route.
    let r = send(&app, post_json("/mcp").set_json(call("whoami"))).await;
    assert_eq!(r.status, 401);
    assert!(
        r.challenge().starts_with("Bearer scope=\"read\""),
        "{}",
        r.challenge()
    );
}

#[actix_web::test]
async fn mcp_method_headers_are_authorized_then_cross_checked() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .service(web::resource("/mcp").wrap(s.tools(A)).to(plain)),
    )
    .await;
    let read = s.token(A, &["read"]);
    let write = s.token(A, &["read", "write"]);
    let with = |token: &str, method: &str, name: Option<&str>, body: &Value| {
        let req = post_json("/mcp")
            .bearer(token)
            .insert_header(("Mcp-Method", method))
            .set_json(body);
        match name {
            Some(name) => req.insert_header(("Mcp-Name", name)),
            None => req,
        }
    };

    // The header alone decides a 403, before the body is read: here the
    // body is not even JSON.
    let r = send(
        &app,
        post_json("/mcp")
            .bearer(&read)
            .insert_header(("Mcp-Method", "tools/call"))
            .insert_header(("Mcp-Name", "add_note"))
            .set_payload("not json"),
    )
    .await;
    assert_eq!(r.status, 403);

    // Headers that disagree with the body: HeaderMismatch, never served —
    // including a harmless header hiding a privileged body.
    let mismatches = [
        ("tools/call", Some("whoami"), call("add_note")),
        ("tools/list", None, call("add_note")),
        ("tools/call", None, call("whoami")),
        ("prompts/get", Some("whoami"), call("whoami")),
        (
            "tools/call",
            Some("whoami"),
            json!([call("whoami"), call("whoami")]),
        ),
    ];
    for (method, name, body) in &mismatches {
        let r = send(&app, with(&write, method, *name, body)).await;
        assert_eq!(r.status, 400, "{method} {name:?} {body}");
        assert_eq!(r.json()["error"]["code"], -32020, "{method} {name:?}");
    }
    let r = send(
        &app,
        post_json("/mcp")
            .bearer(&write)
            .insert_header(("Mcp-Name", "whoami"))
            .set_json(call("whoami")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(hits.count(), 0, "a refused request reached the handler");

    let r = send(
        &app,
        with(&write, "tools/call", Some("add_note"), &call("add_note")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["params"]["name"], "add_note");
    assert_eq!(hits.count(), 1);
}

#[actix_web::test]
async fn operation_scopes_work_as_extractor_configuration_too() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(s.auth.clone())
            .service(web::resource("/mcp").app_data(s.tools(A)).to(handler))
            .service(web::resource("/late").app_data(s.tools(A)).to(auth_last))
            .service(web::resource("/maybe").app_data(s.tools(A)).to(maybe)),
    )
    .await;
    let read = s.token(A, &["read"]);
    let write = s.token(A, &["read", "write"]);
    let r = send(
        &app,
        post_json("/mcp").bearer(&read).set_json(call("add_note")),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(&app, post_json("/mcp").bearer(&read).set_payload("nope")).await;
    assert_eq!(r.status, 400);
    // Optional authentication: anonymous callers pass only where the
    // operation needs no scope.
    let r = send(&app, post_json("/maybe").set_json(call("add_note"))).await;
    assert_eq!(r.status, 401);
    assert!(
        r.challenge().starts_with("Bearer scope=\"read write\""),
        "{}",
        r.challenge()
    );
    // `AuthInfo` after the body extractor: the guard cannot see the body, so
    // it refuses (500, a wiring mistake) instead of passing.
    let r = send(
        &app,
        post_json("/late").bearer(&write).set_json(call("whoami")),
    )
    .await;
    assert_eq!(r.status, 500);
    if cfg!(debug_assertions) {
        assert!(
            r.json()["cause"]
                .as_str()
                .unwrap()
                .contains("first handler argument")
        );
    }
    assert_eq!(hits.count(), 0);

    let body = serde_json::to_vec(&call("add_note")).unwrap();
    let r = send(
        &app,
        post_json("/mcp").bearer(&write).set_payload(body.clone()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body"], String::from_utf8(body).unwrap());
    let r = send(&app, post_json("/maybe").set_json(call("whoami"))).await;
    assert_eq!(
        (r.status, r.json()["anonymous"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(hits.count(), 2);
}

// ---- 3. CORS preflights never reach a handler ------------------------------

#[actix_web::test]
async fn preflights_are_answered_by_the_guard() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(s.auth.clone())
            .service(web::resource("/wrapped").wrap(s.guard(A)).to(plain))
            .service(web::resource("/extracted").app_data(s.guard(A)).to(handler))
            .service(web::resource("/single").to(maybe))
            .service(
                web::scope("/scope")
                    .wrap(s.tools(A))
                    .default_service(web::to(plain)),
            ),
    )
    .await;
    let bad = "Bearer not.a.token";
    for path in ["/wrapped", "/extracted", "/single", "/scope/anything"] {
        for auth in [None, Some(bad)] {
            let mut req = TestRequest::default()
                .method(Method::OPTIONS)
                .uri(path)
                .insert_header((header::ORIGIN, "https://inspector.example"))
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
                .insert_header((
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization, content-type, mcp-protocol-version",
                ));
            if let Some(auth) = auth {
                req = req.insert_header((header::AUTHORIZATION, auth));
            }
            let r = send(&app, req).await;
            assert_eq!(r.status, 204, "{path} {auth:?}");
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
            assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
            assert_eq!(
                r.header("access-control-allow-headers"),
                Some("authorization, content-type, mcp-protocol-version")
            );
        }
    }
    // A plain OPTIONS (not a preflight) is an ordinary request: 401.
    let r = send(
        &app,
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/wrapped"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(hits.count(), 0, "a preflight reached a handler");

    // Browsers can read a refusal and, from a protected handler, a success.
    let r = send(
        &app,
        post_json("/wrapped").insert_header((header::ORIGIN, "https://inspector.example")),
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("WWW-Authenticate")
    );
    let r = send(
        &app,
        post_json("/wrapped")
            .bearer(&s.token(A, &[]))
            .insert_header((header::ORIGIN, "https://inspector.example")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("WWW-Authenticate")
    );
}

// ---- 5. Wiring mistakes are found early, or said clearly -------------------

#[actix_web::test]
async fn bad_guard_configuration_fails_when_built() {
    let s = Setup::new().await;
    let cases: Vec<(Result<BearerAuth, ConfigError>, &str)> = vec![
        (
            s.guard(A).required_scopes(["a b"]),
            "RFC 6749 §3.3 scope tokens",
        ),
        (s.guard(A).required_scopes(["nope"]), "scopes_supported"),
        (
            s.guard(A)
                .operation_scopes(OperationScopes::new().tool("t", ["nope"])),
            "scopes_supported",
        ),
        (
            s.guard(A)
                .operation_scopes(OperationScopes::new().prompt("p", [""])),
            "must not be empty",
        ),
        (
            s.guard(A)
                .operation_scopes(OperationScopes::new().resource("notes://{", ["read"])),
            "has an unclosed `{`",
        ),
        (
            s.guard(A)
                .operation_scopes(OperationScopes::new().resource("relative/{id}", ["read"])),
            "absolute URI",
        ),
    ];
    for (result, needle) in cases {
        let err = result.unwrap_err().to_string();
        assert!(err.contains(needle), "`{err}` should mention `{needle}`");
    }
    assert!(matches!(
        s.auth.bearer_auth("http://127.0.0.1:8080/c"),
        Err(ConfigError::UnknownResource { .. })
    ));
}

#[actix_web::test]
async fn request_time_wiring_mistakes_are_500s_that_say_why() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .service(web::resource("/no-auth").to(handler)),
    )
    .await;
    let r = send(&app, post_json("/no-auth").bearer(&s.token(A, &[]))).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"], "server_error");
    if cfg!(debug_assertions) {
        assert!(
            r.json()["cause"]
                .as_str()
                .unwrap()
                .contains("no `McpAuth` in app data")
        );
    }
    // Two resources and nothing says which protects the route.
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(s.auth.clone())
            .service(web::resource("/ambiguous").to(handler)),
    )
    .await;
    let r = send(&app, post_json("/ambiguous").bearer(&s.token(A, &[]))).await;
    assert_eq!(r.status, 500);
    if cfg!(debug_assertions) {
        assert!(
            r.json()["cause"]
                .as_str()
                .unwrap()
                .contains("several resources")
        );
    }
    assert_eq!(hits.count(), 0);
}

#[actix_web::test]
async fn metadata_routes_mounted_in_a_scope_serve_the_documents() {
    let s = Setup::new().await;
    let app = test::init_service(
        App::new()
            .app_data(s.auth.clone())
            .service(web::scope("/prefix").configure(mcp_auth::routes))
            .configure(mcp_auth::routes),
    )
    .await;
    for path in [
        "/prefix/.well-known/oauth-protected-resource/a",
        "/.well-known/oauth-protected-resource/a",
    ] {
        let r = send(&app, TestRequest::get().uri(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json()["resource"], A, "{path}");
    }
    let r = send(
        &app,
        TestRequest::get().uri("/prefix/.well-known/oauth-protected-resource/c"),
    )
    .await;
    assert_eq!(r.status, 404);
}

// ---- 401s keep the connection open ----------------------------------------

/// Sends `requests` on one TCP connection to a real server and returns each
/// response head (status line and headers, lower-cased).
fn on_one_connection(addr: std::net::SocketAddr, requests: Vec<String>) -> Vec<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut heads = Vec::new();
    for request in requests {
        stream.write_all(request.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                return heads; // closed
            }
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        heads.push(head);
    }
    heads
}

#[actix_web::test]
async fn refusals_keep_the_connection_alive() {
    let s = Setup::new().await;
    let (wrapped, tools, auth) = (s.guard(A), s.tools(A), s.auth.clone());
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .service(web::resource("/wrapped").wrap(wrapped.clone()).to(plain))
            .service(web::resource("/tools").wrap(tools.clone()).to(plain))
            .app_data(web::Data::new(Hits::default()))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let body = serde_json::to_string(&call("add_note")).unwrap();
    let read = s.token(A, &["read"]);
    let req = |path: &str, auth: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let bearer = format!("Authorization: Bearer {read}\r\n");
    let requests = vec![
        req("/wrapped", ""), // 401, body unread by the guard
        req("/wrapped", "Authorization: Bearer x.y.z\r\n"), // 401 invalid_token
        req("/tools", ""),   // 401 before the body is read
        req("/tools", &bearer), // 403 after reading it
        req("/wrapped", &bearer), // 200 on the same connection
    ];
    let heads = actix_web::rt::task::spawn_blocking(move || on_one_connection(addr, requests))
        .await
        .unwrap();
    handle.stop(true).await;
    let statuses: Vec<&str> = heads.iter().map(|h| &h[9..12]).collect();
    assert_eq!(statuses, ["401", "401", "401", "403", "200"], "{heads:#?}");
    for head in &heads {
        assert!(!head.contains("connection: close"), "{head}");
    }
}
