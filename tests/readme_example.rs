//! The test shown in the README's "Testing your server" section, verbatim:
//! `readme_shows_this_test` fails when the two drift apart.

// README-EXAMPLE-START
use actix_web::{App, HttpResponse, test, web};
use mcp_auth::{AuthInfo, McpAuth, ResourceConfig, testing::TestIssuer};

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";

async fn mcp(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "subject": auth.subject() }))
}

// `#[actix_web::test]`, not `#[tokio::test]`: the test issuer is an actix
// server and the key fetches use awc, which both need actix's runtime.
#[actix_web::test]
async fn the_mcp_endpoint_accepts_only_tokens_for_itself() {
    let issuer = TestIssuer::start().await; // a real authorization server on 127.0.0.1
    let auth = McpAuth::builder()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.discovery_config())
                .scopes_supported(["mcp:read"]),
        )
        .build()
        .expect("valid configuration");
    let guard = auth
        .bearer_auth(RESOURCE)
        .and_then(|g| g.required_scopes(["mcp:read"]));
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(guard.expect("known resource"))
                    .route(web::post().to(mcp)),
            ),
    )
    .await;
    let call = |token: &str| {
        let request = test::TestRequest::post().uri("/mcp");
        match token {
            "" => request.to_request(),
            _ => request
                .insert_header(("Authorization", format!("Bearer {token}")))
                .to_request(),
        }
    };

    // No token: 401, and the challenge tells the client where the metadata is.
    let response = test::call_service(&app, call("")).await;
    assert_eq!(response.status(), 401);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.contains(
        r#"resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp""#
    ));

    // A token for this resource, with the scope: the handler runs.
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    assert_eq!(test::call_service(&app, call(&token)).await.status(), 200);

    // A token the same issuer minted for another resource: 401 invalid_token.
    let elsewhere = issuer.token("https://other.example/mcp", &["mcp:read"]);
    let response = test::call_service(&app, call(&elsewhere)).await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // The right resource but not the scope: 403 insufficient_scope (step-up).
    let no_scope = issuer.token(RESOURCE, &[]);
    assert_eq!(
        test::call_service(&app, call(&no_scope)).await.status(),
        403
    );
}
// README-EXAMPLE-END

/// In its own module: `actix_web::test` above shadows the `#[test]` attribute.
mod readme {
    #[test]
    fn readme_shows_this_test() {
        let source = include_str!("readme_example.rs");
        let start =
            source.find("// README-EXAMPLE-START\n").unwrap() + "// README-EXAMPLE-START\n".len();
        let end = source.find("// README-EXAMPLE-END").unwrap();
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&source[start..end]),
            "README.md's test example differs from tests/readme_example.rs: copy the part between the markers"
        );
    }
}
