//! Protection composes fail-closed: whatever way a route is protected
//! (`.wrap`, `.app_data`, extractors, several guards), a request that should
//! be refused never reaches the handler. Every test counts handler runs, not
//! only statuses. (Operation scopes: `operation_scopes.rs`.)

use crate::common::{
    WithBearer, call, post_json, send,
    two_resources::{A, B, Hits, Setup, handler, maybe, plain},
};
use actix_web::{
    App,
    http::{Method, header},
    test::{self, TestRequest},
    web,
};
use mcp_auth::{BearerAuth, ConfigError, OperationScopes};

// ---- The most specific guard applies; outer guards still apply ---------

#[actix_web::test]
async fn a_route_guard_is_never_skipped_under_an_outer_middleware() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let stricter_same = s.guard(A).required_scopes(["admin"]).unwrap();
    let other = s.guard(B).required_scopes(["admin"]).unwrap();
    let app = hits
        .app(|cfg| {
            cfg.app_data(s.auth.clone()).service(
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
            );
        })
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
    let app = hits
        .app(|cfg| {
            cfg.service(
                web::scope("/x")
                    .wrap(s.guard(A))
                    .service(web::resource("").wrap(s.guard(B)).to(handler)),
            );
        })
        .await;
    for token in [s.token(A, &["admin"]), s.token(B, &["admin"])] {
        assert_eq!(send(&app, post_json("/x").bearer(&token)).await.status, 401);
    }
    assert_eq!(hits.count(), 0);
}

// ---- CORS preflights never reach a handler ------------------------------

#[actix_web::test]
async fn preflights_are_answered_by_the_guard() {
    let s = Setup::new().await;
    let hits = Hits::default();
    let app = hits
        .app(|cfg| {
            cfg.app_data(s.auth.clone())
                .service(web::resource("/wrapped").wrap(s.guard(A)).to(plain))
                .service(web::resource("/extracted").app_data(s.guard(A)).to(handler))
                .service(web::resource("/single").to(maybe))
                .service(
                    web::scope("/scope")
                        .wrap(s.tools(A))
                        .default_service(web::to(plain)),
                );
        })
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

// ---- Wiring mistakes are found early, or said clearly -------------------

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
    // (case, `McpAuth` in app data, what the 500 says in debug builds)
    let cases = [
        ("no `McpAuth`", false, "no `McpAuth` in app data"),
        (
            "two resources and nothing says which protects the route",
            true,
            "several resources",
        ),
    ];
    for (case, with_auth, cause) in cases {
        let app = hits
            .app(|cfg| {
                if with_auth {
                    cfg.app_data(s.auth.clone());
                }
                cfg.service(web::resource("/route").to(handler));
            })
            .await;
        let r = send(&app, post_json("/route").bearer(&s.token(A, &[]))).await;
        assert_eq!(r.status, 500, "{case}");
        assert_eq!(r.json()["error"], "server_error", "{case}");
        if cfg!(debug_assertions) {
            let said = r.json()["cause"].as_str().unwrap_or_default().to_owned();
            assert!(said.contains(cause), "{case}: {said}");
        }
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
