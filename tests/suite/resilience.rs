//! The key store under a misbehaving JWKS endpoint, and the inputs that
//! used to break it: every test speaks HTTP to the protected route, and a
//! raw-socket stub on 127.0.0.1 plays the JWKS endpoint so each failure mode
//! (a stalled body, a slow answer from before a rotation, odd key sets) is
//! exact.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use crate::common::{RESOURCE, TestApp, WithBearer, get, jwks_of, send};
use actix_web::{App, HttpResponse, test, web};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    AuthInfo, AuthServerConfig, AuthServerType, ConfigError, HttpOptions, JwtOptions, McpAuth,
    ResourceConfig, auth_server::FetchOptions, testing::TestIssuer, verify::KeyRefreshPolicy,
};
use serde_json::{Value, json};

/// How the stub answers the next JWKS request.
#[derive(Clone)]
enum Mode {
    /// `200` with this JSON.
    Serve(Value),
    /// Headers announcing a body, then nothing (the connection stays open).
    StallBody,
    /// This JSON (captured when the request arrives), after a delay.
    Slow(Value, Duration),
}

/// A JWKS endpoint on 127.0.0.1 that does exactly what it is told.
struct Stub {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    hits: Arc<AtomicUsize>,
}

impl Stub {
    fn start(initial: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Mode::Serve(initial)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (m, h) = (mode.clone(), hits.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (m, h) = (m.clone(), h.clone());
                thread::spawn(move || answer(stream, &m, &h));
            }
        });
        Self { addr, mode, hits }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn answer(mut stream: TcpStream, mode: &Mutex<Mode>, hits: &AtomicUsize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let mode = mode.lock().unwrap().clone();
    let (body, delay) = match mode {
        Mode::Serve(body) => (body, Duration::ZERO),
        Mode::Slow(body, delay) => (body, delay),
        Mode::StallBody => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"keys\":",
            );
            thread::sleep(Duration::from_secs(30));
            return;
        }
    };
    thread::sleep(delay);
    let body = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Keys go stale at once (so every lookup may refresh), fetches time out
/// after 500 ms.
fn auth_with_jwks(issuer: &TestIssuer, jwks_uri: String) -> McpAuth {
    let mut metadata = issuer.metadata();
    metadata.jwks_uri = Some(jwks_uri);
    let server = AuthServerConfig::resolved(metadata, AuthServerType::OAuth).fetch_options(
        FetchOptions::default().http(HttpOptions::default().timeout(Duration::from_millis(500))),
    );
    let policy = KeyRefreshPolicy::default()
        .default_max_age(Duration::ZERO)
        .max_age_bounds(Duration::ZERO, Duration::from_secs(24 * 3600));
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(server)
        .resource(ResourceConfig::new(RESOURCE))
        .jwt_options(JwtOptions::default().key_refresh(policy).cache_capacity(0))
        .build()
        .unwrap()
}

async fn handler(auth: AuthInfo) -> HttpResponse {
    // Calls every accessor a handler might: none may panic.
    HttpResponse::Ok().json(json!({
        "expires_at": auth.expires_at().map(|t| format!("{t:?}")),
        "scopes": auth.scopes(),
    }))
}

/// `/mcp` (any method) behind `auth`'s guard for `RESOURCE`.
async fn protected_app(auth: &McpAuth) -> impl TestApp + use<> {
    test::init_service(
        App::new().service(
            web::resource("/mcp")
                .wrap(auth.bearer_auth(RESOURCE).unwrap())
                .to(handler),
        ),
    )
    .await
}

/// The status of a GET to `/mcp` carrying `token`.
async fn status(app: &impl TestApp, token: &str) -> u16 {
    send(app, get("/mcp").bearer(token)).await.status
}

#[actix_web::test]
async fn a_stalled_jwks_body_never_wedges_the_key_store() {
    let issuer = TestIssuer::start().await;
    let stub = Stub::start(json!({"keys": []}));
    stub.set(Mode::StallBody);
    let auth = auth_with_jwks(&issuer, stub.url());
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);

    // First use against a stalled body: a bounded 503, not a hang.
    let started = Instant::now();
    assert_eq!(status(&app, &token).await, 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The endpoint recovers: the next need fetches again and succeeds.
    stub.set(Mode::Serve(jwks_of(&issuer).await));
    actix_web::rt::time::sleep(Duration::from_millis(2_500)).await; // past the back-off
    let before = stub.hits();
    assert_eq!(status(&app, &token).await, 200);
    assert!(stub.hits() > before, "no new fetch after recovery");

    // A key the issuer removes stops verifying once a fetch succeeds, even
    // after a stall in between.
    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let new_kid = issuer.add_key(Algorithm::RS256);
    issuer.retire_key(&old_kid);
    stub.set(Mode::StallBody);
    let _ = status(&app, &token).await; // triggers a background fetch that stalls
    actix_web::rt::time::sleep(Duration::from_millis(1_800)).await; // the stalled run is abandoned
    stub.set(Mode::Serve(jwks_of(&issuer).await));
    actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let fresh = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    loop {
        let (old, new) = (status(&app, &token).await, status(&app, &fresh).await);
        if old == 401 && new == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rotation frozen: retired key -> {old}, new key -> {new}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn a_new_kid_joining_an_older_refresh_is_not_negatively_cached() {
    let issuer = TestIssuer::start().await;
    let before_rotation = jwks_of(&issuer).await;
    let stub = Stub::start(before_rotation.clone());
    let auth = auth_with_jwks(&issuer, stub.url());
    let app = protected_app(&auth).await;
    let token = issuer.token(RESOURCE, &[]);
    assert_eq!(status(&app, &token).await, 200);

    // A refresh starts (keys are stale) and answers slowly with the set
    // from before the rotation.
    stub.set(Mode::Slow(before_rotation, Duration::from_millis(300)));
    let app = std::rc::Rc::new(app);
    let background = {
        let (app, token) = (app.clone(), token.clone());
        actix_web::rt::spawn(async move { status(&*app, &token).await })
    };
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let new_kid = issuer.add_key(Algorithm::ES256);
    stub.set(Mode::Serve(jwks_of(&issuer).await));
    let fresh = issuer
        .token_builder(RESOURCE)
        .algorithm(Algorithm::ES256)
        .key(&new_kid)
        .sign();
    // This request joins the slow refresh, which does not know the key; it
    // must not conclude "no such key" from an answer older than its need.
    assert_eq!(status(&*app, &fresh).await, 200);
    assert_eq!(background.await.unwrap(), 200);
}

#[actix_web::test]
async fn keys_sharing_a_kid_each_verify_their_own_algorithm() {
    let issuer = TestIssuer::start().await;
    let mut jwks = jwks_of(&issuer).await;
    let rsa_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let ec_kid = issuer.current_kid(Algorithm::ES256).unwrap();
    for key in jwks["keys"].as_array_mut().unwrap() {
        if key["kid"] == ec_kid.as_str() {
            key["kid"] = json!(rsa_kid); // RFC 7517 §4.5: allowed across key types
        }
    }
    let stub = Stub::start(jwks);
    let auth = auth_with_jwks(&issuer, stub.url());
    let app = protected_app(&auth).await;
    let rs = issuer.token_builder(RESOURCE).key(&rsa_kid).sign();
    let es = issuer
        .token_builder(RESOURCE)
        .algorithm(Algorithm::ES256)
        .key(&ec_kid)
        .header("kid", rsa_kid.as_str())
        .sign();
    assert_eq!(status(&app, &rs).await, 200, "RSA key under the shared kid");
    assert_eq!(status(&app, &es).await, 200, "EC key under the shared kid");
}

#[actix_web::test]
async fn private_and_non_verify_keys_are_never_used() {
    let issuer = TestIssuer::start().await;
    let kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let token = issuer.token(RESOURCE, &[]);
    let jwks = jwks_of(&issuer).await;
    for (member, value) in [
        ("d", json!("AQAB")),
        ("key_ops", json!(["encrypt"])),
        ("key_ops", json!("verify")),
    ] {
        let mut doctored = jwks.clone();
        for key in doctored["keys"].as_array_mut().unwrap() {
            if key["kid"] == kid.as_str() {
                key[member] = value.clone();
            }
        }
        let stub = Stub::start(doctored);
        let auth = auth_with_jwks(&issuer, stub.url());
        let app = protected_app(&auth).await;
        assert_eq!(status(&app, &token).await, 401, "{member}: {value}");
    }
    // The same key with `key_ops: ["verify"]` is fine.
    let mut allowed = jwks.clone();
    for key in allowed["keys"].as_array_mut().unwrap() {
        key["key_ops"] = json!(["verify"]);
    }
    let stub = Stub::start(allowed);
    let auth = auth_with_jwks(&issuer, stub.url());
    let app = protected_app(&auth).await;
    assert_eq!(status(&app, &token).await, 200);
}

#[actix_web::test]
async fn out_of_range_dates_are_refused_and_nothing_panics() {
    let issuer = TestIssuer::start().await;
    let stub = Stub::start(jwks_of(&issuer).await);
    let auth = auth_with_jwks(&issuer, stub.url());
    let app = protected_app(&auth).await;
    for exp in [
        json!(u64::MAX),
        json!(1e300),
        json!(253_402_300_800u64),
        json!(-5),
    ] {
        let token = issuer
            .token_builder(RESOURCE)
            .claim("exp", exp.clone())
            .sign();
        assert_eq!(status(&app, &token).await, 401, "exp {exp}");
    }
    for claim in ["nbf", "iat"] {
        let token = issuer
            .token_builder(RESOURCE)
            .claim(claim, json!(1e300))
            .sign();
        assert_eq!(status(&app, &token).await, 401, "{claim}");
    }
    // The largest date accepted still gives a usable `expires_at`.
    let token = issuer
        .token_builder(RESOURCE)
        .claim("exp", json!(253_402_300_799u64))
        .sign();
    assert_eq!(status(&app, &token).await, 200);
}

#[actix_web::test]
async fn impossible_settings_fail_the_build() {
    let issuer = TestIssuer::start().await;
    let err = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE))
        .jwt_options(JwtOptions::default().leeway(Duration::MAX))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("leeway"), "{err}");

    // One issuer, configured differently for two resources.
    let mut other = issuer.metadata();
    other.jwks_uri = Some(format!("{}/other-jwks", issuer.issuer()));
    let err = McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(issuer.resolved_config()))
        .resource(
            ResourceConfig::new("http://127.0.0.1:8080/other")
                .authorization_server(AuthServerConfig::resolved(other, AuthServerType::OAuth)),
        )
        .build()
        .unwrap_err();
    match &err {
        ConfigError::ConflictingAuthServer { first, second, .. } => {
            assert_eq!(
                (first.as_str(), second.as_str()),
                (RESOURCE, "http://127.0.0.1:8080/other")
            );
        }
        other => panic!("unexpected: {other}"),
    }
    // The same configuration twice is fine.
    McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(issuer.resolved_config()))
        .resource(
            ResourceConfig::new("http://127.0.0.1:8080/other")
                .authorization_server(issuer.resolved_config()),
        )
        .build()
        .unwrap();
}
