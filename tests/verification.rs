//! Integration tests for token verification in `mcp-auth-actix`: accepted
//! algorithms, an adversarial token table, key rotation, JWKS outages,
//! concurrency and rate limits, issuer pinning, step-up scopes, optional
//! authentication, introspection, custom verifiers, error handlers, token
//! redaction and the verified-token cache.
//!
//! Every test runs a real in-process authorization server
//! (`mcp_auth::testing::TestIssuer`) and an in-process Actix service.

use std::{
    future::Future,
    net::TcpListener,
    pin::Pin,
    task::Poll,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use actix_web::{
    App, HttpResponse,
    body::MessageBody,
    dev::{Service, ServiceResponse},
    http::header::{self, HeaderMap},
    test::{self, TestRequest},
    web,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth::{
    AuthError, AuthInfo, AuthServerConfig, BearerAuth, HttpOptions, JwtOptions, MaybeAuthInfo,
    McpAuth, ResourceConfig,
    config::FetchOptions,
    testing::{Endpoint, JwksMode, TestIssuer},
    verify::{Introspection, VerifiedClaims, VerifyError},
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const METADATA_URL: &str = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp";
const OTHER_RESOURCE: &str = "http://127.0.0.1:8080/other";

/// Seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A process-unique string (for random `kid`s and opaque tokens).
fn unique(prefix: &str, i: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!("{prefix}-{i}-{nanos}")
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The three dot-separated segments of a compact JWT.
fn segments(token: &str) -> (String, String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    (parts[0].into(), parts[1].into(), parts[2].into())
}

/// The decoded JOSE header of a token.
fn jose_header(token: &str) -> Value {
    let (h, _, _) = segments(token);
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json")
}

/// Fetches the issuer's JWKS directly (increments its JWKS counter).
async fn fetch_jwks(issuer: &TestIssuer) -> Value {
    let mut res = awc::Client::default()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("JWKS request");
    let body = res.body().await.expect("JWKS body");
    serde_json::from_slice(&body).expect("JWKS JSON")
}

fn jwk_of(jwks: &Value, kid: &str) -> Value {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
        .unwrap_or_else(|| panic!("kid {kid} not in JWKS"))
}

/// An issuer config whose HTTP fetches time out after 500 ms.
fn fast(config: AuthServerConfig) -> AuthServerConfig {
    config.fetch_options(
        FetchOptions::default().http(HttpOptions::default().timeout(Duration::from_millis(500))),
    )
}

/// One resource (`RESOURCE`) trusting `server`, with JWT options `jwt`.
fn build_auth(server: AuthServerConfig, jwt: JwtOptions) -> McpAuth {
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(server)
        .resource(ResourceConfig::new(RESOURCE).scopes_supported(["mcp:read", "mcp:write"]))
        .jwt_options(jwt)
        .build()
        .expect("valid configuration")
}

/// JWT options whose JWKS goes stale after one second (for rotation tests).
fn short_refresh() -> JwtOptions {
    // `KeyRefreshPolicy` is not nameable from outside the crate (see the
    // report), so adjust the default policy through the public field.
    let mut jwt = JwtOptions::default();
    jwt.key_refresh.default_max_age = Duration::from_secs(1);
    jwt.key_refresh.min_max_age = Duration::ZERO;
    jwt
}

/// A POST to `/mcp` carrying `Authorization: Bearer <token>`.
fn bearer(token: &str) -> TestRequest {
    bearer_at("/mcp", token)
}

fn bearer_at(path: &str, token: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
}

/// A waited-for, fully read response.
struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    fn www(&self) -> Option<&str> {
        self.header(header::WWW_AUTHENTICATE)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send<S, R, B>(app: &S, req: R) -> Resp
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// Polls every future to completion on the current task (no extra crates).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (fut, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().map(|s| s.take().expect("done")).collect())
        }
    })
    .await
}

/// Asserts a 200 from the echo handler and returns its JSON.
#[track_caller]
fn assert_ok(resp: &Resp, ctx: &str) -> Value {
    assert_eq!(resp.status, 200, "{ctx}: body {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: unexpected challenge");
    resp.json()
}

/// Asserts an error response: status, RFC 6750 challenge (exact), JSON body.
/// `error: None` means "no credentials" (401 without `error=`).
#[track_caller]
fn assert_rejected(resp: &Resp, status: u16, error: Option<&str>, scope: Option<&str>, ctx: &str) {
    assert_eq!(resp.status, status, "{ctx}: body {}", resp.text());
    assert_eq!(
        resp.header(header::ACCESS_CONTROL_EXPOSE_HEADERS),
        Some("WWW-Authenticate"),
        "{ctx}"
    );
    assert_eq!(
        resp.header(header::CACHE_CONTROL),
        Some("no-store"),
        "{ctx}"
    );
    let body = resp.json();
    assert_eq!(
        body["error"],
        error.unwrap_or("unauthorized"),
        "{ctx}: {body}"
    );
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{ctx}: no error_description");
    let mut expected = String::from("Bearer ");
    if let Some(code) = error {
        expected.push_str(&format!(
            "error=\"{code}\", error_description=\"{description}\", "
        ));
    }
    if let Some(scope) = scope {
        expected.push_str(&format!("scope=\"{scope}\", "));
        assert_eq!(body["scope"], scope, "{ctx}");
    } else {
        assert!(body.get("scope").is_none(), "{ctx}: {body}");
    }
    expected.push_str(&format!("resource_metadata=\"{METADATA_URL}\""));
    assert_eq!(resp.www(), Some(expected.as_str()), "{ctx}");
}

/// Asserts a 503 (keys unavailable): no challenge, `Retry-After`, JSON body.
#[track_caller]
fn assert_unavailable(resp: &Resp, ctx: &str) {
    assert_eq!(resp.status, 503, "{ctx}: body {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: 503 carries no challenge");
    assert_eq!(resp.header(header::RETRY_AFTER), Some("5"), "{ctx}");
    assert_eq!(resp.json()["error"], "temporarily_unavailable", "{ctx}");
}

// ---------------------------------------------------------------------------
// Handlers and the app under test
// ---------------------------------------------------------------------------

async fn echo(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "sub": auth.subject(),
        "scopes": auth.scopes(),
        "client_id": auth.client_id(),
        "iss": auth.issuer(),
        "aud": auth.audience(),
        "resource": auth.resource(),
    }))
}

/// Step-up inside a handler.
async fn write(auth: AuthInfo) -> Result<HttpResponse, AuthError> {
    auth.require_scopes(&["mcp:write"])?;
    Ok(HttpResponse::Ok().json(json!({"written": true})))
}

async fn optional(auth: Option<AuthInfo>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "authenticated": auth.is_some(),
        "sub": auth.as_ref().and_then(AuthInfo::subject),
    }))
}

/// Strict optional authentication.
async fn maybe(auth: MaybeAuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "authenticated": auth.0.is_some() }))
}

async fn debug(auth: AuthInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "debug": format!("{auth:?}"),
        "serialized": serde_json::to_string(&auth).expect("serialize"),
        "token_len": auth.token().len(),
    }))
}

/// The standard app: `/mcp`, `/write`, `/debug` behind the middleware;
/// `/extract` (`AuthInfo`) and `/opt` (`Option<AuthInfo>`) configured by
/// app data only.
macro_rules! app {
    ($auth:expr, $bearer:expr) => {{
        let auth: McpAuth = $auth.clone();
        let bearer: BearerAuth = $bearer;
        test::init_service(
            App::new()
                .app_data(auth)
                .configure(mcp_auth::routes)
                .service(
                    web::resource("/mcp")
                        .wrap(bearer.clone())
                        .route(web::post().to(echo)),
                )
                .service(
                    web::resource("/write")
                        .wrap(bearer.clone())
                        .route(web::post().to(write)),
                )
                .service(
                    web::resource("/debug")
                        .wrap(bearer.clone())
                        .route(web::post().to(debug)),
                )
                .service(
                    web::resource("/extract")
                        .app_data(bearer.clone())
                        .route(web::post().to(echo)),
                )
                .service(
                    web::resource("/maybe")
                        .app_data(bearer.clone())
                        .route(web::post().to(maybe)),
                )
                .service(
                    web::resource("/opt")
                        .app_data(bearer)
                        .route(web::post().to(optional)),
                ),
        )
        .await
    }};
}

// ---------------------------------------------------------------------------
// 1. Valid tokens
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn valid_tokens_for_every_algorithm_are_accepted() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = issuer
            .token_builder(RESOURCE)
            .algorithm(alg)
            .scopes(&["mcp:read", "mcp:write"])
            .sign();
        assert_eq!(
            jose_header(&token)["kid"],
            issuer.current_kid(alg).unwrap().as_str()
        );
        let body = assert_ok(
            &send(&app, bearer(&token).to_request()).await,
            &format!("{alg:?}"),
        );
        assert_eq!(body["sub"], "test-user", "{alg:?}");
        assert_eq!(body["client_id"], "test-client", "{alg:?}");
        assert_eq!(body["scopes"], json!(["mcp:read", "mcp:write"]), "{alg:?}");
        assert_eq!(body["iss"], issuer.issuer(), "{alg:?}");
        assert_eq!(body["aud"], json!([RESOURCE]), "{alg:?}");
        assert_eq!(body["resource"], RESOURCE, "{alg:?}");
    }

    // `azp` is the fallback client id; `scp` arrays count as scopes.
    let token = issuer
        .token_builder(RESOURCE)
        .without_claim("client_id")
        .claim("azp", "azp-client")
        .claim("scp", json!(["mcp:read"]))
        .sign();
    let body = assert_ok(&send(&app, bearer(&token).to_request()).await, "azp/scp");
    assert_eq!(body["client_id"], "azp-client");
    assert_eq!(body["scopes"], json!(["mcp:read"]));

    // The scheme is case-insensitive (RFC 7235 §2.1).
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let token = issuer.token(RESOURCE, &["mcp:read"]);
        let req = TestRequest::post()
            .uri("/mcp")
            .insert_header((header::AUTHORIZATION, format!("{scheme} {token}")));
        assert_ok(&send(&app, req.to_request()).await, scheme);
    }

    // The metadata document is served next to the protected route.
    let resp = send(
        &app,
        TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/mcp")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status, 200);
    let doc = resp.json();
    assert_eq!(doc["resource"], RESOURCE);
    assert_eq!(doc["authorization_servers"], json!([issuer.issuer()]));
    assert_eq!(doc["scopes_supported"], json!(["mcp:read", "mcp:write"]));
}

// ---------------------------------------------------------------------------
// 2. Adversarial table
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Which {
    /// Default options.
    Default,
    /// `strict_rfc9068(true)`.
    Strict,
    /// `algorithms([RS256])`.
    Rs256Only,
}

enum Expect {
    Ok,
    /// Status and RFC 6750 `error` (None: no credentials).
    Reject(u16, Option<&'static str>),
    /// 401 `invalid_token` whose description contains this text.
    Invalid(&'static str),
}

struct Row {
    name: &'static str,
    app: Which,
    req: TestRequest,
    expect: Expect,
    /// The presented token, to check it is never echoed back.
    token: Option<String>,
}

fn row(name: &'static str, token: String, expect: Expect) -> Row {
    Row {
        name,
        app: Which::Default,
        req: bearer(&token),
        expect,
        token: Some(token),
    }
}

#[actix_web::test]
async fn adversarial_token_table() {
    let issuer = TestIssuer::start().await;
    let attacker = TestIssuer::start().await;
    let default_auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let strict_auth = build_auth(
        issuer.discovery_config(),
        JwtOptions::default().strict_rfc9068(true),
    );
    let rs256_auth = build_auth(
        issuer.discovery_config(),
        JwtOptions::default().algorithms([Algorithm::RS256]),
    );
    let default_app = app!(default_auth, default_auth.bearer_auth(RESOURCE).unwrap());
    let strict_app = app!(strict_auth, strict_auth.bearer_auth(RESOURCE).unwrap());
    let rs256_app = app!(rs256_auth, rs256_auth.bearer_auth(RESOURCE).unwrap());

    let rs_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let ed_kid = issuer.current_kid(Algorithm::EdDSA).unwrap();
    let jwks = fetch_jwks(&issuer).await;
    let rs_jwk = jwk_of(&jwks, &rs_kid);
    let attacker_jwks = fetch_jwks(&attacker).await;
    let attacker_rs_kid = attacker.current_kid(Algorithm::RS256).unwrap();
    let attacker_jwk = jwk_of(&attacker_jwks, &attacker_rs_kid);
    let attacker_jwks_before = attacker.requests(Endpoint::Jwks);

    let valid = || issuer.token(RESOURCE, &["mcp:read"]);
    let n = now();

    // alg: none, with and without kid, in several spellings.
    let none_token = |alg: &str, keep_kid: bool| {
        let mut b = issuer.token_builder(RESOURCE).header("alg", alg);
        if !keep_kid {
            b = b.without_header("kid");
        }
        let (h, p, _) = segments(&b.sign());
        format!("{h}.{p}.")
    };

    // HS256 signed with public key material as the HMAC secret.
    let hs_claims = json!({"iss": issuer.issuer(), "aud": RESOURCE, "sub": "attacker",
        "client_id": "x", "exp": n + 300, "iat": n, "jti": "hs"});
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(rs_kid.clone());
    let hs_json_secret = jsonwebtoken::encode(
        &hs_header,
        &hs_claims,
        &EncodingKey::from_secret(rs_jwk.to_string().as_bytes()).expect("key"),
    )
    .expect("HS256");
    let n_bytes = URL_SAFE_NO_PAD
        .decode(rs_jwk["n"].as_str().unwrap())
        .expect("n");
    let hs_n_secret = jsonwebtoken::encode(
        &hs_header,
        &hs_claims,
        &EncodingKey::from_secret(&n_bytes).expect("key"),
    )
    .expect("HS256");

    // Tampering.
    let (h1, _, s1) = segments(&valid());
    let (_, p2, _) = segments(
        &issuer
            .token_builder(RESOURCE)
            .claim("sub", "admin")
            .scopes(&["mcp:read", "mcp:write", "admin"])
            .sign(),
    );
    let swapped_payload = format!("{h1}.{p2}.{s1}");
    let flipped_signature = {
        let (h, p, s) = segments(&valid());
        let mid = s.len() / 2;
        let c = if &s[mid..=mid] == "A" { "B" } else { "A" };
        format!("{h}.{p}.{}{c}{}", &s[..mid], &s[mid + 1..])
    };
    let stripped_signature = {
        let (h, p, _) = segments(&valid());
        format!("{h}.{p}.")
    };

    // A key that was never published, presenting a published kid.
    let hidden_kid = issuer.add_key(Algorithm::RS256);
    issuer.retire_key(&hidden_kid);
    let unpublished = issuer
        .token_builder(RESOURCE)
        .key(&hidden_kid)
        .header("kid", rs_kid.as_str())
        .sign();

    // Structure.
    let not_object_payload = {
        let (h, _, s) = segments(&valid());
        format!("{h}.{}.{s}", b64("[1]"))
    };
    let not_json_header = {
        let (_, p, s) = segments(&valid());
        format!("{}.{p}.{s}", b64("not json"))
    };
    let no_alg_header = {
        let (_, p, s) = segments(&valid());
        format!(
            "{}.{p}.{s}",
            b64(json!({"kid": rs_kid, "typ": "at+jwt"}).to_string())
        )
    };
    let huge = "a".repeat(3 * 1024 * 1024);

    let rows: Vec<Row> = vec![
        // --- signature / algorithm attacks ---
        row(
            "alg none, kid kept",
            none_token("none", true),
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "alg none, no kid",
            none_token("none", false),
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "alg None spelling",
            none_token("None", true),
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "alg NONE spelling",
            none_token("NONE", true),
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "HS256 with JWK JSON as secret",
            hs_json_secret,
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "HS256 with RSA modulus as secret",
            hs_n_secret,
            Expect::Invalid("signing algorithm is not allowed"),
        ),
        row(
            "payload swapped from another token",
            swapped_payload,
            Expect::Invalid("signature is invalid"),
        ),
        row(
            "signature byte flipped",
            flipped_signature,
            Expect::Invalid("signature is invalid"),
        ),
        row(
            "signature stripped",
            stripped_signature,
            Expect::Invalid("signature is invalid"),
        ),
        row(
            "unpublished key with a published kid",
            unpublished,
            Expect::Invalid("signature is invalid"),
        ),
        row(
            "PS256 token with the RS256 key's kid (JWK alg RS256)",
            issuer
                .token_builder(RESOURCE)
                .algorithm(Algorithm::PS256)
                .header("kid", rs_kid.as_str())
                .sign(),
            Expect::Invalid("No published key"),
        ),
        row(
            "ES256 token with the EdDSA key's kid",
            issuer
                .token_builder(RESOURCE)
                .algorithm(Algorithm::ES256)
                .header("kid", ed_kid.as_str())
                .sign(),
            Expect::Invalid("No published key"),
        ),
        row(
            "random kid",
            issuer
                .token_builder(RESOURCE)
                .header("kid", unique("random", 0))
                .sign(),
            Expect::Invalid("No published key"),
        ),
        // --- lifetime ---
        row(
            "expired 10 minutes ago",
            issuer.token_builder(RESOURCE).expires_in(-600).sign(),
            Expect::Invalid("has expired"),
        ),
        row(
            "expired 5 s ago, within the 30 s leeway",
            issuer.token_builder(RESOURCE).expires_in(-5).sign(),
            Expect::Ok,
        ),
        row(
            "nbf 10 minutes ahead",
            issuer.token_builder(RESOURCE).claim("nbf", n + 600).sign(),
            Expect::Invalid("`nbf`"),
        ),
        row(
            "iat 10 minutes ahead",
            issuer.token_builder(RESOURCE).claim("iat", n + 600).sign(),
            Expect::Invalid("`iat`"),
        ),
        row(
            "no exp",
            issuer.token_builder(RESOURCE).without_claim("exp").sign(),
            Expect::Invalid("no `exp` claim"),
        ),
        row(
            "float exp",
            issuer
                .token_builder(RESOURCE)
                .claim("exp", n as f64 + 300.5)
                .sign(),
            Expect::Ok,
        ),
        // Absurd NumericDates are refused (beyond year 9999), so nothing
        // downstream (cache deadline, `AuthInfo::expires_at`) can overflow.
        row(
            "exp in the year 10^292 (float)",
            issuer.token_builder(RESOURCE).claim("exp", 1e300).sign(),
            Expect::Invalid("out of range"),
        ),
        row(
            "exp = u64::MAX",
            issuer.token_builder(RESOURCE).claim("exp", u64::MAX).sign(),
            Expect::Invalid("out of range"),
        ),
        row(
            "exp negative",
            issuer.token_builder(RESOURCE).claim("exp", -1).sign(),
            Expect::Invalid("out of range"),
        ),
        row(
            "string exp",
            issuer
                .token_builder(RESOURCE)
                .claim("exp", (n + 300).to_string())
                .sign(),
            Expect::Invalid("`exp` claim is not a number"),
        ),
        // --- audience ---
        row(
            "no aud",
            issuer.token_builder(RESOURCE).without_claim("aud").sign(),
            Expect::Invalid("(`aud`)"),
        ),
        row(
            "wrong aud",
            issuer.token("https://other.example/mcp", &["mcp:read"]),
            Expect::Invalid("(`aud`)"),
        ),
        row(
            "aud = resource + -evil",
            issuer.token(&format!("{RESOURCE}-evil"), &["mcp:read"]),
            Expect::Invalid("(`aud`)"),
        ),
        row(
            "aud is a prefix of the resource",
            issuer.token("http://127.0.0.1:8080/mc", &["mcp:read"]),
            Expect::Invalid("(`aud`)"),
        ),
        row(
            "aud origin only",
            issuer.token("http://127.0.0.1:8080", &["mcp:read"]),
            Expect::Invalid("(`aud`)"),
        ),
        row(
            "aud array containing the resource",
            issuer
                .token_builder(RESOURCE)
                .claim("aud", json!(["https://other.example", RESOURCE]))
                .sign(),
            Expect::Ok,
        ),
        row(
            "aud empty array",
            issuer
                .token_builder(RESOURCE)
                .claim("aud", json!([]))
                .sign(),
            Expect::Invalid("(`aud`)"),
        ),
        // --- issuer ---
        row(
            "wrong iss",
            issuer
                .token_builder(RESOURCE)
                .claim("iss", "https://evil.example")
                .sign(),
            Expect::Invalid("untrusted issuer"),
        ),
        row(
            "no iss",
            issuer.token_builder(RESOURCE).without_claim("iss").sign(),
            Expect::Invalid("`iss`"),
        ),
        row(
            "iss with trailing slash",
            issuer
                .token_builder(RESOURCE)
                .claim("iss", format!("{}/", issuer.issuer()))
                .sign(),
            Expect::Invalid("untrusted issuer"),
        ),
        row(
            "token of another (untrusted) issuer",
            attacker.token(RESOURCE, &["mcp:read"]),
            Expect::Invalid("untrusted issuer"),
        ),
        row(
            "iss forged, signed by an attacker key",
            attacker
                .token_builder(RESOURCE)
                .claim("iss", issuer.issuer())
                .sign(),
            Expect::Invalid(""),
        ),
        // --- header members ---
        row(
            "unknown crit",
            issuer
                .token_builder(RESOURCE)
                .header("crit", json!(["x"]))
                .sign(),
            Expect::Invalid("critical header"),
        ),
        row(
            "jku to a dead URL, issuer-signed (jku ignored)",
            issuer
                .token_builder(RESOURCE)
                .header("jku", "http://127.0.0.1:9/jwks")
                .sign(),
            Expect::Ok,
        ),
        row(
            "jku to the attacker's JWKS, issuer-signed (jku ignored)",
            issuer
                .token_builder(RESOURCE)
                .header("jku", attacker.jwks_uri())
                .sign(),
            Expect::Ok,
        ),
        row(
            "jku to the attacker's JWKS, attacker-signed",
            attacker
                .token_builder(RESOURCE)
                .claim("iss", issuer.issuer())
                .header("jku", attacker.jwks_uri())
                .sign(),
            Expect::Invalid(""),
        ),
        row(
            "embedded jwk of the attacker key",
            attacker
                .token_builder(RESOURCE)
                .claim("iss", issuer.issuer())
                .header("jwk", attacker_jwk.clone())
                .sign(),
            Expect::Invalid(""),
        ),
        row(
            "embedded jwk of the attacker key, no kid",
            attacker
                .token_builder(RESOURCE)
                .claim("iss", issuer.issuer())
                .header("jwk", attacker_jwk)
                .without_header("kid")
                .sign(),
            Expect::Invalid("signature is invalid"),
        ),
        row(
            "typ dpop+jwt",
            issuer
                .token_builder(RESOURCE)
                .header("typ", "dpop+jwt")
                .sign(),
            Expect::Invalid("`typ`"),
        ),
        row(
            "typ JWT (lenient default)",
            issuer.token_builder(RESOURCE).header("typ", "JWT").sign(),
            Expect::Ok,
        ),
        row(
            "typ missing (lenient default)",
            issuer.token_builder(RESOURCE).without_header("typ").sign(),
            Expect::Ok,
        ),
        Row {
            app: Which::Strict,
            ..row(
                "typ missing, strict RFC 9068",
                issuer.token_builder(RESOURCE).without_header("typ").sign(),
                Expect::Invalid("`typ`"),
            )
        },
        Row {
            app: Which::Strict,
            ..row(
                "typ JWT, strict RFC 9068",
                issuer.token_builder(RESOURCE).header("typ", "JWT").sign(),
                Expect::Invalid("`typ`"),
            )
        },
        Row {
            app: Which::Strict,
            ..row(
                "no jti, strict RFC 9068",
                issuer.token_builder(RESOURCE).without_claim("jti").sign(),
                Expect::Invalid("`jti`"),
            )
        },
        Row {
            app: Which::Strict,
            ..row(
                "at+jwt with all claims, strict RFC 9068",
                valid(),
                Expect::Ok,
            )
        },
        Row {
            app: Which::Rs256Only,
            ..row(
                "ES256 when only RS256 is allowed",
                issuer
                    .token_builder(RESOURCE)
                    .algorithm(Algorithm::ES256)
                    .sign(),
                Expect::Invalid("signing algorithm is not allowed"),
            )
        },
        Row {
            app: Which::Rs256Only,
            ..row("RS256 when only RS256 is allowed", valid(), Expect::Ok)
        },
        // --- structure ---
        row("3 MB token", huge, Expect::Invalid("too large")),
        row(
            "non-base64url segments",
            "a+b/c.d+e/f.g+h/i".into(),
            Expect::Invalid("well-formed"),
        ),
        row(
            "base64 but not JSON",
            "abcd.efgh.ijkl".into(),
            Expect::Invalid("well-formed"),
        ),
        row(
            "header not JSON",
            not_json_header,
            Expect::Invalid("well-formed"),
        ),
        row(
            "header without alg",
            no_alg_header,
            Expect::Invalid("well-formed"),
        ),
        row(
            "two segments",
            {
                let (h, p, _) = segments(&valid());
                format!("{h}.{p}")
            },
            Expect::Invalid("well-formed"),
        ),
        row(
            "four segments",
            format!("{}.extra", valid()),
            Expect::Invalid("well-formed"),
        ),
        row(
            "payload is a JSON array",
            not_object_payload,
            Expect::Invalid("well-formed"),
        ),
        // --- the Authorization header itself ---
        row(
            "characters outside token68",
            "abc!def.ghi".into(),
            Expect::Reject(400, Some("invalid_request")),
        ),
        Row {
            name: "Bearer without a token",
            app: Which::Default,
            req: TestRequest::post()
                .uri("/mcp")
                .insert_header((header::AUTHORIZATION, "Bearer")),
            expect: Expect::Reject(400, Some("invalid_request")),
            token: None,
        },
        Row {
            name: "Basic scheme",
            app: Which::Default,
            req: TestRequest::post()
                .uri("/mcp")
                .insert_header((header::AUTHORIZATION, "Basic dXNlcjpwYXNz")),
            expect: Expect::Reject(401, None),
            token: None,
        },
        Row {
            name: "two Authorization headers",
            app: Which::Default,
            req: TestRequest::post()
                .uri("/mcp")
                .append_header((header::AUTHORIZATION, format!("Bearer {}", valid())))
                .append_header((header::AUTHORIZATION, format!("Bearer {}", valid()))),
            expect: Expect::Reject(400, Some("invalid_request")),
            token: None,
        },
        Row {
            name: "token only in the query string",
            app: Which::Default,
            req: TestRequest::post().uri(&format!("/mcp?access_token={}", valid())),
            expect: Expect::Reject(401, None),
            token: None,
        },
        Row {
            name: "no Authorization header",
            app: Which::Default,
            req: TestRequest::post().uri("/mcp"),
            expect: Expect::Reject(401, None),
            token: None,
        },
    ];
    assert!(rows.len() >= 30, "{} rows", rows.len());

    for Row {
        name,
        app,
        req,
        expect,
        token,
    } in rows
    {
        let ctx = format!("[{name}] ({app:?})");
        let resp = match app {
            Which::Default => send(&default_app, req.to_request()).await,
            Which::Strict => send(&strict_app, req.to_request()).await,
            Which::Rs256Only => send(&rs256_app, req.to_request()).await,
        };
        assert!(resp.status < 500, "{ctx}: server error {}", resp.status);
        match expect {
            Expect::Ok => {
                let body = assert_ok(&resp, &ctx);
                assert_eq!(body["iss"], issuer.issuer(), "{ctx}");
                assert_eq!(body["sub"], "test-user", "{ctx}");
            }
            Expect::Reject(status, error) => assert_rejected(&resp, status, error, None, &ctx),
            Expect::Invalid(why) => {
                assert_rejected(&resp, 401, Some("invalid_token"), None, &ctx);
                let description = resp.json()["error_description"].to_string();
                assert!(
                    description.contains(why),
                    "{ctx}: {description} lacks {why:?}"
                );
            }
        }
        if let Some(token) = token.filter(|t| t.len() > 16) {
            let echoed = resp.text().contains(&token)
                || resp
                    .headers
                    .iter()
                    .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(&token));
            assert!(!echoed, "{ctx}: the token was echoed back");
        }
    }

    // `jku`/`jwk` were never dereferenced.
    assert_eq!(attacker.requests(Endpoint::Jwks), attacker_jwks_before);
    assert_eq!(attacker.requests(Endpoint::OAuthMetadata), 0);
    assert_eq!(attacker.requests(Endpoint::OidcMetadata), 0);
}

// ---------------------------------------------------------------------------
// 3. Key rotation
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn rotated_key_is_accepted_with_exactly_one_refetch() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "first",
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    let new_kid = issuer.add_key(Algorithm::RS256);
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_eq!(jose_header(&token)["kid"], new_kid.as_str());
    assert_ok(&send(&app, bearer(&token).to_request()).await, "new kid");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        2,
        "one refetch for the new kid"
    );

    // Both keys are now known: no further fetches.
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_ok(
        &send(&app, bearer(&token).to_request()).await,
        "new kid again",
    );
    let token = issuer.token_builder(RESOURCE).key(&old_kid).sign();
    assert_ok(&send(&app, bearer(&token).to_request()).await, "old kid");
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[actix_web::test]
async fn retired_key_is_refused_after_the_background_refresh() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), short_refresh());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    // Verified and cached before the rotation.
    let cached = issuer.token_builder(RESOURCE).key(&old_kid).sign();
    assert_ok(
        &send(&app, bearer(&cached).to_request()).await,
        "before rotation",
    );

    let new_kid = issuer.add_key(Algorithm::RS256);
    issuer.retire_key(&old_kid);
    actix_rt::time::sleep(Duration::from_millis(1200)).await;

    // The first request after staleness may still be served from the old
    // keys while the refresh runs; within a few retries it must be refused.
    let mut refused = false;
    for attempt in 0..30 {
        let token = issuer.token_builder(RESOURCE).key(&old_kid).sign();
        let resp = send(&app, bearer(&token).to_request()).await;
        match resp.status {
            200 => actix_rt::time::sleep(Duration::from_millis(100)).await,
            401 => {
                assert_rejected(&resp, 401, Some("invalid_token"), None, "retired kid");
                refused = true;
                break;
            }
            other => panic!(
                "attempt {attempt}: unexpected status {other}: {}",
                resp.text()
            ),
        }
    }
    assert!(
        refused,
        "a token signed with the retired key is still accepted"
    );

    // The cache entry of a token signed by the retired key is gone too.
    let resp = send(&app, bearer(&cached).to_request()).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        None,
        "cached token of the retired key",
    );

    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    assert_ok(&send(&app, bearer(&token).to_request()).await, "new kid");
}

// ---------------------------------------------------------------------------
// 4. JWKS outages
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn jwks_failure_keeps_cached_keys_and_fails_closed_for_unknown_kids() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "warm-up",
    );

    issuer.set_jwks_mode(JwksMode::Fail(500));
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "cached kid while the JWKS is down",
    );

    let new_kid = issuer.add_key(Algorithm::RS256);
    let token = issuer.token_builder(RESOURCE).key(&new_kid).sign();
    let started = Instant::now();
    let resp = send(&app, bearer(&token).to_request()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_unavailable(&resp, "unknown kid while the JWKS answers 500");

    // Recovery: the same token is accepted once the JWKS is back.
    issuer.set_jwks_mode(JwksMode::Normal);
    assert_ok(
        &send(&app, bearer(&token).to_request()).await,
        "after recovery",
    );
}

#[actix_web::test]
async fn hanging_jwks_on_first_use_is_a_bounded_503() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_mode(JwksMode::Hang);
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    let started = Instant::now();
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    let elapsed = started.elapsed();
    assert_unavailable(&resp, "hanging JWKS");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

    // A failed fetch backs off (2 s): requests in between fail fast
    // without touching the issuer, then the next one fetches again.
    issuer.set_jwks_mode(JwksMode::Normal);
    let fetches = issuer.requests(Endpoint::Jwks);
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    assert_unavailable(&resp, "during the back-off");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        fetches,
        "no fetch during the back-off"
    );
    actix_rt::time::sleep(Duration::from_millis(2100)).await;
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "after the JWKS recovers",
    );
}

#[actix_web::test]
async fn garbage_jwks_is_a_503() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_mode(JwksMode::Garbage);
    let auth = build_auth(fast(issuer.resolved_config()), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    assert_unavailable(&resp, "garbage JWKS");
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

// ---------------------------------------------------------------------------
// 5-6. Concurrency and unknown-kid floods
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn concurrent_requests_for_a_new_kid_share_one_fetch() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "warm-up",
    );
    let before = issuer.requests(Endpoint::Jwks);

    let new_kid = issuer.add_key(Algorithm::RS256);
    issuer.set_jwks_delay(200);
    // Issue #7 target: 1,000 concurrent requests, one JWKS fetch.
    let tokens: Vec<String> = (0..1000)
        .map(|_| issuer.token_builder(RESOURCE).key(&new_kid).sign())
        .collect();
    let calls = tokens
        .iter()
        .map(|t| send(&app, bearer(t).to_request()))
        .collect();
    let statuses: Vec<u16> = join_all(calls).await.iter().map(|r| r.status).collect();

    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 1000, "statuses: {statuses:?}");
    assert_eq!(issuer.requests(Endpoint::Jwks), before + 1);
}

#[actix_web::test]
async fn flood_of_random_kids_costs_few_fetches() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "warm-up",
    );
    let before = issuer.requests(Endpoint::Jwks);

    for i in 0..50 {
        let token = issuer
            .token_builder(RESOURCE)
            .header("kid", unique("flood", i))
            .sign();
        let resp = send(&app, bearer(&token).to_request()).await;
        assert_rejected(
            &resp,
            401,
            Some("invalid_token"),
            None,
            &format!("random kid {i}"),
        );
    }
    let fetched = issuer.requests(Endpoint::Jwks) - before;
    assert!(fetched <= 4, "{fetched} JWKS fetches for 50 random kids");

    // Known kids are unaffected by the flood.
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "after the flood",
    );
}

// ---------------------------------------------------------------------------
// 7. Issuer pinning
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn tokens_of_another_resources_issuer_are_refused_without_network() {
    let as1 = TestIssuer::start().await;
    let as2 = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(as1.discovery_config()))
        .resource(ResourceConfig::new(OTHER_RESOURCE).authorization_server(as2.discovery_config()))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(auth.bearer_auth(RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/other")
                    .wrap(auth.bearer_auth(OTHER_RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            ),
    )
    .await;
    let counters = |i: &TestIssuer| {
        [
            i.requests(Endpoint::Jwks),
            i.requests(Endpoint::OAuthMetadata),
            i.requests(Endpoint::OidcMetadata),
        ]
    };

    // A valid AS2 token, audience resource 1.
    let resp = send(&app, bearer(&as2.token(RESOURCE, &[])).to_request()).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        None,
        "AS2 token at resource 1",
    );
    assert_eq!(counters(&as2), [0, 0, 0], "AS2 was contacted");
    assert_eq!(
        counters(&as1),
        [0, 0, 0],
        "AS1 was contacted for a foreign token"
    );

    // Positive controls.
    let body = assert_ok(
        &send(&app, bearer(&as1.token(RESOURCE, &[])).to_request()).await,
        "AS1 at resource 1",
    );
    assert_eq!(body["iss"], as1.issuer());
    assert_eq!(counters(&as1), [1, 1, 0]);
    let body = assert_ok(
        &send(
            &app,
            bearer_at("/other", &as2.token(OTHER_RESOURCE, &[])).to_request(),
        )
        .await,
        "AS2 at resource 2",
    );
    assert_eq!(body["resource"], OTHER_RESOURCE);

    // A token verified (and cached) for resource 1 is not valid at resource 2.
    let token = as1.token(RESOURCE, &[]);
    assert_ok(&send(&app, bearer(&token).to_request()).await, "cache fill");
    let resp = send(&app, bearer_at("/other", &token).to_request()).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert_eq!(resp.json()["error"], "invalid_token");
}

// ---------------------------------------------------------------------------
// 8. Step-up authorization
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn required_scopes_and_step_up() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(
        auth,
        auth.bearer_auth(RESOURCE)
            .unwrap()
            .required_scopes(["mcp:read"])
            .unwrap()
    );

    let resp = send(&app, TestRequest::post().uri("/mcp").to_request()).await;
    assert_rejected(&resp, 401, None, Some("mcp:read"), "no token");

    let resp = send(&app, bearer("not.a.jwt").to_request()).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        Some("mcp:read"),
        "bad token",
    );

    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    assert_rejected(
        &resp,
        403,
        Some("insufficient_scope"),
        Some("mcp:read"),
        "no scope",
    );
    assert_eq!(
        resp.www(),
        Some(
            format!(
                "Bearer error=\"insufficient_scope\", error_description=\"The access token does not grant the scopes this request needs.\", scope=\"mcp:read\", resource_metadata=\"{METADATA_URL}\""
            )
            .as_str()
        )
    );

    let read = issuer.token(RESOURCE, &["mcp:read"]);
    assert_ok(&send(&app, bearer(&read).to_request()).await, "mcp:read");

    let resp = send(&app, bearer_at("/write", &read).to_request()).await;
    assert_rejected(
        &resp,
        403,
        Some("insufficient_scope"),
        Some("mcp:read mcp:write"),
        "step-up",
    );

    let both = issuer.token(RESOURCE, &["mcp:read", "mcp:write"]);
    let resp = send(&app, bearer_at("/write", &both).to_request()).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["written"], true);
}

// ---------------------------------------------------------------------------
// 9. Extractor without middleware
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn extractors_configured_by_app_data() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    let resp = send(&app, TestRequest::post().uri("/opt").to_request()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"authenticated": false, "sub": null}));

    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let resp = send(&app, bearer_at("/opt", &token).to_request()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({"authenticated": true, "sub": "test-user"})
    );

    // actix's blanket `Option<T>` swallows errors: an expired token is anonymous...
    let expired = issuer.token_builder(RESOURCE).expires_in(-600).sign();
    let resp = send(&app, bearer_at("/opt", &expired).to_request()).await;
    assert_eq!(resp.json(), json!({"authenticated": false, "sub": null}));
    // ...while `MaybeAuthInfo` is anonymous only without credentials.
    let resp = send(&app, TestRequest::post().uri("/maybe").to_request()).await;
    assert_eq!(resp.json(), json!({"authenticated": false}));
    let resp = send(&app, bearer_at("/maybe", &token).to_request()).await;
    assert_eq!(resp.json(), json!({"authenticated": true}));
    let resp = send(&app, bearer_at("/maybe", &expired).to_request()).await;
    assert_eq!(resp.status, 401);

    // A plain `AuthInfo` route without middleware still challenges.
    let resp = send(&app, TestRequest::post().uri("/extract").to_request()).await;
    assert_rejected(&resp, 401, None, None, "extractor, no token");
    let resp = send(&app, bearer_at("/extract", "x.y.z").to_request()).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        None,
        "extractor, bad token",
    );
    let body = assert_ok(
        &send(&app, bearer_at("/extract", &token).to_request()).await,
        "extractor",
    );
    assert_eq!(body["sub"], "test-user");
}

// ---------------------------------------------------------------------------
// 10. Introspection
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn introspection_verifies_opaque_tokens() {
    let issuer = TestIssuer::start().await;
    // A port nobody listens on.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/introspect", l.local_addr().unwrap())
    };
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .introspection(Introspection::client_secret_basic("rs", "secret")),
        )
        .resource(
            ResourceConfig::new(OTHER_RESOURCE)
                .authorization_server(issuer.resolved_config())
                .introspection(
                    Introspection::client_secret_basic("rs", "secret")
                        .endpoint(dead)
                        .http(HttpOptions::default().timeout(Duration::from_millis(500))),
                ),
        )
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .service(
                web::resource("/mcp")
                    .wrap(auth.bearer_auth(RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/other")
                    .wrap(auth.bearer_auth(OTHER_RESOURCE).unwrap())
                    .route(web::post().to(echo)),
            ),
    )
    .await;

    let active = issuer.token(RESOURCE, &["mcp:read"]);
    let body = assert_ok(&send(&app, bearer(&active).to_request()).await, "active");
    assert_eq!(body["sub"], "test-user");
    assert_eq!(body["scopes"], json!(["mcp:read"]));
    assert_eq!(issuer.requests(Endpoint::Introspection), 1);
    assert_ok(
        &send(&app, bearer(&active).to_request()).await,
        "active, cached",
    );
    assert_eq!(
        issuer.requests(Endpoint::Introspection),
        1,
        "result not cached"
    );

    let revoked = issuer.token(RESOURCE, &["mcp:read"]);
    issuer.revoke(&revoked);
    let resp = send(&app, bearer(&revoked).to_request()).await;
    assert_rejected(&resp, 401, Some("invalid_token"), None, "revoked");

    let resp = send(&app, bearer(&unique("opaque", 1)).to_request()).await;
    assert_rejected(&resp, 401, Some("invalid_token"), None, "unknown");

    let foreign = issuer.token("https://other.example/mcp", &["mcp:read"]);
    let resp = send(&app, bearer(&foreign).to_request()).await;
    assert_rejected(&resp, 401, Some("invalid_token"), None, "audience mismatch");

    let expired = issuer.token_builder(RESOURCE).expires_in(-600).sign();
    let resp = send(&app, bearer(&expired).to_request()).await;
    assert_rejected(
        &resp,
        401,
        Some("invalid_token"),
        None,
        "active but expired",
    );

    let token = issuer.token(OTHER_RESOURCE, &[]);
    let started = Instant::now();
    let resp = send(&app, bearer_at("/other", &token).to_request()).await;
    assert!(resp.www().is_none());
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert_eq!(resp.json()["error"], "temporarily_unavailable");
    assert!(started.elapsed() < Duration::from_secs(5));
}

// ---------------------------------------------------------------------------
// 11. Custom verifier
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn custom_verifier_results_go_through_the_claim_policy() {
    let issuer = TestIssuer::start().await;
    let verifier = |token: String| async move {
        let mut claims = VerifiedClaims::new();
        claims.insert("sub".into(), "custom-user".into());
        claims.insert("scope".into(), "mcp:read".into());
        match token.as_str() {
            "good" => {}
            "no-aud" => return Ok(claims),
            "foreign-iss" => {
                claims.insert("iss".into(), "https://evil.example".into());
            }
            "expired" => {
                claims.insert("exp".into(), (now() - 600).into());
            }
            "down" => return Err(VerifyError::Unavailable("backend down".into())),
            _ => return Err(VerifyError::Invalid("unknown token".into())),
        }
        claims.insert("aud".into(), RESOURCE.into());
        Ok::<VerifiedClaims, VerifyError>(claims)
    };
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .verifier(verifier),
        )
        .show_error_details(true)
        .build()
        .unwrap();
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());

    let body = assert_ok(&send(&app, bearer("good").to_request()).await, "good");
    assert_eq!(body["sub"], "custom-user");
    assert_eq!(body["scopes"], json!(["mcp:read"]));

    let resp = send(&app, bearer("bogus").to_request()).await;
    assert_rejected(&resp, 401, Some("invalid_token"), None, "invalid");
    assert_eq!(resp.json()["cause"], "unknown token");

    for token in ["no-aud", "foreign-iss", "expired"] {
        let resp = send(&app, bearer(token).to_request()).await;
        assert_rejected(&resp, 401, Some("invalid_token"), None, token);
    }

    let resp = send(&app, bearer("down").to_request()).await;
    assert_unavailable(&resp, "verifier unavailable");
    assert_eq!(resp.json()["cause"], "backend down");
}

// ---------------------------------------------------------------------------
// 12. Custom error handlers
// ---------------------------------------------------------------------------

fn json_rpc_error(err: AuthError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    let mut res = HttpResponse::build(err.kind().status());
    if let Some(challenge) = err.www_authenticate() {
        res.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    let body = json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32001, "message": err.description(), "kind": err.kind().code()}});
    let res = res.json(body);
    actix_web::error::InternalError::from_response(err, res).into()
}

#[actix_web::test]
async fn custom_error_handlers_render_the_response() {
    let issuer = TestIssuer::start().await;

    // Per-route handler.
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let guard = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap()
        .error_handler(json_rpc_error);
    let app = app!(auth, guard);
    let resp = send(&app, bearer("x.y.z").to_request()).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["jsonrpc"], "2.0");
    assert_eq!(resp.json()["error"]["kind"], "invalid_token");
    assert!(
        resp.www()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"]["kind"], "insufficient_scope");
    let resp = send(&app, TestRequest::post().uri("/mcp").to_request()).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"]["code"], -32001);
    assert_eq!(
        resp.www(),
        Some(format!("Bearer scope=\"mcp:read\", resource_metadata=\"{METADATA_URL}\"").as_str())
    );

    // Builder-wide handler.
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE))
        .error_handler(json_rpc_error)
        .build()
        .unwrap();
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let resp = send(&app, bearer("x.y.z").to_request()).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["jsonrpc"], "2.0");
    assert_ok(
        &send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await,
        "valid with a custom handler",
    );
}

// ---------------------------------------------------------------------------
// 13. Token redaction
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn auth_info_never_shows_the_token() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.resolved_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    let resp = send(&app, bearer_at("/debug", &token).to_request()).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["token_len"], token.len());
    let debug = body["debug"].as_str().unwrap();
    let serialized = body["serialized"].as_str().unwrap();
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.contains("test-user"), "{debug}");
    let (_, _, signature) = segments(&token);
    for text in [debug, serialized] {
        assert!(!text.contains(&token), "token leaked: {text}");
        assert!(!text.contains(&signature), "signature leaked: {text}");
    }
}

// ---------------------------------------------------------------------------
// 14. Verified-token cache
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn repeated_token_costs_no_issuer_request() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(issuer.discovery_config(), JwtOptions::default());
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let counters = || {
        [
            Endpoint::Jwks,
            Endpoint::OAuthMetadata,
            Endpoint::OidcMetadata,
            Endpoint::Token,
            Endpoint::Introspection,
        ]
        .map(|e| issuer.requests(e))
    };
    let token = issuer.token(RESOURCE, &["mcp:read"]);
    assert_ok(&send(&app, bearer(&token).to_request()).await, "first");
    let after_first = counters();
    assert_eq!(after_first, [1, 1, 0, 0, 0]);
    assert_ok(&send(&app, bearer(&token).to_request()).await, "second");
    assert_eq!(counters(), after_first);
}

#[actix_web::test]
async fn cached_token_is_not_used_after_exp() {
    let issuer = TestIssuer::start().await;
    let auth = build_auth(
        issuer.resolved_config(),
        JwtOptions::default().leeway(Duration::ZERO),
    );
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let token = issuer.token_builder(RESOURCE).expires_in(2).sign();
    assert_ok(&send(&app, bearer(&token).to_request()).await, "fresh");
    assert_ok(&send(&app, bearer(&token).to_request()).await, "cached");
    actix_rt::time::sleep(Duration::from_millis(3200)).await;
    let resp = send(&app, bearer(&token).to_request()).await;
    assert_rejected(&resp, 401, Some("invalid_token"), None, "after exp");
    assert_eq!(
        resp.json()["error_description"],
        "The access token has expired."
    );
}

// ---------------------------------------------------------------------------
// 15. Configuration of the key refresh policy
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn inverted_key_refresh_bounds_are_rejected_at_build() {
    let issuer = TestIssuer::start().await;
    let mut jwt = JwtOptions::default();
    jwt.key_refresh.min_max_age = Duration::from_secs(7200);
    jwt.key_refresh.max_max_age = Duration::from_secs(3600);
    let built = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(fast(issuer.resolved_config()))
        .resource(ResourceConfig::new(RESOURCE))
        .jwt_options(jwt)
        .build();
    let Ok(auth) = built else {
        return; // Expected: the mistake is reported by `build`.
    };
    // Otherwise every request fails: the fetch task panics, keys never load.
    let app = app!(auth, auth.bearer_auth(RESOURCE).unwrap());
    let resp = send(&app, bearer(&issuer.token(RESOURCE, &[])).to_request()).await;
    panic!(
        "build() accepted min_max_age > max_max_age; a valid token then got {} {}",
        resp.status,
        resp.text()
    );
}
