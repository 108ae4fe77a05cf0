//! RFC 7662 introspection: which endpoint a token goes to, and what happens
//! when it misbehaves:
//!
//! * with several authorization servers, tokens go to no guessed server;
//! * the endpoint is checked by `build()`, with the builder's
//!   `allow_insecure_http`;
//! * an endpoint that fails, stalls or answers garbage is a bounded 503;
//! * the token never reaches the logs.
//!
//! Every test runs real in-process authorization servers
//! (`mcp_auth::testing::TestIssuer`) on 127.0.0.1.

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use crate::common::{
    RESOURCE, assert_invalid_token_exactly, assert_ok, assert_unavailable, bearer,
    introspection::{
        INACTIVE, NOT_ACCESS, assert_server_error, build, calls, fast, introspection,
        protected_app, send_concurrently, try_build,
    },
    send, unique,
};
use mcp_auth::{
    AuthServerConfig, ConfigError, HttpOptions,
    testing::{IntrospectionMode, TestIssuer},
};

/// A build error about the introspection endpoint.
#[track_caller]
fn assert_endpoint_error(err: &ConfigError, ctx: &str) {
    assert!(
        matches!(
            err,
            ConfigError::InvalidField {
                field: "introspection_endpoint",
                ..
            }
        ),
        "{ctx}: {err}"
    );
}

/// A test issuer, with the log capture installed first (see
/// [`the_token_is_never_logged`]).
async fn start_issuer() -> TestIssuer {
    logs();
    TestIssuer::start().await
}

// ---------------------------------------------------------------------------
// Several authorization servers
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
    assert_endpoint_error(&err, "two endpoints");
    let message = err.to_string();
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
        AuthServerConfig::resolved(metadata, mcp_auth::auth_server::AuthServerType::OAuth)
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
// The endpoint is checked by build(), with allow_insecure_http
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
        assert_endpoint_error(&err, bad);
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
// Failures are bounded 503s
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
// The token never reaches the logs
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
