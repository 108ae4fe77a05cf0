//! Behind a reverse proxy (`McpAuthBuilder::trusted_proxies`,
//! `public_origin` with a path prefix): the app serves `/mcp`, clients call
//! `https://mcp.example.com/api/mcp` through a proxy at 10.0.0.1 that strips
//! `/api`. Forwarding headers count only from the proxy and only for
//! allow-listed origins; a forged `Host`/`X-Forwarded-Host` changes neither
//! what is accepted nor where clients are sent. Plus the self-check that
//! warns, on a resource's first request, when it is mounted where clients
//! cannot find it.

use std::net::SocketAddr;

use actix_web::{App, http::header, test, web};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    ConfigError, DpopMode, McpAuth, ResourceConfig, TrustedProxies,
    testing::{DpopKey, TestIssuer},
};

use crate::common::{
    Resp, TestApp,
    logs::Warnings,
    send,
    two_resources::{Hits, plain},
};

/// What the app's code declares; `public_origin` publishes it below `/api`.
const DECLARED: &str = "https://mcp.example.com/mcp";
const PUBLIC: &str = "https://mcp.example.com/api/mcp";
const METADATA: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp";
const PROXY: &str = "10.0.0.1:50000";

fn auth(issuer: &TestIssuer, proxies: Option<TrustedProxies>) -> McpAuth {
    let mut builder = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(
            ResourceConfig::new(DECLARED)
                .scopes_supported(["mcp:read"])
                .dpop(DpopMode::Allowed),
        )
        .public_origin("https://mcp.example.com/api");
    if let Some(proxies) = proxies {
        builder = builder.trusted_proxies(proxies);
    }
    builder.build().expect("valid configuration")
}

fn proxies() -> TrustedProxies {
    TrustedProxies::new(["10.0.0.1", "fd00::/8"])
}

async fn app(hits: &Hits, auth: &McpAuth) -> impl TestApp + use<> {
    let guard = auth.bearer_auth(PUBLIC).unwrap();
    test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(guard.clone())
                    .route(web::post().to(plain)),
            )
            .service(
                web::resource("/mcp/extract")
                    .app_data(guard)
                    .route(web::post().to(crate::common::app::echo)),
            ),
    )
    .await
}

/// A request as the proxy forwards it: from `peer`, prefix stripped.
fn forwarded(path: &str, peer: &str, headers: &[(&str, &str)]) -> test::TestRequest {
    let mut req = test::TestRequest::post()
        .uri(path)
        .peer_addr(peer.parse::<SocketAddr>().unwrap())
        .insert_header((header::HOST, "10.0.0.5:8080"));
    for (name, value) in headers {
        req = req.append_header((*name, *value));
    }
    req
}

const NGINX: [(&str, &str); 3] = [
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "mcp.example.com"),
    ("X-Forwarded-Prefix", "/api"),
];

fn dpop(req: test::TestRequest, key: &DpopKey, token: &str, htu: &str) -> test::TestRequest {
    req.insert_header((header::AUTHORIZATION, format!("DPoP {token}")))
        .insert_header(("DPoP", key.proof("POST", htu, Some(token))))
}

/// A token for the public URL, bound to `key`.
fn bound_token(issuer: &TestIssuer, key: &DpopKey) -> String {
    issuer
        .token_builder(PUBLIC)
        .scopes(&["mcp:read"])
        .dpop_bound(key)
        .sign()
}

fn assert_refused_proof(resp: &Resp, hits: &Hits, before: usize, ctx: &str) {
    assert_eq!(resp.status, 401, "{ctx}: {}", resp.text());
    let challenges: Vec<&str> = resp
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap())
        .collect();
    let challenges = challenges.join(" | ");
    assert!(
        challenges.contains("error=\"invalid_dpop_proof\""),
        "{ctx}: {challenges}"
    );
    assert!(
        challenges.contains(&format!("resource_metadata=\"{METADATA}\"")),
        "{ctx}: {challenges}"
    );
    assert_eq!(hits.count(), before, "{ctx}: the handler ran");
}

#[actix_web::test]
async fn a_dpop_proof_names_the_public_url_only_through_a_trusted_proxy() {
    let issuer = TestIssuer::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = bound_token(&issuer, &key);
    let hits = Hits::default();
    let auth = auth(&issuer, Some(proxies()));
    let app = app(&hits, &auth).await;

    // Through the proxy: the public URL is the proof's htu.
    for path in ["/mcp", "/mcp/extract"] {
        let resp = send(
            &app,
            dpop(
                forwarded(path, PROXY, &NGINX),
                &key,
                &token,
                &format!("https://mcp.example.com/api{}", path),
            ),
        )
        .await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    }
    assert_eq!(hits.count(), 1, "the middleware's handler ran once");
    // `Forwarded` (RFC 7239) from an IPv6 proxy in the trusted network.
    let resp = send(
        &app,
        dpop(
            forwarded(
                "/mcp",
                "[fd00::7]:4000",
                &[
                    (
                        "Forwarded",
                        "for=192.0.2.1;proto=https;host=mcp.example.com",
                    ),
                    ("X-Forwarded-Prefix", "/api"),
                ],
            ),
            &key,
            &token,
            PUBLIC,
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "Forwarded: {}", resp.text());

    // The same headers from any other peer are ignored: the proof for the
    // public URL no longer matches what the app can vouch for.
    let before = hits.count();
    for peer in ["10.0.0.2:50000", "127.0.0.1:50000", "[fe80::1]:4000"] {
        let resp = send(
            &app,
            dpop(forwarded("/mcp", peer, &NGINX), &key, &token, PUBLIC),
        )
        .await;
        assert_refused_proof(&resp, &hits, before, peer);
    }
    // A forged host through the trusted proxy: not allow-listed, so the
    // configured origin stands; a proof naming the forged origin fails.
    for host in [
        "evil.example",
        "mcp.example.com:8443",
        "mcp.example.com.evil.example",
    ] {
        let headers = [
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Prefix", "/api"),
        ];
        let htu = format!("https://{host}/api/mcp");
        let resp = send(
            &app,
            dpop(forwarded("/mcp", PROXY, &headers), &key, &token, &htu),
        )
        .await;
        assert_refused_proof(&resp, &hits, before, host);
    }
    // A prefix that leads elsewhere than the resource (a proof made for
    // another path of the origin must not pass here), or an invalid one:
    // ignored, so the proof naming it fails.
    for prefix in ["/other", "/ap", "/api/../x", "/a//b"] {
        let headers = [
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "mcp.example.com"),
            ("X-Forwarded-Prefix", prefix),
        ];
        let htu = format!("https://mcp.example.com{prefix}/mcp");
        let resp = send(
            &app,
            dpop(forwarded("/mcp", PROXY, &headers), &key, &token, &htu),
        )
        .await;
        assert_refused_proof(&resp, &hits, before, prefix);
    }
}

#[actix_web::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let issuer = TestIssuer::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = bound_token(&issuer, &key);
    let hits = Hits::default();
    let auth = auth(&issuer, None);
    let app = app(&hits, &auth).await;
    let resp = send(
        &app,
        dpop(forwarded("/mcp", PROXY, &NGINX), &key, &token, PUBLIC),
    )
    .await;
    assert_refused_proof(&resp, &hits, 0, "no trusted proxies");
}

#[actix_web::test]
async fn a_forged_host_changes_neither_the_audience_nor_where_clients_are_sent() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let auth = auth(
        &issuer,
        Some(proxies().public_origins(["https://mcp.example.org"])),
    );
    let app = app(&hits, &auth).await;
    let forged: [&[(&str, &str)]; 3] = [
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Prefix", "/api"),
        ],
        // Allow-listed for URLs, still not an audience.
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "mcp.example.org"),
            ("X-Forwarded-Prefix", "/api"),
        ],
        &[("Forwarded", "proto=http;host=evil.example")],
    ];
    for (peer, headers) in [PROXY, "192.0.2.9:1234"]
        .into_iter()
        .flat_map(|p| forged.iter().map(move |h| (p, *h)))
    {
        let ctx = format!("{peer} {headers:?}");
        // No token: the challenge points to the configured metadata URL.
        let resp = send(
            &app,
            forwarded("/mcp", peer, headers).insert_header((header::HOST, "evil.example")),
        )
        .await;
        assert_eq!(resp.status, 401, "{ctx}");
        assert!(
            resp.www()
                .unwrap()
                .contains(&format!("resource_metadata=\"{METADATA}\"")),
            "{ctx}"
        );
        // A token for the forged origin is refused; one for the public URL is not.
        for (aud, status) in [
            ("https://evil.example/api/mcp", 401),
            ("https://mcp.example.org/api/mcp", 401),
            ("https://mcp.example.com/mcp", 401),
            (PUBLIC, 200),
        ] {
            let token = issuer.token(aud, &["mcp:read"]);
            let req = forwarded("/mcp", peer, headers)
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
            assert_eq!(send(&app, req).await.status, status, "{ctx} aud {aud}");
        }
        // The metadata document is the configured one whatever the headers.
        let req = test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/api/mcp")
            .peer_addr(peer.parse().unwrap())
            .insert_header((header::HOST, "evil.example"));
        let req = headers
            .iter()
            .fold(req, |r, (n, v)| r.append_header((*n, *v)));
        let doc = send(&app, req).await.json();
        assert_eq!(doc["resource"], PUBLIC, "{ctx}");
    }
}

#[actix_web::test]
async fn trusted_proxies_and_public_origin_are_checked_at_build() {
    let build = |proxies: TrustedProxies, origin: &str| {
        McpAuth::builder()
            .without_declared_resources()
            .authorization_server(mcp_auth::AuthServerConfig::discover(
                "https://as.example.com",
            ))
            .resource(ResourceConfig::new(DECLARED))
            .public_origin(origin)
            .trusted_proxies(proxies)
            .build()
    };
    let field = |err: ConfigError| match err {
        ConfigError::InvalidField { field, .. } => field,
        other => panic!("unexpected {other}"),
    };
    for (proxies, origin, want) in [
        (
            TrustedProxies::new(Vec::<String>::new()),
            "https://mcp.example.com",
            "addresses",
        ),
        (
            TrustedProxies::new(["0.0.0.0/0"]),
            "https://mcp.example.com",
            "addresses",
        ),
        (
            TrustedProxies::new(["::/0"]),
            "https://mcp.example.com",
            "addresses",
        ),
        (
            TrustedProxies::new(["proxy.internal"]),
            "https://mcp.example.com",
            "addresses",
        ),
        (
            proxies().public_origins(["https://x.example/p"]),
            "https://mcp.example.com",
            "public_origins",
        ),
        (
            proxies().public_origins(["http://x.example"]),
            "https://mcp.example.com",
            "public_origins",
        ),
        (
            proxies(),
            "https://mcp.example.com/api?x=1",
            "public_origin",
        ),
        (proxies(), "https://mcp.example.com/a//b", "public_origin"),
        (
            proxies(),
            "https://user@mcp.example.com/api",
            "public_origin",
        ),
    ] {
        let err = build(proxies, origin).expect_err(origin);
        assert_eq!(field(err), want, "{origin}");
    }
    let auth = build(proxies(), "https://mcp.example.com/api/").unwrap();
    assert_eq!(
        auth.resource_metadata_url(PUBLIC),
        Some(METADATA),
        "a trailing slash on the prefix is dropped"
    );
}

/// An app with the guard at `route` (and the metadata routes when
/// `mount_routes`): what the first request, as the proxy forwards it with
/// `headers`, logs at `warn`, and what a second one logs.
async fn self_check(mount_routes: bool, route: &str, headers: &[(&str, &str)]) -> (String, String) {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let auth = auth(&issuer, Some(proxies()));
    let guard = auth.bearer_auth(PUBLIC).unwrap();
    let (warnings, _installed) = Warnings::install();
    let mut app = App::new()
        .app_data(web::Data::new(hits.clone()))
        .app_data(auth.clone());
    if mount_routes {
        app = app.configure(mcp_auth::routes);
    }
    let app = test::init_service(
        app.service(
            web::resource(route)
                .wrap(guard)
                .route(web::post().to(plain)),
        ),
    )
    .await;
    send(&app, forwarded(route, PROXY, headers)).await;
    let first = warnings.take().join("\n");
    send(&app, forwarded(route, PROXY, headers)).await;
    (first, warnings.take().join("\n"))
}

#[actix_web::test]
async fn the_first_request_warns_when_clients_cannot_find_the_resource() {
    // Correct: the proxy strips `/api`, routes at the root.
    let (first, again) = self_check(true, "/mcp", &NGINX).await;
    assert_eq!(first, "", "a correct deployment logs nothing");
    assert_eq!(again, "");

    // The proxy's prefix is unknown (no X-Forwarded-Prefix): `/mcp` is not
    // the identifier's path `/api/mcp`.
    let (first, again) = self_check(true, "/mcp", &NGINX[..2]).await;
    assert!(
        first.contains("a request to `/mcp` is protected by resource `https://mcp.example.com/api/mcp`, whose path is `/api/mcp`"),
        "{first}"
    );
    assert_eq!(again, "", "warned once");

    // Mounted at another path than the identifier's.
    let (first, _) = self_check(true, "/v2/mcp", &NGINX).await;
    // (The forwarded prefix does not lead to the resource, so it is not used.)
    assert!(
        first.contains("a request to `/v2/mcp` is protected"),
        "{first}"
    );

    // The metadata routes are not mounted: challenges lead nowhere.
    let (first, _) = self_check(false, "/mcp", &NGINX).await;
    assert!(
        first.contains(&format!(
            "challenges send clients to `{METADATA}`, but this app has no route at `/.well-known/oauth-protected-resource/api/mcp`"
        )),
        "{first}"
    );
    assert!(!first.contains("a request to"), "{first}");
}
