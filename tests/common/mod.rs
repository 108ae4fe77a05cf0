//! Helpers shared by the integration tests (`tests/suite/` and the macro
//! tests, each declaring `mod common;`):
//! requests carrying a bearer token, a fully read response, the
//! `WWW-Authenticate` challenge and its parameters, JSON-RPC bodies, and
//! the assertions every refusal is checked with.
//!
//! Each test file is its own crate and uses only part of this module.
#![allow(dead_code)]

pub mod app;
pub mod introspection;
pub mod logs;
pub mod token_table;
pub mod two_resources;

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use actix_web::{
    body::MessageBody,
    dev::{Service, ServiceResponse},
    http::header::{self, AsHeaderName, HeaderMap},
    test::{self, TestRequest},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mcp_auth::testing::TestIssuer;
use serde_json::{Value, json};

/// The resource most tests protect, and its metadata document.
pub const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
pub const METADATA_URL: &str = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp";

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// `Authorization: Bearer <token>` on any request.
pub trait WithBearer {
    fn bearer(self, token: &str) -> Self;
}

impl WithBearer for TestRequest {
    fn bearer(self, token: &str) -> Self {
        self.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
    }
}

/// A POST to `/mcp` carrying `token`.
pub fn bearer(token: &str) -> TestRequest {
    bearer_at("/mcp", token)
}

/// A POST to `path` carrying `token`.
pub fn bearer_at(path: &str, token: &str) -> TestRequest {
    TestRequest::post().uri(path).bearer(token)
}

/// A GET to `path`.
pub fn get(path: &str) -> TestRequest {
    TestRequest::get().uri(path)
}

/// A POST to `path` declaring a JSON body (`Content-Type: application/json`).
pub fn post_json(path: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((header::CONTENT_TYPE, "application/json"))
}

/// A JSON-RPC 2.0 request.
pub fn rpc(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params })
}

/// A JSON-RPC `tools/call` of `tool`, without arguments.
pub fn call(tool: &str) -> Value {
    rpc("tools/call", json!({ "name": tool, "arguments": {} }))
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// A waited-for, fully read response.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// The `WWW-Authenticate` header, if any.
    pub fn www(&self) -> Option<&str> {
        self.header(header::WWW_AUTHENTICATE)
    }

    /// The `WWW-Authenticate` header, or `""` without one.
    pub fn challenge(&self) -> &str {
        self.www().unwrap_or_default()
    }

    /// One parameter of the challenge (`scope`, `error`, ...), unquoted.
    pub fn challenge_param(&self, name: &str) -> Option<String> {
        challenge_params(self.challenge())
            .into_iter()
            .find_map(|(n, v)| (n == name).then_some(v))
    }
}

/// The auth-params of a `Bearer` challenge, in order, values unquoted:
/// `Bearer error="x", scope="a b"` gives `[("error", "x"), ("scope", "a b")]`.
pub fn challenge_params(challenge: &str) -> Vec<(String, String)> {
    let mut rest = challenge.strip_prefix("Bearer").unwrap_or(challenge);
    let mut params = Vec::new();
    while let Some((name, after)) = rest.split_once('=') {
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut end = quoted.len();
                let mut chars = quoted.char_indices();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let (value, after) = after.split_once(',').unwrap_or((after, ""));
                (value.trim().to_owned(), after)
            }
        };
        params.push((name.trim().to_owned(), value));
        rest = after.trim_start_matches([',', ' ']);
    }
    params
}

/// An app under test (what `test::init_service` returns).
pub trait TestApp {
    /// Sends `req` and reads the whole response.
    fn send(&self, req: TestRequest) -> impl Future<Output = Resp>;
}

impl<S, B> TestApp for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&self, req: TestRequest) -> Resp {
        let res = test::call_service(self, req.to_request()).await;
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: test::read_body(res).await.to_vec(),
        }
    }
}

/// Sends `req` to `app` and reads the whole response.
pub async fn send(app: &impl TestApp, req: TestRequest) -> Resp {
    app.send(req).await
}

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------

/// A 200 without a challenge; returns the body's JSON.
#[track_caller]
pub fn assert_ok(resp: &Resp, ctx: &str) -> Value {
    assert_eq!(resp.status, 200, "{ctx}: body {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: unexpected challenge");
    resp.json()
}

/// An error response: status, CORS exposure, `no-store`, JSON body and the
/// exact RFC 6750 challenge for `RESOURCE`. `error: None` means "no
/// credentials" (a 401 without `error=`); `scope` is the challenge's scope.
#[track_caller]
pub fn assert_rejected(
    resp: &Resp,
    status: u16,
    error: Option<&str>,
    scope: Option<&str>,
    ctx: &str,
) {
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

/// A 401 `invalid_token` for `RESOURCE`, without a scope.
#[track_caller]
pub fn assert_invalid_token(resp: &Resp, ctx: &str) {
    assert_rejected(resp, 401, Some("invalid_token"), None, ctx);
}

/// A 401 `invalid_token` with exactly this description (body and challenge).
#[track_caller]
pub fn assert_invalid_token_exactly(resp: &Resp, description: &str, ctx: &str) {
    assert_invalid_token(resp, ctx);
    assert_eq!(resp.json()["error_description"], description, "{ctx}");
}

/// A 503 (keys or verifier unavailable): no challenge (the client can do
/// nothing about it), `Retry-After`, JSON body.
#[track_caller]
pub fn assert_unavailable(resp: &Resp, ctx: &str) {
    assert_eq!(resp.status, 503, "{ctx}: body {}", resp.text());
    assert!(resp.www().is_none(), "{ctx}: a 503 carries no challenge");
    assert_eq!(resp.header(header::RETRY_AFTER), Some("5"), "{ctx}");
    assert_eq!(resp.json()["error"], "temporarily_unavailable", "{ctx}");
}

// ---------------------------------------------------------------------------
// Tokens and keys
// ---------------------------------------------------------------------------

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A process-unique string (random `kid`s, opaque tokens).
pub fn unique(prefix: &str) -> String {
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!("{prefix}-{serial}-{nanos}")
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The three dot-separated segments of a compact JWT.
pub fn segments(token: &str) -> (String, String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    (parts[0].into(), parts[1].into(), parts[2].into())
}

/// The decoded JOSE header of a token.
pub fn jose_header(token: &str) -> Value {
    let (h, _, _) = segments(token);
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json")
}

/// The issuer's JWK Set as it serves it (counts as one JWKS request).
pub async fn jwks_of(issuer: &TestIssuer) -> Value {
    let mut res = awc::Client::default()
        .get(issuer.jwks_uri())
        .send()
        .await
        .expect("JWKS request");
    res.json::<Value>().limit(1 << 20).await.expect("JWKS JSON")
}

/// The JWK with this `kid`.
pub fn jwk_of(jwks: &Value, kid: &str) -> Value {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
        .unwrap_or_else(|| panic!("kid {kid} not in JWKS"))
}
