//! Operation scopes fail closed: a guard that authorizes by JSON-RPC
//! operation (tools, prompts, resources, methods, and the `Mcp-Method` /
//! `Mcp-Name` headers) refuses any body it cannot read exactly as the
//! handler will, checks every operation of a batch, and never lets a refused
//! request reach the handler. Every test counts handler runs.

use crate::common::{
    TestApp, WithBearer, call, post_json, rpc, send,
    two_resources::{A, B, Hits, Setup, auth_last, handler, maybe, plain},
};
use actix_web::{
    http::{Method, header},
    web,
};
use serde_json::{Value, json};

/// `/mcp` guarded by `s.tools(resource)` in front of `plain`, and the
/// counter of its runs.
async fn tools_app(s: &Setup, resource: &str) -> (impl TestApp + use<>, Hits) {
    let (hits, guard) = (Hits::default(), s.tools(resource));
    let app = hits
        .app(|cfg| {
            cfg.service(web::resource("/mcp").wrap(guard).to(plain));
        })
        .await;
    (app, hits)
}

// ---- Bodies the guard cannot read as the handler will ---------------------

#[actix_web::test]
async fn content_codings_are_refused() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, A).await;
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
        assert_eq!(r.header("accept-encoding"), Some("identity"), "{encoding}");
        assert_eq!(r.json()["error"]["code"], -32600, "{encoding}");
    }
    assert_eq!(hits.count(), 0, "a refused request reached the handler");
}

#[actix_web::test]
async fn unreadable_bodies_are_json_rpc_errors() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, A).await;
    let read = s.token(A, &["read"]);
    // Not JSON, duplicate members (parsers disagree on which one wins), not
    // JSON-RPC, or a named operation without its name.
    // (body, JSON-RPC error code of the 400)
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
    assert_eq!(hits.count(), 0, "a refused request reached the handler");
}

#[actix_web::test]
async fn every_method_that_carries_a_body_is_inspected() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, A).await;
    let read = s.token(A, &["read"]);
    let write_json = serde_json::to_vec(&call("add_note")).unwrap();
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
    assert_eq!(hits.count(), 0, "a refused request reached the handler");
}

#[actix_web::test]
async fn oversized_and_trailing_bodies_are_refused() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, A).await;
    let read = s.token(A, &["read"]);
    // (case, body, status)
    let cases = [
        (
            "larger than the app's `PayloadConfig` allows (256 KiB by default)",
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"whoami","pad":"{}"}}}}"#,
                "x".repeat(300 * 1024)
            ),
            413,
        ),
        (
            "trailing data after the message",
            format!("{} x", call("whoami")),
            400,
        ),
        (
            "a second message glued on",
            format!("{}{}", call("whoami"), call("add_note")),
            400,
        ),
    ];
    for (case, body, status) in cases {
        let r = send(&app, post_json("/mcp").bearer(&read).set_payload(body)).await;
        assert_eq!(r.status, status, "{case}");
    }
    assert_eq!(hits.count(), 0, "a refused request reached the handler");
}

#[actix_web::test]
async fn identity_and_bodyless_requests_reach_the_handler() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, A).await;
    let read = s.token(A, &["read"]);
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

// ---- Every operation, and the headers that name it -------------------------

#[actix_web::test]
async fn every_operation_kind_and_batch_position_is_checked() {
    let s = Setup::new().await;
    let (app, hits) = tools_app(&s, B).await;
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
    let (app, hits) = tools_app(&s, A).await;
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
    let app = hits
        .app(|cfg| {
            cfg.app_data(s.auth.clone())
                .service(web::resource("/mcp").app_data(s.tools(A)).to(handler))
                .service(web::resource("/late").app_data(s.tools(A)).to(auth_last))
                .service(web::resource("/maybe").app_data(s.tools(A)).to(maybe));
        })
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
