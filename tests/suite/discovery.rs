//! Authorization server discovery against real HTTP servers on 127.0.0.1.

use std::{net::TcpListener, time::Duration};

use crate::common::{RESOURCE, b64, bearer, send};
use actix_web::{App, HttpResponse, HttpServer, test, web};
use mcp_auth::{
    AuthServerConfig, AuthServerType, FetchError, HttpOptions, McpAuth, ResourceConfig,
    auth_server::{
        FetchOptions, discover_server_config, fetch_server_config,
        fetch_server_config_by_well_known_url,
    },
    testing::{Endpoint, TestIssuer},
};
use serde_json::{Value, json};

/// A one-route server answering `GET /*` with a fixed status and body.
struct Fixture {
    base: String,
    _handle: actix_web::dev::ServerHandle,
}

fn fixture(status: u16, body: &'static str, delay_ms: u64) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = HttpServer::new(move || {
        App::new().default_service(web::to(move || async move {
            actix_rt::time::sleep(Duration::from_millis(delay_ms)).await;
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                .content_type("application/json")
                .body(body)
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Fixture {
        base,
        _handle: handle,
    }
}

#[actix_web::test]
async fn fetches_oauth_and_oidc_with_issuer_paths() {
    for path in ["", "/tenant"] {
        let issuer = TestIssuer::start_with_path(path).await;
        for ty in [AuthServerType::OAuth, AuthServerType::Oidc] {
            let config = fetch_server_config(issuer.issuer(), ty, &FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(config.issuer(), issuer.issuer());
            assert_eq!(config.server_type(), Some(ty));
            let metadata = config.metadata().unwrap();
            assert_eq!(
                metadata.jwks_uri.as_deref(),
                Some(issuer.jwks_uri().as_str())
            );
            // Members the type does not name are preserved.
            assert!(!metadata.extra.contains_key("issuer"));
        }
        assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
        assert_eq!(issuer.requests(Endpoint::OidcMetadata), 1);
    }
}

#[actix_web::test]
async fn auto_discovery_probe_order() {
    let issuer = TestIssuer::start_with_path("/tenant").await;
    issuer.set_discovery(false, true);
    let config = discover_server_config(issuer.issuer(), &FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(config.server_type(), Some(AuthServerType::Oidc));
    // RFC 8414 insertion (404), then OIDC insertion (found).
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
    assert_eq!(issuer.requests(Endpoint::OidcMetadata), 1);

    issuer.set_discovery(false, false);
    let err = discover_server_config(issuer.issuer(), &FetchOptions::default())
        .await
        .unwrap_err();
    match err {
        FetchError::NotFound { attempts, .. } => assert_eq!(attempts.len(), 3, "{attempts:?}"),
        other => panic!("{other}"),
    }
}

#[actix_web::test]
async fn issuer_mismatch_is_refused() {
    let fx = fixture(
        200,
        r#"{"issuer":"https://honest.example","authorization_endpoint":"https://honest.example/a","token_endpoint":"https://honest.example/t","response_types_supported":["code"]}"#,
        0,
    );
    let err = fetch_server_config(&fx.base, AuthServerType::OAuth, &FetchOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::IssuerMismatch { ref actual, .. } if actual == "https://honest.example"),
        "{err}"
    );

    // Lazily discovered: every token gets a 503, never accepted.
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(AuthServerConfig::discover_as(
            &fx.base,
            AuthServerType::OAuth,
        ))
        .resource(ResourceConfig::new(RESOURCE))
        .build()
        .unwrap();
    let guard = auth.bearer_auth(RESOURCE).unwrap();
    let app = test::init_service(
        App::new().service(web::resource("/mcp").wrap(guard).to(HttpResponse::Ok)),
    )
    .await;
    let token = format!("e30.{}.c2ln", b64(json!({"iss": fx.base}).to_string()));
    let status = send(&app, bearer(&token)).await.status;
    assert!(status == 503 || status == 401, "{status}");
}

#[actix_web::test]
async fn bounded_and_typed_failures() {
    let opts = FetchOptions::default().http(
        HttpOptions::default()
            .timeout(Duration::from_millis(300))
            .max_body_bytes(64),
    );
    type Check = fn(&FetchError) -> bool;
    let cases: Vec<(Fixture, Check)> = vec![
        (fixture(500, "{}", 0), |e| {
            matches!(e, FetchError::Status { status: 500, .. })
        }),
        (fixture(200, "not json", 0), |e| {
            matches!(e, FetchError::NotJson { .. })
        }),
        (fixture(200, "[1,2]", 0), |e| {
            matches!(e, FetchError::NotObject { .. })
        }),
        (
            fixture(200, r#"{"issuer":"x"}"#, 0),
            |e| matches!(e, FetchError::Schema { reason, .. } if reason.contains("authorization_endpoint")),
        ),
        (
            fixture(
                200,
                r#"{"padding":"0123456789012345678901234567890123456789012345678901234567890123456789"}"#,
                0,
            ),
            |e| matches!(e, FetchError::TooLarge { limit: 64, .. }),
        ),
        (fixture(200, "{}", 2_000), |e| {
            matches!(e, FetchError::Timeout { .. })
        }),
    ];
    for (fx, check) in cases {
        let url = format!("{}/.well-known/oauth-authorization-server", fx.base);
        let err = fetch_server_config_by_well_known_url(&url, AuthServerType::OAuth, &opts)
            .await
            .unwrap_err();
        assert!(check(&err), "unexpected error: {err}");
    }
    let err = fetch_server_config(
        "http://as.example.com",
        AuthServerType::OAuth,
        &FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::InsecureUrl { .. }), "{err}");
}

#[actix_web::test]
async fn transpile_hook_runs_before_parsing() {
    let issuer = TestIssuer::start().await;
    let opts = FetchOptions::default().transpile(|mut raw| {
        raw.insert("custom_member".into(), Value::from(42));
        raw.insert("scopes_supported".into(), json!(["rewritten"]));
        raw
    });
    let config = fetch_server_config(issuer.issuer(), AuthServerType::OAuth, &opts)
        .await
        .unwrap();
    let metadata = config.metadata().unwrap();
    assert_eq!(
        metadata.scopes_supported.as_deref(),
        Some(&["rewritten".to_owned()][..])
    );
    assert_eq!(metadata.extra["custom_member"], 42);
}

#[actix_web::test]
async fn lazy_discovery_single_flight_and_retry() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.discovery_config())
        .resource(ResourceConfig::new(RESOURCE))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new().service(
            web::resource("/mcp")
                .wrap(auth.bearer_auth(RESOURCE).unwrap())
                .to(HttpResponse::Ok),
        ),
    )
    .await;
    // Discovery fails first (document missing) and is retried later.
    issuer.set_discovery(false, false);
    let req = || bearer(&issuer.token(RESOURCE, &[]));
    assert_eq!(send(&app, req()).await.status, 503);
    issuer.set_discovery(true, true);
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    let before = issuer.requests(Endpoint::OAuthMetadata);
    let calls = (0..20).map(|_| send(&app, req()));
    for res in futures_util::future::join_all(calls).await {
        assert_eq!(res.status, 200);
    }
    assert_eq!(
        issuer.requests(Endpoint::OAuthMetadata) - before,
        1,
        "one shared discovery fetch"
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 1, "one shared JWKS fetch");
}

#[actix_web::test]
async fn discover_at_fetches_an_explicit_url_and_still_checks_the_issuer() {
    // Entra ID v1's shape: the issuer's own well-known URLs are not where the
    // document is; `discover_at` names the URL, and the document's `issuer`
    // must still be the configured one.
    let issuer = TestIssuer::start_with_path("/tenant").await;
    let other = TestIssuer::start_with_path("/other").await;
    let port = issuer
        .issuer()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/tenant");
    let inserted = format!("http://127.0.0.1:{port}/.well-known/openid-configuration/tenant");
    let build = |metadata_url: &str| {
        McpAuth::builder()
            .without_declared_resources()
            .authorization_server(AuthServerConfig::discover_at(
                issuer.issuer(),
                metadata_url,
                AuthServerType::Oidc,
            ))
            .resource(ResourceConfig::new(RESOURCE))
            .build()
    };
    let app = |auth: McpAuth| async move {
        test::init_service(
            App::new().app_data(auth.clone()).service(
                web::resource("/mcp")
                    .wrap(auth.bearer_auth(RESOURCE).unwrap())
                    .to(HttpResponse::Ok),
            ),
        )
        .await
    };
    let token = issuer.token(RESOURCE, &[]);

    let accepted = app(build(&inserted).unwrap()).await;
    assert_eq!(send(&accepted, bearer(&token)).await.status, 200);
    assert_eq!(issuer.requests(Endpoint::OidcMetadata), 1);

    // Another issuer's document at the URL: refused as a mismatch (503,
    // never a pass), without touching that issuer's keys.
    let mismatched = format!("{}/.well-known/openid-configuration", other.issuer());
    let refused = app(build(&mismatched).unwrap()).await;
    let resp = send(&refused, bearer(&token)).await;
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert_eq!(other.requests(Endpoint::Jwks), 0);

    // The URL is checked at build like an issuer.
    for bad in [
        "not a url",
        "ftp://127.0.0.1/x",
        "http://auth.example.com/.well-known/openid-configuration",
    ] {
        let err = build(bad).unwrap_err();
        assert!(
            matches!(err, mcp_auth::ConfigError::InvalidIssuer { .. }),
            "{bad}: {err}"
        );
    }
}
