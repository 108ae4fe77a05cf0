//! An app built only from `#[protected_resource]` handlers plus
//! `configure(mcp_auth::routes)`: metadata for two resources, audience and
//! scopes enforced per handler.

use actix_web::{App, HttpResponse, Responder, get, http::StatusCode, post, test, web};
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
                .service(public_tasks),
        )
        .await
    };
}

fn challenge_of(res: &actix_web::dev::ServiceResponse) -> &str {
    res.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

#[actix_web::test]
async fn metadata_for_each_declared_resource() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/notes")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let doc: Value = test::read_body_json(res).await;
    assert_eq!(
        doc,
        json!({
            "resource": NOTES,
            "authorization_servers": [issuer.issuer()],
            "scopes_supported": ["notes:read", "notes:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Notes",
        })
    );
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/tasks")
            .to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    assert_eq!(doc["resource"], TASKS);
    assert!(doc.get("scopes_supported").is_none());
    // Two resources: no root document.
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn audience_and_scopes_per_handler() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let read = issuer.token(NOTES, &["notes:read"]);
    let write = issuer.token(NOTES, &["notes:read", "notes:write"]);
    let tasks_token = issuer.token(TASKS, &[]);

    let status = |req: test::TestRequest| {
        let app = &app;
        async move { test::call_service(app, req.to_request()).await }
    };

    let res = status(
        test::TestRequest::get()
            .uri("/notes")
            .insert_header(bearer(&read)),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body, json!({ "resource": NOTES, "scopes": ["notes:read"] }));

    // Same resource, stricter handler: 403 naming the missing scope.
    let res = status(
        test::TestRequest::post()
            .uri("/notes")
            .insert_header(bearer(&read))
            .set_json(json!({"t": 1})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = challenge_of(&res).to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    // Granted plus missing: the client keeps notes:read when it steps up.
    assert!(
        challenge.contains("scope=\"notes:read notes:write\""),
        "{challenge}"
    );
    assert!(challenge.contains(
        "resource_metadata=\"http://127.0.0.1:8080/.well-known/oauth-protected-resource/notes\""
    ));

    let res = status(
        test::TestRequest::post()
            .uri("/notes")
            .insert_header(bearer(&write))
            .set_json(json!({"t": 1})),
    )
    .await;
    assert_eq!(res.status(), 200);

    // A token for /tasks is refused by /notes (audience) and vice versa.
    let res = status(
        test::TestRequest::get()
            .uri("/notes")
            .insert_header(bearer(&tasks_token)),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(challenge_of(&res).contains("error=\"invalid_token\""));
    let res = status(
        test::TestRequest::get()
            .uri("/tasks")
            .insert_header(bearer(&read)),
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = status(
        test::TestRequest::get()
            .uri("/tasks")
            .insert_header(bearer(&tasks_token)),
    )
    .await;
    assert_eq!(res.status(), 200);

    // No token: 401 with the compile-time scope list and no error code.
    let res = status(test::TestRequest::get().uri("/notes")).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        challenge_of(&res),
        "Bearer scope=\"notes:read\", resource_metadata=\"http://127.0.0.1:8080/.well-known/oauth-protected-resource/notes\""
    );
    let res = status(test::TestRequest::get().uri("/tasks")).await;
    assert_eq!(
        challenge_of(&res),
        "Bearer resource_metadata=\"http://127.0.0.1:8080/.well-known/oauth-protected-resource/tasks\""
    );
}

#[actix_web::test]
async fn optional_auth_handler() {
    let issuer = TestIssuer::start().await;
    let app = app!(issuer);
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/tasks/public").to_request(),
    )
    .await;
    assert_eq!(test::read_body(res).await, "anonymous");
    let token = issuer.token(TASKS, &[]);
    let req = test::TestRequest::get()
        .uri("/tasks/public")
        .insert_header(bearer(&token));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(test::read_body(res).await, "signed in");
    // Optional does not mean lax: a bad token is still a 401 (MCP), not anonymous.
    let expired = issuer.token_builder(TASKS).expires_in(-600).sign();
    let req = test::TestRequest::get()
        .uri("/tasks/public")
        .insert_header(bearer(&expired));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), 401);
    assert!(challenge_of(&res).contains("error=\"invalid_token\""));
    let req = test::TestRequest::get()
        .uri("/tasks/public")
        .insert_header(("Authorization", "Bearer"));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        400
    );
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
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/notes")
            .to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    assert_eq!(doc["resource"], "https://api.example.com/notes");
    // Tokens are expected for the public identifier.
    let ok = issuer.token("https://api.example.com/notes", &["notes:read"]);
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/notes")
            .insert_header(bearer(&ok))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let old = issuer.token(NOTES, &["notes:read"]);
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/notes")
            .insert_header(bearer(&old))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 401);
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
    let req = test::TestRequest::post()
        .uri("/notes")
        .insert_header(bearer(&admin))
        .set_json(json!({}));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        200
    );
    let req = test::TestRequest::get()
        .uri("/notes")
        .insert_header(bearer(&admin));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        200
    );
    let other = issuer.token(NOTES, &["notes:other"]);
    let req = test::TestRequest::get()
        .uri("/notes")
        .insert_header(bearer(&other));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        403
    );
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
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/notes")
                .insert_header(bearer(&token))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge_of(&res).contains("invalid_token"));
    }
}
