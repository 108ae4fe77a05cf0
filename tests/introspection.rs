//! Integration tests for RFC 7662 introspection, as a client of a protected
//! route sees it: status, `WWW-Authenticate`, and how many calls the
//! authorization server received.
//!
//! * refusals (inactive tokens, tokens that are not access tokens) are
//!   remembered briefly, so a repeated bad token costs one call;
//! * concurrent requests with one token share one call;
//! * refresh tokens and other non-access tokens are refused;
//! * with several authorization servers, tokens go to no guessed server;
//! * the endpoint is checked by `build()`, with the builder's
//!   `allow_insecure_http`;
//! * an endpoint that fails, stalls or answers garbage is a bounded 503;
//! * active results are cached until `exp`, at most `cache_ttl`;
//! * the token never reaches the logs.
//!
//! Every test runs real in-process authorization servers
//! (`mcp_auth::testing::TestIssuer`) on 127.0.0.1.

mod common;

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use actix_web::{App, HttpResponse, test, web};
use common::{
    RESOURCE, Resp, TestApp, assert_invalid_token_exactly, assert_ok, assert_unavailable, bearer,
    send, unique,
};
use mcp_auth::{
    AuthInfo, AuthServerConfig, ConfigError, HttpOptions, McpAuth, ResourceConfig,
    testing::{Endpoint, IntrospectionMode, TestIssuer},
    verify::Introspection,
};
use serde_json::json;

const INACTIVE: &str = "The access token is not active.";
const NOT_ACCESS: &str = "The token is not an access token.";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A test issuer, with the log capture installed first (see
/// [`the_token_is_never_logged`]).
async fn start_issuer() -> TestIssuer {
    logs();
    TestIssuer::start().await
}

fn introspection() -> Introspection {
    Introspection::client_secret_basic("rs", "secret")
}

/// One resource (`RESOURCE`) trusting `servers`, verified by `introspection`.
fn build(servers: Vec<AuthServerConfig>, introspection: Introspection) -> McpAuth {
    try_build(servers, introspection, false).expect("valid configuration")
}

fn try_build(
    servers: Vec<AuthServerConfig>,
    introspection: Introspection,
    allow_insecure_http: bool,
) -> Result<McpAuth, ConfigError> {
    let resource = servers
        .into_iter()
        .fold(ResourceConfig::new(RESOURCE), |r, s| {
            r.authorization_server(s)
        })
        .introspection(introspection);
    McpAuth::builder()
        .without_declared_resources()
        .allow_insecure_http(allow_insecure_http)
        .resource(resource)
        .build()
}

async fn echo(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": auth.subject(), "iss": auth.issuer() }))
}

/// `POST /mcp` behind `auth`'s guard for `RESOURCE`.
async fn protected_app(auth: &McpAuth) -> impl TestApp + use<> {
    test::init_service(
        App::new().app_data(auth.clone()).service(
            web::resource("/mcp")
                .wrap(auth.bearer_auth(RESOURCE).unwrap())
                .route(web::post().to(echo)),
        ),
    )
    .await
}

/// `n` requests with `token`, all in flight at once.
async fn send_concurrently(app: &impl TestApp, token: &str, n: usize) -> Vec<Resp> {
    futures_util::future::join_all((0..n).map(|_| send(app, bearer(token)))).await
}

/// A 500: the resource is misconfigured; no challenge.
#[track_caller]
fn assert_server_error(resp: &Resp, ctx: &str) {
    assert_eq!(resp.status, 500, "{ctx}: {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: a 500 carries no challenge");
    assert_eq!(resp.json()["error"], "server_error", "{ctx}");
}

fn calls(issuer: &TestIssuer) -> usize {
    issuer.requests(Endpoint::Introspection)
}

fn fast() -> HttpOptions {
    HttpOptions::default().timeout(Duration::from_millis(300))
}

// ---------------------------------------------------------------------------
// 1. Refusals are remembered briefly (negative cache)
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn repeated_inactive_token_costs_one_call() {
    let issuer = start_issuer().await;
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    let token = unique("random");
    for i in 0..20 {
        assert_invalid_token_exactly(
            &send(&app, bearer(&token)).await,
            INACTIVE,
            &format!("try {i}"),
        );
    }
    assert_eq!(
        calls(&issuer),
        1,
        "inactive result not cached (default 5 s)"
    );

    // Per token: other random tokens still cost one call each.
    for i in 0..3 {
        let other = unique("other");
        assert_invalid_token_exactly(
            &send(&app, bearer(&other)).await,
            INACTIVE,
            &format!("other {i}"),
        );
    }
    assert_eq!(calls(&issuer), 4);

    // A revoked token is refused, and that refusal is remembered too.
    let revoked = issuer.token(RESOURCE, &[]);
    issuer.revoke(&revoked);
    assert_invalid_token_exactly(&send(&app, bearer(&revoked)).await, INACTIVE, "revoked");
    assert_invalid_token_exactly(
        &send(&app, bearer(&revoked)).await,
        INACTIVE,
        "revoked again",
    );
    assert_eq!(calls(&issuer), 5);
}

#[actix_web::test]
async fn inactive_result_is_forgotten_after_negative_cache_ttl() {
    let issuer = start_issuer().await;
    let ttl = Duration::from_millis(400);
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().negative_cache_ttl(ttl),
    );
    let app = protected_app(&auth).await;
    let token = unique("random");
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "first");
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "cached");
    assert_eq!(calls(&issuer), 1);
    actix_rt::time::sleep(ttl + Duration::from_millis(200)).await;
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "after the ttl");
    assert_eq!(calls(&issuer), 2, "a refusal is never reused past its ttl");

    // Zero disables the negative cache.
    let uncached = build(
        vec![issuer.resolved_config()],
        introspection().negative_cache_ttl(Duration::ZERO),
    );
    let app = protected_app(&uncached).await;
    for i in 0..3 {
        assert_invalid_token_exactly(
            &send(&app, bearer(&token)).await,
            INACTIVE,
            &format!("ttl 0, {i}"),
        );
    }
    assert_eq!(calls(&issuer), 5);
}

// ---------------------------------------------------------------------------
// 2. Single-flight per token
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn concurrent_requests_with_one_token_share_one_call() {
    let issuer = start_issuer().await;
    issuer.set_introspection_delay(300);
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    // A fresh active token.
    let token = issuer.token(RESOURCE, &[]);
    for (i, resp) in send_concurrently(&app, &token, 50).await.iter().enumerate() {
        assert_ok(resp, &format!("active #{i}"));
    }
    assert_eq!(calls(&issuer), 1, "50 concurrent requests, one call");

    // A fresh unknown token: one call, 50 refusals.
    let unknown = unique("unknown");
    for (i, resp) in send_concurrently(&app, &unknown, 50)
        .await
        .iter()
        .enumerate()
    {
        assert_invalid_token_exactly(resp, INACTIVE, &format!("inactive #{i}"));
    }
    assert_eq!(calls(&issuer), 2);

    // An outage: one call, 50 bounded 503s; the failure is not cached.
    issuer.set_introspection_mode(IntrospectionMode::Fail(500));
    let during = issuer.token(RESOURCE, &[]);
    for (i, resp) in send_concurrently(&app, &during, 50)
        .await
        .iter()
        .enumerate()
    {
        assert_unavailable(resp, &format!("outage #{i}"));
    }
    assert_eq!(calls(&issuer), 3);
    issuer.set_introspection_mode(IntrospectionMode::Normal);
    assert_ok(&send(&app, bearer(&during)).await, "after the outage");
    assert_eq!(calls(&issuer), 4, "a failed call is not cached");

    // Different tokens are not merged.
    let (a, b) = (issuer.token(RESOURCE, &[]), issuer.token(RESOURCE, &[]));
    let (ra, rb) = futures_util::future::join(
        send_concurrently(&app, &a, 10),
        send_concurrently(&app, &b, 10),
    )
    .await;
    for r in ra.iter().chain(&rb) {
        assert_ok(r, "a or b");
    }
    assert_eq!(calls(&issuer), 6);
}

#[actix_web::test]
async fn concurrent_requests_share_one_call_even_without_a_cache() {
    let issuer = start_issuer().await;
    issuer.set_introspection_delay(300);
    let auth = build(
        vec![issuer.resolved_config()],
        introspection()
            .cache_ttl(Duration::ZERO)
            .negative_cache_ttl(Duration::ZERO),
    );
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    for resp in send_concurrently(&app, &token, 50).await {
        assert_ok(&resp, "concurrent");
    }
    assert_eq!(calls(&issuer), 1);
    // Caching is off: a later request asks again.
    assert_ok(&send(&app, bearer(&token)).await, "later");
    assert_eq!(calls(&issuer), 2);
}

// ---------------------------------------------------------------------------
// 3. Only access tokens
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn refresh_tokens_and_other_non_access_tokens_are_refused() {
    let issuer = start_issuer().await;
    let auth = build(vec![issuer.resolved_config()], introspection());
    let app = protected_app(&auth).await;

    // What the issuer's introspection reports is the token's claims, so a
    // claim sets the `token_type` / `token_use` / `typ` of the response.
    let refused = [
        ("token_type", "refresh_token"),
        ("token_type", "Refresh_Token"),
        (
            "token_type",
            "urn:ietf:params:oauth:token-type:refresh_token",
        ),
        ("token_type", "N_A"),
        ("token_type", "DPoP"),
        ("token_type", "id_token"),
        ("token_use", "refresh"),
        ("token_use", "refresh_token"),
        ("token_use", "id"),
        ("typ", "Refresh"),
        ("typ", "ID"),
    ];
    for (n, (member, value)) in refused.into_iter().enumerate() {
        let token = issuer.token_builder(RESOURCE).claim(member, value).sign();
        let ctx = format!("{member}: {value}");
        assert_invalid_token_exactly(&send(&app, bearer(&token)).await, NOT_ACCESS, &ctx);
        assert_invalid_token_exactly(&send(&app, bearer(&token)).await, NOT_ACCESS, &ctx);
        assert_eq!(calls(&issuer), n + 1, "{ctx}: refusal not remembered");
    }

    let before = calls(&issuer);
    let accepted = [
        ("token_type", "Bearer"),
        ("token_type", "bearer"),
        ("token_type", "access_token"),
        (
            "token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("token_use", "access"),
        ("token_use", "access_token"),
        ("typ", "Bearer"),
        ("typ", "at+jwt"),
    ];
    for (member, value) in accepted {
        let token = issuer.token_builder(RESOURCE).claim(member, value).sign();
        assert_ok(
            &send(&app, bearer(&token)).await,
            &format!("{member}: {value}"),
        );
    }
    assert_eq!(calls(&issuer), before + accepted.len());
}

// ---------------------------------------------------------------------------
// 4. Several authorization servers
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn several_servers_publishing_an_endpoint_need_an_explicit_one() {
    let (a, b) = (start_issuer().await, start_issuer().await);
    let err = try_build(
        vec![a.resolved_config(), b.resolved_config()],
        introspection(),
        false,
    )
    .err()
    .unwrap_or_else(|| panic!("ambiguous introspection endpoint refused by build()"));
    let message = err.to_string();
    assert!(
        matches!(
            err,
            ConfigError::InvalidField {
                field: "introspection_endpoint",
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains("several authorization servers publish an introspection endpoint"),
        "{message}"
    );
    assert!(
        message.contains("set `Introspection::endpoint`"),
        "{message}"
    );

    // With the endpoint set, every token goes there and only there.
    let auth = build(
        vec![a.resolved_config(), b.resolved_config()],
        introspection().endpoint(b.introspection_endpoint()),
    );
    let app = protected_app(&auth).await;
    let from_b = b.token(RESOURCE, &[]);
    assert_ok(
        &send(&app, bearer(&from_b)).await,
        "b's token, b's endpoint",
    );
    // `b` does not know `a`'s tokens.
    let from_a = a.token(RESOURCE, &[]);
    assert_invalid_token_exactly(&send(&app, bearer(&from_a)).await, INACTIVE, "a's token");
    assert_eq!((calls(&a), calls(&b)), (0, 2));
}

#[actix_web::test]
async fn lazily_discovered_servers_publishing_several_endpoints_fail_closed() {
    let (a, b) = (start_issuer().await, start_issuer().await);
    // Not known at build time: build() succeeds...
    let auth = build(
        vec![a.discovery_config(), b.discovery_config()],
        introspection(),
    );
    let app = protected_app(&auth).await;
    // ...and the first use finds two endpoints: 500, no token sent anywhere.
    for (i, token) in [a.token(RESOURCE, &[]), b.token(RESOURCE, &[])]
        .iter()
        .enumerate()
    {
        assert_server_error(&send(&app, bearer(token)).await, &format!("token {i}"));
    }
    assert_eq!((calls(&a), calls(&b)), (0, 0));

    // One server publishing, the other not: that one is used.
    let (c, d) = (start_issuer().await, start_issuer().await);
    let no_introspection = {
        let mut metadata = d.metadata();
        metadata.introspection_endpoint = None;
        AuthServerConfig::resolved(metadata, mcp_auth::config::AuthServerType::OAuth)
    };
    let auth = build(
        vec![no_introspection, c.discovery_config()],
        introspection(),
    );
    let app = protected_app(&auth).await;
    assert_ok(
        &send(&app, bearer(&c.token(RESOURCE, &[]))).await,
        "c's token",
    );
    assert_eq!((calls(&c), calls(&d)), (1, 0));
}

// ---------------------------------------------------------------------------
// 5. The endpoint is checked by build(), with allow_insecure_http
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn bad_introspection_endpoint_is_a_build_error() {
    let issuer = start_issuer().await;
    for bad in [
        "not a url",
        "/introspect",
        "ftp://as.example.com/introspect",
        "http://as.example.com/introspect",
    ] {
        let err = try_build(
            vec![issuer.resolved_config()],
            introspection().endpoint(bad),
            false,
        )
        .err()
        .unwrap_or_else(|| panic!("{bad}: accepted by build()"));
        assert!(
            matches!(
                err,
                ConfigError::InvalidField {
                    field: "introspection_endpoint",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    // The builder's flag (or the introspection's own) admits plain http.
    let insecure = "http://as.example.com/introspect";
    assert!(
        try_build(
            vec![issuer.resolved_config()],
            introspection().endpoint(insecure),
            true
        )
        .is_ok()
    );
    assert!(
        try_build(
            vec![issuer.resolved_config()],
            introspection()
                .endpoint(insecure)
                .http(HttpOptions::default().allow_insecure_http(true)),
            false
        )
        .is_ok()
    );
    assert_eq!(calls(&issuer), 0);
}

#[actix_web::test]
async fn builder_allow_insecure_http_reaches_the_introspection_call() {
    let issuer = start_issuer().await;
    // The issuer's endpoint through an IPv4-mapped IPv6 address: loopback
    // on the wire, but not a host the https-only policy exempts.
    let port = url::Url::parse(issuer.issuer())
        .unwrap()
        .port()
        .expect("port");
    let mapped = format!("http://[::ffff:127.0.0.1]:{port}/introspect");
    let err = try_build(
        vec![issuer.resolved_config()],
        introspection().endpoint(&mapped),
        false,
    )
    .err()
    .unwrap_or_else(|| panic!("plain http to a non-loopback host refused"));
    assert!(err.to_string().contains("plain-http"), "{err}");

    let auth = try_build(
        vec![issuer.resolved_config()],
        introspection().endpoint(&mapped).http(fast()),
        true,
    )
    .expect("allowed by the builder");
    let app = protected_app(&auth).await;
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[]))).await;
    if resp.status == 503 && calls(&issuer) == 0 {
        // No IPv6 on this host: the flag was honoured (no 500), the
        // connection itself failed.
        eprintln!("skipping the request half: IPv4-mapped IPv6 unreachable here");
        return;
    }
    assert_ok(&resp, "http endpoint allowed by the builder");
    assert_eq!(calls(&issuer), 1);
}

// ---------------------------------------------------------------------------
// 6. Failures are bounded 503s
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn stalled_introspection_endpoint_is_a_bounded_503() {
    let issuer = start_issuer().await;
    issuer.set_introspection_mode(IntrospectionMode::Hang);
    let auth = build(vec![issuer.resolved_config()], introspection().http(fast()));
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    let started = Instant::now();
    let responses = send_concurrently(&app, &token, 5).await;
    let elapsed = started.elapsed();
    for resp in &responses {
        assert_unavailable(resp, "stalled");
    }
    assert!(
        elapsed < Duration::from_secs(2),
        "a stalled endpoint held requests for {elapsed:?}"
    );
    assert_eq!(calls(&issuer), 1);

    for (mode, ctx) in [
        (IntrospectionMode::Fail(500), "500"),
        (IntrospectionMode::Fail(401), "401 (bad client credentials)"),
        (IntrospectionMode::Garbage, "not JSON"),
    ] {
        issuer.set_introspection_mode(mode);
        assert_unavailable(&send(&app, bearer(&token)).await, ctx);
    }
    assert_eq!(calls(&issuer), 4, "failures are not cached");
    issuer.set_introspection_mode(IntrospectionMode::Normal);
    assert_ok(&send(&app, bearer(&token)).await, "recovered");
}

// ---------------------------------------------------------------------------
// 7. Active results: until exp, at most cache_ttl
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn active_results_are_cached_until_exp_at_most_cache_ttl() {
    let issuer = start_issuer().await;
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().cache_ttl(Duration::from_secs(1)),
    );
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    assert_ok(&send(&app, bearer(&token)).await, "first");
    issuer.revoke(&token);
    assert_ok(
        &send(&app, bearer(&token)).await,
        "cached (revocation not seen yet)",
    );
    assert_eq!(calls(&issuer), 1);
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    assert_invalid_token_exactly(
        &send(&app, bearer(&token)).await,
        INACTIVE,
        "after cache_ttl",
    );
    assert_eq!(calls(&issuer), 2);

    // `exp` bounds the cache below a long cache_ttl (the claim leeway still
    // accepts the token, so only the call count shows it).
    let auth = build(
        vec![issuer.resolved_config()],
        introspection().cache_ttl(Duration::from_secs(60)),
    );
    let app = protected_app(&auth).await;
    let short = issuer.token_builder(RESOURCE).expires_in(1).sign();
    assert_ok(&send(&app, bearer(&short)).await, "short-lived");
    assert_ok(&send(&app, bearer(&short)).await, "short-lived, cached");
    assert_eq!(calls(&issuer), 3);
    actix_rt::time::sleep(Duration::from_millis(2100)).await;
    assert_ok(
        &send(&app, bearer(&short)).await,
        "after exp, within leeway",
    );
    assert_eq!(calls(&issuer), 4, "cached past exp");
}

// ---------------------------------------------------------------------------
// 8. The token never reaches the logs
// ---------------------------------------------------------------------------

/// Everything any test of this binary logged. Installed as the global
/// subscriber before any test does anything (a thread-local one misses
/// events whose callsites another test thread registered concurrently).
fn logs() -> &'static Mutex<String> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(String::new()));
        tracing::subscriber::set_global_default(Capture(logs.clone()))
            .expect("no other global subscriber");
        logs
    })
}

/// Records every event and span field.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push_str(event.metadata().level().as_str());
        out.push(' ');
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[actix_web::test]
async fn the_token_is_never_logged() {
    let issuer = start_issuer().await;
    let auth = build(vec![issuer.resolved_config()], introspection().http(fast()));
    let app = protected_app(&auth).await;
    let token = unique("secret-opaque-token");
    let refresh = issuer
        .token_builder(RESOURCE)
        .claim("token_type", "refresh_token")
        .sign();
    assert_invalid_token_exactly(&send(&app, bearer(&token)).await, INACTIVE, "inactive");
    assert_invalid_token_exactly(&send(&app, bearer(&refresh)).await, NOT_ACCESS, "refresh");
    for mode in [
        IntrospectionMode::Fail(500),
        IntrospectionMode::Garbage,
        IntrospectionMode::Hang,
    ] {
        issuer.set_introspection_mode(mode);
        let fresh = unique("secret-opaque-token");
        assert_unavailable(&send(&app, bearer(&fresh)).await, &format!("{mode:?}"));
        assert!(!logs().lock().unwrap().contains(&fresh), "{mode:?}");
    }

    let (a, b) = (start_issuer().await, start_issuer().await);
    let ambiguous = build(
        vec![a.discovery_config(), b.discovery_config()],
        introspection(),
    );
    let app = protected_app(&ambiguous).await;
    assert_server_error(&send(&app, bearer(&token)).await, "ambiguous");

    let logs = logs().lock().unwrap();
    assert!(
        logs.contains("token introspection failed"),
        "capture works: {logs}"
    );
    assert!(logs.contains("several authorization servers"), "{logs}");
    for secret in [&token, &refresh] {
        assert!(!logs.contains(secret.as_str()), "token in the logs: {logs}");
    }
}
