//! An app built only from `#[protected_resource]` handlers plus
//! `configure(mcp_auth::routes)`: metadata for two resources, audience and
//! scopes enforced per handler.

mod common;

use actix_web::{
    App, HttpResponse, Responder, get, post,
    test::{self, TestRequest},
    web,
};
use common::{WithBearer, get, send};
use mcp_auth::{AuthInfo, McpAuth, protected_resource, testing::TestIssuer};
use serde_json::{Value, json};

const NOTES: &str = "http://127.0.0.1:8080/notes";
const TASKS: &str = "http://127.0.0.1:8080/tasks";

/// Reads notes.
#[protected_resource(
    resource = "http://127.0.0.1:8080/notes",
    scopes = ["notes:read", "notes:write"],
    required_scopes = ["notes:read"],
    resource_name = "Notes",
)]
#[get("/notes")]
async fn read_notes(auth: AuthInfo) -> impl Responder {
    HttpResponse::Ok().json(json!({ "resource": auth.resource(), "scopes": auth.scopes() }))
}

/// Writes notes: same resource (one metadata document), stricter scopes.
#[protected_resource(
    resource = "http://127.0.0.1:8080/notes",
    scopes = ["notes:read", "notes:write"],
    required_scopes = ["notes:write"],
    resource_name = "Notes",
)]
#[post("/notes")]
async fn write_notes(auth: AuthInfo, body: web::Json<Value>) -> impl Responder {
    HttpResponse::Ok().json(json!({ "saved": body.into_inner(), "by": auth.subject() }))
}

/// No `AuthInfo` argument: still protected; no scopes required.
#[protected_resource(resource = "http://127.0.0.1:8080/tasks", required_scopes = [])]
#[get("/tasks")]
async fn tasks() -> impl Responder {
    HttpResponse::Ok().body("tasks")
}

/// Optional authentication.
#[protected_resource(resource = "http://127.0.0.1:8080/tasks", required_scopes = [])]
#[get("/tasks/public")]
async fn public_tasks(auth: Option<AuthInfo>) -> impl Responder {
    HttpResponse::Ok().body(if auth.is_some() {
        "signed in"
    } else {
        "anonymous"
    })
}

/// Opens an MCP session (protocol 2025-11-25 style): bound to the caller.
#[protected_resource(resource = "http://127.0.0.1:8080/tasks", required_scopes = [])]
#[post("/tasks/session")]
async fn open_session() -> impl Responder {
    HttpResponse::Ok()
        .insert_header(("mcp-session-id", "tasks-session-1"))
        .finish()
}

/// The app under test: only annotated handlers plus `mcp_auth::routes`.
macro_rules! app {
    ($issuer:expr) => {
        test::init_service(
            App::new()
                .app_data(
                    McpAuth::builder()
                        .authorization_server($issuer.discovery_config())
                        .build()
                        .unwrap(),
                )
                .configure(mcp_auth::routes)
                .service(read_notes)
                .service(write_notes)
                .service(tasks)
                .service(public_tasks)
                .service(open_session),
        )
        .await
    };
}

const NOTES_METADATA: &str = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/notes";
const TASKS_METADATA: &str = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/tasks";

/// A POST of a small JSON note to `/notes`.
fn post_note() -> TestRequest {
    TestRequest::post().uri("/notes").set_json(json!({"t": 1}))
}

#[actix_web::test]
async fn metadata_for_each_declared_resource() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let res = send(&app, get("/.well-known/oauth-protected-resource/notes")).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({
            "resource": NOTES,
            "authorization_servers": [issuer.issuer()],
            "scopes_supported": ["notes:read", "notes:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Notes",
        })
    );
    let doc = send(&app, get("/.well-known/oauth-protected-resource/tasks"))
        .await
        .json();
    assert_eq!(doc["resource"], TASKS);
    assert!(doc.get("scopes_supported").is_none());
    // Two resources: no root document.
    let res = send(&app, get("/.well-known/oauth-protected-resource")).await;
    assert_eq!(res.status, 404);
}

#[actix_web::test]
async fn audience_and_scopes_per_handler() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let read = issuer.token(NOTES, &["notes:read"]);
    let write = issuer.token(NOTES, &["notes:read", "notes:write"]);
    let tasks_token = issuer.token(TASKS, &[]);

    let res = send(&app, get("/notes").bearer(&read)).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({ "resource": NOTES, "scopes": ["notes:read"] })
    );

    let insufficient = [
        "Bearer error=\"insufficient_scope\"",
        // Granted plus missing: the client keeps notes:read when it steps up.
        "scope=\"notes:read notes:write\"",
        &format!("resource_metadata=\"{NOTES_METADATA}\""),
    ];
    // (case, request, status, what the challenge contains)
    let cases: [(&str, _, u16, &[&str]); 5] = [
        (
            "same resource, stricter handler: 403 naming the missing scope",
            post_note().bearer(&read),
            403,
            &insufficient,
        ),
        (
            "notes:write passes the stricter handler",
            post_note().bearer(&write),
            200,
            &[],
        ),
        // A token for /tasks is refused by /notes (audience) and vice versa.
        (
            "a /tasks token at /notes",
            get("/notes").bearer(&tasks_token),
            401,
            &["error=\"invalid_token\""],
        ),
        (
            "a /notes token at /tasks",
            get("/tasks").bearer(&read),
            401,
            &[],
        ),
        (
            "a /tasks token at /tasks",
            get("/tasks").bearer(&tasks_token),
            200,
            &[],
        ),
    ];
    for (case, req, status, challenge) in cases {
        let res = send(&app, req).await;
        assert_eq!(res.status, status, "{case}");
        for part in challenge {
            assert!(
                res.challenge().contains(part),
                "{case}: {}",
                res.challenge()
            );
        }
    }

    // No token: 401 with the compile-time scope list and no error code.
    let cases = [
        (
            "/notes",
            format!("Bearer scope=\"notes:read\", resource_metadata=\"{NOTES_METADATA}\""),
        ),
        (
            "/tasks",
            format!("Bearer resource_metadata=\"{TASKS_METADATA}\""),
        ),
    ];
    for (path, challenge) in cases {
        let res = send(&app, get(path)).await;
        assert_eq!(res.status, 401, "{path}");
        assert_eq!(res.challenge(), challenge, "{path}");
    }
}

#[actix_web::test]
async fn optional_auth_handler() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let token = issuer.token(TASKS, &[]);
    let expired = issuer.token_builder(TASKS).expires_in(-600).sign();
    let public = || get("/tasks/public");
    // Optional does not mean lax: a bad token is still a 401 (MCP), not
    // anonymous, and a malformed header a 400.
    // (case, request, status, the body of a 200 or what the challenge contains)
    let cases = [
        ("no token", public(), 200, "anonymous"),
        ("valid token", public().bearer(&token), 200, "signed in"),
        (
            "expired token",
            public().bearer(&expired),
            401,
            "error=\"invalid_token\"",
        ),
        (
            "Bearer without a token",
            public().insert_header(("Authorization", "Bearer")),
            400,
            "",
        ),
    ];
    for (case, req, status, expected) in cases {
        let res = send(&app, req).await;
        assert_eq!(res.status, status, "{case}");
        if status == 200 {
            assert_eq!(res.text(), expected, "{case}");
        } else {
            assert!(
                res.challenge().contains(expected),
                "{case}: {}",
                res.challenge()
            );
        }
    }
}

#[actix_web::test]
async fn public_origin_override_without_recompiling() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .authorization_server(issuer.discovery_config())
        .public_origin("https://api.example.com")
        .build()
        .unwrap();
    assert_eq!(
        auth.resources().collect::<Vec<_>>().len(),
        2,
        "both declared resources are configured"
    );
    let app = test::init_service(
        App::new()
            .app_data(auth)
            .configure(mcp_auth::routes)
            .service(read_notes),
    )
    .await;
    let doc = send(&app, get("/.well-known/oauth-protected-resource/notes"))
        .await
        .json();
    assert_eq!(doc["resource"], "https://api.example.com/notes");
    // Tokens are expected for the public identifier.
    let ok = issuer.token("https://api.example.com/notes", &["notes:read"]);
    assert_eq!(send(&app, get("/notes").bearer(&ok)).await.status, 200);
    let old = issuer.token(NOTES, &["notes:read"]);
    assert_eq!(send(&app, get("/notes").bearer(&old)).await.status, 401);
}

#[actix_web::test]
async fn scope_hierarchy_merges_with_declarations() {
    let issuer = TestIssuer::start().await;
    // The builder adds a hierarchy to a resource the macros declare.
    let auth = McpAuth::builder()
        .authorization_server(issuer.discovery_config())
        .resource(
            mcp_auth::ResourceConfig::new(NOTES)
                .scope_implies("notes:admin", ["notes:read", "notes:write"]),
        )
        .build()
        .unwrap();
    let doc = auth.resource_metadata(NOTES).unwrap();
    assert_eq!(
        doc["scopes_supported"],
        json!(["notes:read", "notes:write"]),
        "declared scopes kept"
    );
    let app = test::init_service(
        App::new()
            .app_data(auth)
            .service(read_notes)
            .service(write_notes),
    )
    .await;
    let admin = issuer.token(NOTES, &["notes:admin"]);
    let other = issuer.token(NOTES, &["notes:other"]);
    // (case, request, status)
    let cases = [
        (
            "notes:admin implies notes:write",
            TestRequest::post()
                .uri("/notes")
                .bearer(&admin)
                .set_json(json!({})),
            200,
        ),
        (
            "notes:admin implies notes:read",
            get("/notes").bearer(&admin),
            200,
        ),
        (
            "an unrelated scope implies nothing",
            get("/notes").bearer(&other),
            403,
        ),
    ];
    for (case, req, status) in cases {
        assert_eq!(send(&app, req).await.status, status, "{case}");
    }
}

/// A `#[protected_resource]` handler under a middleware for another
/// resource: both guards apply, so no single token passes.
#[actix_web::test]
async fn macro_guard_applies_under_an_outer_middleware() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .authorization_server(issuer.discovery_config())
        .build()
        .unwrap();
    let outer = auth.bearer_auth(TASKS).unwrap();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .service(web::scope("").wrap(outer).service(read_notes)),
    )
    .await;
    for token in [
        issuer.token(TASKS, &["notes:read"]),
        issuer.token(NOTES, &["notes:read"]),
    ] {
        let res = send(&app, get("/notes").bearer(&token)).await;
        assert_eq!(res.status, 401);
        assert!(res.challenge().contains("invalid_token"));
    }
}

/// A browser page on another origin can read a protected handler's answer:
/// the macro adds the CORS headers the middleware adds (only when the
/// request carries an `Origin`, and never over the handler's own).
#[actix_web::test]
async fn successful_answers_are_readable_cross_origin() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let read = issuer.token(NOTES, &["notes:read"]);
    let tasks_token = issuer.token(TASKS, &[]);
    let origin = ("Origin", "http://page.example");
    let cases = [
        (
            "with Origin",
            get("/notes").bearer(&read).insert_header(origin),
            Some("*"),
        ),
        ("without Origin", get("/notes").bearer(&read), None),
        (
            "no AuthInfo argument",
            get("/tasks").bearer(&tasks_token).insert_header(origin),
            Some("*"),
        ),
        (
            "optional auth, anonymous",
            get("/tasks/public").insert_header(origin),
            Some("*"),
        ),
    ];
    for (case, req, allow_origin) in cases {
        let res = send(&app, req).await;
        assert_eq!(res.status, 200, "{case}");
        assert_eq!(
            res.header("access-control-allow-origin"),
            allow_origin,
            "{case}"
        );
        if allow_origin.is_some() {
            let exposed = res
                .header("access-control-expose-headers")
                .unwrap_or_default();
            assert!(exposed.contains("WWW-Authenticate"), "{case}: {exposed}");
        }
    }
}

/// A session a `#[protected_resource]` handler opens is bound to the caller
/// (the macro sees the response, as the middleware does): another
/// principal's valid token naming it gets 404 "Session not found".
#[actix_web::test]
async fn sessions_opened_by_a_macro_handler_are_bound_to_the_caller() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let alice = issuer.token_builder(TASKS).claim("sub", "alice").sign();
    let bob = issuer.token_builder(TASKS).claim("sub", "bob").sign();
    let opened = send(
        &app,
        TestRequest::post().uri("/tasks/session").bearer(&alice),
    )
    .await;
    assert_eq!(opened.status, 200);
    let session = opened.header("mcp-session-id").unwrap().to_owned();
    let with_session = |token: &str| {
        get("/tasks")
            .bearer(token)
            .insert_header(("mcp-session-id", session.clone()))
    };
    let refused = send(&app, with_session(&bob)).await;
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], -32001);
    assert_eq!(send(&app, with_session(&alice)).await.status, 200);
    assert_eq!(
        send(&app, with_session(&alice)).await.status,
        200,
        "cached path"
    );
}
